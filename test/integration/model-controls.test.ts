// Nano Banana's controls in every dialect (src/routes/model-controls.ts): a thinking level
// and Google Search grounding reach the upstream request under each dialect's own names;
// a level or search the operator has not enabled, an unknown level, and a size the model
// lacks (Nano Banana 2.1 has no 512) are 400s naming the dialect's field, in its error
// shape, with nothing held and no upstream call.
import { describe, expect, it } from "vitest";
import { answerCostCredits, type BilledUsage } from "../../src/billing/cost";
import { applyRates } from "../../src/catalog/rates";
import {
	auth,
	call,
	createKey,
	emulatorCalls,
	expectError,
	flushUsage,
	postJson,
	postJsonWith,
	uniquePrompt,
	usageRows,
} from "../helpers/http";
import { type Job, waitForJob } from "../helpers/jobs";
import { TEST_RATES } from "../node/prices";

type Sent = { tools?: unknown[]; generationConfig?: { thinkingConfig?: { thinkingLevel?: string } } };

/** Each dialect's request with a thinking level and search, under its own names. */
const DIALECTS: Array<{
	name: string;
	path: string;
	body: (prompt: string, level: string, search: boolean) => Record<string, unknown>;
	thinking: string;
	search: string;
}> = [
	{
		name: "OpenAI Images",
		path: "/v1/images/generations",
		body: (prompt, level, search) => ({
			model: "nano-banana-2",
			prompt,
			thinking_level: level,
			...(search ? { google_search: true } : {}),
		}),
		thinking: "thinking_level",
		search: "google_search",
	},
	{
		name: "chat completions (reasoning_effort)",
		path: "/v1/chat/completions",
		body: (prompt, level, search) => ({
			model: "nano-banana-2",
			messages: [{ role: "user", content: prompt }],
			reasoning_effort: level,
			...(search ? { web_search_options: {} } : {}),
		}),
		thinking: "reasoning_effort",
		search: "web_search_options",
	},
	{
		name: "chat completions (OpenRouter's reasoning.effort)",
		path: "/api/v1/chat/completions",
		body: (prompt, level) => ({ model: "nano-banana-2", messages: [{ role: "user", content: prompt }], reasoning: { effort: level } }),
		thinking: "reasoning.effort",
		search: "web_search_options",
	},
	{
		name: "chat completions (image_config.thinking_level)",
		path: "/v1/chat/completions",
		body: (prompt, level) => ({
			model: "nano-banana-2",
			messages: [{ role: "user", content: prompt }],
			image_config: { thinking_level: level },
		}),
		thinking: "image_config.thinking_level",
		search: "web_search_options",
	},
	{
		name: "OpenRouter Images",
		path: "/api/v1/images",
		body: (prompt, level, search) => ({
			model: "nano-banana-2",
			prompt,
			thinking_level: level,
			...(search ? { google_search: true } : {}),
		}),
		thinking: "thinking_level",
		search: "google_search",
	},
	{
		name: "Vydra",
		path: "/api/v1/models/nano-banana-2/edit",
		body: (prompt, level, search) => ({ prompt, thinkingLevel: level, ...(search ? { googleSearch: true } : {}) }),
		thinking: "thinkingLevel",
		search: "googleSearch",
	},
	{
		name: "NanoBananaAPI",
		path: "/v1/images/generate",
		body: (prompt, level, search) => ({
			prompt,
			model: "nano-banana-2",
			thinking_level: level,
			...(search ? { google_search: true } : {}),
		}),
		thinking: "thinking_level",
		search: "google_search",
	},
];

/** What the emulator received for a prompt. */
async function sentFor(prompt: string): Promise<Sent> {
	const calls = await emulatorCalls(prompt);
	expect(calls).toHaveLength(1);
	return calls[0].body as Sent;
}

/** Nothing held, nothing charged, nothing called: the 400 came first. */
async function expectUntouched(key: string, prompt: string): Promise<void> {
	const account = (await call("/v1/account", { headers: auth(key) })).json<{ credits: number; reserved_credits: number }>();
	expect(await account).toMatchObject({ credits: 1_000_000, reserved_credits: 0 });
	expect(await emulatorCalls(prompt, { all: true })).toEqual([]);
}

describe("thinking level and search grounding in every dialect", () => {
	for (const d of DIALECTS) {
		it(`${d.name}: the thinking level reaches Gemini's thinkingConfig`, async () => {
			const k = await createKey();
			const prompt = uniquePrompt("a lamp");
			const res = await postJson(d.path, d.body(prompt, "HIGH", false), auth(k.key));
			expect(res.status, await res.clone().text()).toBe(200);
			expect((await sentFor(prompt)).generationConfig?.thinkingConfig).toEqual({ thinkingLevel: "HIGH" });
		});

		it(`${d.name}: a level Gemini does not know, or the operator has not enabled, is a 400 naming ${d.thinking}`, async () => {
			const k = await createKey();
			const prompt = uniquePrompt("a lamp");
			const unknown = await postJson(d.path, d.body(prompt, "xhigh", false), auth(k.key));
			const err = await expectError(unknown, 400, "invalid_parameter");
			expect(err.param).toBe(d.thinking);
			const off = await postJsonWith(
				{ env: { NATIVE_THINKING_LEVELS: "minimal" } as Partial<Env> },
				d.path,
				d.body(prompt, "high", false),
				auth(k.key),
			);
			const refused = await expectError(off, 400, "feature_not_allowed");
			expect(refused.param).toBe(d.thinking);
			expect(refused.message).toContain("allowed: minimal");
			await expectUntouched(k.key, prompt);
		});

		it(`${d.name}: a level the serving model does not take (low on 3.1 Flash Image) is a 400 naming ${d.thinking} and the levels it takes`, async () => {
			const k = await createKey();
			const prompt = uniquePrompt("a lamp");
			const err = await expectError(await postJson(d.path, d.body(prompt, "low", false), auth(k.key)), 400, "invalid_parameter");
			expect(err.param).toBe(d.thinking);
			expect(err.message).toContain("gemini-3.1-flash-image");
			expect(err.message).toContain("minimal, high");
			await expectUntouched(k.key, prompt);
		});

		if (d.name.includes("OpenRouter's") || d.name.includes("image_config")) continue;
		it(`${d.name}: search is a 400 naming ${d.search} unless NATIVE_ALLOW_SEARCH, then Google Search with image search reaches Gemini`, async () => {
			const k = await createKey();
			const prompt = uniquePrompt("today's weather as a poster");
			const refused = await expectError(await postJson(d.path, d.body(prompt, "high", true), auth(k.key)), 400, "feature_not_allowed");
			expect(refused.param).toBe(d.search);
			await expectUntouched(k.key, prompt);
			const res = await postJsonWith(
				{ env: { NATIVE_ALLOW_SEARCH: "true" } as Partial<Env> },
				d.path,
				d.body(prompt, "high", true),
				auth(k.key),
			);
			expect(res.status, await res.clone().text()).toBe(200);
			expect((await sentFor(prompt)).tools).toEqual([{ googleSearch: { searchTypes: { webSearch: {}, imageSearch: {} } } }]);
			// The query Google ran (the emulator runs one) is metered with the answer.
			await flushUsage(k.key);
			const [row] = await usageRows(k.id);
			expect(JSON.parse(row.metered ?? "{}")).toMatchObject({ search_queries: 1 });
		});
	}

	it("Gemini's native route meters image search queries as queries, as every dialect does", async () => {
		const k = await createKey();
		// The emulator runs one web search and two image searches (groundingMetadata.imageSearchQueries).
		const prompt = uniquePrompt("today's weather as a poster", "image-search-queries=2");
		const res = await postJsonWith(
			{ env: { NATIVE_ALLOW_SEARCH: "true" } as Partial<Env> },
			"/v1beta/models/nano-banana-2:generateContent",
			{
				contents: [{ role: "user", parts: [{ text: prompt }] }],
				tools: [{ googleSearch: { searchTypes: { webSearch: {}, imageSearch: {} } } }],
			},
			{ "x-goog-api-key": k.key },
		);
		expect(res.status, await res.clone().text()).toBe(200);
		const answer = await res.json<{ candidates: Array<{ groundingMetadata?: { imageSearchQueries?: string[] } }> }>();
		expect(answer.candidates[0].groundingMetadata?.imageSearchQueries).toHaveLength(2);
		await flushUsage(k.key);
		const [row] = await usageRows(k.id);
		const metered = JSON.parse(row.metered ?? "{}") as { search_queries: number; models: Record<string, number> };
		expect(metered.search_queries).toBe(3);
		// Google's bill on the row is the answer's tokens plus three queries, as the emulator billed it.
		const [call] = await emulatorCalls(prompt);
		expect(call.searchQueries).toBe(3);
		const rates = applyRates(TEST_RATES)[Object.keys(metered.models)[0]];
		expect(row.google_cost).toBeCloseTo(answerCostCredits(call.usage as BilledUsage, rates, { searchQueries: 3 }), 4);
	});

	it("an async job keeps its thinking level through the queue", async () => {
		const k = await createKey();
		const prompt = uniquePrompt("a lamp");
		const res = await postJson(
			"/v1/images/generations",
			{ model: "nano-banana-2", prompt, thinking_level: "high", async: true },
			auth(k.key),
		);
		expect(res.status).toBe(202);
		expect((await waitForJob(k.key, (await res.json<Job>()).id)).status).toBe("SUCCEEDED");
		expect((await sentFor(prompt)).generationConfig?.thinkingConfig).toEqual({ thinkingLevel: "HIGH" });
	});

	it("a key whose thinking ceiling is low is refused high (403 naming the control) before anything is held", async () => {
		const k = await createKey();
		const patched = await call(`/admin/keys/${k.id}`, {
			method: "PATCH",
			headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" },
			body: JSON.stringify({ controls: { allowed_features: { thinking: "low" } } }),
		});
		expect(patched.status).toBe(200);
		const prompt = uniquePrompt("a lamp");
		const body = { model: "nano-banana-2", messages: [{ role: "user", content: prompt }], reasoning_effort: "high" };
		const err = await expectError(await postJson("/v1/chat/completions", body, auth(k.key)), 403, "not_allowed_for_key");
		expect(err.param).toBe("allowed_features.thinking");
		await expectUntouched(k.key, prompt);
		// Under the ceiling (3.1 Flash Image, behind nano-banana-2, thinks at minimal or high).
		const minimal = await postJson("/v1/chat/completions", { ...body, reasoning_effort: "minimal" }, auth(k.key));
		expect(minimal.status).toBe(200);
	});
});

describe("size rules per model: Nano Banana 2.1 has no 512", () => {
	const cases: Array<[string, string, Record<string, unknown>, string]> = [
		["OpenAI Images", "/v1/images/generations", { model: "nano-banana-2.1", image_size: "512" }, "image_size"],
		[
			"chat completions",
			"/v1/chat/completions",
			{ model: "nano-banana-2.1", image_config: { image_size: "512" } },
			"image_config.image_size",
		],
		["OpenRouter Images", "/api/v1/images", { model: "nano-banana-2.1", resolution: "512" }, "resolution"],
	];
	for (const [name, path, extra, param] of cases) {
		it(`${name}: 512 is a 400 naming ${param}, nothing held or called`, async () => {
			const k = await createKey();
			const prompt = uniquePrompt("a lamp");
			const body = path.includes("chat") ? { ...extra, messages: [{ role: "user", content: prompt }] } : { ...extra, prompt };
			const err = await expectError(await postJson(path, body, auth(k.key)), 400, "invalid_parameter");
			expect(err.param).toBe(param);
			expect(err.message).toContain("Allowed: 1K, 2K, 4K");
			await expectUntouched(k.key, prompt);
		});
	}

	it("Gemini's native route: imageConfig.imageSize 512 is Google's 400 naming the field", async () => {
		const k = await createKey();
		const prompt = uniquePrompt("a lamp");
		const res = await postJson(
			"/v1beta/models/nano-banana-2.1:generateContent",
			{ contents: [{ role: "user", parts: [{ text: prompt }] }], generationConfig: { imageConfig: { imageSize: "512" } } },
			{ "x-goog-api-key": k.key },
		);
		expect(res.status).toBe(400);
		const err = (await res.json<{ error: { status: string; message: string; details: Array<{ metadata?: { param?: string } }> } }>()).error;
		expect(err.status).toBe("INVALID_ARGUMENT");
		expect(err.details.some((d) => d.metadata?.param === "generationConfig.imageConfig.imageSize")).toBe(true);
		await expectUntouched(k.key, prompt);
	});
});
