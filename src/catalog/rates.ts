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
import { z } from "zod";

/**
 * The image sizes (src/catalog/data.ts's ImageSize, written out so this module imports
 * nothing of the project's and Node loads it as it is: the tests' config reads it).
 */
type ImageSize = "512" | "1K" | "2K" | "4K";

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
	/** Google's published price of one output image at each size, in USD (kept beside the tokens: where the two disagree the meter takes the larger). */
	listPerImage: Partial<Record<ImageSize, number>>;
	/** USD per 1,000 Google Search grounding queries (Gemini 3), or per 1,000 grounded prompts (2.5). */
	searchPer1000: number;
	searchUnit: "query" | "prompt";
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
	/** Flex: half as well, where the model offers it (3.1 Flash Lite Image offers neither flex nor priority). */
	flex: 0.5,
	/** Priority: "75% to 100% above standard rates" (reports of Google's 2026-04-02 announcement); the upper end. */
	priority: 2,
} as const;
export type ServiceTier = keyof typeof TIER_FACTORS;

const FLASH_IMAGE_TOKENS = { "512": 747, "1K": 1120, "2K": 1680, "4K": 2520 } as const;

/** Google's rates by upstream model id; retired ids are never sent a request, so they have none. */
export const GOOGLE_RATES: Readonly<Record<string, GoogleRates>> = {
	"gemini-3.1-flash-image": {
		inputText: 0.5,
		inputImage: 0.5,
		outputImage: 60,
		outputText: 3,
		cachedInput: 0.05,
		imageTokens: FLASH_IMAGE_TOKENS,
		listPerImage: { "512": 0.045, "1K": 0.067, "2K": 0.101, "4K": 0.151 },
		inputImageTokens: 1120,
		searchPer1000: 14,
		searchUnit: "query",
		checked: "2026-12-03",
		source:
			"image $60/1M and per-image prices: Google's pricing page as quoted by third parties; tokens and 1,120 per input image: Google's Vertex AI model page; input $0.50 and text $3: third-party (some list $0.25/$1.50; the higher kept)",
		thirdParty: true,
	},
	"gemini-3-pro-image": {
		inputText: 2,
		inputImage: 2,
		outputImage: 120,
		outputText: 12,
		cachedInput: 0.2,
		imageTokens: { "1K": 1120, "2K": 1120, "4K": 2000 },
		listPerImage: { "1K": 0.134, "2K": 0.134, "4K": 0.24 },
		inputImageTokens: 560,
		searchPer1000: 14,
		searchUnit: "query",
		checked: "2026-12-03",
		source:
			"image $120/1M, $0.134 (1K, 2K) and $0.24 (4K): Google's pricing page as transcribed 2026-09-20; tokens and 560 per input image: Google's Vertex AI model page; input $2 and text $12: third-party",
		thirdParty: true,
	},
	"gemini-nano-banana-2.1": {
		inputText: 1.5,
		inputImage: 1.5,
		outputImage: 30,
		outputText: 7.5,
		cachedInput: 0.15,
		// $0.1134 at 4K is 3,780 tokens at $30/1M; the 2K count is a stand-in (Flash's 1,680).
		imageTokens: { "1K": 1120, "2K": 1680, "4K": 3780 },
		listPerImage: { "1K": 0.0336, "2K": 0.0504, "4K": 0.1134 },
		inputImageTokens: 1120,
		searchPer1000: 14,
		searchUnit: "query",
		checked: "2026-12-03",
		source: "third-party listings (LiteLLM, inference.sh 2026-11-06); Google's own page was not found in the copies checked",
		thirdParty: true,
	},
	"gemini-3.1-flash-lite-image": {
		inputText: 0.25,
		inputImage: 0.25,
		outputImage: 30,
		outputText: 1.5,
		cachedInput: 0.025,
		imageTokens: { "1K": 1120 },
		listPerImage: { "1K": 0.034 },
		inputImageTokens: 1120,
		searchPer1000: 14,
		searchUnit: "query",
		checked: "2026-12-03",
		source: "third-party ($0.034 per 1K image, input $0.25, text $1.50); the $30/1M image rate is derived from it",
		thirdParty: true,
	},
	"gemini-2.5-flash-image": {
		inputText: 0.3,
		inputImage: 0.3,
		outputImage: 30,
		outputText: 2.5,
		cachedInput: 0.03,
		imageTokens: { "1K": 1290 },
		listPerImage: { "1K": 0.039 },
		inputImageTokens: 258,
		searchPer1000: 35,
		searchUnit: "prompt",
		checked: "2026-12-03",
		source:
			"Google's pricing page as quoted publicly ($30/1M, 1,290 tokens, $0.039 per image, input $0.30); text $2.50 and search $35 per 1,000 grounded prompts: third-party",
		thirdParty: true,
	},
};

/** src/lib/lazy.ts's helper, repeated: this module imports nothing of the project's (see above). */
function lazy<T>(build: () => T): () => T {
	let made: { value: T } | undefined;
	return () => {
		made ??= { value: build() };
		return made.value;
	};
}

const Usd = lazy(() => z.number().min(0).max(100_000));
const SizeCounts = lazy(() => z.partialRecord(z.enum(["512", "1K", "2K", "4K"]), z.number().min(0)));
/** One model's rates as the RATES setting writes them: every field, for a model the gateway does not know. */
const FullRates = lazy(() =>
	z.strictObject({
		inputText: Usd(),
		inputImage: Usd(),
		outputImage: Usd(),
		outputText: Usd(),
		cachedInput: Usd(),
		imageTokens: SizeCounts(),
		listPerImage: SizeCounts().optional(),
		inputImageTokens: z.number().int().min(0),
		searchPer1000: Usd(),
		searchUnit: z.enum(["query", "prompt"]).optional(),
		checked: z.string().optional(),
		source: z.string().optional(),
		thirdParty: z.boolean().optional(),
	}),
);

/**
 * The RATES setting: per upstream model id, rates that replace the built-in ones (any
 * subset of the fields for a known id; all of the numeric ones for a new id), in USD per
 * 1M tokens, e.g. `{"gemini-3-pro-image": {"outputImage": 130}}`.
 */
export const RatesOverride = lazy(() => z.record(z.string().min(1), z.looseObject({})));
export type RatesOverride = z.infer<ReturnType<typeof RatesOverride>>;

/** Google's rates with the operator's RATES applied; throws an Error naming the bad field. */
export function applyRates(override: RatesOverride = {}): Record<string, GoogleRates> {
	const out: Record<string, GoogleRates> = { ...GOOGLE_RATES };
	for (const [id, fields] of Object.entries(override)) {
		const base = GOOGLE_RATES[id];
		const parsed = (base ? FullRates().partial() : FullRates()).safeParse(fields);
		if (!parsed.success) {
			const issue = parsed.error.issues[0];
			throw new Error(`${[id, ...issue.path].join(".")}: ${issue.message}`);
		}
		const given = parsed.data;
		out[id] = {
			...base,
			...given,
			listPerImage: given.listPerImage ?? base?.listPerImage ?? {},
			searchUnit: given.searchUnit ?? base?.searchUnit ?? "query",
			// Changed by the operator: the date and source are theirs unless they say otherwise.
			checked: given.checked ?? "operator",
			source: given.source ?? "RATES setting",
		} as GoogleRates;
	}
	return out;
}
