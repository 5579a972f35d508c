/**
 * Operator API for keys (Bearer ADMIN_TOKEN). Creating a key sets up its KeyAccount
 * (the source of truth) and then the D1 listing; the plaintext key is returned once.
 */
import { Hono } from "hono";
import { z } from "zod";
import { accountFor } from "../account/key-account";
import { generateApiKey, generateKeyId, keyPrefix, sha256Hex } from "../account/keys";
import { loadConfig } from "../config";
import { ApiError, invalidParam, notFound } from "../errors";
import { readJsonObject } from "../lib/body";
import { parseWith } from "../lib/validate";
import { getKey, insertKey, type KeyRecord, listKeys, markKeyRevoked } from "../storage/db";
import type { AppEnv } from "../types";

const CreateKey = z.strictObject({
	name: z.string().trim().min(1, "name must not be empty").max(200),
});

/** Public view of a key: never the hash, never the key. */
async function describe(env: Env, k: KeyRecord) {
	const live = await accountFor(env, k.key_hash).describe();
	return {
		id: k.id,
		name: live?.name ?? k.name,
		prefix: k.key_prefix,
		status: live?.status ?? k.status,
		created_at: k.created_at,
		revoked_at: live?.revokedAt ?? k.revoked_at,
	};
}

function encodeCursor(k: KeyRecord): string {
	return btoa(JSON.stringify([k.created_at, k.id]));
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
	try {
		const [createdAt, id] = JSON.parse(atob(cursor)) as [unknown, unknown];
		if (typeof createdAt === "string" && typeof id === "string") return { createdAt, id };
	} catch {
		// fall through
	}
	throw invalidParam("cursor", "cursor is not one this API returned");
}

async function keyOr404(env: Env, id: string): Promise<KeyRecord> {
	const k = await getKey(env.DB, id);
	if (!k) throw notFound(`No key with id '${id}'`);
	return k;
}

export const adminKeys = new Hono<AppEnv>()
	.post("/", async (c) => {
		const body = parseWith(CreateKey, await readJsonObject(c.req.raw, loadConfig(c.env).maxJsonBodyBytes));
		const key = generateApiKey();
		const record = {
			id: generateKeyId(),
			name: body.name,
			key_hash: await sha256Hex(key),
			key_prefix: keyPrefix(key),
			created_at: new Date().toISOString(),
		};
		const account = accountFor(c.env, record.key_hash);
		const created = await account.create({ keyId: record.id, name: record.name, createdAt: record.created_at });
		if (!created.ok) throw new ApiError(500, "server_error", "internal_error", "Key collision; try again");
		try {
			await insertKey(c.env.DB, record);
		} catch (error) {
			// The listing failed: do not leave a working key the operator cannot see.
			await account.revoke();
			throw error;
		}
		return c.json({ id: record.id, key, name: record.name, prefix: record.key_prefix, created_at: record.created_at }, 201);
	})
	.get("/", async (c) => {
		const limitParam = c.req.query("limit") ?? "50";
		const limit = Number(limitParam);
		if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw invalidParam("limit", "limit must be an integer from 1 to 200");
		const cursor = c.req.query("cursor");
		const rows = await listKeys(c.env.DB, limit + 1, cursor ? decodeCursor(cursor) : undefined);
		const page = rows.slice(0, limit);
		return c.json({
			object: "list",
			data: await Promise.all(page.map((k) => describe(c.env, k))),
			has_more: rows.length > limit,
			next_cursor: rows.length > limit ? encodeCursor(page[page.length - 1]) : null,
		});
	})
	.get("/:id", async (c) => c.json(await describe(c.env, await keyOr404(c.env, c.req.param("id")))))
	.delete("/:id", async (c) => {
		const k = await keyOr404(c.env, c.req.param("id"));
		const live = await accountFor(c.env, k.key_hash).revoke();
		await markKeyRevoked(c.env.DB, k.id, live?.revokedAt ?? new Date().toISOString());
		return c.json(await describe(c.env, await keyOr404(c.env, k.id)));
	});
