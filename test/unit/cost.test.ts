import { describe, expect, it } from "vitest";
import { answerCostCredits, imageListCredits, splitTokens } from "../../src/billing/cost";
import { UPSTREAM_MODELS } from "../../src/catalog/data";
import { GOOGLE_RATES } from "../../src/catalog/rates";

const flash = GOOGLE_RATES["gemini-3.1-flash-image"];
const pro = GOOGLE_RATES["gemini-3-pro-image"];

describe("Google's rates", () => {
	it("has rates, dated and sourced, for every upstream id the catalog can send a request to", () => {
		const live = UPSTREAM_MODELS.filter((m) => m.lifecycle.status !== "retired").map((m) => m.id);
		for (const id of live) {
			const r = GOOGLE_RATES[id];
			expect(r, id).toBeDefined();
			expect(r.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
			expect(r.source.length).toBeGreaterThan(5);
		}
	});

	it("gives Google's published per-image list prices (in credits of $0.0001)", () => {
		expect(imageListCredits(flash, "512")).toBeCloseTo(450, 1);
		expect(imageListCredits(flash, "1K")).toBeCloseTo(672, 1);
		expect(imageListCredits(flash, "4K")).toBeCloseTo(1512, 1);
		expect(imageListCredits(pro, "1K")).toBeCloseTo(1344, 1);
		expect(imageListCredits(pro, "4K")).toBeCloseTo(2400, 1);
		expect(imageListCredits(GOOGLE_RATES["gemini-2.5-flash-image"], "1K")).toBeCloseTo(390, 1);
		expect(imageListCredits(GOOGLE_RATES["gemini-nano-banana-2.1"], "4K")).toBeCloseTo(1134, 1);
		expect(imageListCredits(GOOGLE_RATES["gemini-3.1-flash-lite-image"], "1K")).toBeCloseTo(340, 1);
		expect(imageListCredits(pro, "512")).toBeUndefined();
	});
});

describe("the cost of one answer", () => {
	it("prices the recorded real 3.1 Flash Image answer at its list price plus its prompt", () => {
		// usageMetadata of a real answer (vercel/ai fixture, late-2026-facts.md): 1,120 image tokens;
		// 272 of the 1,392 candidate tokens are not in the details, priced as text output (the
		// published $0.067 per 1K image is the 1,120 image tokens alone).
		const u = {
			promptTokenCount: 9,
			candidatesTokenCount: 1392,
			totalTokenCount: 1401,
			promptTokensDetails: [{ modality: "TEXT", tokenCount: 9 }],
			candidatesTokensDetails: [{ modality: "IMAGE", tokenCount: 1120 }],
		};
		expect(splitTokens(u)).toEqual({ inputText: 9, inputImage: 0, cachedInput: 0, outputImage: 1120, outputText: 272 });
		expect(answerCostCredits(u, flash)).toBeCloseTo((9 * 0.5 + 1120 * 60 + 272 * 3) / 100, 6);
		// With no details at all, every candidate token is taken as image output: the dearer reading.
		const bare = { promptTokenCount: 9, candidatesTokenCount: 1392 };
		expect(splitTokens(bare).outputImage).toBe(1392);
	});

	it("prices text, thinking, reference images, cache, tool use and search separately", () => {
		const u = {
			promptTokenCount: 8000,
			cachedContentTokenCount: 1000,
			toolUsePromptTokenCount: 500,
			thoughtsTokenCount: 2000,
			candidatesTokenCount: 1220,
			promptTokensDetails: [
				{ modality: "TEXT", tokenCount: 2400 },
				{ modality: "IMAGE", tokenCount: 5600 },
			],
			candidatesTokensDetails: [
				{ modality: "IMAGE", tokenCount: 1120 },
				{ modality: "TEXT", tokenCount: 100 },
			],
		};
		const t = splitTokens(u);
		expect(t).toEqual({ inputText: 1900, inputImage: 5600, cachedInput: 1000, outputImage: 1120, outputText: 2100 });
		const usd = (1900 * 2 + 5600 * 2 + 1000 * 0.2 + 1120 * 120 + 2100 * 12) / 1e6 + (3 * 14) / 1000;
		expect(answerCostCredits(u, pro, { searchQueries: 3 })).toBeCloseTo(usd / 0.0001, 6);
	});

	it("bills a text-only 200 (no image) for its tokens, and the Batch tier at half", () => {
		const u = { promptTokenCount: 20, candidatesTokenCount: 30000, candidatesTokensDetails: [{ modality: "TEXT", tokenCount: 30000 }] };
		const standard = answerCostCredits(u, pro);
		expect(standard).toBeCloseTo((20 * 2 + 30000 * 12) / 1e6 / 0.0001, 6);
		expect(answerCostCredits(u, pro, { tier: "batch" })).toBeCloseTo(standard / 2, 6);
		expect(answerCostCredits(u, pro, { tier: "priority" })).toBeCloseTo(standard * 2, 6);
		expect(answerCostCredits(u, pro, { tier: "priority" })).toBeGreaterThan(standard);
	});

	it("bills 2.5's search per grounded prompt, Gemini 3's per query", () => {
		const u = { promptTokenCount: 10 };
		const base = answerCostCredits(u, GOOGLE_RATES["gemini-2.5-flash-image"]);
		expect(answerCostCredits(u, GOOGLE_RATES["gemini-2.5-flash-image"], { searchQueries: 4 }) - base).toBeCloseTo(350, 6);
		expect(answerCostCredits(u, flash, { searchQueries: 4 }) - answerCostCredits(u, flash)).toBeCloseTo(560, 6);
	});

	it("costs nothing for an answer Google did not meter", () => {
		expect(answerCostCredits({}, flash)).toBe(0);
	});
});
