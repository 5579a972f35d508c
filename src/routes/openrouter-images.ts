/**
 * OpenRouter's Images API, so a client built for it works by changing only its base URL
 * (`https://gw/api/v1`):
 *   POST /api/v1/images          {model, prompt, aspect_ratio?, resolution?: "512"|"1K"|"2K"|"4K", n?,
 *                                 input_references?: [{type: "image_url", image_url: {url}}], response_format?}
 *     -> {created, data: [{b64_json | url, media_type}], usage}
 *   GET  /api/v1/images/models   every model with the parameters it takes and their values
 * `response_format` is b64_json unless "url" is asked for, as OpenRouter answers. A
 * parameter a model does not take is a 400 naming it, never ignored. Async requests and
 * the Batch lane work as on the OpenAI routes (`async`, `webhook_url`, `service_tier`).
 */
import { Hono } from "hono";
import { z } from "zod";
import type { ModelSpec } from "../catalog/catalog";
import type { GatewayConfig } from "../config";
import { inputLimitsFrom, resolveImages } from "../inputs/images";
import type { Piece } from "../lib/b64-stream";
import { readJsonBody } from "../lib/body";
import { parseWith } from "../lib/validate";
import { StreamedBody } from "../pipeline/billed";
import type { GenerationResult } from "../pipeline/generate";
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
import type { AppEnv } from "../types";
import { asyncOptions, callScope, runOrQueue, ServiceTierField } from "./common";
import { ThinkingField } from "./model-controls";

/** Route facts (src/route-facts.ts): OpenRouter's Images dialect; generations are admitted. */
const ROUTE_FACTS = routeFacts({ dialect: "openrouter", errorStyle: "openai", admitted: true });

const Reference = z.union([
	z.string(),
	z.looseObject({ type: z.string().optional(), image_url: z.union([z.string(), z.looseObject({ url: z.string() })]) }),
]);

export const OpenRouterImagesBody = z.looseObject({
	model: z.string().default("nano-banana"),
	prompt: z.string({ error: "prompt is required and must be a string" }),
	aspect_ratio: z.string().optional(),
	resolution: z.string().optional(),
	n: z.number().optional(),
	input_references: z.array(Reference).optional(),
	response_format: z.enum(["b64_json", "url"]).default("b64_json"),
	thinking_level: ThinkingField.optional(),
	google_search: z.boolean().optional(),
	async: z.boolean().optional(),
	webhook_url: z.string().optional(),
	service_tier: ServiceTierField,
});

function render(result: GenerationResult, format: "b64_json" | "url", charged: number): unknown {
	const usage = JSON.stringify({
		input_tokens: result.usage.inputTokens,
		output_tokens: result.usage.outputTokens,
		total_tokens: result.usage.totalTokens,
		images: result.images.length,
		credits_charged: charged,
	});
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

/** One model as the models listing shows it: what it takes, and what it costs. */
function describeModel(config: GatewayConfig, m: ModelSpec) {
	const sized = m.imageSizes.length > 0;
	return {
		id: m.id,
		name: m.id,
		description: m.description,
		architecture: { input_modalities: ["text", "image"], output_modalities: ["image"] },
		supported_parameters: ["prompt", "n", "aspect_ratio", ...(sized ? ["resolution"] : []), "input_references", "response_format"],
		parameters: {
			aspect_ratio: { values: m.aspectRatios },
			...(sized ? { resolution: { values: m.imageSizes, default: m.defaultImageSize ?? null } } : {}),
			n: { min: 1, max: MAX_N },
			input_references: { max: m.maxInputImages },
			response_format: { values: ["b64_json", "url"], default: "b64_json" },
		},
		pricing: {
			unit: "credits per image (1 credit = $0.0001)",
			standard: config.prices[m.priceAs] ?? null,
			batch: config.batchPrices[m.priceAs] ?? null,
		},
		deprecated: m.lifecycle.status !== "active",
	};
}

export const openRouterImages = new Hono<AppEnv>()
	.use(ROUTE_FACTS)
	.get("/models", (c) => {
		const config = c.get("config");
		const live = config.catalog.specs().filter((m) => m.lifecycle.status !== "retired");
		return c.json({ data: live.map((m) => describeModel(config, m)) });
	})
	.post("/", async (c) => {
		const config = c.get("config");
		const { value, raw } = await readJsonBody(c.req.raw, config.maxUploadBytes);
		const body = parseWith(OpenRouterImagesBody, value);
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
				{ thinkingLevel: body.thinking_level, search: body.google_search },
				{ thinking: "thinking_level", search: "google_search" },
			),
			images: [],
		};
		const asyncMode = asyncOptions(c, body);
		req.images = await resolveImages(refs, model.maxInputImages, model.id, inputLimitsFrom(config));
		const format = body.response_format;
		return runOrQueue(callScope(c, raw), req, { render: (result, charged) => render(result, format, charged), async: asyncMode });
	});
