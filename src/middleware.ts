/**
 * Cross-cutting middleware: request ids, API-key authentication for /v1, admin token.
 */
import { createMiddleware } from "hono/factory";
import { Caller } from "./account/caller";
import { accountFor } from "./account/key-account";
import { randomId, secretsEqual, sha256Hex } from "./account/keys";
import { apiError, unauthorized } from "./errors";
import { loadConfig } from "./load-config";
import { timed } from "./observe";
import { resolveRoute } from "./route-facts";
import type { AppEnv } from "./types";

/**
 * Gives every request an id (`x-request-id` on every response, errors included) and its
 * route's facts (src/route-facts.ts): its error style holds for any error from here on.
 */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
	const id = randomId("req");
	c.set("requestId", id);
	const route = resolveRoute(c);
	c.set("route", route);
	c.set("errorStyle", route.errorStyle);
	await next();
	c.res.headers.set("x-request-id", id);
});

/** The configuration for every route that needs it; a ConfigError answers 500 configuration_error. */
export const withConfig = createMiddleware<AppEnv>(async (c, next) => {
	c.set("config", loadConfig(c.env));
	await next();
});

function bearer(header: string | undefined): string | undefined {
	const m = header?.match(/^Bearer\s+(\S+)\s*$/i);
	return m?.[1];
}

/**
 * `Authorization: Bearer <key>` (or `x-goog-api-key`, which the Gemini SDK sends),
 * checked against the key's KeyAccount on every request, so a revoked key fails on
 * its very next call: here for most routes, by admission itself on the routes whose
 * facts say they are admitted (generations and edits in every dialect, src/route-facts.ts).
 * A public read (the catalog and price list, as resellers publish them) needs no key,
 * but a key that is sent is still checked, so a wrong one is a 401 everywhere. Nothing is
 * done for an unchecked key: an admitted request's failure before admission is answered
 * by the key check, and inputs are fetched only once the key is known (src/inputs/images.ts).
 */
export const apiKeyAuth = createMiddleware<AppEnv>(async (c, next) => {
	const route = c.get("route");
	const anonymous = !c.req.header("authorization") && !c.req.header("x-goog-api-key");
	if (anonymous && route.publicRead) return next();
	const key = bearer(c.req.header("authorization")) ?? c.req.header("x-goog-api-key");
	if (!key) throw unauthorized("Missing API key: send Authorization: Bearer <key>");
	const keyHash = await sha256Hex(key);
	const caller = new Caller(keyHash, accountFor(c.env, keyHash));
	c.set("caller", caller);
	if (!route.admitted) await timed("auth", () => caller.identify());
	await next();
	// Admission checks the key after the body is parsed; a request that failed before it (a
	// malformed body, an unknown model, an unusable input) never reached it. Its key is
	// checked now, so a key that is not valid learns nothing about its body (401/403, not
	// 400). Only on that error path: a valid request still enters with one Durable Object call.
	const status = c.res.status;
	if (route.admitted && status >= 400 && status !== 401 && status !== 403 && !caller.knownKeyId) {
		await timed("auth", () => caller.identify());
	}
});

/** Bearer ADMIN_TOKEN, compared in constant time. Admin is off when no token is set. */
export const adminAuth = createMiddleware<AppEnv>(async (c, next) => {
	const expected = c.get("config").adminToken;
	if (!expected) throw apiError("admin_disabled", "The admin API is disabled: ADMIN_TOKEN is not configured");
	const given = bearer(c.req.header("authorization"));
	if (!given || !(await secretsEqual(given, expected))) throw unauthorized("Invalid admin token");
	await next();
});
