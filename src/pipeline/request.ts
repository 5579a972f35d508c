/**
 * The canonical generation request every dialect adapter produces, and the checks that
 * hold for all of them: model known, ratio and size supported by that model, prompt
 * within bounds. Failing any is a 400 naming the parameter, before any upstream call.
 */
import type { ThinkingLevel } from "../billing/controls";
import type { Catalog, ImageSize, ModelSpec } from "../catalog/catalog";
import type { GatewayConfig } from "../config";
import { apiError, invalidParam } from "../errors";
import type { GeminiContent } from "../gemini/types";
import type { InputImage } from "../inputs/images";
import type { OutputAsk } from "../storage/convert";

export interface GenerationRequest {
	/** Which route asked, e.g. `openai.images.generations` (recorded in usage). */
	endpoint: string;
	model: ModelSpec;
	prompt: string;
	n: number;
	aspectRatio?: string;
	imageSize?: ImageSize;
	/** Reference images, in the order the caller gave them; non-empty means an edit. */
	images: InputImage[];
	/** Earlier turns of a conversation, sent before this request's turn. */
	history?: GeminiContent[];
	/** Gemini's systemInstruction (chat completions' system and developer messages). */
	systemInstruction?: string;
	/** Extra path segment for stored images (content pipelines' output prefix). */
	outputPrefix?: string;
	/** The dialect's names for ratio, size and images, for errors found after resolution. */
	params?: { aspectRatio?: string; imageSize?: string; images?: string };
	/** The thinking level asked for (generationConfig.thinkingConfig); none: the model's default. */
	thinkingLevel?: ThinkingLevel;
	/** Google Search grounding (web and image search), billed per query. */
	search?: boolean;
	/** The model turn is kept (chat history, conversations): read its thought signatures, do not skip them. */
	keepSignatures?: boolean;
	/** The format (and compression) the stored images are converted to; none: as Gemini made them. */
	output?: OutputAsk;
}

/**
 * A dialect's thinking level and search switch, checked against what the operator enables
 * (NATIVE_THINKING_LEVELS, NATIVE_ALLOW_SEARCH: the same settings for every dialect): a
 * 403 `feature_not_allowed` naming the dialect's field, before anything is held or called.
 * The key's own ceilings are checked at admission (src/billing/controls.ts).
 */
export function checkModelControls(
	config: Pick<GatewayConfig, "nativeThinkingLevels" | "nativeAllowSearch" | "catalog">,
	model: ModelSpec,
	asked: { thinkingLevel?: ThinkingLevel; search?: boolean },
	params: { thinking: string; search: string },
): Pick<GenerationRequest, "thinkingLevel" | "search"> {
	const out: Pick<GenerationRequest, "thinkingLevel" | "search"> = {};
	if (asked.thinkingLevel !== undefined) {
		if (!config.nativeThinkingLevels.includes(asked.thinkingLevel)) {
			const allowed = config.nativeThinkingLevels.length > 0 ? `allowed: ${config.nativeThinkingLevels.join(", ")}` : "none is";
			throw apiError("feature_not_allowed", `${params.thinking}: '${asked.thinkingLevel}' is not enabled on this gateway (${allowed})`, {
				param: params.thinking,
			});
		}
		checkModelThinks(config.catalog, model, asked.thinkingLevel, params.thinking);
		out.thinkingLevel = asked.thinkingLevel;
	}
	if (asked.search) {
		if (!config.nativeAllowSearch) {
			throw apiError("feature_not_allowed", `${params.search}: Google Search grounding is not enabled on this gateway`, {
				param: params.search,
			});
		}
		out.search = true;
	}
	return out;
}

export function modeOf(req: Pick<GenerationRequest, "images" | "history">): "generate" | "edit" {
	return req.images.length > 0 || (req.history?.length ?? 0) > 0 ? "edit" : "generate";
}

export const MAX_N = 9;

export function resolveModel(catalog: Catalog, name: string, param = "model"): ModelSpec {
	const spec = catalog.find(name);
	if (!spec) throw invalidParam(param, `Unknown model '${name}'. Available: ${catalog.ids().join(", ")}`, "model_not_found");
	return spec;
}

/** Accepts 1k/1K/"512px"/"512" and returns the wire value, or undefined if unrecognised. */
export function normalizeImageSize(value: string): ImageSize | undefined {
	const v = value.trim().toUpperCase().replace(/PX$/, "");
	if (v === "512" || v === "0.5K") return "512";
	if (v === "1K" || v === "2K" || v === "4K") return v;
	return undefined;
}

export function checkAspectRatio(model: ModelSpec, ratio: string, param = "aspect_ratio"): string {
	const r = ratio.trim();
	if (!model.aspectRatios.includes(r)) {
		throw invalidParam(param, `${param} '${ratio}' is not supported by ${model.id}. Allowed: ${model.aspectRatios.join(", ")}`);
	}
	return r;
}

export function checkImageSize(model: ModelSpec, size: string, param = "image_size"): ImageSize {
	if (model.imageSizes.length === 0) {
		throw invalidParam(param, `${param} is not supported by ${model.id}: it has one fixed output size (~1K)`);
	}
	const s = normalizeImageSize(size);
	if (!s || !model.imageSizes.includes(s)) {
		throw invalidParam(param, `${param} '${size}' is not supported by ${model.id}. Allowed: ${model.imageSizes.join(", ")}`);
	}
	return s;
}

/**
 * Maps an OpenAI `size` ("1536x1024") to the model's nearest aspect ratio (by log
 * distance, so 2:1 is as far from 1:1 as 1:2) and, for sized models, the smallest tier
 * whose long edge covers the requested one. "auto" maps to nothing.
 */
export function mapOpenAiSize(model: ModelSpec, size: string): { aspectRatio?: string; imageSize?: ImageSize } {
	if (size.trim() === "auto") return {};
	const m = size.trim().match(/^(\d{1,5})x(\d{1,5})$/);
	if (!m || Number(m[1]) === 0 || Number(m[2]) === 0) {
		throw invalidParam("size", `size must be WIDTHxHEIGHT (e.g. 1024x1024) or auto, got '${size}'`);
	}
	const w = Number(m[1]);
	const h = Number(m[2]);
	const want = Math.log(w / h);
	let best = model.aspectRatios[0];
	let bestDist = Number.POSITIVE_INFINITY;
	for (const r of model.aspectRatios) {
		const [a, b] = r.split(":").map(Number);
		const dist = Math.abs(Math.log(a / b) - want);
		if (dist < bestDist) {
			best = r;
			bestDist = dist;
		}
	}
	if (model.imageSizes.length === 0) return { aspectRatio: best };
	const longEdge = Math.max(w, h);
	const tiers: Array<[ImageSize, number]> = [
		["512", 512],
		["1K", 1024],
		["2K", 2048],
		["4K", 4096],
	];
	const tier =
		tiers.find(([s, px]) => model.imageSizes.includes(s) && px >= longEdge)?.[0] ?? model.imageSizes[model.imageSizes.length - 1];
	return { aspectRatio: best, imageSize: tier };
}

export function checkPrompt(prompt: string, maxChars: number, param = "prompt"): string {
	const p = prompt.trim();
	if (p.length === 0) throw invalidParam(param, `${param} must not be empty`);
	if (p.length > maxChars) throw invalidParam(param, `${param} is ${p.length} characters; the limit is ${maxChars}`, "prompt_too_long");
	return p;
}

export function checkN(n: number, param = "n"): number {
	if (!Number.isInteger(n) || n < 1 || n > MAX_N) throw invalidParam(param, `${param} must be an integer from 1 to ${MAX_N}`);
	return n;
}

/**
 * A level the model that will serve the request does not take is Google's 400 after the
 * call (free, but a wasted round trip and a confusing message): refused first, naming the
 * field and the levels it takes. The model checked is the first of the chain a request is
 * sent to (retired ids never are); a model whose levels the catalog does not know is not checked.
 */
function checkModelThinks(catalog: Pick<Catalog, "upstream">, model: ModelSpec, level: ThinkingLevel, param: string): void {
	const serving = model.chain.map((id) => catalog.upstream(id)).find((m) => m?.lifecycle.status !== "retired");
	const levels = serving?.thinkingLevels;
	if (!serving || !levels || levels.includes(level)) return;
	const takes = levels.length > 0 ? `it takes ${levels.join(", ")}` : "it does not think";
	throw invalidParam(param, `${param}: ${model.id} (served by ${serving.id}) has no thinking level '${level}'; ${takes}`);
}
