/**
 * OpenRouter's Images API, so a client built for it works by changing only its base URL
 * (`https://gw/api/v1`):
 *   POST /api/v1/images          {model, prompt, aspect_ratio?, resolution?: "512"|"1K"|"2K"|"4K", n?,
 *                                 input_references?: [{type: "image_url", image_url: {url}}], response_format?,
 *                                 output_format?: png|jpeg|webp|avif, output_compression?: 0-100}
 *     -> {created, data: [{b64_json | url, media_type}], usage: {prompt_tokens, completion_tokens,
 *         total_tokens, cost (US dollars), images, credits_charged}}
 *   GET  /api/v1/images/models   every model with the parameters it takes and their values
 *   GET  /api/v1/models          the same, at OpenRouter's models path
 * Gemini ids may be named as OpenRouter names them, `google/<gemini id>` (src/catalog/catalog.ts).
 * `response_format` is b64_json unless "url" is asked for, as OpenRouter answers. A
 * parameter a model does not take is a 400 naming it, never ignored. Async requests and
 * the Batch lane work as on the OpenAI routes (`async`, `webhook_url`, `service_tier`).
 */
import { Hono } from "hono";
import { z } from "zod";
import { CREDIT_USD } from "../billing/cost";
import { type ModelSpec, OPENROUTER_PREFIX } from "../catalog/catalog";
import type { GatewayConfig } from "../config";
import { inputLimitsFrom, resolveImages } from "../inputs/images";
import type { Piece } from "../lib/b64-stream";
import { readJsonBody } from "../lib/body";
import { lazy } from "../lib/lazy";
import { parseWith } from "../lib/validate";
import { StreamedBody } from "../pipeline/billed";
import type { GenerationResult } from "../pipeline/generate";
import { checkOutput, OutputCompressionField, OutputFormatField } from "../pipeline/output";
import {
	checkAspectRatio,
	checkImageSize,
	checkModelControls,
	checkN,
	checkPrompt,
	type GenerationRequest,
	MAX_N,
	resolveModel,
} from "../pipeline/request";
import { routeFacts } from "../route-facts";
import { OUTPUT_FORMATS } from "../storage/convert";
import type { AppEnv } from "../types";
import { asyncOptions, callScope, runOrQueue, ServiceTierField } from "./common";
import { ThinkingField } from "./model-controls";

/** Route facts (src/route-facts.ts): OpenRouter's Images dialect; generations are admitted. */
const ROUTE_FACTS = routeFacts({ dialect: "openrouter", errorStyle: "openai", admitted: true });

const Reference = lazy(() =>
	z.union([
		z.string(),
		z.looseObject({ type: z.string().optional(), image_url: z.union([z.string(), z.looseObject({ url: z.string() })]) }),
	]),
);

export const OpenRouterImagesBody = lazy(() =>
	z.looseObject({
		model: z.string().default("nano-banana"),
		prompt: z.string({ error: "prompt is required and must be a string" }),
		aspect_ratio: z.string().optional(),
		resolution: z.string().optional(),
		n: z.number().optional(),
		input_references: z.array(Reference()).optional(),
		response_format: z.enum(["b64_json", "url"]).default("b64_json"),
		// OpenRouter's Images API names (its openrouter/images schema, 2026-12-03); checked by checkOutput.
		output_format: OutputFormatField().optional(),
		output_compression: OutputCompressionField().optional(),
		thinking_level: ThinkingField().optional(),
		google_search: z.boolean().optional(),
		async: z.boolean().optional(),
		webhook_url: z.string().optional(),
		service_tier: ServiceTierField(),
	}),
);

/**
 * OpenRouter's usage object: `prompt_tokens`, `completion_tokens` and `total_tokens` are
 * what `@openrouter/ai-sdk-provider` 3.1's image model requires (its zod schema,
 * 2026-12-03), and `cost` is what the call cost in OpenRouter's credits, which are US
 * dollars (openrouter.ai/docs/use-cases/usage-accounting, 2026-12-03): the gateway's charge
 * times CREDIT_USD ($0.0001), so 2020 credits is 0.202. `images` and `credits_charged` are
 * the gateway's own, as before.
 */
export function openRouterUsage(result: GenerationResult, charged: number) {
	return {
		prompt_tokens: result.usage.inputTokens,
		completion_tokens: result.usage.outputTokens,
		total_tokens: result.usage.totalTokens,
		// Rounded to the credit, so 0.1 + 0.2 style float noise never shows.
		cost: Number((charged * CREDIT_USD).toFixed(CREDIT_DIGITS)),
		images: result.images.length,
		credits_charged: charged,
	};
}

/** Decimal places of one credit in dollars (4 for $0.0001). */
const CREDIT_DIGITS = Math.max(0, Math.ceil(-Math.log10(CREDIT_USD)));

function render(result: GenerationResult, format: "b64_json" | "url", charged: number): unknown {
	const usage = JSON.stringify(openRouterUsage(result, charged));
	if (format === "url") {
		const data = result.images.map((img) => ({ url: img.url, media_type: img.mimeType }));
		return { created: result.created, data, usage: JSON.parse(usage) as unknown };
	}
	const pieces: Piece[] = [`{"created":${result.created},"data":[`];
	result.images.forEach((img, i) => {
		pieces.push(`${i > 0 ? "," : ""}{"b64_json":"`, { key: img.key, size: img.bytes }, `","media_type":${JSON.stringify(img.mimeType)}}`);
	});
	pieces.push(`],"usage":${usage}}`);
	return new StreamedBody(pieces);
}

/** One model as the models listing shows it, under `id`: what it takes, and what it costs. */
function describeModel(config: GatewayConfig, m: ModelSpec, id = m.id) {
	const sized = m.imageSizes.length > 0;
	return {
		id,
		name: id,
		description: m.description,
		architecture: { input_modalities: ["text", "image"], output_modalities: ["image"] },
		supported_parameters: [
			"prompt",
			"n",
			"aspect_ratio",
			...(sized ? ["resolution"] : []),
			"input_references",
			"response_format",
			"output_format",
			"output_compression",
		],
		parameters: {
			aspect_ratio: { values: m.aspectRatios },
			...(sized ? { resolution: { values: m.imageSizes, default: m.defaultImageSize ?? null } } : {}),
			n: { min: 1, max: MAX_N },
			input_references: { max: m.maxInputImages },
			response_format: { values: ["b64_json", "url"], default: "b64_json" },
			output_format: { values: [...OUTPUT_FORMATS], default: null },
			output_compression: { min: 0, max: 100 },
		},
		pricing: {
			unit: "credits per image (1 credit = $0.0001)",
			standard: config.prices[m.priceAs] ?? null,
			batch: config.batchPrices[m.priceAs] ?? null,
		},
		deprecated: m.lifecycle.status !== "active",
	};
}

/**
 * Every live model: the aliases and Gemini ids, then each Gemini id again under
 * OpenRouter's name (`google/gemini-3.1-flash-image`), which every /api/v1 route accepts.
 */
function listing(config: GatewayConfig) {
	const live = config.catalog.specs().filter((m) => m.lifecycle.status !== "retired");
	const google = live.filter((m) => m.kind === "upstream").map((m) => describeModel(config, m, `${OPENROUTER_PREFIX}${m.id}`));
	return { data: [...live.map((m) => describeModel(config, m)), ...google] };
}

/** `GET /api/v1/models`: OpenRouter's models path, the same listing as `/api/v1/images/models`. */
export const openRouterModels = new Hono<AppEnv>().use(ROUTE_FACTS).get("/", (c) => c.json(listing(c.get("config"))));

export const openRouterImages = new Hono<AppEnv>()
	.use(ROUTE_FACTS)
	.get("/models", (c) => c.json(listing(c.get("config"))))
	.post("/", async (c) => {
		const config = c.get("config");
		const { value, raw } = await readJsonBody(c.req.raw, config.maxUploadBytes);
		const body = parseWith(OpenRouterImagesBody(), value);
		const model = resolveModel(config.catalog, body.model);
		const refs = (body.input_references ?? []).map((r, i) => {
			const url = typeof r === "string" ? r : typeof r.image_url === "string" ? r.image_url : r.image_url.url;
			return { param: `input_references[${i}]`, value: url };
		});
		const req: GenerationRequest = {
			endpoint: "openrouter.images",
			model,
			prompt: checkPrompt(body.prompt, config.maxPromptChars),
			n: checkN(body.n ?? 1),
			aspectRatio: body.aspect_ratio !== undefined ? checkAspectRatio(model, body.aspect_ratio) : undefined,
			imageSize: body.resolution !== undefined ? checkImageSize(model, body.resolution, "resolution") : undefined,
			params: { imageSize: "resolution", images: "input_references" },
			...checkModelControls(
				config,
				model,
				{ thinkingLevel: body.thinking_level, search: body.google_search },
				{ thinking: "thinking_level", search: "google_search" },
			),
			images: [],
			output: checkOutput(body.output_format, body.output_compression, { format: "output_format", compression: "output_compression" }),
		};
		const asyncMode = asyncOptions(c, body);
		req.images = await resolveImages(refs, model.maxInputImages, model.id, inputLimitsFrom(config));
		const format = body.response_format;
		return runOrQueue(callScope(c, raw), req, { render: (result, charged) => render(result, format, charged), async: asyncMode });
	});
