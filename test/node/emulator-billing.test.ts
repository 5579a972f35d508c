// What the emulator bills, the way Google bills it: usageMetadata in the shape of a recorded
// real answer, text-only answers, thinking, search, several images, references, snake_case
// fields, service tiers; and googleBillUsd(), the ground truth the gateway's meter is tested against.
import { describe, expect, it } from "vitest";
import { GeminiEmulator } from "../../emulator/gemini.ts";
import { MODELS, tokensPerImage } from "../../emulator/models.ts";
import { googleBillBreakdown, googleBillUsd, imageTokenCostUsd, RATES } from "../../emulator/rates.ts";
import { GEMINI3_UNLISTED, THOUGHT_TOKENS } from "../../emulator/usage.ts";

const KEY = "k";
const PNG = "iVBORw0KGgo=";

interface Usage {
	promptTokenCount: number;
	candidatesTokenCount?: number;
	totalTokenCount: number;
	thoughtsTokenCount?: number;
	toolUsePromptTokenCount?: number;
	cachedContentTokenCount?: number;
	promptTokensDetails: Array<{ modality: string; tokenCount: number }>;
	candidatesTokensDetails?: Array<{ modality: string; tokenCount: number }>;
	serviceTier: string;
}
interface Answer {
	candidates?: Array<{
		content: { parts: Array<{ text?: string; inlineData?: { data: string }; thought?: boolean }> };
		finishReason: string;
		groundingMetadata?: {
			webSearchQueries: string[];
			imageSearchQueries?: string[];
			searchEntryPoint: { renderedContent: string };
			groundingChunks: unknown[];
		};
	}>;
	usageMetadata: Usage;
}

function ask(model: string, body: object, emu = new GeminiEmulator({ requiredKey: KEY })) {
	const reply = emu.handle(model, "generateContent", KEY, JSON.stringify(body));
	return { reply, answer: reply.status === 200 ? (JSON.parse(reply.body) as Answer) : undefined, error: reply.body };
}
const prompt = (text: string, images = 0) => ({
	contents: [
		{ role: "user", parts: [{ text }, ...Array.from({ length: images }, () => ({ inlineData: { mimeType: "image/png", data: PNG } }))] },
	],
});
const images = (a: Answer | undefined) => (a?.candidates?.[0].content.parts ?? []).filter((p) => p.inlineData && !p.thought).length;
const total = (u: Usage) =>
	u.promptTokenCount + (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0) + (u.toolUsePromptTokenCount ?? 0);

describe("emulator usageMetadata", () => {
	it("has the recorded 3.1 Flash Image answer's shape: IMAGE details, 272 unlisted tokens, serviceTier", () => {
		const { answer, reply } = ask("gemini-3.1-flash-image", {
			...prompt("a red balloon"),
			generationConfig: { responseModalities: ["IMAGE"] },
		});
		const u = answer?.usageMetadata as Usage;
		expect(u.candidatesTokensDetails).toEqual([{ modality: "IMAGE", tokenCount: 1120 }]);
		expect(u.candidatesTokenCount).toBe(1120 + GEMINI3_UNLISTED);
		expect(u.promptTokensDetails).toEqual([{ modality: "TEXT", tokenCount: u.promptTokenCount }]);
		expect(u.thoughtsTokenCount).toBeUndefined(); // minimal thinking, 3.1 Flash Image's default
		expect([u.serviceTier, reply.headers["x-gemini-service-tier"]]).toEqual(["standard", "standard"]);
		expect(u.totalTokenCount).toBe(total(u));
	});

	it("counts input tokens per reference image at the model's documented rate (14 refs on Pro ≈ 8k)", () => {
		const pro = ask("gemini-3-pro-image", prompt("combine these", 14)).answer?.usageMetadata as Usage;
		expect(pro.promptTokensDetails.find((d) => d.modality === "IMAGE")?.tokenCount).toBe(14 * 560);
		const flash = ask("gemini-3.1-flash-image", prompt("combine these", 14)).answer?.usageMetadata as Usage;
		expect(flash.promptTokensDetails.find((d) => d.modality === "IMAGE")?.tokenCount).toBe(14 * 1120);
		expect(flash.promptTokenCount).toBe(14 * 1120 + Math.ceil("combine these".length / 4));
	});

	it("counts the whole history and the system instruction as prompt text", () => {
		const history = Array.from({ length: 6 }, (_, i) => ({ role: i % 2 ? "model" : "user", parts: [{ text: "x".repeat(400) }] }));
		const body = {
			contents: [...history, { role: "user", parts: [{ text: "now draw it" }] }],
			systemInstruction: { parts: [{ text: "y".repeat(40) }] },
		};
		const u = ask("gemini-nano-banana-2.1", body).answer?.usageMetadata as Usage;
		expect(u.promptTokenCount).toBe(Math.ceil((6 * 400 + "now draw it".length + 40) / 4));
	});

	it("thinks per thinkingLevel (camelCase or snake_case) or thinkingBudget, and refuses what the model lacks", () => {
		const level = (model: string, generationConfig: object) => ask(model, { ...prompt("a poster"), generationConfig });
		const high = level("gemini-3.1-flash-image", { thinkingConfig: { thinkingLevel: "HIGH" } }).answer?.usageMetadata as Usage;
		expect(high.thoughtsTokenCount).toBe(THOUGHT_TOKENS.high);
		expect(high.totalTokenCount).toBe(total(high));
		const snake = ask("gemini-nano-banana-2.1", {
			...prompt("a poster"),
			generation_config: { thinking_config: { thinking_level: "high" } },
		});
		expect(snake.answer?.usageMetadata.thoughtsTokenCount).toBe(THOUGHT_TOKENS.high);
		expect(level("gemini-nano-banana-2.1", {}).answer?.usageMetadata.thoughtsTokenCount).toBe(THOUGHT_TOKENS.medium); // 2.1's default
		expect(level("gemini-3-pro-image", {}).answer?.usageMetadata.thoughtsTokenCount).toBe(THOUGHT_TOKENS.high); // Pro always thinks
		expect(level("gemini-3.1-flash-image", { thinkingConfig: { thinkingBudget: 300 } }).answer?.usageMetadata.thoughtsTokenCount).toBe(300);
		expect(level("gemini-3.1-flash-image", { thinkingConfig: { thinkingLevel: "medium" } }).reply.status).toBe(400);
		expect(level("gemini-3.1-flash-image", { thinkingConfig: { thinkingLevel: "high", thinkingBudget: 10 } }).reply.status).toBe(400);
		expect(ask("gemini-3.1-flash-image", prompt("a poster [emu:thought-tokens=77]")).answer?.usageMetadata.thoughtsTokenCount).toBe(77);
	});

	it("answers text only when responseModalities lacks IMAGE, as long as asked up to maxOutputTokens", () => {
		const text = (p: string, generationConfig: object) => ask("gemini-3-pro-image", { ...prompt(p), generationConfig });
		const short = text("describe a cat", { responseModalities: ["TEXT"], thinkingConfig: { thinkingLevel: "low" } });
		expect(images(short.answer)).toBe(0);
		expect(short.answer?.candidates?.[0].finishReason).toBe("STOP");
		expect(short.answer?.usageMetadata.candidatesTokensDetails).toEqual([{ modality: "TEXT", tokenCount: 900 }]);
		const long = text("a novel [emu:text-tokens=40000]", { responseModalities: ["TEXT"], maxOutputTokens: 30000 });
		const u = long.answer?.usageMetadata as Usage;
		expect([u.candidatesTokenCount, u.thoughtsTokenCount]).toEqual([30000 - THOUGHT_TOKENS.high, THOUGHT_TOKENS.high]);
		expect(long.answer?.candidates?.[0].finishReason).toBe("MAX_TOKENS");
		expect((long.answer?.candidates?.[0].content.parts[0].text ?? "").length).toBe(4 * (30000 - THOUGHT_TOKENS.high));
		// What Google bills for it on Pro: about $0.36 (the figure).
		expect(googleBillUsd("gemini-3-pro-image", u)).toBeCloseTo(0.36, 2);
		const snake = ask("gemini-3-pro-image", { ...prompt("describe"), generation_config: { response_modalities: ["TEXT"] } });
		expect(images(snake.answer)).toBe(0);
	});

	it("runs Google searches with googleSearch: webSearchQueries, entry point, chunks, tool-use tokens", () => {
		const one = ask("gemini-3.1-flash-image", { ...prompt("today's weather in Paris"), tools: [{ googleSearch: {} }] }).answer as Answer;
		const g = one.candidates?.[0].groundingMetadata;
		expect(g?.webSearchQueries).toHaveLength(1);
		expect(g?.searchEntryPoint.renderedContent).toContain("<div");
		expect(g?.groundingChunks).toHaveLength(1);
		expect(one.usageMetadata.toolUsePromptTokenCount).toBeGreaterThan(0);
		expect(one.usageMetadata.totalTokenCount).toBe(total(one.usageMetadata));
		const three = ask("gemini-3-pro-image", { ...prompt("news [emu:search-queries=3]"), tools: [{ google_search: {} }] }).answer as Answer;
		expect(three.candidates?.[0].groundingMetadata?.webSearchQueries).toHaveLength(3);
		expect(ask("gemini-3-pro-image", prompt("no tools")).answer?.candidates?.[0].groundingMetadata).toBeUndefined();
	});

	it("runs image searches only with searchTypes.imageSearch: imageSearchQueries, recorded as billed queries", () => {
		const emu = new GeminiEmulator({ requiredKey: KEY });
		const text = "a poster of the Eiffel tower [emu:image-search-queries=2]";
		const imageSearch = { googleSearch: { searchTypes: { webSearch: {}, imageSearch: {} } } };
		const both = ask("gemini-3.1-flash-image", { ...prompt(text), tools: [imageSearch] }, emu).answer as Answer;
		const g = both.candidates?.[0].groundingMetadata;
		expect([g?.webSearchQueries.length, g?.imageSearchQueries?.length]).toEqual([1, 2]);
		expect(emu.calls.at(-1)?.searchQueries).toBe(3);
		const webOnly = ask("gemini-3.1-flash-image", { ...prompt(text), tools: [{ google_search: {} }] }, emu).answer as Answer;
		expect(webOnly.candidates?.[0].groundingMetadata?.imageSearchQueries).toBeUndefined();
		expect(emu.calls.at(-1)?.searchQueries).toBe(1);
	});

	it("counts every image of an answer, reads snake_case sizes, and stops images at maxOutputTokens", () => {
		const five = ask("gemini-3.1-flash-image", {
			...prompt("a comic strip [emu:images=5]"),
			generation_config: { image_config: { image_size: "4K" }, response_modalities: ["IMAGE"] },
		}).answer as Answer;
		expect(images(five)).toBe(5);
		expect(five.usageMetadata.candidatesTokensDetails).toEqual([{ modality: "IMAGE", tokenCount: 5 * 2520 }]);
		const capped = ask("gemini-3.1-flash-image", {
			...prompt("a comic strip [emu:images=5]"),
			generationConfig: { responseModalities: ["IMAGE"], maxOutputTokens: 2 * 1120 + 400 },
		}).answer as Answer;
		expect([images(capped), capped.candidates?.[0].finishReason]).toEqual([2, "MAX_TOKENS"]);
	});

	it("reports cachedContent tokens inside the prompt and the service tier asked for", () => {
		const cached = ask("gemini-3-pro-image", { ...prompt("again"), cachedContent: "cachedContents/abc" }).answer?.usageMetadata as Usage;
		expect(cached.cachedContentTokenCount).toBe(4096);
		expect(cached.promptTokenCount).toBe(4096 + Math.ceil("again".length / 4));
		expect(cached.totalTokenCount).toBe(total(cached));
		const priority = ask("gemini-3-pro-image", { ...prompt("now"), service_tier: "priority" });
		expect([priority.answer?.usageMetadata.serviceTier, priority.reply.headers["x-gemini-service-tier"]]).toEqual(["priority", "priority"]);
		expect(ask("gemini-3-pro-image", { ...prompt("now"), serviceTier: "SERVICE_TIER_FLEX" }).answer?.usageMetadata.serviceTier).toBe(
			"flex",
		);
		expect(ask("gemini-3.1-flash-lite-image", { ...prompt("now"), service_tier: "priority" }).answer?.usageMetadata.serviceTier).toBe(
			"standard",
		);
		expect(ask("gemini-3-pro-image", { ...prompt("now"), service_tier: "fastest" }).reply.status).toBe(400);
	});

	it("bills blocked prompts their prompt tokens and refusals their thoughts", () => {
		const blocked = ask("gemini-3-pro-image", prompt("x [emu:block=PROHIBITED_CONTENT]")).answer?.usageMetadata as Usage;
		expect([blocked.candidatesTokenCount, blocked.thoughtsTokenCount, blocked.totalTokenCount]).toEqual([
			undefined,
			undefined,
			blocked.promptTokenCount,
		]);
		const refused = ask("gemini-3-pro-image", prompt("x [emu:finish=IMAGE_SAFETY]")).answer?.usageMetadata as Usage;
		expect(refused.thoughtsTokenCount).toBe(THOUGHT_TOKENS.high);
		expect(googleBillUsd("gemini-3-pro-image", refused)).toBeGreaterThan(0);
	});
});

describe("googleBillUsd", () => {
	it("matches Google's per-image list prices at each size for every priced model (within rounding)", () => {
		for (const [id, r] of Object.entries(RATES)) {
			const m = MODELS.find((x) => x.id === id);
			expect(m?.image, id).toBeDefined();
			for (const [size, usd] of Object.entries(r.perImageUsd)) {
				expect(imageTokenCostUsd(id, size as "1K"), `${id} ${size}`).toBeCloseTo(usd, 3);
			}
		}
	});

	it("prices every part of an answer: input, cached, image, text and thoughts, tool use, search, tiers", () => {
		const u = {
			promptTokenCount: 10_000,
			cachedContentTokenCount: 4_000,
			toolUsePromptTokenCount: 360,
			candidatesTokenCount: 2 * 1120 + 272 + 8,
			candidatesTokensDetails: [
				{ modality: "IMAGE", tokenCount: 2 * 1120 },
				{ modality: "TEXT", tokenCount: 8 },
			],
			thoughtsTokenCount: 1200,
		};
		const b = googleBillBreakdown("gemini-3-pro-image", u, { searchQueries: 2 });
		expect(b.input).toBeCloseTo(((10_000 - 4_000 + 360) * 2) / 1e6, 10);
		expect(b.cachedInput).toBeCloseTo((4_000 * 0.2) / 1e6, 10);
		expect(b.outputImage).toBeCloseTo((2240 * 120) / 1e6, 10);
		expect(b.outputText).toBeCloseTo(((272 + 8 + 1200) * 12) / 1e6, 10);
		expect(b.search).toBeCloseTo(0.028, 10);
		const batch = googleBillBreakdown("gemini-3-pro-image", u, { tier: "batch", searchQueries: 2 });
		expect(batch.total).toBeCloseTo((b.total - b.search) / 2 + b.search, 10);
		expect(googleBillUsd("gemini-3-pro-image", { ...u, serviceTier: "priority" })).toBeCloseTo((b.total - b.search) * 2, 10);
		// 2.5 bills a grounded prompt once, however many queries it ran.
		expect(googleBillBreakdown("gemini-2.5-flash-image", {}, { searchQueries: 3 }).search).toBeCloseTo(0.035, 10);
		expect(() => googleBillUsd("dall-e-3", u)).toThrow();
	});

	it("bills an emulator answer at least its images' list price", () => {
		for (const m of MODELS.filter((x) => x.image && RATES[x.id])) {
			const emu = new GeminiEmulator({ requiredKey: KEY, live: [m.id] });
			for (const size of m.image?.imageSizes.length ? m.image.imageSizes : [undefined]) {
				const body = { ...prompt("a lighthouse [emu:images=2]"), generationConfig: { imageConfig: size ? { imageSize: size } : {} } };
				const u = ask(m.id, body, emu).answer?.usageMetadata as Usage;
				const list = 2 * (RATES[m.id].perImageUsd[size ?? "1K"] ?? 0);
				expect(googleBillUsd(m.id, u), `${m.id} ${size}`).toBeGreaterThanOrEqual(list - 0.002);
				expect(u.candidatesTokensDetails?.find((d) => d.modality === "IMAGE")?.tokenCount).toBe(2 * tokensPerImage(m, size));
			}
		}
	});
});
