/**
 * Cross-cutting middleware: request ids, API-key authentication for /v1, admin token.
 */
import { createMiddleware } from "hono/factory";
import { accountFor } from "./account/key-account";
import { randomId, secretsEqual, sha256Hex } from "./account/keys";
import { ApiError, unauthorized } from "./errors";
import type { AppEnv } from "./types";

/** Gives every request an id (`x-request-id` on every response, errors included). */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
	const id = randomId("req");
	c.set("requestId", id);
	await next();
	c.res.headers.set("x-request-id", id);
});

function bearer(header: string | undefined): string | undefined {
	const m = header?.match(/^Bearer\s+(\S+)\s*$/i);
	return m?.[1];
}

/**
 * `Authorization: Bearer <key>` (or `x-goog-api-key`, which the Gemini SDK sends),
 * checked against the key's KeyAccount on every request, so a revoked key fails on
 * its very next call.
 */
export const apiKeyAuth = createMiddleware<AppEnv>(async (c, next) => {
	const key = bearer(c.req.header("authorization")) ?? c.req.header("x-goog-api-key");
	if (!key) throw unauthorized("Missing API key: send Authorization: Bearer <key>");
	const keyHash = await sha256Hex(key);
	const account = accountFor(c.env, keyHash);
	const auth = await account.authorize();
	if (!auth.ok) {
		if (auth.reason === "key_revoked") throw new ApiError(403, "permission_error", "key_revoked", "This API key has been revoked");
		throw unauthorized("Invalid API key");
	}
	c.set("caller", { keyId: auth.keyId, name: auth.name, keyHash, account });
	await next();
});

/** Bearer ADMIN_TOKEN, compared in constant time. Admin is off when no token is set. */
export const adminAuth = createMiddleware<AppEnv>(async (c, next) => {
	const expected = c.env.ADMIN_TOKEN;
	if (!expected) throw new ApiError(403, "permission_error", "admin_disabled", "The admin API is disabled: ADMIN_TOKEN is not configured");
	const given = bearer(c.req.header("authorization"));
	if (!given || !(await secretsEqual(given, expected))) throw unauthorized("Invalid admin token");
	await next();
});
