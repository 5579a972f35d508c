/**
 * Cross-cutting middleware: request ids, API-key authentication for /v1, admin token.
 */
import { createMiddleware } from "hono/factory";
import { Caller } from "./account/caller";
import { accountFor } from "./account/key-account";
import { randomId, secretsEqual, sha256Hex } from "./account/keys";
import { ApiError, unauthorized } from "./errors";
import { loadConfig } from "./load-config";
import { timed } from "./observe";
import type { AppEnv } from "./types";

/** Gemini's own routes: /v1beta/*, and `/v1/models/{model}:{method}` or a Google-style models call. */
function googleRoute(path: string, headers: Headers, query: URLSearchParams): boolean {
	if (path.startsWith("/v1beta/")) return true;
	if (/^\/v1\/models\/[^/]+:[A-Za-z]+$/.test(path)) return true;
	return (
		/^\/v1\/models(\/[^/:]+)?\/?$/.test(path) &&
		(headers.has("x-goog-api-key") || headers.has("x-goog-api-client") || query.has("pageSize") || query.has("pageToken"))
	);
}

/** Gives every request an id (`x-request-id` on every response, errors included) and its error style. */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
	const id = randomId("req");
	c.set("requestId", id);
	const url = new URL(c.req.url);
	c.set("errorStyle", googleRoute(url.pathname, c.req.raw.headers, url.searchParams) ? "google" : "openai");
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
 * The requests that are admitted (credits held) before they do anything: generations and
 * edits in every dialect. Their key is checked by that admission, in the same Durable
 * Object call (src/account/caller.ts).
 */
const ADMITTED = new RegExp(
	[
		"^/v1/images/(generations|edits|generate)$",
		"^/(v1|api/v1)/chat/completions$",
		"^/api/v1/models/[^/]+/edit$",
		"^/api/v1/images$",
		"^/v1(beta)?/models/[^/]+:(generateContent|streamGenerateContent)$",
	].join("|"),
);

/**
 * `Authorization: Bearer <key>` (or `x-goog-api-key`, which the Gemini SDK sends),
 * checked against the key's KeyAccount on every request, so a revoked key fails on
 * its very next call: here for most routes, by admission itself for generations.
 */
export const apiKeyAuth = createMiddleware<AppEnv>(async (c, next) => {
	const key = bearer(c.req.header("authorization")) ?? c.req.header("x-goog-api-key");
	if (!key) throw unauthorized("Missing API key: send Authorization: Bearer <key>");
	const keyHash = await sha256Hex(key);
	const caller = new Caller(keyHash, accountFor(c.env, keyHash));
	c.set("caller", caller);
	if (!(c.req.method === "POST" && ADMITTED.test(c.req.path))) await timed("auth", () => caller.identify());
	await next();
});

/** Bearer ADMIN_TOKEN, compared in constant time. Admin is off when no token is set. */
export const adminAuth = createMiddleware<AppEnv>(async (c, next) => {
	const expected = c.get("config").adminToken;
	if (!expected) throw new ApiError(403, "permission_error", "admin_disabled", "The admin API is disabled: ADMIN_TOKEN is not configured");
	const given = bearer(c.req.header("authorization"));
	if (!given || !(await secretsEqual(given, expected))) throw unauthorized("Invalid admin token");
	await next();
});

/** What the catalog and price list publish openly: model listings and prices, in both shapes. */
const PUBLIC_READS = /^\/v1(beta)?\/(models(\/[^/:]+)?|pricing)\/?$/;

/**
 * `GET /v1/models`, `GET /v1/models/{id}`, `GET /v1/pricing` (and the v1beta listing) answer
 * without a key, as resellers publish them. A key that is sent is still checked, so a
 * wrong one is a 401 everywhere.
 */
export const apiKeyAuthUnlessPublic = createMiddleware<AppEnv>(async (c, next) => {
	const anonymous = !c.req.header("authorization") && !c.req.header("x-goog-api-key");
	if (anonymous && (c.req.method === "GET" || c.req.method === "HEAD") && PUBLIC_READS.test(c.req.path)) return next();
	return apiKeyAuth(c, next);
});
