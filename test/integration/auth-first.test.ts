/**
 * Authentication comes before any work (issue 25, item 11): a bearer string that names no
 * key leaves no Durable Object storage behind, makes the gateway fetch nothing, and learns
 * nothing about its body (401, not the validation error a valid key would get).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/account/keys";
import { auth, call, createKey, expectError, postJson } from "../helpers/http";
import { interceptHosts } from "../helpers/images";

const GEN = "/v1/images/generations";
const EDITS = "/v1/images/edits";

function bogusKey(): string {
	return `nbk_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** What a KeyAccount's SQLite database holds: its tables and its size (running the callback instantiates it). */
async function storageOf(id: DurableObjectId): Promise<{ tables: string[]; bytes: number }> {
	return runInDurableObject(env.KEY_ACCOUNT.get(id), (_instance, state) => ({
		tables: state.storage.sql
			.exec<{ name: string }>("SELECT name FROM sqlite_master")
			.toArray()
			.map((r) => r.name),
		bytes: state.storage.sql.databaseSize,
	}));
}

describe("unknown keys leave no storage", () => {
	it("20 random bearer strings create no KeyAccount database", async () => {
		const keys = Array.from({ length: 20 }, bogusKey);
		for (const [i, key] of keys.entries()) {
			// Every kind of route: an admitted generation, a read, a public read with a wrong key.
			const res =
				i % 3 === 0
					? await postJson(GEN, { prompt: "a cat" }, auth(key))
					: i % 3 === 1
						? await call("/v1/account", { headers: auth(key) })
						: await call("/v1/models", { headers: auth(key) });
			await expectError(res, 401, "invalid_api_key");
		}
		// Locally workerd makes a database file for every object it instantiates (listDurableObjectIds
		// lists even one that never touches its storage), so what counts is what is in it: nothing
		// beyond what an object that was never addressed has.
		const pristine = await storageOf(env.KEY_ACCOUNT.newUniqueId());
		expect(pristine.tables).toEqual([]);
		for (const key of keys) {
			expect(await storageOf(env.KEY_ACCOUNT.idFromName(await sha256Hex(key)))).toEqual(pristine);
		}
	});

	it("an issued key still has its tables", async () => {
		const k = await createKey();
		expect((await storageOf(env.KEY_ACCOUNT.idFromName(await sha256Hex(k.key)))).tables).toContain("account");
		expect((await call("/v1/account", { headers: auth(k.key) })).status).toBe(200);
	});
});

describe("the key is checked before the body is worked on", () => {
	let restore: (() => void) | undefined;
	afterEach(() => restore?.());

	it("a bogus key with an image URL is a 401 and nothing is fetched", async () => {
		const fake = interceptHosts({ "refs.example.com": () => new Response("not an image", { status: 200 }) });
		restore = fake.restore;
		for (const path of [EDITS, "/v1/chat/completions"]) {
			const body =
				path === EDITS
					? { prompt: "edit it", image: "https://refs.example.com/photo.png" }
					: {
							model: "nano-banana",
							messages: [
								{
									role: "user",
									content: [
										{ type: "text", text: "edit it" },
										{ type: "image_url", image_url: { url: "https://refs.example.com/photo.png" } },
									],
								},
							],
						};
			await expectError(await postJson(path, body, auth(bogusKey())), 401, "invalid_api_key");
		}
		expect(fake.seen).toEqual([]);
	});

	it("a malformed body with a bogus key is a 401, not a 400", async () => {
		for (const body of [{ prompt: 42 }, { prompt: "x", n: 99 }, { prompt: "x", model: "dall-e-3" }]) {
			await expectError(await postJson(GEN, body, auth(bogusKey())), 401, "invalid_api_key");
		}
		const broken = await call(GEN, {
			method: "POST",
			headers: { ...auth(bogusKey()), "content-type": "application/json" },
			body: "{not json",
		});
		await expectError(broken, 401, "invalid_api_key");
		// ...while a valid key still gets the validation feedback.
		const k = await createKey();
		await expectError(await postJson(GEN, { prompt: 42 }, auth(k.key)), 400, "invalid_parameter");
	});

	it("a revoked key gets its 403 before validation", async () => {
		const k = await createKey();
		await call(`/admin/keys/${k.id}`, { method: "DELETE", headers: { authorization: "Bearer test-admin-token" } });
		await expectError(await postJson(GEN, { prompt: 42 }, auth(k.key)), 403, "key_revoked");
	});
});
