/**
 * What a generateContent request asks for, read the way Google's JSON parser reads it
 * (camelCase and snake_case alike), and the usageMetadata / groundingMetadata Google
 * answers with. Pure; gemini.ts builds the answer around it.
 *
 * usageMetadata follows a recorded real answer (vercel/ai fixture
 * google-image-gemini-3.1-flash-image.json, see ../shared/reference/late-2026-facts.md):
 *   {promptTokenCount:10, candidatesTokenCount:1392, totalTokenCount:1402,
 *    promptTokensDetails:[{modality:"TEXT",tokenCount:10}],
 *    candidatesTokensDetails:[{modality:"IMAGE",tokenCount:1120}], serviceTier:"standard"}
 * Note the 272 candidates tokens no detail accounts for: Gemini 3 image answers carry them
 * here too (GEMINI3_UNLISTED), so a meter that prices only the IMAGE detail undercharges.
 * totalTokenCount = prompt + candidates + thoughts + toolUsePrompt, as Google adds it
 * (cachedContentTokenCount is part of promptTokenCount, not added again). Zero and absent
 * fields are left out, as Google's proto3 JSON leaves them out.
 */
import type { EmulatedModel, ThinkingLevel } from "./models.ts";

/** The request fields the emulator understands, whichever spelling the caller used. */
export interface ReadRequest {
	responseModalities?: string[];
	candidateCount?: number;
	maxOutputTokens?: number;
	aspectRatio?: string;
	imageSize?: string;
	thinkingLevel?: string;
	thinkingBudget?: number;
	search: boolean;
	/** ...with searchTypes.imageSearch on (Google fills imageSearchQueries only then). */
	imageSearch: boolean;
	cachedContent?: string;
	serviceTier?: string;
	systemText: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
/** One field, camelCase first, then snake_case (Google's parser takes either). */
const pick = (o: Obj, camel: string): unknown => o[camel] ?? o[camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : typeof v === "string" && v !== "" ? Number(v) : undefined);

/** Reads generationConfig, tools, cachedContent and service_tier in either spelling. */
export function readRequest(body: unknown): ReadRequest {
	const b = obj(body);
	const cfg = obj(pick(b, "generationConfig"));
	const image = obj(pick(cfg, "imageConfig"));
	const thinking = obj(pick(cfg, "thinkingConfig"));
	const tools = Array.isArray(b.tools) ? b.tools.map(obj) : [];
	const modalities = pick(cfg, "responseModalities");
	const system = obj(pick(b, "systemInstruction"));
	const systemParts = Array.isArray(system.parts) ? system.parts.map(obj) : [];
	return {
		responseModalities: Array.isArray(modalities) ? modalities.map(String) : undefined,
		candidateCount: num(pick(cfg, "candidateCount")),
		maxOutputTokens: num(pick(cfg, "maxOutputTokens")),
		aspectRatio: str(pick(image, "aspectRatio")),
		imageSize: str(pick(image, "imageSize")),
		thinkingLevel: str(pick(thinking, "thinkingLevel")),
		thinkingBudget: num(pick(thinking, "thinkingBudget")),
		search: tools.some((t) => pick(t, "googleSearch") !== undefined || pick(t, "googleSearchRetrieval") !== undefined),
		imageSearch: tools.some((t) => pick(obj(pick(obj(pick(t, "googleSearch")), "searchTypes")), "imageSearch") !== undefined),
		cachedContent: str(pick(b, "cachedContent")),
		serviceTier: str(pick(b, "serviceTier")),
		systemText: systemParts.map((p) => str(p.text) ?? "").join("\n"),
	};
}

/**
 * Thought tokens for a request, or the 400 Google gives. What Google documents: Gemini 3
 * models think by default; thinkingLevel replaces thinkingBudget (still accepted), and
 * setting both is a 400; thought tokens are billed at the text-output rate; 3.1 Flash
 * Image takes minimal (default) or high. What is a stand-in: the counts per level below
 * (Google publishes none; they are in the range real answers show), a budget used in full
 * up to the high count, and the other models' levels (see models.ts). `thought-tokens=N`
 * in the prompt overrides the count. 0 means no thoughtsTokenCount field.
 */
export const THOUGHT_TOKENS: Record<ThinkingLevel, number> = { minimal: 0, low: 200, medium: 500, high: 1200 };

export function thoughtTokens(model: EmulatedModel, req: ReadRequest, override?: string): { tokens: number } | { error: string } {
	const levels = model.image?.thinkingLevels ?? [];
	if (levels.length === 0) return { tokens: 0 };
	if (req.thinkingLevel !== undefined && req.thinkingBudget !== undefined) {
		return { error: "You can only set one of thinking budget and thinking level." };
	}
	let tokens: number;
	if (req.thinkingLevel !== undefined) {
		const level = req.thinkingLevel.toLowerCase().replace(/^thinking_level_/, "") as ThinkingLevel;
		if (!levels.includes(level)) {
			return {
				error: `Thinking level ${req.thinkingLevel} is not supported for models/${model.id}. Supported levels: ${levels.join(", ")}.`,
			};
		}
		tokens = THOUGHT_TOKENS[level];
	} else if (req.thinkingBudget !== undefined && req.thinkingBudget !== -1) {
		// 0 asks for no thinking: the lowest level the model has (Pro cannot stop thinking).
		const floor = Math.min(...levels.map((l) => THOUGHT_TOKENS[l]));
		tokens = Math.max(floor, Math.min(req.thinkingBudget, THOUGHT_TOKENS.high));
	} else {
		tokens = THOUGHT_TOKENS[levels[0]];
	}
	return { tokens: override !== undefined ? Number(override) : tokens };
}

/** Google's names for the service tiers; the field's enum form (SERVICE_TIER_PRIORITY) reads too. */
export function readServiceTier(raw: string | undefined, model: EmulatedModel): { tier: string } | { error: string } {
	if (raw === undefined) return { tier: "standard" };
	const tier = raw.toLowerCase().replace(/^service_tier_/, "");
	if (!["standard", "flex", "priority"].includes(tier)) {
		return { error: `Invalid value at 'service_tier' (type.googleapis.com/google.ai.generativelanguage.v1beta.ServiceTier), "${raw}"` };
	}
	// Flash Lite Image offers neither Flex nor Priority: served, and reported, as standard,
	// the way Google downgrades a priority request it cannot serve.
	return { tier: model.id === "gemini-3.1-flash-lite-image" ? "standard" : tier };
}

/** Text of every turn plus the system instruction: what the prompt's TEXT tokens count. */
export function promptTextTokens(contents: Array<{ parts?: Array<{ text?: string }> }>, systemText: string): number {
	const chars = contents.flatMap((c) => c.parts ?? []).reduce((n, p) => n + (p.text ?? "").length, systemText.length);
	return Math.ceil(chars / 4);
}

/** Unaccounted candidates tokens of a Gemini 3 image answer (272 in the recorded one). */
export const GEMINI3_UNLISTED = 272;
/** toolUsePromptTokenCount per search query: the results fed back to the model (a stand-in). */
export const TOOL_USE_TOKENS_PER_QUERY = 180;
/** Cached tokens when cachedContent is given (the emulator keeps no caches; `cached-tokens=N` sets it). */
export const DEFAULT_CACHED_TOKENS = 4096;
/** Length of a text answer nobody asked to be long (`text-tokens=N` asks for more). */
export const DEFAULT_TEXT_TOKENS = 900;

export interface UsageParts {
	promptText: number;
	inputImages: number;
	inputImageTokens: number;
	cached: number;
	images: number;
	imageTokensEach: number;
	textOut: number;
	unlisted: number;
	thoughts: number;
	toolUse: number;
	serviceTier: string;
}

/** usageMetadata in Google's shape, from its parts. */
export function usageMetadata(u: UsageParts): Record<string, unknown> {
	const promptImage = u.inputImages * u.inputImageTokens;
	const promptTokenCount = u.promptText + promptImage + u.cached;
	const imageOut = u.images * u.imageTokensEach;
	const candidatesTokenCount = imageOut + u.textOut + u.unlisted;
	const detail = (modality: string, tokenCount: number) => (tokenCount > 0 ? [{ modality, tokenCount }] : []);
	const candidatesDetails = [...detail("IMAGE", imageOut), ...detail("TEXT", u.textOut)];
	return {
		promptTokenCount,
		...(candidatesTokenCount > 0 ? { candidatesTokenCount } : {}),
		...(u.cached > 0 ? { cachedContentTokenCount: u.cached } : {}),
		...(u.toolUse > 0 ? { toolUsePromptTokenCount: u.toolUse } : {}),
		...(u.thoughts > 0 ? { thoughtsTokenCount: u.thoughts } : {}),
		totalTokenCount: promptTokenCount + candidatesTokenCount + u.thoughts + u.toolUse,
		promptTokensDetails: [{ modality: "TEXT", tokenCount: u.promptText + u.cached }, ...detail("IMAGE", promptImage)],
		...(u.cached > 0 ? { cacheTokensDetails: [{ modality: "TEXT", tokenCount: u.cached }] } : {}),
		...(candidatesDetails.length > 0 ? { candidatesTokensDetails: candidatesDetails } : {}),
		...(u.toolUse > 0 ? { toolUsePromptTokensDetails: [{ modality: "TEXT", tokenCount: u.toolUse }] } : {}),
		serviceTier: u.serviceTier,
	};
}

/**
 * groundingMetadata for `queries` Google searches, in the minimal shape a real grounded
 * answer has: the queries, the search entry point Google requires apps to show, and the
 * web sources (redirect URIs, titles); and `imageQueries` image searches as
 * `imageSearchQueries` ("the image search queries that were used to generate the content",
 * @google/genai's GroundingMetadata, checked 2026-12-03).
 */
export function groundingMetadata(prompt: string, queries: number, imageQueries = 0): Record<string, unknown> {
	const topic =
		prompt
			.replace(/\[emu:[^\]]*\]/g, "")
			.trim()
			.slice(0, 60) || "image reference";
	const webSearchQueries = Array.from({ length: queries }, (_, i) => (i === 0 ? topic : `${topic} reference photo ${i + 1}`));
	const chips = webSearchQueries.map((q) => `<a class="chip" href="https://www.google.com/search?q=${encodeURIComponent(q)}">${q}</a>`);
	const imageSearchQueries = Array.from({ length: imageQueries }, (_, i) => `${topic} photo${i > 0 ? ` ${i + 1}` : ""}`);
	return {
		...(queries > 0 ? { webSearchQueries } : {}),
		...(imageQueries > 0 ? { imageSearchQueries } : {}),
		searchEntryPoint: {
			renderedContent: `<style>.container{display:flex}.chip{border-radius:16px}</style><div class="container">${chips.join("")}</div>`,
		},
		groundingChunks: webSearchQueries.map((_, i) => ({
			web: { uri: `https://vertexaisearch.cloud.google.com/grounding-api-redirect/emu${i + 1}`, title: `example${i + 1}.com` },
		})),
	};
}

/** About `tokens` tokens of text (four characters a token). */
export function textOfTokens(tokens: number): string {
	const unit = "Bananas ripen in warm light. ";
	return unit.repeat(Math.ceil((tokens * 4) / unit.length)).slice(0, tokens * 4);
}

interface CountedRequest {
	contents?: Array<{ parts?: Array<{ text?: string; inlineData?: unknown; inline_data?: unknown }> }>;
	generateContentRequest?: CountedRequest;
}

/** countTokens: about four characters a token, and the model's count per inline image. */
export function countTokens(req: CountedRequest, spec: EmulatedModel): Record<string, unknown> {
	const contents = req.contents ?? req.generateContentRequest?.contents ?? [];
	const parts = contents.flatMap((c) => c.parts ?? []);
	const text = parts.reduce((n, p) => n + Math.ceil((p.text ?? "").length / 4), 0);
	const images = parts.filter((p) => p.inlineData || p.inline_data).length * (spec.image?.inputImageTokens ?? 258);
	const details = [{ modality: "TEXT", tokenCount: text }, ...(images > 0 ? [{ modality: "IMAGE", tokenCount: images }] : [])];
	return { totalTokens: text + images, promptTokensDetails: details };
}
