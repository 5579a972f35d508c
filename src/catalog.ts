/**
 * The model catalog: data, not code. Every dialect resolves its `model` string here and
 * validates aspect ratio / image size against the entry before any upstream call.
 * Shared with the Gemini emulator (which imports it with an explicit .ts extension), so
 * this module must stay dependency-free and use erasable TypeScript only.
 */

export type ImageSize = "512" | "1K" | "2K" | "4K";

export interface ModelSpec {
	/** Public alias, e.g. `nano-banana-2`. */
	readonly id: string;
	/** Gemini model id sent upstream. */
	readonly gemini: string;
	readonly description: string;
	readonly aspectRatios: readonly string[];
	/** Empty when the model has one fixed output size (~1K). */
	readonly imageSizes: readonly ImageSize[];
	/** Sent when the caller gives no image_size; undefined lets Gemini choose. */
	readonly defaultImageSize?: ImageSize;
	readonly maxInputImages: number;
}

const BASE_RATIOS = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"] as const;
const EXTREME_RATIOS = ["1:4", "4:1", "1:8", "8:1"] as const;

export const MODELS: readonly ModelSpec[] = [
	{
		id: "nano-banana",
		gemini: "gemini-2.5-flash-image",
		description: "Gemini 2.5 Flash Image: fast, fixed ~1K output",
		aspectRatios: BASE_RATIOS,
		imageSizes: [],
		maxInputImages: 3,
	},
	{
		id: "nano-banana-2",
		gemini: "gemini-3.1-flash-image-preview",
		description: "Gemini 3.1 Flash Image: 512 to 4K, extreme aspect ratios",
		aspectRatios: [...BASE_RATIOS, ...EXTREME_RATIOS],
		imageSizes: ["512", "1K", "2K", "4K"],
		maxInputImages: 14,
	},
	{
		id: "nano-banana-pro",
		gemini: "gemini-3-pro-image-preview",
		description: "Gemini 3 Pro Image: highest fidelity, 1K to 4K",
		aspectRatios: BASE_RATIOS,
		imageSizes: ["1K", "2K", "4K"],
		maxInputImages: 14,
	},
	{
		id: "nano-banana-hd",
		gemini: "gemini-3-pro-image-preview",
		description: "Gemini 3 Pro Image at 4K by default",
		aspectRatios: BASE_RATIOS,
		imageSizes: ["1K", "2K", "4K"],
		defaultImageSize: "4K",
		maxInputImages: 14,
	},
];

/** Public ids a caller may name: every alias plus every distinct raw Gemini id. */
export function modelIds(): string[] {
	const ids = MODELS.map((m) => m.id);
	for (const m of MODELS) if (!ids.includes(m.gemini)) ids.push(m.gemini);
	return ids;
}

/**
 * Resolves an alias or a raw Gemini id (optionally `models/`-prefixed). A raw id maps to
 * the first alias that uses it, so raw `gemini-3-pro-image-preview` behaves like
 * `nano-banana-pro` (no 4K default), but keeps the raw id as its public name.
 */
export function findModel(name: string): ModelSpec | undefined {
	const wanted = name.trim().replace(/^models\//, "");
	const alias = MODELS.find((m) => m.id === wanted);
	if (alias) return alias;
	const raw = MODELS.find((m) => m.gemini === wanted);
	return raw ? { ...raw, id: raw.gemini, defaultImageSize: undefined } : undefined;
}

/** Width x height at 1K for Gemini 3 models (Google's published table); other sizes scale. */
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

const SIZE_SCALE: Record<ImageSize, number> = { "512": 0.5, "1K": 1, "2K": 2, "4K": 4 };

/** Output pixel dimensions Gemini documents for a model, ratio and size. */
export function outputDimensions(
	gemini: string,
	aspectRatio: string,
	imageSize: ImageSize | undefined,
): { width: number; height: number } | undefined {
	if (gemini === "gemini-2.5-flash-image") {
		const d = FLASH25[aspectRatio];
		return d ? { width: d[0], height: d[1] } : undefined;
	}
	const d = GEMINI3_1K[aspectRatio];
	if (!d) return undefined;
	const s = SIZE_SCALE[imageSize ?? "1K"];
	return { width: Math.round(d[0] * s), height: Math.round(d[1] * s) };
}

/** Output tokens Gemini bills per image (used by the emulator's usageMetadata). */
export function outputTokensPerImage(gemini: string, imageSize: ImageSize | undefined): number {
	if (gemini === "gemini-2.5-flash-image") return 1290;
	if (gemini === "gemini-3.1-flash-image-preview") {
		return { "512": 747, "1K": 1120, "2K": 1680, "4K": 2520 }[imageSize ?? "1K"];
	}
	return imageSize === "4K" ? 2000 : 1120;
}
