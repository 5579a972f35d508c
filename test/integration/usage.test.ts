import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { loadConfig } from "../../src/load-config";
import {
	ADMIN,
	auth,
	balanceOf,
	call,
	createKey,
	expectError,
	flushUsage,
	ledgerRows,
	postJson,
	uniquePrompt,
	usageRows,
} from "../helpers/http";

const GEN = "/v1/images/generations";

describe("usage rows", () => {
	it("record everything about the request", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const res = await postJson(
			GEN,
			{ model: "nano-banana-2", prompt: uniquePrompt("recorded"), n: 2, aspect_ratio: "4:1", image_size: "2K" },
			auth(k.key),
		);
		expect(res.status).toBe(200);
		const body = await res.json<{ data: Array<{ url: string }> }>();
		await flushUsage(k.key);
		const [row] = await usageRows(k.id);
		expect(row).toMatchObject({
			request_id: res.headers.get("x-request-id"),
			key_id: k.id,
			endpoint: "openai.images.generations",
			model: "nano-banana-2",
			mode: "generate",
			n_requested: 2,
			images_delivered: 2,
			aspect_ratio: "4:1",
			image_size: "2K",
			credits_reserved: 20,
			credits_charged: 20,
			// Each answer: a 2K image (1,680 tokens) and the 272 candidate tokens Gemini 3 answers carry
			// beyond their details; no caption (Gemini 3 sends the image part alone, recorded 2026-12-03).
			output_tokens: 2 * (1680 + 272),
			status: 200,
			error_code: null,
			finish_reason: "STOP",
		});
		expect(row.prompt_tokens).toBeGreaterThan(0);
		expect(row.total_ms).toBeGreaterThanOrEqual(row.upstream_ms ?? 0);
		expect(JSON.parse(row.r2_keys)).toEqual(body.data.map((d) => new URL(d.url).pathname.replace("/images/", "")));
		expect(JSON.stringify(row)).not.toContain(k.key);
		// The meter's record: Google's bill for both answers at the serving model's rates, and its tokens.
		const metered = JSON.parse(row.metered);
		expect(metered).toMatchObject({ models: { "gemini-3.1-flash-image": 2 }, service_tier: "standard", search_queries: 0 });
		expect(metered.output_image + metered.output_text).toBe(row.output_tokens);
		expect(row.google_cost).toBeGreaterThan(0);
		expect(metered.cost).toEqual({ delivered: row.google_cost, refused: 0, faulted: 0 });
	});

	it("record the block reason of a refused image", async () => {
		const k = await createKey();
		await postJson(GEN, { prompt: uniquePrompt("blocked", "finish=IMAGE_SAFETY") }, auth(k.key));
		await flushUsage(k.key);
		const [row] = await usageRows(k.id);
		expect(row).toMatchObject({ status: 422, error_code: "content_policy_violation", finish_reason: "IMAGE_SAFETY", credits_charged: 0 });
	});
});

describe("D1 outage", () => {
	it("balances stay right, rows wait in the outbox, and appear once (not twice) when D1 is back", async () => {
		const k = await createKey(undefined, { credits: 100 });
		await flushUsage(k.key);
		await env.DB.batch([
			env.DB.prepare("ALTER TABLE usage RENAME TO usage_offline"),
			env.DB.prepare("ALTER TABLE credit_ledger RENAME TO credit_ledger_offline"),
		]);
		try {
			for (let i = 0; i < 3; i++) expect((await postJson(GEN, { prompt: uniquePrompt(`outage ${i}`) }, auth(k.key))).status).toBe(200);
			expect(await balanceOf(k.key)).toBe(85);
			const during = await flushUsage(k.key);
			expect(during.flushed).toBe(0);
			expect(during.pending).toBe(3 + 9); // 3 usage rows, 3 x (reserve, release, charge)
		} finally {
			await env.DB.batch([
				env.DB.prepare("ALTER TABLE usage_offline RENAME TO usage"),
				env.DB.prepare("ALTER TABLE credit_ledger_offline RENAME TO credit_ledger"),
			]);
		}
		expect(await flushUsage(k.key)).toEqual({ flushed: 12, pending: 0 });
		expect(await flushUsage(k.key)).toEqual({ flushed: 0, pending: 0 });
		const rows = await usageRows(k.id);
		expect(rows).toHaveLength(3);
		expect(rows.reduce((s, r) => s + r.credits_charged, 0)).toBe(15);
		const ledger = await ledgerRows(k.id);
		expect(ledger.filter((l) => l.kind === "charge")).toHaveLength(3);
		expect(ledger.reduce((s, l) => s + l.amount, 0)).toBe(85);
	});
});

describe("GET /v1/account and /v1/usage", () => {
	it("the account shows balance, limits and today's and this month's usage", async () => {
		const k = await createKey(undefined, { credits: 100, limits: { images_per_day: 50 } });
		await postJson(GEN, { prompt: uniquePrompt("acct"), n: 3 }, auth(k.key));
		const acct = await (await call("/v1/account", { headers: auth(k.key) })).json<Record<string, unknown>>();
		expect(acct).toEqual({
			id: k.id,
			name: k.name,
			credits: 85,
			reserved_credits: 0,
			limits: { requests_per_minute: 60, concurrent_requests: 8, concurrent_batch_jobs: 200, images_per_day: 50, images_per_month: 20000 },
			controls: {
				allowed_models: null,
				allowed_image_sizes: null,
				allowed_features: { search: true, thinking: "high", batch: true, text_output: true },
				daily_spend_credits: null,
				monthly_spend_credits: null,
				low_balance_threshold: null,
				low_balance_webhook_url: null,
			},
			usage: { today: { requests: 1, images: 3, credits: 15 }, this_month: { requests: 1, images: 3, credits: 15 } },
		});
	});

	it("pages the caller's rows with a cursor, filters by model and date, and aggregates", async () => {
		const k = await createKey();
		const other = await createKey();
		for (const model of ["nano-banana", "nano-banana", "nano-banana-2"])
			await postJson(GEN, { model, prompt: uniquePrompt("page") }, auth(k.key));
		await postJson(GEN, { prompt: uniquePrompt("not mine") }, auth(other.key));
		await flushUsage(k.key);
		await flushUsage(other.key);

		type Page = {
			data: Array<{ request_id: string; key_id: string; r2_keys: string[] }>;
			has_more: boolean;
			next_cursor: string | null;
			aggregates: {
				by_day: Array<{ requests: number; images: number; credits: number }>;
				by_model: Array<{ model: string; requests: number }>;
			};
		};
		const p1 = await (await call("/v1/usage?limit=2", { headers: auth(k.key) })).json<Page>();
		expect(p1.data).toHaveLength(2);
		expect(p1.has_more).toBe(true);
		expect(Array.isArray(p1.data[0].r2_keys)).toBe(true);
		const p2 = await (
			await call(`/v1/usage?limit=2&cursor=${encodeURIComponent(p1.next_cursor ?? "")}`, { headers: auth(k.key) })
		).json<Page>();
		expect(p2.data).toHaveLength(1);
		expect(p2.has_more).toBe(false);
		expect(new Set([...p1.data, ...p2.data].map((r) => r.key_id))).toEqual(new Set([k.id]));
		expect(p1.aggregates.by_model).toEqual([
			{ model: "nano-banana", requests: 2, images: 2, credits: 10, failed: 0 },
			{ model: "nano-banana-2", requests: 1, images: 1, credits: 7, failed: 0 },
		]);
		expect(p1.aggregates.by_day).toHaveLength(1);
		expect(p1.aggregates.by_day[0]).toMatchObject({ requests: 3, images: 3, credits: 17 });

		const only2 = await (await call("/v1/usage?model=nano-banana-2", { headers: auth(k.key) })).json<Page>();
		expect(only2.data).toHaveLength(1);
		const past = await (await call("/v1/usage?to=2001-01-01", { headers: auth(k.key) })).json<Page>();
		expect(past.data).toHaveLength(0);
		const bad = await call("/v1/usage?from=yesterday", { headers: auth(k.key) });
		expect(bad.status).toBe(400);
		expect((await call("/v1/usage?key_id=someone-else", { headers: auth(k.key) })).status).toBe(400);
	});
});

describe("pricing and models", () => {
	it("GET /v1/pricing and /v1/models show the price table; PRICES overrides it", async () => {
		const k = await createKey();
		const pricing = await (await call("/v1/pricing", { headers: auth(k.key) })).json<{
			data: Array<{ model: string; prices: Record<string, number>; batch_prices: Record<string, number> }>;
		}>();
		expect(pricing.data.find((p) => p.model === "nano-banana-2")?.prices).toEqual({ "512": 5, "1K": 7, "2K": 10, "4K": 16 });
		expect(pricing.data.find((p) => p.model === "nano-banana-2")?.batch_prices).toEqual({ "512": 3, "1K": 4, "2K": 5, "4K": 8 });
		const models = await (await call("/v1/models", { headers: auth(k.key) })).json<{
			data: Array<{ id: string; kind: string; prices: Record<string, number>; max_input_images: number; deprecated: boolean }>;
		}>();
		expect(models.data.filter((m) => m.kind === "alias").map((m) => m.id)).toEqual([
			"nano-banana",
			"nano-banana-2",
			"nano-banana-2.1",
			"nano-banana-2-lite",
			"nano-banana-pro",
			"nano-banana-hd",
		]);
		expect(models.data[0]).toMatchObject({ prices: { "1K": 5 }, batch_prices: { "1K": 3 }, max_input_images: 3, deprecated: false });
		// Raw ids are listed too, retired ones marked and priced like the alias that sells their successor.
		expect(models.data.find((m) => m.id === "gemini-3-pro-image-preview")).toMatchObject({
			kind: "upstream",
			deprecated: true,
			prices: { "4K": 24 },
		});

		const app = buildApp();
		const overridden = { ...env, PRICES: JSON.stringify({ "nano-banana": 9, "nano-banana-2": { "4K": 30 } }) };
		const res = await app.fetch(new Request("https://gateway.test/v1/pricing", { headers: auth(k.key) }), overridden);
		const table = await res.json<{ data: Array<{ model: string; prices: Record<string, number> }> }>();
		expect(table.data.find((p) => p.model === "nano-banana")?.prices).toEqual({ "1K": 9 });
		// An override merges with the defaults (derived from Google's rates), not with the test's PRICES.
		const derived = loadConfig({ ...env, PRICES: undefined }).prices["nano-banana-2"];
		expect(table.data.find((p) => p.model === "nano-banana-2")?.prices).toEqual({ ...derived, "4K": 30 });
		const gen = await app.fetch(
			new Request(`https://gateway.test${GEN}`, {
				method: "POST",
				headers: { ...auth(k.key), "content-type": "application/json" },
				body: JSON.stringify({ prompt: uniquePrompt("priced") }),
			}),
			overridden,
		);
		expect(gen.headers.get("x-credits-charged")).toBe("9");
	});
});

describe("admin usage and stats", () => {
	it("aggregates across keys and reports success rate, safety blocks and latency", async () => {
		const a = await createKey();
		const b = await createKey();
		await postJson(GEN, { prompt: uniquePrompt("a1") }, auth(a.key));
		await postJson(GEN, { prompt: uniquePrompt("a2"), n: 2 }, auth(a.key));
		await postJson(GEN, { prompt: uniquePrompt("b1", "block=SAFETY") }, auth(b.key));
		await flushUsage(a.key);
		await flushUsage(b.key);
		const usage = await (await call(`/admin/usage?key_id=${a.id}`, { headers: ADMIN })).json<{
			total: { requests: number; images: number; credits: number };
		}>();
		expect(usage.total).toMatchObject({ requests: 2, images: 3, credits: 15 });
		const all = await (await call("/admin/usage", { headers: ADMIN })).json<{ by_key: Array<{ key_id: string; requests: number }> }>();
		expect(all.by_key.find((r) => r.key_id === b.id)?.requests).toBe(1);

		const stats = await (await call("/admin/stats?window=1h", { headers: ADMIN })).json<{
			requests: number;
			succeeded: number;
			success_rate: number;
			safety_blocks: number;
			latency_ms: { p50: number; p95: number };
		}>();
		expect(stats.requests).toBeGreaterThanOrEqual(3);
		expect(stats.safety_blocks).toBeGreaterThanOrEqual(1);
		expect(stats.success_rate).toBeGreaterThan(0);
		expect(stats.success_rate).toBeLessThan(1);
		expect(stats.latency_ms.p50).toBeGreaterThanOrEqual(0);
		expect(stats.latency_ms.p95).toBeGreaterThanOrEqual(stats.latency_ms.p50);
		expect((await call("/admin/stats?window=forever", { headers: ADMIN })).status).toBe(400);
		// Names of Object.prototype's members are not windows (they were a 500).
		for (const w of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
			const err = await expectError(await call(`/admin/stats?window=${w}`, { headers: ADMIN }), 400, "invalid_parameter");
			expect(err.param).toBe("window");
		}
		expect((await call("/admin/usage", { headers: auth(a.key) })).status).toBe(401);
	});
});
