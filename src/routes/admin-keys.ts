/**
 * Operator API for keys (Bearer ADMIN_TOKEN). Creating a key sets up its KeyAccount
 * (the source of truth: status, balance, limits) and then the D1 listing; the plaintext
 * key is returned once.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { accountFor } from "../account/key-account";
import { generateApiKey, generateKeyId, keyPrefix, sha256Hex } from "../account/keys";
import type { AccountView } from "../account/records";
import { ControlsPatch, presentControls } from "../billing/controls";
import { LimitsPatch } from "../billing/limits";
import type { GatewayConfig } from "../config";
import { apiError, invalidParam, notFound } from "../errors";
import { publicUrl } from "../inputs/public-url";
import { readJsonObject } from "../lib/body";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { lazy } from "../lib/lazy";
import { parseWith } from "../lib/validate";
import { ADMIN_FACTS } from "../route-facts";
import { getKey, insertKey, type KeyRecord, listKeys, markKeyStatus, renameKey } from "../storage/db";
import type { AppEnv } from "../types";

const Name = lazy(() => z.string().trim().min(1, "name must not be empty").max(200));
const Credits = lazy(() => z.number().int().min(0).max(1_000_000_000));

export const CreateKey = lazy(() =>
	z.strictObject({
		name: Name(),
		credits: Credits().optional(),
		limits: LimitsPatch().optional(),
		controls: ControlsPatch().optional(),
	}),
);
export const PatchKey = lazy(() =>
	z.strictObject({
		name: Name().optional(),
		status: z.enum(["active", "revoked"]).optional(),
		limits: LimitsPatch().optional(),
		controls: ControlsPatch().optional(),
	}),
);

/**
 * What zod cannot check in a controls patch: every allowed model is one the catalog knows
 * (an alias or a raw Gemini id), and the webhook URL passes the public-URL rules. A 400
 * naming the field.
 */
function checkControls(config: GatewayConfig, patch: ControlsPatch | undefined): void {
	if (!patch) return;
	patch.allowed_models?.forEach((name, i) => {
		if (!config.catalog.find(name)) {
			throw invalidParam(`controls.allowed_models.${i}`, `controls.allowed_models.${i}: unknown model '${name}'`, "model_not_found");
		}
	});
	if (patch.low_balance_webhook_url) {
		publicUrl(patch.low_balance_webhook_url, "controls.low_balance_webhook_url", config.allowHttpImageUrls);
	}
}
export const Grant = lazy(() =>
	z.strictObject({
		amount: z
			.number()
			.int()
			.min(-1_000_000_000)
			.max(1_000_000_000)
			.refine((n) => n !== 0, "amount must not be zero"),
		reason: z.string().trim().min(1, "reason must not be empty").max(500),
	}),
);

/**
 * A grant's Idempotency-Key (1 to 255 characters) and what its body is recognised by, so a
 * retried grant (its first answer lost, say a 500 after it was applied) applies once.
 */
async function grantIdempotency(
	header: string | undefined,
	input: z.infer<ReturnType<typeof Grant>>,
): Promise<{ key: string; bodyHash: string } | undefined> {
	const key = header?.trim();
	if (key === undefined) return undefined;
	if (key.length === 0 || key.length > 255) throw invalidParam("Idempotency-Key", "Idempotency-Key must be 1 to 255 characters");
	return { key, bodyHash: await sha256Hex(JSON.stringify([input.amount, input.reason])) };
}

export const KeysQuery = lazy(() =>
	z.object({
		limit: z.coerce.number().int().min(1).max(200).default(50),
		cursor: z.string().optional(),
		q: z.string().trim().max(100).optional().describe("Case-insensitive part of the key's name, id or prefix"),
		status: z.enum(["active", "revoked"]).optional(),
	}),
);

/** Public view of a key: never the hash, never the key. Live state from its KeyAccount. */
function present(k: KeyRecord, live: AccountView | null) {
	return {
		id: k.id,
		name: live?.name ?? k.name,
		prefix: k.key_prefix,
		status: live?.status ?? k.status,
		created_at: k.created_at,
		revoked_at: live?.revokedAt ?? k.revoked_at,
		credits: live?.credits ?? 0,
		reserved_credits: live?.reservedCredits ?? 0,
		limits: live?.limits ?? null,
		limit_overrides: live?.limitOverrides ?? {},
		controls: presentControls(live?.controls ?? {}),
		usage: live?.usage ?? null,
	};
}

async function keyOr404(env: Env, id: string): Promise<KeyRecord> {
	const k = await getKey(env.DB, id);
	if (!k) throw notFound(`No key with id '${id}'`);
	return k;
}

async function body(c: Context<AppEnv>) {
	return readJsonObject(c.req.raw, c.get("config").maxJsonBodyBytes);
}

export const adminKeys = new Hono<AppEnv>()
	.use(ADMIN_FACTS)
	.post("/", async (c) => {
		const input = parseWith(CreateKey(), await body(c));
		checkControls(c.get("config"), input.controls);
		const key = generateApiKey();
		const record = {
			id: generateKeyId(),
			name: input.name,
			key_hash: await sha256Hex(key),
			key_prefix: keyPrefix(key),
			created_at: new Date().toISOString(),
		};
		const account = accountFor(c.env, record.key_hash);
		const created = await account.create({
			keyId: record.id,
			name: record.name,
			createdAt: record.created_at,
			credits: input.credits,
			limits: input.limits,
			controls: input.controls,
		});
		if (!created.ok) throw apiError("internal_error", "Key collision; try again");
		try {
			await insertKey(c.env.DB, record);
		} catch (error) {
			// The listing failed: do not leave a working key the operator cannot see.
			await account.revoke();
			throw error;
		}
		return c.json({ ...present({ ...record, status: "active", revoked_at: null }, await account.describe()), key }, 201);
	})
	.get("/", async (c) => {
		const { limit, cursor, q, status } = parseWith(KeysQuery(), c.req.query());
		// The cursor is a position in created_at order, so it pages a search just as the full list.
		const rows = await listKeys(c.env.DB, limit + 1, cursor ? decodeCursor(cursor) : undefined, { search: q || undefined, status });
		const page = rows.slice(0, limit);
		return c.json({
			object: "list",
			data: await Promise.all(page.map(async (k) => present(k, await accountFor(c.env, k.key_hash).describe()))),
			has_more: rows.length > limit,
			next_cursor: rows.length > limit ? encodeCursor(page[page.length - 1].created_at, page[page.length - 1].id) : null,
		});
	})
	.get("/:id", async (c) => {
		const k = await keyOr404(c.env, c.req.param("id"));
		return c.json(present(k, await accountFor(c.env, k.key_hash).describe()));
	})
	.patch("/:id", async (c) => {
		const k = await keyOr404(c.env, c.req.param("id"));
		const patch = parseWith(PatchKey(), await body(c));
		checkControls(c.get("config"), patch.controls);
		const live = await accountFor(c.env, k.key_hash).update(patch);
		if (patch.name !== undefined) await renameKey(c.env.DB, k.id, patch.name);
		if (live && patch.status !== undefined) await markKeyStatus(c.env.DB, k.id, live.status, live.revokedAt);
		return c.json(present(k, live));
	})
	.delete("/:id", async (c) => {
		const k = await keyOr404(c.env, c.req.param("id"));
		const live = await accountFor(c.env, k.key_hash).revoke();
		await markKeyStatus(c.env.DB, k.id, "revoked", live?.revokedAt ?? new Date().toISOString());
		return c.json(present(k, live));
	})
	.post("/:id/credits", async (c) => {
		const k = await keyOr404(c.env, c.req.param("id"));
		const input = parseWith(Grant(), await body(c));
		const idempotency = await grantIdempotency(c.req.header("idempotency-key"), input);
		const kind = input.amount > 0 ? "grant" : "adjustment";
		const result = await accountFor(c.env, k.key_hash).adjustCredits(input.amount, input.reason, kind, idempotency);
		if (!result.ok && result.reason === "idempotency_mismatch") {
			throw apiError("idempotency_key_reused", "This Idempotency-Key was already used with a different grant", {
				param: "Idempotency-Key",
			});
		}
		if (!result.ok) {
			throw invalidParam("amount", `This adjustment would take the balance (${result.balance}) below zero`, "balance_would_go_negative");
		}
		if (result.replayed) c.header("idempotent-replayed", "true");
		return c.json({ id: k.id, credits: result.balance });
	});
