import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/account/keys";
import { ADMIN, auth, call, createKey, expectError, postJson, uniquePrompt } from "../helpers/http";

interface KeyView {
	id: string;
	name: string;
	prefix: string;
	status: string;
	created_at: string;
	revoked_at: string | null;
}

describe("admin authentication", () => {
	it("refuses a missing or wrong admin token", async () => {
		await expectError(await postJson("/admin/keys", { name: "x" }), 401, "invalid_api_key");
		await expectError(await postJson("/admin/keys", { name: "x" }, { authorization: "Bearer test-admin-tokem" }), 401, "invalid_api_key");
		await expectError(await call("/admin/keys", { headers: { authorization: "Bearer " } }), 401, "invalid_api_key");
	});

	it("an API key is not an admin token", async () => {
		const k = await createKey();
		await expectError(await call("/admin/keys", { headers: auth(k.key) }), 401, "invalid_api_key");
	});
});

describe("POST /admin/keys", () => {
	it("returns the key once and stores only its SHA-256", async () => {
		const res = await postJson("/admin/keys", { name: "acme prod" }, ADMIN);
		expect(res.status).toBe(201);
		const created = await res.json<{ id: string; key: string; name: string; created_at: string }>();
		expect(created.key).toMatch(/^nbk_[A-Za-z0-9_-]{43}$/);
		expect(created.id).toMatch(/^key_[0-9a-f]{18}$/);
		expect(created.name).toBe("acme prod");
		const row = await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(created.id).first<Record<string, string>>();
		expect(row?.key_hash).toBe(await sha256Hex(created.key));
		expect(Object.values(row ?? {})).not.toContain(created.key);

		const view = await (await call(`/admin/keys/${created.id}`, { headers: ADMIN })).json<KeyView>();
		expect(view).toMatchObject({
			id: created.id,
			name: "acme prod",
			prefix: created.key.slice(0, 12),
			status: "active",
			created_at: created.created_at,
			revoked_at: null,
			credits: 0,
			limits: { requests_per_minute: 60, concurrent_requests: 8, images_per_day: 1000, images_per_month: 20000 },
		});
		expect(JSON.stringify(view)).not.toContain(created.key);
	});

	it("400 for a missing, empty or unexpected field", async () => {
		expect((await expectError(await postJson("/admin/keys", {}, ADMIN), 400, "invalid_parameter")).param).toBe("name");
		expect((await expectError(await postJson("/admin/keys", { name: " " }, ADMIN), 400, "invalid_parameter")).param).toBe("name");
		await expectError(await postJson("/admin/keys", { name: "a", nme: "typo" }, ADMIN), 400, "invalid_parameter");
	});
});

describe("listing and revoking", () => {
	it("lists keys newest first with a cursor", async () => {
		const made = [];
		for (let i = 0; i < 3; i++) made.push(await createKey(`page-${i}`));
		const first = await (await call("/admin/keys?limit=2", { headers: ADMIN })).json<{
			data: KeyView[];
			has_more: boolean;
			next_cursor: string;
		}>();
		expect(first.data).toHaveLength(2);
		expect(first.has_more).toBe(true);
		const second = await (await call(`/admin/keys?limit=2&cursor=${encodeURIComponent(first.next_cursor)}`, { headers: ADMIN })).json<{
			data: KeyView[];
		}>();
		const ids = [...first.data, ...second.data].map((k) => k.id);
		expect(new Set(ids).size).toBe(ids.length);
		await expectError(await call("/admin/keys?limit=0", { headers: ADMIN }), 400, "invalid_parameter");
		await expectError(await call("/admin/keys?cursor=garbage", { headers: ADMIN }), 400, "invalid_parameter");
	});

	it("a revoked key is refused on its very next request", async () => {
		const k = await createKey();
		const ok = await postJson("/v1/images/generations", { prompt: uniquePrompt("before") }, auth(k.key));
		expect(ok.status).toBe(200);
		const del = await call(`/admin/keys/${k.id}`, { method: "DELETE", headers: ADMIN });
		expect(del.status).toBe(200);
		const view = await del.json<KeyView>();
		expect(view.status).toBe("revoked");
		expect(view.revoked_at).not.toBeNull();
		const err = await expectError(await postJson("/v1/images/generations", { prompt: "after" }, auth(k.key)), 403, "key_revoked");
		expect(err.type).toBe("permission_error");
		const again = await call(`/admin/keys/${k.id}`, { method: "DELETE", headers: ADMIN });
		expect((await again.json<KeyView>()).revoked_at).toBe(view.revoked_at);
	});

	it.each([
		["/v1/images/generations", { prompt: "x" }],
		["/v1/images/generations", { prompt: "x", async: true }],
		[
			"/v1/images/edits",
			{ prompt: "x", image: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==" },
		],
		["/v1/images/generate", { prompt: "x", model: "nano-banana" }],
		["/api/v1/models/nano-banana/edit", { prompt: "x" }],
		["/v1/chat/completions", { model: "nano-banana", messages: [{ role: "user", content: "x" }] }],
		["/api/v1/images", { model: "nano-banana", prompt: "x" }],
		["/v1beta/models/nano-banana:generateContent", { contents: [{ parts: [{ text: "x" }] }] }],
	])("admission is the key check on %s %j: unknown 401, revoked 403, nothing held", async (path, body) => {
		// Gemini's routes answer in Google's shape: the gateway's code is the ErrorInfo reason there.
		const refused = async (res: Response, status: number, code: string) => {
			if (!path.startsWith("/v1beta/")) return expectError(res, status, code);
			const err = (await res.json<{ error: { code: number; details: Array<{ reason?: string }> } }>()).error;
			expect([err.code, err.details.find((d) => d.reason)?.reason]).toEqual([status, code.toUpperCase()]);
		};
		await refused(await postJson(path, body, auth("nbk_not-a-real-key")), 401, "invalid_api_key");
		const k = await createKey(undefined, { credits: 100 });
		await call(`/admin/keys/${k.id}`, { method: "DELETE", headers: ADMIN });
		await refused(await postJson(path, body, auth(k.key)), 403, "key_revoked");
		const view = await (await call(`/admin/keys/${k.id}`, { headers: ADMIN })).json<{ credits: number; reserved_credits: number }>();
		expect(view).toMatchObject({ credits: 100, reserved_credits: 0 });
	});

	it("404 for an unknown key id", async () => {
		await expectError(await call("/admin/keys/key_nope", { headers: ADMIN }), 404, "not_found");
		await expectError(await call("/admin/keys/key_nope", { method: "DELETE", headers: ADMIN }), 404, "not_found");
	});
});
