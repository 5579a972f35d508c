/**
 * What one Google answer costs the operator, from its `usageMetadata` and the rates of the
 * model that served it (src/catalog/rates.ts). Amounts are in credits of $0.0001 as
 * fractions; callers round once, up, when they turn a cost into a charge.
 */
import type { GoogleRates, ServiceTier } from "../catalog/rates";
import { TIER_FACTORS } from "../catalog/rates";

/** One credit is worth this many US dollars. */
export const CREDIT_USD = 0.0001;

/** Token counts by modality, as Google reports them. */
export interface ModalityCount {
	modality?: string;
	tokenCount?: number;
}

/** The parts of Gemini's usageMetadata the meter reads. */
export interface BilledUsage {
	promptTokenCount?: number;
	candidatesTokenCount?: number;
	thoughtsTokenCount?: number;
	toolUsePromptTokenCount?: number;
	cachedContentTokenCount?: number;
	promptTokensDetails?: ModalityCount[];
	candidatesTokensDetails?: ModalityCount[];
}

/** The tokens of one answer, split the way Google prices them. */
export interface TokenSplit {
	inputText: number;
	inputImage: number;
	cachedInput: number;
	outputImage: number;
	/** Text output plus thinking. */
	outputText: number;
}

const count = (details: ModalityCount[] | undefined, modality: string): number =>
	(details ?? []).filter((d) => d.modality === modality).reduce((n, d) => n + (d.tokenCount ?? 0), 0);

/**
 * Splits usageMetadata by price. Candidate tokens that the details by modality do not
 * account for (a real Gemini 3 image answer carries ~272 beside its 1,120 IMAGE tokens) are
 * priced as text output: Google's published per-image prices are the IMAGE tokens alone.
 * Where the details are missing altogether, every candidate token is priced as image
 * output (the dearer reading), and input as text.
 */
export function splitTokens(u: BilledUsage): TokenSplit {
	const prompt = u.promptTokenCount ?? 0;
	const cached = Math.min(u.cachedContentTokenCount ?? 0, prompt);
	const inputImage = Math.min(count(u.promptTokensDetails, "IMAGE"), prompt - cached);
	const inputText = prompt - cached - inputImage + (u.toolUsePromptTokenCount ?? 0);
	const candidates = u.candidatesTokenCount ?? 0;
	const outputImage = u.candidatesTokensDetails ? Math.min(count(u.candidatesTokensDetails, "IMAGE"), candidates) : candidates;
	const outputText = candidates - outputImage + (u.thoughtsTokenCount ?? 0);
	return { inputText, inputImage, cachedInput: cached, outputImage, outputText };
}

/** USD of a token split at these rates (before the tier factor). */
function tokensUsd(t: TokenSplit, r: GoogleRates): number {
	return (
		(t.inputText * r.inputText +
			t.inputImage * r.inputImage +
			t.cachedInput * r.cachedInput +
			t.outputImage * r.outputImage +
			t.outputText * r.outputText) /
		1_000_000
	);
}

/** What Google bills for one answer, in credits (a fraction). */
export function answerCostCredits(u: BilledUsage, rates: GoogleRates, opts: { tier?: ServiceTier; searchQueries?: number } = {}): number {
	const factor = TIER_FACTORS[opts.tier ?? "standard"];
	// Gemini 3 bills each search query; 2.5 one fee per grounded prompt, however many it ran.
	const queries = opts.searchQueries ?? 0;
	const billedSearches = rates.searchUnit === "prompt" ? Math.min(queries, 1) : queries;
	const search = (billedSearches * rates.searchPer1000) / 1000;
	return (tokensUsd(splitTokens(u), rates) * factor + search) / CREDIT_USD;
}

/**
 * Google's price of one output image at a size, in credits (a fraction): its image tokens
 * at the image rate, or the published per-image price where that is higher.
 */
export function imageListCredits(rates: GoogleRates, size: keyof GoogleRates["imageTokens"]): number | undefined {
	const tokens = rates.imageTokens[size];
	const listed = rates.listPerImage[size];
	if (tokens === undefined && listed === undefined) return undefined;
	return Math.max(((tokens ?? 0) * rates.outputImage) / 1_000_000, listed ?? 0) / CREDIT_USD;
}
