/**
 * What a request is billed as, shared by the sync path (billed.ts), async submission and
 * the queue consumer: the metered shape, the usage draft the KeyAccount records, and the
 * error a refused admission becomes.
 */
import { refusedKey } from "../account/caller";
import type { AdmitResult, UsageDraft } from "../account/records";
import { type ControlledUse, controlledUse, type RequestedFeatures } from "../billing/controls";
import { CREDIT_USD } from "../billing/cost";
import type { LimitName } from "../billing/limits";
import { servingModels } from "../billing/serving";
import type { ImageSize, ModelSpec } from "../catalog/catalog";
import { type ServiceTier, TIER_FACTORS } from "../catalog/rates";
import type { GatewayConfig } from "../config";
import { type ApiError, apiError } from "../errors";
import { creditsUp } from "./meter";
import { type GenerationRequest, modeOf } from "./request";

/** What is billed: the model and size set the price, `images` the worst case held. */
export interface Metered {
	endpoint: string;
	model: ModelSpec;
	mode: "generate" | "edit";
	images: number;
	aspectRatio?: string;
	imageSize?: ImageSize;
	/** The prompt, kept on the usage row (cut to PROMPT_KEPT_CHARS) for the key's gallery. */
	prompt?: string;
	/** The most one call may cost at Google's rates (credits, a fraction), from callBound. */
	worstCallCredits?: number;
	/** Priced features the request uses, for the key's controls (billing/controls.ts). */
	features?: RequestedFeatures;
}

/** How an image-pipeline request is metered. */
export function meteredOf(req: GenerationRequest, config?: GatewayConfig, tier: ServiceTier = "standard"): Metered {
	return {
		endpoint: req.endpoint,
		model: req.model,
		mode: modeOf(req),
		images: req.n,
		aspectRatio: req.aspectRatio,
		imageSize: req.imageSize,
		prompt: req.prompt,
		worstCallCredits: config ? callBound(config, req, tier).worstCredits : undefined,
		features: {
			...(req.search ? { search: true } : {}),
			...(req.thinkingLevel ? { thinking: req.thinkingLevel } : {}),
			...(tier === "batch" ? { batch: true } : {}),
		},
	};
}

/** What one call may be asked to produce, and so cost, at most. */
export interface CallBound {
	/** Sent as generationConfig.maxOutputTokens: the image's tokens plus the allowance. */
	maxOutputTokens: number;
	/** The most Google can bill for the call (credits, a fraction), at the dearest model of the chain. */
	worstCredits: number;
}

const utf8 = new TextEncoder();

/** Upper bounds of a request's input: a token is at least one byte of UTF-8, an image at most the model's image tokens. */
function inputOf(req: GenerationRequest): { textTokens: number; images: number } {
	const texts = [req.prompt, req.systemInstruction ?? ""];
	let images = req.images.length;
	for (const turn of req.history ?? []) {
		for (const part of turn.parts) {
			if (typeof part.text === "string") texts.push(part.text);
			if (part.inlineData || part.inline_data) images++;
		}
	}
	return { textTokens: texts.reduce((n, t) => n + utf8.encode(t).length, 0), images };
}

/**
 * The bound of one image call: the gateway sends maxOutputTokens = the image's tokens plus
 * OUTPUT_ALLOWANCE_TOKENS, so Google can bill at most that many output tokens, the
 * allowance priced as image tokens where it could hold another image and as text
 * otherwise (thoughts, captions and the tokens the details leave out are text); plus
 * the input, counted from the request. Taken at the dearest model the chain can reach.
 */
export function callBound(
	config: Pick<GatewayConfig, "catalog" | "rates" | "outputAllowanceTokens">,
	req: GenerationRequest,
	tier: ServiceTier = "standard",
): CallBound {
	const size = req.imageSize ?? req.model.defaultImageSize ?? "1K";
	const input = inputOf(req);
	const allowance = config.outputAllowanceTokens;
	let imageTokens = 0;
	let worstUsd = 0;
	for (const { caps, rates: r } of servingModels(config.catalog, config.rates, req.model.chain)) {
		if (!r) continue; // refused at configuration time for every alias (MissingRates)
		const fixed = !caps || caps.imageSizes.length === 0;
		const tokens = r.imageTokens[fixed ? "1K" : size] ?? r.imageTokens["1K"] ?? 0;
		imageTokens = Math.max(imageTokens, tokens);
		const extraRate = allowance >= tokens ? Math.max(r.outputImage, r.outputText) : r.outputText;
		const usd =
			(input.textTokens * r.inputText + input.images * r.inputImageTokens * r.inputImage + tokens * r.outputImage + allowance * extraRate) /
				1_000_000 +
			(req.search ? (SEARCH_QUERIES_HELD * r.searchPer1000) / 1000 : 0);
		worstUsd = Math.max(worstUsd, usd);
	}
	return { maxOutputTokens: imageTokens + allowance, worstCredits: (worstUsd * TIER_FACTORS[tier]) / CREDIT_USD };
}

/**
 * Credits held for a request: per image call, the larger of its price and the most Google
 * can bill for it (plus the margin), so the charge (src/pipeline/meter.ts) never exceeds it.
 */
export function holdOf(config: Pick<GatewayConfig, "marginPercent">, m: Metered, pricePerImage: number): number {
	const worst = m.worstCallCredits === undefined ? 0 : creditsUp(m.worstCallCredits * (1 + config.marginPercent / 100));
	return m.images * Math.max(pricePerImage, worst);
}

/** How much of a prompt a usage row keeps: enough to recognise the image by, not a transcript. */
export const PROMPT_KEPT_CHARS = 1_000;

/** The usage draft a KeyAccount records at admission. */
export function usageDraft(requestId: string, m: Metered): UsageDraft {
	return {
		requestId,
		endpoint: m.endpoint,
		model: m.model.id,
		mode: m.mode,
		n: m.images,
		aspectRatio: m.aspectRatio ?? null,
		imageSize: m.imageSize ?? m.model.defaultImageSize ?? null,
		prompt: m.prompt === undefined ? null : m.prompt.slice(0, PROMPT_KEPT_CHARS),
		startedAt: Date.now(),
	};
}

/** What the key's controls check at admission: the model's names, the size, the features. */
export function usesOf(m: Metered): ControlledUse {
	return controlledUse(m.model, m.imageSize ?? m.model.defaultImageSize, m.features);
}

/** What a 429 says: for the concurrency limits, what is in flight and when a slot frees, not just a wait. */
function rateLimitMessage(limit: LimitName, value: number, retryAfterSeconds: number): string {
	if (limit === "concurrent_requests")
		return `Limit concurrent_requests (${value}) reached: ${value} requests or standard-tier async jobs of this key are in flight (batch-tier jobs are not counted here). Retry when one finishes (first retry in ${retryAfterSeconds} s).`;
	if (limit === "concurrent_batch_jobs")
		return `Limit concurrent_batch_jobs (${value}) reached: ${value} batch-tier jobs of this key are waiting or running, and a batch can take Gemini up to 48 hours. Retry when one finishes, cancel one, or use the standard tier (sync and standard async requests are not affected).`;
	return `Limit ${limit} (${value}) reached; retry in ${retryAfterSeconds} s`;
}

/** The error a refused admission becomes (402, 429, 409, 422, 401, 403). */
export function refusal(a: Exclude<AdmitResult, { ok: true } | { reason: "replay" }>): ApiError {
	switch (a.reason) {
		case "unknown_key":
		case "key_revoked":
			return refusedKey(a.reason);
		case "insufficient_credits":
			return apiError(
				"insufficient_credits",
				`This request needs up to ${a.required} credits; the balance is ${a.balance}. Lower n or add credits.`,
				{ headers: { "x-credits-remaining": String(a.balance) } },
			);
		case "rate_limited":
			return apiError("rate_limit_exceeded", rateLimitMessage(a.limit, a.value, a.retryAfterSeconds), {
				param: a.limit,
				headers: {
					"retry-after": String(a.retryAfterSeconds),
					"ratelimit-limit": String(a.value),
					"ratelimit-remaining": "0",
					"ratelimit-reset": String(a.retryAfterSeconds),
					"ratelimit-policy": `"${a.limit}";q=${a.value}`,
				},
			});
		case "not_allowed":
			return apiError("not_allowed_for_key", a.message, { param: a.control });
		case "spend_limited":
			return apiError(
				"spend_limit_exceeded",
				`Spend limit ${a.limit} (${a.value} credits) reached: ${a.spent} charged or held in the ${a.limit === "daily_spend_credits" ? "day" : "month"} (UTC), and this request holds up to ${a.required}; retry in ${a.retryAfterSeconds} s`,
				{ param: a.limit, headers: { "retry-after": String(a.retryAfterSeconds) } },
			);
		case "idempotency_mismatch":
			return apiError("idempotency_key_reused", "This Idempotency-Key was already used with a different request body", {
				param: "Idempotency-Key",
			});
		case "idempotency_in_flight":
			return apiError("idempotency_in_flight", "A request with this Idempotency-Key is still running", { param: "Idempotency-Key" });
	}
}

/** Google Search queries held for per native call that sends the search tool (Google bills each query it runs; a call rarely runs more than a few). */
export const SEARCH_QUERIES_HELD = 10;

/** What a native generateContent call may cost at most: the bounds its rebuilt request sets (src/gemini/native-request.ts). */
export interface NativeCallBounds {
	maxOutputTokens: number;
	search: boolean;
	inputTextChars: number;
	inputImages: number;
}

/**
 * The most Google can bill for one native call (credits, a fraction): every output token
 * up to maxOutputTokens at the dearer output rate (images, text and thoughts all count
 * against it), the input (a character is at most 4 UTF-8 bytes, and a token at least one),
 * and the search queries held, at the dearest model of the chain.
 */
export function nativeWorstCredits(config: Pick<GatewayConfig, "catalog" | "rates">, model: ModelSpec, b: NativeCallBounds): number {
	let worstUsd = 0;
	for (const { rates: r } of servingModels(config.catalog, config.rates, model.chain)) {
		if (!r) continue;
		const usd =
			(b.inputTextChars * 4 * r.inputText +
				b.inputImages * r.inputImageTokens * r.inputImage +
				b.maxOutputTokens * Math.max(r.outputImage, r.outputText)) /
				1_000_000 +
			(b.search ? (SEARCH_QUERIES_HELD * r.searchPer1000) / 1000 : 0);
		worstUsd = Math.max(worstUsd, usd);
	}
	return worstUsd / CREDIT_USD;
}
