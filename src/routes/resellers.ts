/**
 * The simple JSON dialects of existing Nano Banana resellers (see shared/reference),
 * as thin adapters onto the same billed pipeline:
 *   POST /api/v1/models/{model}/edit  {prompt, imageUrl?, aspectRatio}  (Vydra style)
 *     ({model} may be OpenRouter's google/<gemini id>, slash and all)
 *     -> {imageUrl, mimeType, mode, creditsCharged, durationMs}
 *   POST /v1/images/generate          {prompt, num, model, image_size (an aspect ratio here), ref_images}
 *     -> {data: {url, urls, mime_type, mode}, credits_charged}  (NanoBananaAPI style)
 */
import { Hono } from "hono";
import { z } from "zod";
import { inputLimitsFrom, resolveImages } from "../inputs/images";
import { readJsonBody } from "../lib/body";
import { lazy } from "../lib/lazy";
import { parseWith } from "../lib/validate";
import {
	checkAspectRatio,
	checkModelControls,
	checkN,
	checkPrompt,
	type GenerationRequest,
	modeOf,
	resolveModel,
} from "../pipeline/request";
import { routeFacts } from "../route-facts";
import type { AppEnv } from "../types";
import { asyncOptions, callScope, runOrQueue, ServiceTierField } from "./common";
import { ThinkingField } from "./model-controls";

/** Route facts (src/route-facts.ts) of each reseller's dialect; their generations and edits are admitted. */
const VYDRA_FACTS = routeFacts({ dialect: "vydra", errorStyle: "openai", admitted: true });
const NANO_BANANA_API_FACTS = routeFacts({ dialect: "nanobananaapi", errorStyle: "openai", admitted: true });

export const VydraBody = lazy(() =>
	z.strictObject({
		prompt: z.string({ error: "prompt is required and must be a string" }),
		imageUrl: z.string().optional(),
		aspectRatio: z.string().default("1:1"),
		thinkingLevel: ThinkingField().optional(),
		googleSearch: z.boolean().optional(),
		async: z.boolean().optional(),
		webhook_url: z.string().optional(),
		service_tier: ServiceTierField(),
	}),
);

export const vydra = new Hono<AppEnv>().use(VYDRA_FACTS).post("/:model{.+}/edit", async (c) => {
	const config = c.get("config");
	const started = Date.now();
	const { value, raw } = await readJsonBody(c.req.raw, config.maxUploadBytes);
	const body = parseWith(VydraBody(), value);
	const model = resolveModel(config.catalog, c.req.param("model"));
	const req: GenerationRequest = {
		endpoint: "vydra.edit",
		model,
		prompt: checkPrompt(body.prompt, config.maxPromptChars),
		n: 1,
		aspectRatio: checkAspectRatio(model, body.aspectRatio, "aspectRatio"),
		params: { aspectRatio: "aspectRatio", images: "imageUrl" },
		...checkModelControls(
			config,
			model,
			{ thinkingLevel: body.thinkingLevel, search: body.googleSearch },
			{ thinking: "thinkingLevel", search: "googleSearch" },
		),
		images: await resolveImages(
			body.imageUrl ? [{ param: "imageUrl", value: body.imageUrl }] : [],
			model.maxInputImages,
			model.id,
			inputLimitsFrom(config),
		),
	};
	return runOrQueue(callScope(c, raw), req, {
		render: (result, charged) => ({
			imageUrl: result.images[0].url,
			mimeType: result.images[0].mimeType,
			mode: modeOf(req),
			creditsCharged: charged,
			durationMs: Date.now() - started,
		}),
		async: asyncOptions(c, body),
	});
});

export const NanoBananaApiBody = lazy(() =>
	z.strictObject({
		prompt: z.string({ error: "prompt is required and must be a string" }),
		model: z.string({ error: "model is required" }),
		num: z.number().int().optional(),
		image_size: z.string().default("1:1"),
		ref_images: z.array(z.string()).optional(),
		thinking_level: ThinkingField().optional(),
		google_search: z.boolean().optional(),
		async: z.boolean().optional(),
		webhook_url: z.string().optional(),
		service_tier: ServiceTierField(),
	}),
);

export const nanoBananaApi = new Hono<AppEnv>().use(NANO_BANANA_API_FACTS).post("/generate", async (c) => {
	const config = c.get("config");
	const { value, raw } = await readJsonBody(c.req.raw, config.maxUploadBytes);
	const body = parseWith(NanoBananaApiBody(), value);
	const model = resolveModel(config.catalog, body.model);
	const refs = (body.ref_images ?? []).map((v, i) => ({ param: `ref_images[${i}]`, value: v }));
	const req: GenerationRequest = {
		endpoint: "nanobananaapi.generate",
		model,
		prompt: checkPrompt(body.prompt, config.maxPromptChars),
		n: checkN(body.num ?? 1, "num"),
		// In this dialect image_size is an aspect ratio.
		aspectRatio: checkAspectRatio(model, body.image_size, "image_size"),
		params: { aspectRatio: "image_size", images: "ref_images" },
		...checkModelControls(
			config,
			model,
			{ thinkingLevel: body.thinking_level, search: body.google_search },
			{ thinking: "thinking_level", search: "google_search" },
		),
		images: await resolveImages(refs, model.maxInputImages, model.id, inputLimitsFrom(config)),
	};
	return runOrQueue(callScope(c, raw), req, {
		render: (result, charged) => ({
			data: {
				url: result.images[0].url,
				urls: result.images.map((i) => i.url),
				mime_type: result.images[0].mimeType,
				mode: modeOf(req),
			},
			credits_charged: charged,
		}),
		async: asyncOptions(c, body),
	});
});
