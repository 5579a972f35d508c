/**
 * The built-in catalog, as data: what the gateway knows about Google's image model ids
 * (capabilities and lifecycle) and the public aliases it sells. The operator changes any
 * of it with the MODELS variable (src/catalog/overrides.ts), so a rename or retirement
 * upstream is a configuration change, not a release; and an id that answers 404
 * NOT_FOUND is skipped for its successor at run time (src/catalog/availability.ts).
 *
 * Checked 2026-11-22 against Google's changelog (ai.google.dev/gemini-api/docs/changelog:
 * 2026-05-28, 2026-06-30, 2026-09-18, 2026-10-06), the deprecations page and the model
 * cards; docs/decisions.md records what was uncertain. Since the shared facts were
 * written, Google released `gemini-nano-banana-2.1` (GA 2026-10-06) and deprecated
 * `gemini-3.1-flash-image` the same day (no shutdown date announced by Google; LiteLLM
 * reports 2026-10-29).
 */

export type ImageSize = "512" | "1K" | "2K" | "4K";
export const IMAGE_SIZES: readonly ImageSize[] = ["512", "1K", "2K", "4K"];

export const BASE_RATIOS = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"] as const;
export const EXTREME_RATIOS = ["1:4", "4:1", "1:8", "8:1"] as const;

/**
 * Where an id is in its life. `deprecated`: still served upstream, shutdown announced.
 * `retired`: shut down upstream (404 NOT_FOUND); the gateway routes it to its successor.
 * Dates are YYYY-MM-DD (UTC): `deprecatedOn` feeds the Deprecation header (RFC 9745),
 * `sunsetOn` the Sunset header (RFC 8594).
 */
export interface Lifecycle {
	status: "active" | "deprecated" | "retired";
	deprecatedOn?: string;
	sunsetOn?: string;
}

export interface Capabilities {
	aspectRatios: readonly string[];
	/** Empty when the model has one fixed output size (~1K). */
	imageSizes: readonly ImageSize[];
	maxInputImages: number;
}

/** thinkingConfig.thinkingLevel values, lower case (src/config.ts THINKING_LEVELS, written out so the catalog imports nothing). */
type ThinkingLevel = "minimal" | "low" | "medium" | "high";

/** One Gemini model id as Google serves it. */
export interface UpstreamModel extends Capabilities {
	id: string;
	displayName: string;
	inputTokenLimit: number;
	outputTokenLimit: number;
	/**
	 * The thinking levels Google accepts for it (others are Google's 400 after the call, so
	 * the gateway refuses them first); empty: no thinking; undefined: not known, not checked.
	 */
	thinkingLevels?: readonly ThinkingLevel[];
	lifecycle: Lifecycle;
	/** The id Google names as the replacement. */
	successor?: string;
}

/** A public alias: what the gateway sells under a stable name. */
export interface AliasSpec extends Capabilities {
	id: string;
	/** The Gemini id requests go to first... */
	upstream: string;
	/** ...then these, in order, once an id answers 404 NOT_FOUND. */
	successors: readonly string[];
	description: string;
	/** Sent when the caller gives no image_size; undefined lets Gemini choose. */
	defaultImageSize?: ImageSize;
	lifecycle: Lifecycle;
}

const ALL_RATIOS = [...BASE_RATIOS, ...EXTREME_RATIOS];
const GEMINI3_FLASH: Capabilities = { aspectRatios: ALL_RATIOS, imageSizes: ["512", "1K", "2K", "4K"], maxInputImages: 14 };
const NANO_BANANA_21: Capabilities = { aspectRatios: ALL_RATIOS, imageSizes: ["1K", "2K", "4K"], maxInputImages: 14 };
const GEMINI3_PRO: Capabilities = { aspectRatios: BASE_RATIOS, imageSizes: ["1K", "2K", "4K"], maxInputImages: 14 };
const FLASH_LITE: Capabilities = { aspectRatios: BASE_RATIOS, imageSizes: ["1K"], maxInputImages: 3 };
const FLASH25: Capabilities = { aspectRatios: BASE_RATIOS, imageSizes: [], maxInputImages: 3 };

export const UPSTREAM_MODELS: readonly UpstreamModel[] = [
	{
		id: "gemini-nano-banana-2.1",
		displayName: "Nano Banana 2.1",
		...NANO_BANANA_21,
		inputTokenLimit: 131_072,
		outputTokenLimit: 32_768,
		// Third-party (late-2026-facts.md, checked 2026-12-03): minimal, medium (the default), high.
		thinkingLevels: ["minimal", "medium", "high"],
		lifecycle: { status: "active" },
	},
	{
		id: "gemini-3.1-flash-image",
		displayName: "Nano Banana 2",
		...GEMINI3_FLASH,
		inputTokenLimit: 65_536,
		outputTokenLimit: 65_536,
		// Minimal (the default) or high (Google's image-generation guide; reseller schemas agree, checked 2026-12-03).
		thinkingLevels: ["minimal", "high"],
		lifecycle: { status: "deprecated", deprecatedOn: "2026-10-06" },
		successor: "gemini-nano-banana-2.1",
	},
	{
		id: "gemini-3-pro-image",
		displayName: "Nano Banana Pro",
		...GEMINI3_PRO,
		inputTokenLimit: 131_072,
		outputTokenLimit: 32_768,
		// As Gemini 3 Pro: low or high (the default) (Google's thinking guide for Gemini 3 Pro, checked 2026-12-03).
		thinkingLevels: ["low", "high"],
		lifecycle: { status: "active" },
	},
	{
		id: "gemini-3.1-flash-lite-image",
		displayName: "Nano Banana 2 Lite",
		...FLASH_LITE,
		inputTokenLimit: 65_536,
		outputTokenLimit: 4_096,
		// Not published; assumed as 3.1 Flash Image (checked 2026-12-03).
		thinkingLevels: ["minimal", "high"],
		lifecycle: { status: "active" },
	},
	{
		id: "gemini-2.5-flash-image",
		displayName: "Nano Banana",
		...FLASH25,
		inputTokenLimit: 32_768,
		outputTokenLimit: 32_768,
		// Listed for shutdown "October 2, 2026" (earliest); since 2026-09-18 only projects
		// that already used 2.5 models may call them.
		thinkingLevels: [], // Gemini 2.5 Flash Image does not think
		lifecycle: { status: "deprecated", sunsetOn: "2026-10-02" },
		successor: "gemini-3.1-flash-image",
	},
	{
		id: "gemini-3.1-flash-image-preview",
		displayName: "Nano Banana 2 (preview)",
		...GEMINI3_FLASH,
		inputTokenLimit: 65_536,
		outputTokenLimit: 65_536,
		thinkingLevels: ["minimal", "high"],
		lifecycle: { status: "retired", deprecatedOn: "2026-05-28", sunsetOn: "2026-06-25" },
		successor: "gemini-3.1-flash-image",
	},
	{
		id: "gemini-3-pro-image-preview",
		displayName: "Nano Banana Pro (preview)",
		...GEMINI3_PRO,
		inputTokenLimit: 131_072,
		outputTokenLimit: 32_768,
		thinkingLevels: ["low", "high"],
		lifecycle: { status: "retired", deprecatedOn: "2026-05-28", sunsetOn: "2026-06-25" },
		successor: "gemini-3-pro-image",
	},
	{
		id: "gemini-2.5-flash-image-preview",
		displayName: "Nano Banana (preview)",
		...FLASH25,
		inputTokenLimit: 32_768,
		outputTokenLimit: 32_768,
		thinkingLevels: [],
		lifecycle: { status: "retired", sunsetOn: "2026-01-15" },
		successor: "gemini-2.5-flash-image",
	},
];

export const DEFAULT_ALIASES: readonly AliasSpec[] = [
	{
		id: "nano-banana",
		upstream: "gemini-2.5-flash-image",
		successors: ["gemini-3.1-flash-image"],
		description: "Nano Banana: fast, fixed ~1K output (Gemini 2.5 Flash Image; then its successors)",
		...FLASH25,
		lifecycle: { status: "active" },
	},
	{
		id: "nano-banana-2",
		upstream: "gemini-3.1-flash-image",
		successors: [],
		description: "Nano Banana 2 (Gemini 3.1 Flash Image; then Nano Banana 2.1): 512 to 4K, extreme aspect ratios",
		...GEMINI3_FLASH,
		lifecycle: { status: "active" },
	},
	{
		id: "nano-banana-2.1",
		upstream: "gemini-nano-banana-2.1",
		successors: [],
		description: "Nano Banana 2.1: Google's current Flash image model, 1K to 4K, extreme aspect ratios",
		...NANO_BANANA_21,
		lifecycle: { status: "active" },
	},
	{
		id: "nano-banana-2-lite",
		upstream: "gemini-3.1-flash-lite-image",
		successors: [],
		description: "Nano Banana 2 Lite (Gemini 3.1 Flash Lite Image): cheapest and fastest, 1K only",
		...FLASH_LITE,
		defaultImageSize: "1K",
		lifecycle: { status: "active" },
	},
	{
		id: "nano-banana-pro",
		upstream: "gemini-3-pro-image",
		successors: [],
		description: "Nano Banana Pro (Gemini 3 Pro Image): highest fidelity, 1K to 4K",
		...GEMINI3_PRO,
		lifecycle: { status: "active" },
	},
	{
		id: "nano-banana-hd",
		upstream: "gemini-3-pro-image",
		successors: [],
		description: "Nano Banana Pro at 4K by default",
		...GEMINI3_PRO,
		defaultImageSize: "4K",
		lifecycle: { status: "active" },
	},
];
