/**
 * What Google bills for the image models the emulator plays, dated, with sources, and
 * `googleBillUsd()`: the bill for one answer from its usageMetadata. The gateway's tests use
 * it as ground truth for the meter, so it lives here (emulator/, importing nothing from src/)
 * and states Google's side only.
 *
 * Every rate was re-checked on 2026-12-03 with the search tool. "google" sources are Google's
 * own pages; "third-party" ones are transcriptions or resellers' copies of Google's page (the
 * search index holds no copy of ai.google.dev/gemini-api/docs/pricing itself). Where sources
 * disagree the higher rate is kept, so a meter that covers this bill covers Google's.
 *
 * Billing rules (Google's pricing page, as transcribed by api-evangelist/gemini 2026-09-20 and
 * api-evangelist/deepmind 2026-10-07, third-party):
 * - input text and images at the input rate; cached input at the cached rate;
 * - output images at the image rate per output image token; output text AND thinking at the
 *   text-output rate ("including thinking tokens");
 * - Google Search grounding: Gemini 3 models per search query, $14 per 1,000 after 5,000 free
 *   a month shared across models; Gemini 2.5 per grounded prompt, $35 per 1,000 after 1,500 a
 *   day. The free allowances are left out here: the gateway cannot know how much of them an
 *   operator has left, so the paid rate is the truthful bound;
 * - Batch API: 50% of the standard price ("Batch API (50% cost reduction)").
 * - Flex: 50%; Priority: "75% to 100% above standard rates" (third-party reports of Google's
 *   2026-04-02 announcement, e.g. circlo.io/?p=93623); 2x is kept, the upper end.
 * The multipliers apply to token costs; search fees are charged as they are.
 */
import { MODELS, type Size } from "./models.ts";

export const RATES_CHECKED = "2026-12-03";

/** USD per 1M tokens, per-image list prices, and where each came from. */
export interface ModelRates {
	/** Input text and image tokens. */
	inputPerM: number;
	/** Output image tokens. */
	outputImagePerM: number;
	/** Output text and thinking tokens. */
	outputTextPerM: number;
	/** Cached input tokens (stand-in for all: Google's Gemini 3 rule of 10% of input; image models' cache support is not documented). */
	cachedInputPerM: number;
	/** Google's per-image equivalents at each size (output image tokens × image rate, rounded as Google prints them). */
	perImageUsd: Partial<Record<Size, number>>;
	/** Google Search grounding: per 1,000 queries (Gemini 3) or grounded prompts (2.5). */
	searchPer1000Usd: number;
	searchUnit: "query" | "prompt";
	sources: string[];
}

export const RATES: Readonly<Record<string, ModelRates>> = {
	"gemini-3.1-flash-image": {
		inputPerM: 0.5,
		outputImagePerM: 60,
		outputTextPerM: 3,
		cachedInputPerM: 0.05,
		perImageUsd: { "512": 0.045, "1K": 0.067, "2K": 0.101, "4K": 0.151 },
		searchPer1000Usd: 14,
		searchUnit: "query",
		sources: [
			"image $60/1M and $0.045/0.067/0.101/0.151 per 512/1K/2K/4K image: Google's pricing page as quoted by lumenfall.ai (as of 2026-02-26) and blog.laozhang.ai (verified 2026-03), third-party",
			"tokens 747/1120/1680/2520 out, 1120 per input image: Google, docs.cloud.google.com/vertex-ai/generative-ai/docs/models/gemini/3-1-flash-image",
			"input $0.50, text+thinking $3: docs.ai.it.ufl.edu and modelpedia.dev, third-party (lumenfall.ai and xairouter.com list $0.25 and $1.50; the higher kept)",
		],
	},
	"gemini-3-pro-image": {
		inputPerM: 2,
		outputImagePerM: 120,
		outputTextPerM: 12,
		cachedInputPerM: 0.2,
		perImageUsd: { "1K": 0.134, "2K": 0.134, "4K": 0.24 },
		searchPer1000Usd: 14,
		searchUnit: "query",
		sources: [
			'"$120.00 (images)", "Equivalent to $0.134 per 1K/2K image and $0.24 per 4K image": Google\'s pricing page transcribed by api-evangelist/gemini 2026-09-20, third-party',
			"tokens 1120/1120/2000 out, 560 per input image: Google, docs.cloud.google.com/vertex-ai/generative-ai/docs/models/gemini/3-pro-image",
			"input $2, text+thinking $12: console.core.today and xairouter.com, third-party",
		],
	},
	"gemini-nano-banana-2.1": {
		inputPerM: 1.5,
		outputImagePerM: 30,
		outputTextPerM: 7.5,
		cachedInputPerM: 0.15,
		perImageUsd: { "1K": 0.0336, "2K": 0.0504, "4K": 0.1134 },
		searchPer1000Usd: 14,
		searchUnit: "query",
		sources: [
			"image $30/1M ($0.0336 per 1K), input $1.50, text $7.50: LiteLLM discussion BerriAI/litellm#44983, third-party",
			"$0.0336-$0.1134 per image 1K-4K, $0.014 per search query: inference.sh (2026-11-06), third-party; the 2K price is a stand-in (1,680 tokens)",
		],
	},
	"gemini-3.1-flash-lite-image": {
		inputPerM: 0.25,
		outputImagePerM: 30,
		outputTextPerM: 1.5,
		cachedInputPerM: 0.025,
		perImageUsd: { "1K": 0.034 },
		searchPer1000Usd: 14,
		searchUnit: "query",
		sources: [
			"$0.034 per 1K image, input $0.25, text+reasoning $1.50: docs.gmicloud.ai (gemini-3-1-flash-lite-image), third-party; $30/1M image is derived from it (1,120 tokens)",
		],
	},
	"gemini-2.5-flash-image": {
		inputPerM: 0.3,
		outputImagePerM: 30,
		outputTextPerM: 2.5,
		cachedInputPerM: 0.03,
		perImageUsd: { "1K": 0.039 },
		searchPer1000Usd: 35,
		searchUnit: "prompt",
		sources: [
			'"Image output is priced at $30 per 1,000,000 tokens. Output images up to 1024x1024px consume 1290 tokens and are equivalent to $0.039 per image", input $0.30: Google\'s pricing page as quoted in public repositories, third-party',
			"text output $2.50 (Vertex AI): a public pricing reference, third-party; search $35 per 1,000 grounded prompts: api-evangelist/gemini 2026-09-20",
		],
	},
};

/** Service tiers and what they multiply token costs by. */
export const TIER_MULTIPLIERS = { standard: 1, batch: 0.5, flex: 0.5, priority: 2 } as const;
export type Tier = keyof typeof TIER_MULTIPLIERS;

interface Detail {
	modality?: string;
	tokenCount?: number;
}

/** The usageMetadata fields the bill reads (Google's names). */
export interface BilledUsage {
	promptTokenCount?: number;
	candidatesTokenCount?: number;
	thoughtsTokenCount?: number;
	toolUsePromptTokenCount?: number;
	cachedContentTokenCount?: number;
	candidatesTokensDetails?: Detail[];
	serviceTier?: string;
}

/** One answer's bill, in parts (USD). */
export interface GoogleBill {
	input: number;
	cachedInput: number;
	outputImage: number;
	outputText: number;
	search: number;
	multiplier: number;
	total: number;
}

/**
 * What Google bills for one answer: prompt (less cached) and tool-use prompt at the input rate,
 * cached tokens at the cached rate, IMAGE candidates at the image rate, every other candidates
 * token (TEXT, and any Google leaves out of the details) plus thoughts at the text rate; token
 * costs × the tier's multiplier (`tier` defaults to the answer's serviceTier, else standard);
 * plus search: per query on Gemini 3, per grounded prompt (one, if any query ran) on 2.5.
 */
export function googleBillBreakdown(modelId: string, usage: BilledUsage, opts: { tier?: Tier; searchQueries?: number } = {}): GoogleBill {
	const r = RATES[modelId];
	if (!r) throw new Error(`no rates for ${modelId}`);
	const cached = usage.cachedContentTokenCount ?? 0;
	const imageOut = (usage.candidatesTokensDetails ?? []).filter((d) => d.modality === "IMAGE").reduce((n, d) => n + (d.tokenCount ?? 0), 0);
	const textOut = (usage.candidatesTokenCount ?? 0) - imageOut + (usage.thoughtsTokenCount ?? 0);
	const perM = (tokens: number, rate: number) => (tokens * rate) / 1_000_000;
	const tier = opts.tier ?? (usage.serviceTier as Tier | undefined) ?? "standard";
	const multiplier = TIER_MULTIPLIERS[tier] ?? 1;
	const input = perM((usage.promptTokenCount ?? 0) - cached + (usage.toolUsePromptTokenCount ?? 0), r.inputPerM) * multiplier;
	const cachedInput = perM(cached, r.cachedInputPerM) * multiplier;
	const outputImage = perM(imageOut, r.outputImagePerM) * multiplier;
	const outputText = perM(textOut, r.outputTextPerM) * multiplier;
	const queries = opts.searchQueries ?? 0;
	const units = r.searchUnit === "query" ? queries : queries > 0 ? 1 : 0;
	const search = (units * r.searchPer1000Usd) / 1000;
	return {
		input,
		cachedInput,
		outputImage,
		outputText,
		search,
		multiplier,
		total: input + cachedInput + outputImage + outputText + search,
	};
}

/** What Google bills for one answer, in USD (see googleBillBreakdown). */
export function googleBillUsd(modelId: string, usage: BilledUsage, opts: { tier?: Tier; searchQueries?: number } = {}): number {
	return googleBillBreakdown(modelId, usage, opts).total;
}

/** Google's list price per image at a size, from the token count and the image rate (unrounded). */
export function imageTokenCostUsd(modelId: string, size: Size): number | undefined {
	const m = MODELS.find((x) => x.id === modelId);
	const tokens = m?.image?.tokens[size];
	const r = RATES[modelId];
	return tokens === undefined || !r ? undefined : (tokens * r.outputImagePerM) / 1_000_000;
}
