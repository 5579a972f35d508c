import { describe, expect, it } from "vitest";
import { billedSearchQueries, readOutcome } from "../../src/gemini/result";
import type { GenerateContentResponse } from "../../src/gemini/types";

const img = (data: string, extra: object = {}) => ({ inlineData: { mimeType: "image/png", data }, ...extra });

describe("readOutcome", () => {
	it("keeps every final image in order and skips thought images", () => {
		const res: GenerateContentResponse = {
			candidates: [
				{
					content: {
						parts: [
							{ text: "planning", thought: true },
							img("draft", { thought: true }),
							{ text: "Here you go", thoughtSignature: "s0" },
							img("AAAA", { thoughtSignature: "s1" }),
							{ text: "and another" },
							img("BBBB"),
						],
					},
					finishReason: "STOP",
				},
			],
			usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 1290, totalTokenCount: 1300 },
		};
		const o = readOutcome(res);
		expect(o.images.map((i) => i.data)).toEqual(["AAAA", "BBBB"]);
		expect(o.images[0].thoughtSignature).toBe("s1");
		expect(o.thoughtImages).toBe(1);
		expect(o.text).toBe("Here you go\nand another");
		expect(o.usage.candidatesTokenCount).toBe(1290);
		expect(o.modelParts).toHaveLength(6);
	});

	it("reads snake_case inline_data", () => {
		const o = readOutcome({ candidates: [{ content: { parts: [{ inline_data: { mime_type: "image/jpeg", data: "QUJD" } }] } }] });
		expect(o.images).toEqual([{ declaredMimeType: "image/jpeg", data: "QUJD", thoughtSignature: undefined }]);
	});

	it("reports a prompt block with no candidates", () => {
		const o = readOutcome({ promptFeedback: { blockReason: "PROHIBITED_CONTENT" } });
		expect(o.images).toEqual([]);
		expect(o.blockReason).toBe("PROHIBITED_CONTENT");
	});

	it.each(["NO_IMAGE", "IMAGE_SAFETY", "IMAGE_OTHER"])("reports finishReason %s without an image", (reason) => {
		const o = readOutcome({ candidates: [{ content: { parts: [] }, finishReason: reason }] });
		expect(o.images).toEqual([]);
		expect(o.finishReason).toBe(reason);
	});

	it("reads a text-only answer as no image, keeping the text", () => {
		const o = readOutcome({ candidates: [{ content: { parts: [{ text: "I won't draw that" }] }, finishReason: "STOP" }] });
		expect(o.images).toEqual([]);
		expect(o.text).toBe("I won't draw that");
	});

	it("ignores an image part with empty data", () => {
		const o = readOutcome({ candidates: [{ content: { parts: [img("")] } }] });
		expect(o.images).toEqual([]);
	});

	it("counts the search queries an answer ran, web and image search alike (each billed)", () => {
		const o = readOutcome({
			candidates: [
				{
					content: { parts: [img("AAAA")] },
					groundingMetadata: { webSearchQueries: ["weather paris"], imageSearchQueries: ["eiffel tower", "paris rain"] },
				},
			],
		});
		expect(o.searchQueries).toBe(3);
		expect(readOutcome({ candidates: [{ content: { parts: [img("AAAA")] } }] }).searchQueries).toBe(0);
		// The one counter the native route meters with too.
		expect(billedSearchQueries({ candidates: [{ groundingMetadata: { imageSearchQueries: ["eiffel tower"] } }] })).toBe(1);
		expect(billedSearchQueries({})).toBe(0);
	});
});
