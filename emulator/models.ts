/**
 * What the Gemini API serves, as the emulator plays it: the model ids that answer today,
 * their capabilities, output dimensions and token counts. Deliberately separate from the
 * gateway's catalog (src/catalog/): the emulator states Google's side, so a catalog that
 * names a retired id fails the tests instead of agreeing with itself.
 *
 * Checked 2026-11-22 (Gemini API changelog, deprecations page, model cards):
 * - live: gemini-nano-banana-2.1 (GA 2026-10-06), gemini-3.1-flash-image (GA 2026-05-28,
 *   deprecated 2026-10-06, no shutdown date announced by Google), gemini-3-pro-image
 *   (GA 2026-05-28), gemini-3.1-flash-lite-image (GA 2026-06-30);
 * - gone (404 NOT_FOUND): the -preview image ids (shut down 2026-06-25, 2.5's by
 *   2026-01-15), gemini-2.0-flash-preview-image-generation, and gemini-2.5-flash-image,
 *   whose listed shutdown (2026-10-02) has passed and which Google limited to projects
 *   that already used it on 2026-09-18: a new operator's key cannot call it. Start the
 *   emulator with `live: ["gemini-2.5-flash-image"]` (EMULATOR_LIVE) to play an old project.
 */

export type Size = "512" | "1K" | "2K" | "4K";
export type ThinkingLevel = "minimal" | "low" | "medium" | "high";

export interface EmulatedModel {
	id: string;
	displayName: string;
	version: string;
	description: string;
	/** Image models: what imageConfig accepts. Text models have none. */
	image?: {
		aspectRatios: readonly string[];
		/** Empty: one fixed size, and any imageSize is refused. */
		imageSizes: readonly Size[];
		maxInputImages: number;
		/** 1K dimensions by ratio; other sizes scale. */
		dims: Readonly<Record<string, readonly [number, number]>>;
		tokens: Readonly<Partial<Record<Size, number>>>;
		/** Input tokens Google counts per image in the prompt (references and history). */
		inputImageTokens: number;
		/** Gemini 3 generation: JPEG by default, thought signatures on image parts. */
		gemini3: boolean;
		/**
		 * thinkingConfig.thinkingLevel values the model takes, the first being its default;
		 * empty: no thinking (2.5 Flash Image), any thinkingConfig is ignored.
		 */
		thinkingLevels: readonly ThinkingLevel[];
	};
	inputTokenLimit: number;
	outputTokenLimit: number;
	thinking?: boolean;
}

const BASE = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"];
const EXTREME = ["1:4", "4:1", "1:8", "8:1"];

/** Google's published 1K table for Gemini 3 image models. */
const GEMINI3_1K: Record<string, readonly [number, number]> = {
	"1:1": [1024, 1024],
	"2:3": [848, 1264],
	"3:2": [1264, 848],
	"3:4": [896, 1200],
	"4:3": [1200, 896],
	"4:5": [928, 1152],
	"5:4": [1152, 928],
	"9:16": [768, 1376],
	"16:9": [1376, 768],
	"21:9": [1584, 672],
	"1:4": [512, 2048],
	"4:1": [2048, 512],
	"1:8": [384, 3072],
	"8:1": [3072, 384],
};

/** Gemini 2.5 Flash Image's fixed output sizes. */
const FLASH25: Record<string, readonly [number, number]> = {
	"1:1": [1024, 1024],
	"2:3": [832, 1248],
	"3:2": [1248, 832],
	"3:4": [864, 1184],
	"4:3": [1184, 864],
	"4:5": [896, 1152],
	"5:4": [1152, 896],
	"9:16": [768, 1344],
	"16:9": [1344, 768],
	"21:9": [1536, 672],
};

/**
 * Output tokens per image. 3.1 Flash Image: 747/1120/1680/2520 and 1,120 per INPUT image
 * (Google, docs.cloud.google.com/vertex-ai/generative-ai/docs/models/gemini/3-1-flash-image,
 * checked 2026-12-03). 3 Pro Image: 1120 (1K, 2K) / 2000 (4K) and 560 per input image (Google,
 * .../models/gemini/3-pro-image, checked 2026-12-03). Nano Banana 2.1: 1K 1120 and 4K 3780 follow
 * third-party list prices at $30/1M ($0.0336 and $0.1134: inference.sh, LiteLLM discussion #44983);
 * its 2K count and its input-image count are stand-ins (3.1 Flash Image's). 2.5 Flash Image: 1290
 * out (Google's pricing note), 258 per input image (Google's rule for Gemini 2 images up to 384 px;
 * larger ones are tiled, a stand-in keeps one tile).
 */
const FLASH_TOKENS = { "512": 747, "1K": 1120, "2K": 1680, "4K": 2520 } as const;

export const MODELS: readonly EmulatedModel[] = [
	{
		id: "gemini-nano-banana-2.1",
		displayName: "Nano Banana 2.1",
		version: "2.1",
		description: "Gemini Nano Banana 2.1",
		image: {
			aspectRatios: [...BASE, ...EXTREME],
			imageSizes: ["1K", "2K", "4K"],
			maxInputImages: 14,
			dims: GEMINI3_1K,
			tokens: { "1K": 1120, "2K": 1680, "4K": 3780 },
			inputImageTokens: 1120,
			gemini3: true,
			// Third-party (late-2026-facts.md): minimal, medium (default), high.
			thinkingLevels: ["medium", "minimal", "high"],
		},
		inputTokenLimit: 131_072,
		outputTokenLimit: 32_768,
		thinking: true,
	},
	{
		id: "gemini-3.1-flash-image",
		displayName: "Nano Banana 2",
		version: "3.0",
		description: "Gemini 3.1 Flash Image.",
		image: {
			aspectRatios: [...BASE, ...EXTREME],
			imageSizes: ["512", "1K", "2K", "4K"],
			maxInputImages: 14,
			dims: GEMINI3_1K,
			tokens: FLASH_TOKENS,
			inputImageTokens: 1120,
			gemini3: true,
			// Google's image guide: minimal (default) or high.
			thinkingLevels: ["minimal", "high"],
		},
		inputTokenLimit: 65_536,
		outputTokenLimit: 65_536,
		thinking: true,
	},
	{
		id: "gemini-3-pro-image",
		displayName: "Nano Banana Pro",
		version: "3.0",
		description: "Gemini 3 Pro Image",
		image: {
			aspectRatios: BASE,
			imageSizes: ["1K", "2K", "4K"],
			maxInputImages: 14,
			dims: GEMINI3_1K,
			tokens: { "1K": 1120, "2K": 1120, "4K": 2000 },
			inputImageTokens: 560,
			gemini3: true,
			// Thinking cannot be turned off; Gemini 3 Pro's levels (low, high; default high) are a stand-in.
			thinkingLevels: ["high", "low"],
		},
		inputTokenLimit: 131_072,
		outputTokenLimit: 32_768,
		thinking: true,
	},
	{
		id: "gemini-3.1-flash-lite-image",
		displayName: "Nano Banana 2 Lite",
		version: "3.0",
		description: "Gemini 3.1 Flash Lite Image",
		image: {
			aspectRatios: BASE,
			imageSizes: ["1K"],
			maxInputImages: 3,
			dims: GEMINI3_1K,
			tokens: { "1K": 1120 },
			inputImageTokens: 1120, // stand-in: 3.1 Flash Image's
			gemini3: true,
			thinkingLevels: ["minimal", "high"], // stand-in: 3.1 Flash Image's
		},
		inputTokenLimit: 65_536,
		outputTokenLimit: 4_096,
		thinking: true,
	},
	{
		id: "gemini-2.5-flash-image",
		displayName: "Nano Banana",
		version: "2.0",
		description: "Gemini 2.5 Flash Preview Image",
		image: {
			aspectRatios: BASE,
			imageSizes: [],
			maxInputImages: 3,
			dims: FLASH25,
			tokens: { "1K": 1290 },
			inputImageTokens: 258,
			gemini3: false,
			thinkingLevels: [],
		},
		inputTokenLimit: 32_768,
		outputTokenLimit: 32_768,
	},
	// Text models a real listing also holds (discovery must pass them over).
	{
		id: "gemini-3.8-flash",
		displayName: "Gemini 3.8 Flash",
		version: "3.8",
		description: "Gemini 3.8 Flash",
		inputTokenLimit: 1_048_576,
		outputTokenLimit: 65_536,
		thinking: true,
	},
	{
		id: "gemini-3.6-flash",
		displayName: "Gemini 3.6 Flash",
		version: "3.6",
		description: "Gemini 3.6 Flash",
		inputTokenLimit: 1_048_576,
		outputTokenLimit: 65_536,
		thinking: true,
	},
	{
		id: "gemini-3.5-flash-lite",
		displayName: "Gemini 3.5 Flash-Lite",
		version: "3.5",
		description: "Gemini 3.5 Flash-Lite",
		inputTokenLimit: 1_048_576,
		outputTokenLimit: 65_536,
		thinking: true,
	},
	{
		id: "gemini-3.1-pro",
		displayName: "Gemini 3.1 Pro",
		version: "3.1",
		description: "Gemini 3.1 Pro",
		inputTokenLimit: 1_048_576,
		outputTokenLimit: 65_536,
		thinking: true,
	},
];

/** Ids that answer 404 NOT_FOUND unless the emulator is told otherwise. */
export const SHUT_DOWN_BY_DEFAULT: readonly string[] = ["gemini-2.5-flash-image"];

const SCALE: Record<Size, number> = { "512": 0.5, "1K": 1, "2K": 2, "4K": 4 };

/** Output pixel dimensions for a model, ratio and size (undefined for an unknown ratio). */
export function outputDimensions(
	model: EmulatedModel,
	ratio: string,
	size: Size | undefined,
): { width: number; height: number } | undefined {
	const d = model.image?.dims[ratio];
	if (!d) return undefined;
	const s = model.image?.imageSizes.length ? SCALE[size ?? "1K"] : 1;
	return { width: Math.round(d[0] * s), height: Math.round(d[1] * s) };
}

/** Output tokens Google bills per image at a size. */
export function tokensPerImage(model: EmulatedModel, size: Size | undefined): number {
	const t = model.image?.tokens ?? {};
	return t[size ?? "1K"] ?? t["1K"] ?? 1120;
}

/** A Model as models.list / models.get answer it. */
export function modelResource(m: EmulatedModel) {
	return {
		name: `models/${m.id}`,
		version: m.version,
		displayName: m.displayName,
		description: m.description,
		inputTokenLimit: m.inputTokenLimit,
		outputTokenLimit: m.outputTokenLimit,
		supportedGenerationMethods: ["generateContent", "countTokens", "batchGenerateContent"],
		temperature: 1,
		topP: 0.95,
		topK: 64,
		maxTemperature: m.image ? 1 : 2,
		...(m.thinking ? { thinking: true } : {}),
	};
}
