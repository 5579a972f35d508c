// The native route's request schema on its own: both spellings read, the upstream request
// rebuilt from validated fields only, every refusal a 400 naming the field as written.
import { describe, expect, it } from "vitest";
import { envSchema } from "../../src/config";
import { ApiError } from "../../src/errors";
import { type NativePolicy, readCountTokensRequest, readNativeRequest } from "../../src/gemini/native-request";

const POLICY: NativePolicy = {
	maxSystemChars: 100,
	maxOutputTokens: 20_480,
	allowTextOutput: false,
	thinkingLevels: ["minimal", "low", "medium", "high"],
	allowSearch: false,
};

const contents = [{ role: "user", parts: [{ text: "a banana" }] }];

/** The error `fn` throws, as { status, code, param }. */
function refusal(fn: () => unknown): { status: number; code: string; param: string | null; message: string } {
	try {
		fn();
	} catch (e) {
		if (e instanceof ApiError) return { status: e.status, code: e.code, param: e.param, message: e.message };
		throw e;
	}
	throw new Error("not refused");
}

describe("readNativeRequest: both spellings", () => {
	it("reads snake_case everywhere and sends camelCase", () => {
		const { request, bounds } = readNativeRequest(
			{
				contents: [{ role: "user", parts: [{ text: "edit this" }, { inline_data: { mime_type: "image/png", data: "QUJD" } }] }],
				system_instruction: { parts: [{ text: "be brief" }] },
				generation_config: {
					response_modalities: ["image"],
					image_config: { aspect_ratio: "16:9", image_size: "4K" },
					max_output_tokens: 9000,
					top_p: 0.9,
					top_k: 40,
					seed: 7,
					thinking_config: { thinking_level: "high", include_thoughts: true },
				},
				safety_settings: [{ category: "harm_category_harassment", threshold: "block_low_and_above" }],
			},
			POLICY,
		);
		expect(request).toEqual({
			contents: [{ role: "user", parts: [{ text: "edit this" }, { inlineData: { mimeType: "image/png", data: "QUJD" } }] }],
			systemInstruction: { parts: [{ text: "be brief" }] },
			generationConfig: {
				responseModalities: ["IMAGE"],
				imageConfig: { aspectRatio: "16:9", imageSize: "4K" },
				maxOutputTokens: 9000,
				topP: 0.9,
				topK: 40,
				seed: 7,
				thinkingConfig: { thinkingLevel: "HIGH", includeThoughts: true },
			},
			safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_LOW_AND_ABOVE" }],
		});
		expect(bounds).toEqual({
			maxOutputTokens: 9000,
			search: false,
			imageSearch: false,
			thinkingLevel: "high",
			textOutput: false,
			imageOutput: true,
			inputTextChars: "edit this".length + "be brief".length,
			inputImages: 1,
		});
	});

	it("one field in both spellings: the same value is fine, different values are a 400 naming the second", () => {
		const same = readNativeRequest(
			{ contents, generationConfig: { imageConfig: { imageSize: "2K" }, image_config: { imageSize: "2K" } } },
			POLICY,
		);
		expect(same.request.generationConfig?.imageConfig).toEqual({ imageSize: "2K" });
		expect(
			refusal(() => readNativeRequest({ contents, generationConfig: { imageConfig: { imageSize: "1K", image_size: "4K" } } }, POLICY)),
		).toMatchObject({ status: 400, code: "invalid_parameter", param: "generationConfig.imageConfig.image_size" });
	});

	it("keeps thought signatures of earlier turns and drops nothing the caller may send", () => {
		const { request } = readNativeRequest(
			{
				contents: [
					{ role: "user", parts: [{ text: "a cat" }] },
					{ role: "model", parts: [{ thought_signature: "c2ln", inlineData: { mimeType: "image/jpeg", data: "QUJD" } }] },
					{ role: "user", parts: [{ text: "now blue" }] },
				],
				generationConfig: { temperature: 0.5, candidate_count: 1 },
			},
			POLICY,
		);
		expect(request.contents[1].parts[0]).toEqual({ inlineData: { mimeType: "image/jpeg", data: "QUJD" }, thoughtSignature: "c2ln" });
		expect(request.generationConfig).toEqual({ temperature: 0.5, maxOutputTokens: 20_480 });
	});
});

describe("readNativeRequest: the output cap", () => {
	it.each([
		[undefined, undefined, 20_480],
		[30_000, undefined, 20_480],
		[5_000, undefined, 5_000],
		[undefined, 4_096, 4_096],
		[30_000, 65_536, 20_480],
	])("caller %s, model limit %s: sends %i", (asked, limit, sent) => {
		const { request, bounds } = readNativeRequest(
			{ contents, ...(asked ? { generationConfig: { maxOutputTokens: asked } } : {}) },
			POLICY,
			limit,
		);
		expect(request.generationConfig?.maxOutputTokens).toBe(sent);
		expect(bounds.maxOutputTokens).toBe(sent);
	});
});

describe("readNativeRequest: refusals name the field as written", () => {
	it.each([
		["cachedContent", { cachedContent: "cachedContents/x" }, "unsupported_parameter", "cachedContent"],
		["cached_content", { cached_content: "cachedContents/x" }, "unsupported_parameter", "cached_content"],
		["service_tier", { service_tier: "priority" }, "unsupported_parameter", "service_tier"],
		["serviceTier", { serviceTier: "priority" }, "unsupported_parameter", "serviceTier"],
		["a model in the body", { model: "models/gemini-3-pro-image" }, "unsupported_parameter", "model"],
		["toolConfig", { toolConfig: {} }, "unsupported_parameter", "toolConfig"],
		["labels", { labels: { a: "b" } }, "unsupported_parameter", "labels"],
		["an unknown top-level field", { frobnicate: 1 }, "unsupported_parameter", "frobnicate"],
		[
			"an unknown generation field",
			{ generation_config: { presence_penalty: 0.5 } },
			"unsupported_parameter",
			"generation_config.presence_penalty",
		],
		[
			"an unknown image field",
			{ generationConfig: { imageConfig: { personGeneration: "ALLOW_ALL" } } },
			"unsupported_parameter",
			"generationConfig.imageConfig.personGeneration",
		],
		["candidateCount 2", { generationConfig: { candidateCount: 2 } }, "invalid_parameter", "generationConfig.candidateCount"],
		[
			"a string maxOutputTokens",
			{ generationConfig: { maxOutputTokens: "30000" } },
			"invalid_parameter",
			"generationConfig.maxOutputTokens",
		],
		[
			"text-only output",
			{ generationConfig: { responseModalities: ["TEXT"] } },
			"feature_not_allowed",
			"generationConfig.responseModalities",
		],
		[
			"AUDIO output",
			{ generationConfig: { responseModalities: ["AUDIO"] } },
			"invalid_parameter",
			"generationConfig.responseModalities[0]",
		],
		["Google Search", { tools: [{ googleSearch: {} }] }, "feature_not_allowed", "tools[0].googleSearch"],
		["google_search", { tools: [{ google_search: {} }] }, "feature_not_allowed", "tools[0].google_search"],
		["code execution", { tools: [{ codeExecution: {} }] }, "unsupported_parameter", "tools[0].codeExecution"],
		[
			"BLOCK_ONLY_HIGH",
			{ safetySettings: [{ category: "HARM_CATEGORY_HATE_SPEECH", threshold: "BLOCK_ONLY_HIGH" }] },
			"feature_not_allowed",
			"safetySettings[0].threshold",
		],
		[
			"BLOCK_NONE",
			{ safety_settings: [{ category: "HARM_CATEGORY_HATE_SPEECH", threshold: "BLOCK_NONE" }] },
			"feature_not_allowed",
			"safety_settings[0].threshold",
		],
		[
			"OFF",
			{ safetySettings: [{ category: "HARM_CATEGORY_HATE_SPEECH", threshold: "OFF" }] },
			"feature_not_allowed",
			"safetySettings[0].threshold",
		],
		[
			"level and budget",
			{ generationConfig: { thinkingConfig: { thinkingLevel: "low", thinkingBudget: 10 } } },
			"invalid_parameter",
			"generationConfig.thinkingConfig",
		],
		["a long system instruction", { systemInstruction: { parts: [{ text: "x".repeat(101) }] } }, "invalid_parameter", "systemInstruction"],
	])("%s", (_what, extra, code, param) => {
		expect(refusal(() => readNativeRequest({ contents, ...extra }, POLICY))).toMatchObject({ status: 400, code, param });
	});

	it("refuses fileData and unknown part fields inside contents", () => {
		expect(refusal(() => readNativeRequest({ contents: [{ parts: [{ file_data: { file_uri: "gs://x" } }] }] }, POLICY))).toMatchObject({
			code: "unsupported_parameter",
			param: "contents[0].parts[0].file_data",
		});
		expect(refusal(() => readNativeRequest({ contents: [{ parts: [{ text: "x", video_metadata: {} }] }] }, POLICY))).toMatchObject({
			code: "unsupported_parameter",
			param: "contents[0].parts[0].video_metadata",
		});
		expect(refusal(() => readNativeRequest({}, POLICY))).toMatchObject({ code: "invalid_parameter", param: "contents" });
	});
});

describe("readNativeRequest: what the operator allows", () => {
	it("text-only output and search with their settings, with their bounds", () => {
		const { request, bounds } = readNativeRequest(
			{
				contents,
				generationConfig: { responseModalities: ["TEXT"] },
				tools: [{ google_search: { search_types: { image_search: {} } } }],
			},
			{ ...POLICY, allowTextOutput: true, allowSearch: true },
		);
		expect(request.tools).toEqual([{ googleSearch: { searchTypes: { imageSearch: {} } } }]);
		expect(bounds).toMatchObject({ textOutput: true, imageOutput: false, search: true, imageSearch: true });
	});

	it("thinking levels: only the listed ones; a budget needs high (0 always passes)", () => {
		const minimalOnly = { ...POLICY, thinkingLevels: ["minimal"] as const };
		expect(
			readNativeRequest({ contents, generationConfig: { thinkingConfig: { thinkingLevel: "MINIMAL" } } }, minimalOnly).bounds.thinkingLevel,
		).toBe("minimal");
		expect(
			refusal(() => readNativeRequest({ contents, generationConfig: { thinking_config: { thinking_level: "HIGH" } } }, minimalOnly)),
		).toMatchObject({ code: "feature_not_allowed", param: "generationConfig.thinking_config.thinking_level" });
		expect(
			refusal(() => readNativeRequest({ contents, generationConfig: { thinkingConfig: { thinkingBudget: 8000 } } }, minimalOnly)),
		).toMatchObject({ code: "feature_not_allowed", param: "generationConfig.thinkingConfig.thinkingBudget" });
		expect(
			readNativeRequest({ contents, generationConfig: { thinkingConfig: { thinkingBudget: 0 } } }, minimalOnly).bounds.thinkingBudget,
		).toBe(0);
	});

	it("a system instruction is refused outright when the cap is 0", () => {
		expect(
			refusal(() => readNativeRequest({ contents, systemInstruction: { parts: [{ text: "hi" }] } }, { ...POLICY, maxSystemChars: 0 })),
		).toMatchObject({ code: "invalid_parameter", param: "systemInstruction" });
	});
});

describe("readCountTokensRequest", () => {
	it("reads plain contents and a wrapped request (its model kept for the route to rewrite)", () => {
		expect(readCountTokensRequest({ contents: [{ parts: [{ text: "hi" }] }] }, POLICY)).toEqual({
			contents: [{ parts: [{ text: "hi" }] }],
		});
		const wrapped = readCountTokensRequest(
			{ generate_content_request: { model: "models/x", contents, generation_config: { image_config: { image_size: "4K" } } } },
			POLICY,
		);
		expect(wrapped).toEqual({
			generateContentRequest: { contents, generationConfig: { imageConfig: { imageSize: "4K" }, maxOutputTokens: 20_480 } },
		});
	});

	it("refuses what generateContent refuses, in the wrapped request too", () => {
		expect(refusal(() => readCountTokensRequest({ generateContentRequest: { contents, cachedContent: "c" } }, POLICY))).toMatchObject({
			code: "unsupported_parameter",
			param: "generateContentRequest.cachedContent",
		});
		expect(refusal(() => readCountTokensRequest({ contents, serviceTier: "flex" }, POLICY))).toMatchObject({
			code: "unsupported_parameter",
			param: "serviceTier",
		});
	});
});

describe("NATIVE_THINKING_LEVELS", () => {
	const levels = envSchema().shape.NATIVE_THINKING_LEVELS;
	it.each([
		[undefined, ["minimal", "low", "medium", "high"]],
		["", ["minimal", "low", "medium", "high"]],
		["none", []],
		["High, minimal", ["high", "minimal"]],
	])("%j reads as %j", (raw, parsed) => {
		expect(levels.parse(raw)).toEqual(parsed);
	});

	it("refuses a level Gemini does not have", () => {
		expect(levels.safeParse("minimal,ultra").success).toBe(false);
	});
});
