/**
 * Browser access. The API answers cross-origin calls (hono/cors) from the origins in
 * CORS_ORIGINS ("*" by default: API keys are bearer tokens, never cookies, so no
 * credentials mode is offered). Preflights are answered before any authentication, and
 * the gateway's own response headers are exposed so browser code can read them. An
 * origin that is not allowed gets no CORS header at all, preflight or not.
 * Generated images are public URLs: `/images/*` allows every origin and carries
 * `Cross-Origin-Resource-Policy: cross-origin`, so pages can draw them on a canvas.
 */
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./types";

/** Response headers browser code may read (beyond the CORS-safelisted ones). */
export const EXPOSED_HEADERS = [
	"x-request-id",
	"x-credits-charged",
	"x-credits-remaining",
	"x-credits-held",
	"ratelimit-limit",
	"ratelimit-remaining",
	"ratelimit-reset",
	"ratelimit-policy",
	"retry-after",
	"location",
	"idempotent-replayed",
	"server-timing",
	"deprecation",
	"sunset",
	"link",
	"www-authenticate",
];

const METHODS = ["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"];

/** Chromium caps preflight caching at 2 h; asking for more changes nothing. */
const MAX_AGE_SECONDS = 7_200;

// Request headers are reflected (allowHeaders left empty): SDKs add their own (the
// openai SDK's x-stainless-*, @google/genai's x-goog-api-client), and a fixed list
// would break them one release at a time.
const anyOrigin = cors({ origin: "*", allowMethods: METHODS, exposeHeaders: EXPOSED_HEADERS, maxAge: MAX_AGE_SECONDS });

const listed = new WeakMap<string[], ReturnType<typeof cors>>();

function forList(origins: string[]): ReturnType<typeof cors> {
	let mw = listed.get(origins);
	if (!mw) {
		mw = cors({ origin: origins, allowMethods: METHODS, exposeHeaders: EXPOSED_HEADERS, maxAge: MAX_AGE_SECONDS });
		listed.set(origins, mw);
	}
	return mw;
}

/** CORS for the API, after the configuration is loaded (CORS_ORIGINS is part of it). */
export const apiCors = createMiddleware<AppEnv>(async (c, next) => {
	const allowed = c.get("config").corsOrigins;
	if (allowed === "*") return anyOrigin(c, next);
	const origin = c.req.header("origin");
	if (origin === undefined || allowed.includes(origin)) return forList(allowed)(c, next);
	// Not allowed: no CORS header at all. A preflight still ends here (never reaching
	// authentication or a route), and caches must keep answers per Origin.
	if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) {
		return new Response(null, { status: 204, headers: { vary: "Origin" } });
	}
	await next();
	c.header("vary", "Origin", { append: true });
});

/** Public images: readable from any page, drawable on a canvas without tainting it. */
export const imageCors = createMiddleware<AppEnv>(async (c, next) => {
	if (c.req.method === "OPTIONS") {
		return new Response(null, {
			status: 204,
			headers: {
				"access-control-allow-origin": "*",
				"access-control-allow-methods": "GET, HEAD, OPTIONS",
				"access-control-allow-headers": c.req.header("access-control-request-headers") ?? "",
				"access-control-max-age": String(MAX_AGE_SECONDS),
			},
		});
	}
	await next();
	c.res.headers.set("access-control-allow-origin", "*");
	c.res.headers.set("access-control-expose-headers", "etag, content-length, content-range, x-request-id");
	c.res.headers.set("cross-origin-resource-policy", "cross-origin");
});
