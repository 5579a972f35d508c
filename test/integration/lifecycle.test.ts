// Model lifecycle: retired ids keep working, a retirement mid-run is survived through the
// successor (charged once, nothing left behind), discovery records what Google serves, and
// MODELS moves an alias without a release. Retirements happen in a dedicated emulator
// instance (LIFECYCLE_EMULATOR_URL) so no other test file sees them.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { loadConfig } from "../../src/load-config";
import { runScheduled } from "../../src/maintenance";
import { discoverModels } from "../../src/upstreams/discovery";
import {
	ADMIN,
	auth,
	balanceOf,
	call,
	createKey,
	emulatorCalls,
	expectError,
	flushUsage,
	listObjects,
	postJson,
	uniquePrompt,
	usageRows,
} from "../helpers/http";

const app = buildApp();
/** The Worker pointed at the lifecycle emulator (one env object: its configuration is parsed once). */
const lifecycleEnv = { ...env, GEMINI_BASE_URL: env.LIFECYCLE_EMULATOR_URL };

function lcall(path: string, init: RequestInit = {}, e: Env = lifecycleEnv): Promise<Response> {
	return Promise.resolve(app.fetch(new Request(`https://gateway.test${path}`, init), e, createExecutionContext()));
}

function lpost(path: string, body: unknown, headers: Record<string, string>, e: Env = lifecycleEnv): Promise<Response> {
	return lcall(path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) }, e);
}

/** Shuts a model down at "Google" (the lifecycle emulator), or brings it back. */
async function google(action: "retire" | "restore", model: string): Promise<void> {
	const res = await fetch(`${env.LIFECYCLE_EMULATOR_URL}/__emulator/models/${model}/${action}`, { method: "POST" });
	expect(res.status).toBe(200);
}

const upstreamCalls = (prompt: string) => emulatorCalls(prompt, { all: true, url: env.LIFECYCLE_EMULATOR_URL });

const RETIRABLE = ["gemini-3.1-flash-image", "gemini-nano-banana-2.1", "gemini-3-pro-image"];

async function refresh(): Promise<Response> {
	return lcall("/admin/catalog/refresh", { method: "POST", headers: ADMIN });
}

/** Every test of the block starts with the retirable models served again; the block leaves them so, and the catalog refreshed. */
function restoreRetirableAround(): void {
	beforeEach(async () => {
		for (const m of RETIRABLE) await google("restore", m);
	});
	afterAll(async () => {
		for (const m of RETIRABLE) await google("restore", m);
		await refresh();
	});
}

describe("retired ids", () => {
	it.each([
		["gemini-3.1-flash-image-preview", "gemini-3.1-flash-image", "2026-05-28", "Thu, 25 Jun 2026 00:00:00 GMT"],
		["gemini-3-pro-image-preview", "gemini-3-pro-image", "2026-05-28", "Thu, 25 Jun 2026 00:00:00 GMT"],
		["gemini-2.5-flash-image-preview", "gemini-3.1-flash-image", "2026-01-15", "Thu, 15 Jan 2026 00:00:00 GMT"],
	])("%s is routed to %s and answered with Deprecation and Sunset", async (id, servedBy, deprecated, sunset) => {
		const k = await createKey();
		const prompt = uniquePrompt(`retired ${id}`);
		const res = await postJson("/v1/images/generations", { model: id, prompt }, auth(k.key));
		expect(res.status).toBe(200);
		expect(res.headers.get("deprecation")).toBe(`@${Date.parse(`${deprecated}T00:00:00Z`) / 1000}`);
		expect(res.headers.get("sunset")).toBe(sunset);
		expect(res.headers.get("link")).toContain('rel="successor-version"');
		const sent = await emulatorCalls(prompt, { all: true });
		// The retired id itself is never sent: Google answers 404 for it.
		expect(sent.map((c) => c.model)).not.toContain(id);
		expect(sent.filter((c) => c.status === 200).map((c) => c.model)).toEqual([servedBy]);
	});

	it("a deprecated raw id carries Deprecation (no Sunset when Google announced none); an alias does not", async () => {
		const k = await createKey();
		const raw = await postJson(
			"/v1/images/generations",
			{ model: "gemini-3.1-flash-image", prompt: uniquePrompt("deprecated") },
			auth(k.key),
		);
		expect(raw.status).toBe(200);
		expect(raw.headers.get("deprecation")).toBe(`@${Date.UTC(2026, 9, 6) / 1000}`);
		expect(raw.headers.get("sunset")).toBeNull();
		const alias = await postJson("/v1/images/generations", { model: "nano-banana-2", prompt: uniquePrompt("alias") }, auth(k.key));
		expect(alias.headers.get("deprecation")).toBeNull();
	});

	it("GET /v1/models marks deprecated and retired ids with their replacement", async () => {
		const k = await createKey();
		const { data } = await (await call("/v1/models", { headers: auth(k.key) })).json<{
			data: Array<{ id: string; deprecated: boolean; lifecycle: { status: string; sunset_on: string | null; replacement: string | null } }>;
		}>();
		const byId = new Map(data.map((m) => [m.id, m]));
		expect(byId.get("gemini-3-pro-image-preview")).toMatchObject({
			deprecated: true,
			lifecycle: { status: "retired", sunset_on: "2026-06-25", replacement: "gemini-3-pro-image" },
		});
		expect(byId.get("gemini-2.5-flash-image")).toMatchObject({
			deprecated: true,
			lifecycle: { status: "deprecated", sunset_on: "2026-10-02" },
		});
		expect(byId.get("nano-banana-2")).toMatchObject({ deprecated: false });
		const one = await call("/v1/models/gemini-3-pro-image-preview", { headers: auth(k.key) });
		expect(one.headers.get("deprecation")).toMatch(/^@\d+$/);
	});
});

describe("a retirement mid-run", () => {
	restoreRetirableAround();

	it("the next request succeeds through the successor, charged once, nothing left in R2; later ones go straight there", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const first = uniquePrompt("before");
		expect((await lpost("/v1/images/generations", { model: "nano-banana-2", prompt: first }, auth(k.key))).status).toBe(200);
		expect((await upstreamCalls(first)).map((c) => [c.model, c.status])).toEqual([["gemini-3.1-flash-image", 200]]);

		await google("retire", "gemini-3.1-flash-image");
		const second = uniquePrompt("during");
		const res = await lpost("/v1/images/generations", { model: "nano-banana-2", prompt: second }, auth(k.key));
		expect(res.status).toBe(200);
		expect(res.headers.get("x-credits-charged")).toBe("7"); // nano-banana-2's 1K price, what was asked for
		expect((await upstreamCalls(second)).map((c) => [c.model, c.status])).toEqual([
			["gemini-3.1-flash-image", 404],
			["gemini-nano-banana-2.1", 200],
		]);
		expect(await balanceOf(k.key)).toBe(100 - 7 - 7);
		expect((await listObjects(`generated/nano-banana-2/${k.id}/`)).length).toBe(2);

		const third = uniquePrompt("after");
		expect((await lpost("/v1/images/generations", { model: "nano-banana-2", prompt: third }, auth(k.key))).status).toBe(200);
		expect((await upstreamCalls(third)).map((c) => [c.model, c.status])).toEqual([["gemini-nano-banana-2.1", 200]]);

		await flushUsage(k.key);
		const rows = await usageRows(k.id);
		expect(rows.map((r) => [r.upstream_model, r.credits_charged])).toEqual([
			["gemini-3.1-flash-image", 7],
			["gemini-nano-banana-2.1", 7],
			["gemini-nano-banana-2.1", 7],
		]);
		// Recorded for the upstream that answered 404 (its id with a hash of its endpoint and key).
		const finding = await env.DB.prepare("SELECT gone_at, gone_reason FROM upstream_models WHERE upstream LIKE 'gemini-1#%' AND model = ?")
			.bind("gemini-3.1-flash-image")
			.first<{ gone_at: string; gone_reason: string }>();
		expect(finding?.gone_reason).toBe("404 NOT_FOUND");
	});

	it("a size the successor does not make is a 400 before it is asked, charged nothing", async () => {
		const k = await createKey(undefined, { credits: 100 });
		await google("retire", "gemini-3.1-flash-image");
		const prompt = uniquePrompt("tiny");
		const res = await lpost("/v1/images/generations", { model: "nano-banana-2", prompt, image_size: "512" }, auth(k.key));
		const err = await expectError(res, 400, "invalid_parameter");
		expect(err.param).toBe("image_size");
		expect(err.message).toContain("gemini-nano-banana-2.1");
		expect((await upstreamCalls(prompt)).filter((c) => c.model === "gemini-nano-banana-2.1")).toEqual([]);
		expect(await balanceOf(k.key)).toBe(100);
	});

	it("when no id of the chain is left: 502 naming the upstream model, charged nothing, nothing stored", async () => {
		const k = await createKey(undefined, { credits: 100 });
		await google("retire", "gemini-3.1-flash-image");
		await google("retire", "gemini-nano-banana-2.1");
		const res = await lpost("/v1/images/generations", { model: "nano-banana-2", prompt: uniquePrompt("nothing left") }, auth(k.key));
		const err = await expectError(res, 502, "upstream_model_not_found");
		expect(err.message).toContain("gemini-nano-banana-2.1");
		expect(await balanceOf(k.key)).toBe(100);
		expect(await listObjects(`generated/nano-banana-2/${k.id}/`)).toEqual([]);
	});
});

/** The models.get calls the lifecycle emulator answered for `model` since `since`. */
async function modelGets(model: string, since: number): Promise<Array<{ status: number }>> {
	const res = await fetch(`${env.LIFECYCLE_EMULATOR_URL}/__emulator/model-gets?model=${encodeURIComponent(model)}`);
	return (await res.json<{ gets: Array<{ status: number; at: number }> }>()).gets.filter((g) => g.at >= since);
}

const goneMark = (model: string) =>
	env.DB.prepare("SELECT gone_at FROM upstream_models WHERE upstream LIKE 'gemini-1#%' AND model = ?")
		.bind(model)
		.first<{ gone_at: string | null }>();

describe("one caller's 404 and everyone else's model", () => {
	beforeEach(async () => {
		for (const m of RETIRABLE) await google("restore", m);
		await refresh(); // no id marked gone by an earlier test
	});
	afterAll(async () => {
		for (const m of RETIRABLE) await google("restore", m);
		await refresh();
	});

	it.each([
		["Google's generic NOT_FOUND (a glitch, or something the request names)", "fail=404", 0],
		["the model-not-found wording while models.get finds the model", "notfound=model", 1],
	])("%s: 404 to that caller, no failover, free; the next caller still gets the model", async (_, directive, gets) => {
		const since = Date.now();
		const a = await createKey(undefined, { credits: 100 });
		const prompt = uniquePrompt("request 404", directive);
		const res = await lpost("/v1/images/generations", { model: "nano-banana-2", prompt }, auth(a.key));
		const err = await expectError(res, 404, "upstream_not_found");
		expect(err.message).toContain("You were not charged");
		expect((await upstreamCalls(prompt)).map((c) => [c.model, c.status])).toEqual([["gemini-3.1-flash-image", 404]]);
		expect(await balanceOf(a.key)).toBe(100);
		expect((await modelGets("gemini-3.1-flash-image", since)).map((g) => g.status)).toEqual(gets ? [200] : []);

		// On the native route the same 404 arrives in Google's shape.
		const nativePrompt = uniquePrompt("native 404", directive);
		const native = await lpost(
			"/v1beta/models/nano-banana-2:generateContent",
			{ contents: [{ role: "user", parts: [{ text: nativePrompt }] }] },
			{ "x-goog-api-key": a.key },
		);
		expect(native.status).toBe(404);
		expect((await native.json<{ error: { status: string } }>()).error.status).toBe("NOT_FOUND");
		expect((await upstreamCalls(nativePrompt)).map((c) => c.model)).toEqual(["gemini-3.1-flash-image"]);

		// Another customer is still served by the model itself, and nothing was marked.
		const b = await createKey(undefined, { credits: 100 });
		const next = uniquePrompt("someone else");
		expect((await lpost("/v1/images/generations", { model: "nano-banana-2", prompt: next }, auth(b.key))).status).toBe(200);
		expect((await upstreamCalls(next)).map((c) => [c.model, c.status])).toEqual([["gemini-3.1-flash-image", 200]]);
		expect((await goneMark("gemini-3.1-flash-image"))?.gone_at ?? null).toBeNull();
		await flushUsage(a.key);
		expect((await usageRows(a.id)).map((r) => [r.error_code, r.credits_charged])).toEqual([
			["upstream_not_found", 0],
			["upstream_not_found", 0],
		]);
	});

	it("a real removal met by 8 concurrent requests: each served by the successor, models.get asked once, the finding kept", async () => {
		const since = Date.now();
		await google("retire", "gemini-3.1-flash-image");
		const k = await createKey(undefined, { credits: 1_000 });
		const prompts = Array.from({ length: 8 }, (_, i) => uniquePrompt(`concurrent removal ${i}`));
		const answers = await Promise.all(
			prompts.map((prompt) => lpost("/v1/images/generations", { model: "nano-banana-2", prompt }, auth(k.key))),
		);
		expect(answers.map((r) => r.status)).toEqual(prompts.map(() => 200));
		for (const prompt of prompts) {
			expect((await upstreamCalls(prompt)).filter((c) => c.status === 200).map((c) => c.model)).toEqual(["gemini-nano-banana-2.1"]);
		}
		expect((await modelGets("gemini-3.1-flash-image", since)).map((g) => g.status)).toEqual([404]);
		expect((await goneMark("gemini-3.1-flash-image"))?.gone_at).toEqual(expect.any(String));

		// Remembered: the next request goes straight to the successor, with no 404 and no models.get.
		const later = uniquePrompt("after the finding");
		expect((await lpost("/v1/images/generations", { model: "nano-banana-2", prompt: later }, auth(k.key))).status).toBe(200);
		expect((await upstreamCalls(later)).map((c) => [c.model, c.status])).toEqual([["gemini-nano-banana-2.1", 200]]);
		expect(await modelGets("gemini-3.1-flash-image", since)).toHaveLength(1);
	});
});

describe("discovery", () => {
	restoreRetirableAround();

	it("reads every page of models.list and marks catalog ids present or missing", async () => {
		await google("retire", "gemini-3-pro-image");
		const [result] = await discoverModels(loadConfig(lifecycleEnv), env.DB, 2);
		expect(result.pages).toBeGreaterThan(3);
		expect(result.present).toEqual(
			expect.arrayContaining(["gemini-nano-banana-2.1", "gemini-3.1-flash-image", "gemini-3.1-flash-lite-image"]),
		);
		expect(result.missing).toEqual(
			expect.arrayContaining([
				"gemini-3-pro-image",
				"gemini-2.5-flash-image",
				"gemini-3-pro-image-preview",
				"gemini-3.1-flash-image-preview",
			]),
		);
		expect(result.present).not.toContain("gemini-3-pro-image");
		expect(result.unused_image_models).toEqual([]);

		const catalog = await (await lcall("/admin/catalog", { headers: ADMIN })).json<{
			last_check: { ok: boolean; models: number };
			aliases: Array<{ alias: string; resolves_to: string; chain: Array<{ id: string; seen_upstream: boolean | null; gone: boolean }> }>;
		}>();
		expect(catalog.last_check).toMatchObject({ ok: true });
		const byAlias = new Map(catalog.aliases.map((a) => [a.alias, a]));
		expect(byAlias.get("nano-banana")).toMatchObject({
			resolves_to: "gemini-3.1-flash-image",
			chain: [
				{ id: "gemini-2.5-flash-image", seen_upstream: false, gone: true },
				{ id: "gemini-3.1-flash-image", seen_upstream: true, gone: false },
				{ id: "gemini-nano-banana-2.1", seen_upstream: true, gone: false },
			],
		});
		expect(byAlias.get("nano-banana-pro")?.chain).toEqual([
			expect.objectContaining({ id: "gemini-3-pro-image", seen_upstream: false, gone: true }),
		]);

		// A request for nano-banana goes straight to the id discovery found, without a 404 first.
		const k = await createKey();
		const prompt = uniquePrompt("discovered");
		expect((await lpost("/v1/images/generations", { model: "nano-banana", prompt }, auth(k.key))).status).toBe(200);
		expect((await upstreamCalls(prompt)).map((c) => c.model)).toEqual(["gemini-3.1-flash-image"]);

		// Listed again: the mark is cleared and requests reach it.
		await google("restore", "gemini-3-pro-image");
		const again = await (await refresh()).json<{ upstreams: Array<{ present: string[]; missing: string[] }> }>();
		expect(again.upstreams[0].present).toContain("gemini-3-pro-image");
		const pro = await lpost("/v1/images/generations", { model: "nano-banana-pro", prompt: uniquePrompt("back") }, auth(k.key));
		expect(pro.status).toBe(200);
	});

	it("runs from the cron trigger at most hourly", async () => {
		const config = loadConfig(lifecycleEnv);
		await env.DB.prepare("DELETE FROM catalog_checks").run();
		const at = new Date(Date.UTC(2026, 10, 22, 12, 5));
		const first = await runScheduled(lifecycleEnv, at, config);
		expect(first.discovery).toMatchObject({ listed: expect.any(Number) });
		const second = await runScheduled(lifecycleEnv, new Date(at.getTime() + 5 * 60_000), config);
		expect(second.discovery).toBe("not_due");
	});

	it("needs the admin token", async () => {
		await expectError(await lcall("/admin/catalog/refresh", { method: "POST" }), 401, "invalid_api_key");
	});
});

describe("MODELS and configuration errors", () => {
	beforeEach(async () => {
		for (const m of RETIRABLE) await google("restore", m);
		await refresh();
	});

	it("MODELS points an alias at a new upstream id without a release", async () => {
		const k = await createKey();
		const moved = { ...lifecycleEnv, MODELS: JSON.stringify({ "nano-banana-2": { upstream: "gemini-nano-banana-2.1" } }) };
		const prompt = uniquePrompt("moved");
		expect((await lpost("/v1/images/generations", { model: "nano-banana-2", prompt }, auth(k.key), moved)).status).toBe(200);
		expect((await upstreamCalls(prompt)).map((c) => c.model)).toEqual(["gemini-nano-banana-2.1"]);
	});

	it("a broken setting answers 500 configuration_error on every API route, naming it, while images stay served", async () => {
		const k = await createKey();
		const ok = await postJson("/v1/images/generations", { prompt: uniquePrompt("kept") }, auth(k.key));
		const image = new URL((await ok.json<{ data: Array<{ url: string }> }>()).data[0].url).pathname;
		const broken = { ...env, PRICES: '{"nano-banana": 5' };
		for (const [path, init] of [
			["/v1/images/generations", { method: "POST", headers: { ...auth(k.key), "content-type": "application/json" }, body: "{}" }],
			["/v1/models", { headers: auth(k.key) }],
			["/admin/keys", { headers: ADMIN }],
			["/health", {}],
		] as const) {
			const err = await expectError(await lcall(path, init, broken), 500, "configuration_error");
			expect(err.message).toContain("PRICES");
		}
		const google = await lcall(
			"/v1beta/models/nano-banana:generateContent",
			{ method: "POST", headers: { "x-goog-api-key": k.key } },
			broken,
		);
		expect(await google.json()).toMatchObject({ error: { code: 500, status: "INTERNAL" } });
		expect((await lcall(image, {}, broken)).status).toBe(200);
	});
});
