/**
 * OpenAI Images dialect: `POST /v1/images/generations`, so the official `openai` SDK
 * works with baseURL pointed at the gateway. Superset fields: aspect_ratio, image_size.
 */
import { Hono } from "hono";
import { z } from "zod";
import { loadConfig } from "../config";
import { readJsonBody } from "../lib/body";
import { parseWith } from "../lib/validate";
import { runBilled } from "../pipeline/billed";
import type { GenerationResult } from "../pipeline/generate";
import {
	checkAspectRatio,
	checkImageSize,
	checkN,
	checkPrompt,
	type GenerationRequest,
	mapOpenAiSize,
	resolveModel,
} from "../pipeline/request";
import type { AppEnv } from "../types";

const GenerationsBody = z.looseObject({
	model: z.string().default("nano-banana"),
	prompt: z.string({ error: "prompt is required and must be a string" }),
	n: z.number().int().optional(),
	size: z.string().optional(),
	aspect_ratio: z.string().optional(),
	image_size: z.string().optional(),
	response_format: z.enum(["url", "b64_json"]).default("url"),
	// Accepted for SDK compatibility; Gemini has no equivalent knob.
	quality: z.string().optional(),
	style: z.string().optional(),
	user: z.string().optional(),
});

/** OpenAI-shaped response body. */
export function renderOpenAiImages(result: GenerationResult, format: "url" | "b64_json") {
	return {
		created: result.created,
		data: result.images.map((img) => (format === "b64_json" ? { b64_json: img.b64 ?? "" } : { url: img.url })),
		usage: {
			input_tokens: result.usage.inputTokens,
			output_tokens: result.usage.outputTokens,
			total_tokens: result.usage.totalTokens,
		},
	};
}

export const openAiImages = new Hono<AppEnv>().post("/generations", async (c) => {
	const config = loadConfig(c.env);
	const { value, raw } = await readJsonBody(c.req.raw, config.maxJsonBodyBytes);
	const body = parseWith(GenerationsBody, value);
	const model = resolveModel(body.model);
	const fromSize = body.size ? mapOpenAiSize(model, body.size) : {};
	const req: GenerationRequest = {
		endpoint: "openai.images.generations",
		model,
		prompt: checkPrompt(body.prompt, config.maxPromptChars),
		n: checkN(body.n ?? 1),
		aspectRatio: body.aspect_ratio !== undefined ? checkAspectRatio(model, body.aspect_ratio) : fromSize.aspectRatio,
		imageSize: body.image_size !== undefined ? checkImageSize(model, body.image_size) : fromSize.imageSize,
	};
	return runBilled(
		{
			env: c.env,
			config,
			caller: c.get("caller"),
			requestId: c.get("requestId"),
			origin: new URL(c.req.url).origin,
			keepBase64: body.response_format === "b64_json",
			rawBody: raw,
			idempotencyKey: c.req.header("idempotency-key"),
			mode: "generate",
			render: (result) => renderOpenAiImages(result, body.response_format),
		},
		req,
	);
});
