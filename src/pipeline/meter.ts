/**
 * The meter: what Google bills for each answer a request received, from the answer's
 * `usageMetadata` at the rates of the model that actually served it (src/billing/cost.ts),
 * kept by what became of the answer, and the charge that follows from it.
 *
 * The charge rule (docs/api.md#pricing):
 *   charge = max(images delivered x the alias's price, cost of the answers that delivered x (1 + margin))
 *          + (cost of refused answers x (1 + margin), when CHARGE_REFUSED is on)
 * rounded up to a whole credit. Answers that failed through no fault of the caller (bad
 * bytes, a storage failure) are the operator's cost; they are recorded, never charged.
 */

import type { MeteredRecord } from "../account/records";
import { answerCostCredits, type BilledUsage, splitTokens, type TokenSplit } from "../billing/cost";
import type { GoogleRates, ServiceTier } from "../catalog/rates";
import type { GatewayConfig } from "../config";

/** What became of an answer Google billed: an image delivered, a refusal (no image, safety, text only), or a fault. */
export type AnswerFate = "delivered" | "refused" | "faulted";

/** Google's bill for a request, in credits (fractions), and the tokens behind it. */
export interface Spend {
	delivered: number;
	refused: number;
	faulted: number;
	tokens: TokenSplit;
	/** Thinking tokens (inside tokens.outputText too). */
	thoughts: number;
	searchQueries: number;
	tier: ServiceTier;
	/** The models that answered, with how many answers each. */
	models: Record<string, number>;
}

export function emptySpend(tier: ServiceTier = "standard"): Spend {
	return {
		delivered: 0,
		refused: 0,
		faulted: 0,
		tokens: { inputText: 0, inputImage: 0, cachedInput: 0, outputImage: 0, outputText: 0 },
		thoughts: 0,
		searchQueries: 0,
		tier,
		models: {},
	};
}

/** The rates of a model, or the dearest known ones for a model without rates (never cheaper than Google). */
function ratesOf(rates: Readonly<Record<string, GoogleRates>>, model: string | null): GoogleRates {
	const own = model ? rates[model] : undefined;
	if (own) return own;
	return Object.values(rates).reduce((a, b) => (b.outputImage + b.outputText > a.outputImage + a.outputText ? b : a));
}

/** Adds one billed answer to the spend. */
export function recordAnswer(
	spend: Spend,
	rates: Readonly<Record<string, GoogleRates>>,
	model: string | null,
	usage: BilledUsage,
	fate: AnswerFate,
	searchQueries = 0,
): void {
	spend[fate] += answerCostCredits(usage, ratesOf(rates, model), { tier: spend.tier, searchQueries });
	const t = splitTokens(usage);
	for (const k of Object.keys(t) as Array<keyof TokenSplit>) spend.tokens[k] += t[k];
	spend.thoughts += usage.thoughtsTokenCount ?? 0;
	spend.searchQueries += searchQueries;
	if (model) spend.models[model] = (spend.models[model] ?? 0) + 1;
}

/** Rounds a credit amount up, forgiving float noise (672.0000000001 is 672). */
export const creditsUp = (credits: number): number => Math.max(0, Math.ceil(credits - 1e-6));

/**
 * The charge for a request: the rule above, in whole credits. Images beyond the `asked`
 * ones (an answer that carried more than one) are charged through the token bill, which
 * the hold covers, not at the per-image price.
 */
export function chargeOf(
	config: Pick<GatewayConfig, "marginPercent" | "chargeRefused">,
	delivered: number,
	pricePerImage: number,
	spend: Spend,
	asked = delivered,
): number {
	const factor = 1 + config.marginPercent / 100;
	const priced = Math.min(delivered, asked);
	const forImages = delivered > 0 ? Math.max(priced * pricePerImage, creditsUp(spend.delivered * factor)) : 0;
	const forRefusals = config.chargeRefused ? creditsUp(spend.refused * factor) : 0;
	return forImages + forRefusals;
}

/** The spend as the usage row records it: Google's bill and the tokens behind it. */
export function spendRecord(spend: Spend | undefined): { googleCost: number; metered: MeteredRecord } | Record<string, never> {
	if (!spend) return {};
	return {
		googleCost: spend.delivered + spend.refused + spend.faulted,
		metered: {
			input_text: spend.tokens.inputText,
			input_image: spend.tokens.inputImage,
			cached_input: spend.tokens.cachedInput,
			output_image: spend.tokens.outputImage,
			output_text: spend.tokens.outputText,
			thoughts: spend.thoughts,
			search_queries: spend.searchQueries,
			service_tier: spend.tier,
			models: spend.models,
			cost: { delivered: round4(spend.delivered), refused: round4(spend.refused), faulted: round4(spend.faulted) },
		},
	};
}

const round4 = (v: number) => Math.round(v * 10_000) / 10_000;

/** The charge rule as /v1/pricing publishes it. */
export function pricingRules(config: Pick<GatewayConfig, "marginPercent" | "chargeRefused">) {
	return {
		charge:
			"max(images delivered x the price below, Google's token bill for the answers that delivered x (1 + margin)), in credits, rounded up",
		margin_percent: config.marginPercent,
		refused_answers: config.chargeRefused
			? "an answer with no image (safety block, NO_IMAGE, text only) is charged its token bill x (1 + margin)"
			: "an answer with no image (safety block, NO_IMAGE, text only) costs nothing",
		failures: "upstream errors, timeouts and unreadable answers cost nothing",
		hold: "each call holds the most it can cost (its price, or its token bound x (1 + margin)) until it settles",
	};
}
