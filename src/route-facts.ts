/**
 * Route facts: what each sub-app (src/routes/*.ts) states about its own requests, at its
 * top, so nothing else restates app.ts's routing table as path patterns:
 *   dialect      the dialect its requests are logged under, failures before admission included
 *   errorStyle   OpenAI's error shape or Google's, for every error of the request (a 401 too)
 *   admitted     its POSTs hold credits before doing anything, and that admission checks the
 *                key in the same Durable Object call, so authentication skips its own check
 *   publicReads  its reads that answer without a key: all of them, or these route paths
 *
 * A sub-app declares them as its first middleware: `new Hono<AppEnv>().use(routeFacts({...}))`.
 * Hono merges a mounted sub-app's routes into the app's router, so that middleware would
 * run only after the app's own (request id, authentication): too late for a 401 to be
 * written in the route's style. But the router matches a request against every route at
 * once, before any middleware runs, and `matchedRoutes` (hono/route) lists that match; the
 * facts middleware is a marker found in it, and `resolveRoute` reads the facts from there
 * in the app's first middleware.
 *
 * Whose facts: the sub-app whose route answers (the last facts matched before that route:
 * each sub-app registers its facts before its routes). When no route answers (a 404), the
 * deepest sub-app the path falls under, else the API root's (`apiRoot`, declared in app.ts).
 */
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { RouterRoute } from "hono/types";
import type { ErrorStyle } from "./errors";
import type { AppEnv, RequestRoute } from "./types";

/** What a sub-app states about its routes. */
export interface RouteFacts {
	/** Logged as the request's dialect (the billed path names the same one once it runs); null for none. */
	dialect: string | null;
	/** How its errors are written. */
	errorStyle: ErrorStyle;
	/** Its POSTs are admitted: the key is checked by admission instead of up front. */
	admitted?: boolean;
	/** Its GET/HEAD routes that answer without a key: all (`true`), or these paths as the sub-app registers them. */
	publicReads?: true | readonly string[];
}

/** Facts, or facts that depend on the request (headers, query, path: nothing a route has parsed yet). */
export type FactsOf = RouteFacts | ((c: Context<AppEnv>) => RouteFacts);

interface Marker {
	facts: FactsOf;
	/** Declared in app.ts for an API root, not by a sub-app. */
	root: boolean;
}

const markers = new WeakMap<object, Marker>();

function marker(facts: FactsOf, root: boolean): MiddlewareHandler<AppEnv> {
	// It does nothing when it runs: its facts are read from the router's match, before it does.
	const mw: MiddlewareHandler<AppEnv> = (_c, next) => next();
	markers.set(mw, { facts, root });
	return mw;
}

/** A sub-app's route facts, installed as its first middleware (`.use(routeFacts({...}))`). */
export function routeFacts(facts: FactsOf): MiddlewareHandler<AppEnv> {
	return marker(facts, false);
}

/**
 * An API root (`app.use("/v1/*", apiRoot({...}))`): its answers carry Server-Timing, and a
 * path under it that no sub-app answers is a 404 with the root's facts.
 */
export function apiRoot(facts: FactsOf): MiddlewareHandler<AppEnv> {
	return marker(facts, true);
}

/** Outside every declared route: /health, the pages, an unknown top-level path. */
const NOWHERE: RouteFacts = { dialect: null, errorStyle: "openai" };

/** A route's path as its sub-app registered it (`/pricing` for `/v1/pricing` under `/v1`). */
function ownPath(r: RouterRoute): string {
	if (r.basePath === "/") return r.path;
	return r.path.slice(r.basePath.length) || "/";
}

/** The facts of the route this request is for, from the router's match. */
export function resolveRoute(c: Context<AppEnv>): RequestRoute {
	let root: Marker | undefined;
	let latest: { marker: Marker; route: RouterRoute } | undefined;
	let deepest: { marker: Marker; route: RouterRoute } | undefined;
	let answering: RouterRoute | undefined;
	let owner: Marker | undefined;
	for (const r of matchedRoutes(c)) {
		const m = markers.get(r.handler);
		if (m?.root) root = m;
		else if (answering) continue;
		else if (m) {
			latest = { marker: m, route: r };
			// On a tie the first mounted wins: /v1/models is the catalog's before it is Gemini's.
			if (!deepest || r.path.length > deepest.route.path.length) deepest = latest;
		} else if (r.method !== "ALL") {
			// The first route that is not middleware (`use` registers ALL) answers the request;
			// the facts are its own when they were registered by the same mount.
			answering = r;
			if (latest?.route.basePath === r.basePath) owner = latest.marker;
		}
	}
	const chosen = owner ?? (answering ? root : (deepest?.marker ?? root));
	const declared = chosen?.facts ?? NOWHERE;
	const f = typeof declared === "function" ? declared(c) : declared;
	const method = c.req.method;
	// Public reads are the answering route's own: listed by the path its sub-app gave it.
	const reads = owner ? f.publicReads : undefined;
	const listed = reads === true || (answering !== undefined && reads?.includes(ownPath(answering)) === true);
	return {
		dialect: f.dialect,
		errorStyle: f.errorStyle,
		// Only a route that answers is admitted or public: an unknown path still needs a valid key.
		admitted: owner !== undefined && method === "POST" && f.admitted === true,
		publicRead: listed && (method === "GET" || method === "HEAD"),
		api: root !== undefined,
	};
}

/** The operator's API (Bearer ADMIN_TOKEN, src/middleware.ts): the facts every admin sub-app declares. */
export const ADMIN_FACTS = routeFacts({ dialect: "admin", errorStyle: "openai" });
