/**
 * What Google bills for each upstream model id, as data: per-million-token rates by kind
 * of token, the output image tokens of each size, Google Search per 1,000 queries, and
 * the per-image list prices Google publishes (which are the image tokens at the image
 * rate). Google bills tokens, not images, for every 200 it returns (an answer with no
 * image included), so the gateway's meter prices answers from their `usageMetadata`
 * with these rates (src/billing/cost.ts) and the customer's per-image prices are derived
 * from them (src/billing/prices.ts).
 *
 * Checked 2026-12-03 (ai.google.dev/gemini-api/docs/pricing as quoted in
 * ../shared/reference/late-2026-facts.md and third-party listings where Google's page
 * was not found; each entry names its source). The operator overrides any rate with the
 * RATES setting, so a price change at Google is configuration, not a release.
 */
import type { ImageSize } from "./data";

/** USD per 1M tokens of each kind Google meters. */
export interface TokenRates {
	/** Text (and video/audio) input. */
	inputText: number;
	/** Reference images in the request. */
	inputImage: number;
	/** Image output tokens. */
	outputImage: number;
	/** Text output and thinking tokens (Google bills thoughts as output). */
	outputText: number;
	/** Input served from a context cache. */
	cachedInput: number;
}

export interface GoogleRates extends TokenRates {
	/** Output tokens per image at each size it is sold at (fixed-size models under "1K"). */
	imageTokens: Partial<Record<ImageSize, number>>;
	/** Input tokens one reference image costs at most (Gemini 3: up to 1,120 at high media resolution). */
	inputImageTokens: number;
	/** USD per 1,000 Google Search grounding queries. */
	searchPer1000: number;
	/** YYYY-MM-DD the figures were last checked. */
	checked: string;
	/** Where they come from; `thirdParty` when Google's own page did not show them. */
	source: string;
	thirdParty?: boolean;
}

/** Service tiers Google prices differently; the factor applies to every token. */
export const TIER_FACTORS = {
	standard: 1,
	/** Batch API: half of all of it (ai.google.dev/gemini-api/docs/batch-mode, 2026-12-03). */
	batch: 0.5,
	/** Flex: half as well, where the model offers it. */
	flex: 0.5,
	/** Priority inference: 1.8x the standard rates (Google's pricing page, 2026-12-03). */
	priority: 1.8,
} as const;
export type ServiceTier = keyof typeof TIER_FACTORS;

const FLASH_IMAGE_TOKENS = { "512": 747, "1K": 1120, "2K": 1680, "4K": 2520 } as const;
const PRICING = "ai.google.dev/gemini-api/docs/pricing";

/** Google's rates by upstream model id (preview ids bill as their GA successors did). */
export const GOOGLE_RATES: Readonly<Record<string, GoogleRates>> = {
	"gemini-3.1-flash-image": {
		inputText: 0.5,
		inputImage: 0.5,
		outputImage: 60,
		outputText: 3,
		cachedInput: 0.05,
		imageTokens: FLASH_IMAGE_TOKENS,
		inputImageTokens: 1120,
		searchPer1000: 14,
		checked: "2026-12-03",
		source: PRICING,
	},
	"gemini-nano-banana-2.1": {
		inputText: 0.25,
		inputImage: 0.25,
		outputImage: 30,
		outputText: 1.5,
		cachedInput: 0.025,
		// Third-party listings give $0.113 at 4K, more than 2,520 tokens at $30/1M ($0.0756):
		// the larger figure is kept so the gateway never prices below it.
		imageTokens: { "1K": 1120, "2K": 1680, "4K": 3767 },
		inputImageTokens: 1120,
		searchPer1000: 14,
		checked: "2026-12-03",
		source: "third-party listings (OpenRouter, LiteLLM); Google's page not found in the copies checked",
		thirdParty: true,
	},
	"gemini-3-pro-image": {
		inputText: 2,
		inputImage: 2,
		outputImage: 120,
		outputText: 12,
		cachedInput: 0.2,
		imageTokens: { "1K": 1120, "2K": 1120, "4K": 2000 },
		inputImageTokens: 1120,
		searchPer1000: 14,
		checked: "2026-12-03",
		source: PRICING,
	},
	"gemini-3.1-flash-lite-image": {
		inputText: 0.25,
		inputImage: 0.25,
		outputImage: 30,
		outputText: 1.5,
		cachedInput: 0.025,
		imageTokens: { "1K": 1120 },
		inputImageTokens: 1120,
		searchPer1000: 14,
		checked: "2026-12-03",
		source: "third-party listings ($0.0336 per 1K image); Google's page not found in the copies checked",
		thirdParty: true,
	},
	"gemini-2.5-flash-image": {
		inputText: 0.3,
		inputImage: 0.3,
		outputImage: 30,
		outputText: 2.5,
		cachedInput: 0.03,
		imageTokens: { "1K": 1290 },
		inputImageTokens: 258,
		searchPer1000: 35,
		checked: "2026-12-03",
		source: PRICING,
	},
};
