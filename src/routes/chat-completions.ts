/**
 * Chat completions with image output, the dialect OpenRouter and Vercel's AI Gateway
 * serve for Nano Banana (LibreChat, Open WebUI, agent frameworks, the Vercel AI SDK):
 *   POST /v1/chat/completions      (the openai SDK with baseURL .../v1)
 *   POST /api/v1/chat/completions  (clients configured for OpenRouter's .../api/v1)
 * `{model, messages, modalities?, n?, stream?, stream_options?, image_config?: {aspect_ratio,
 * image_size, output_format, output_compression}, aspect_ratio?, image_size?, image_output?: "url" | "data_url"}` (unset: data URLs on
 * /api/v1, URLs on /v1). Every model
 * here makes images, so `modalities` may be left out; given, it must include "image".
 * The chat becomes the canonical request (src/chat/history.ts) and runs through the one
 * billed pipeline; each delivered image's model turn is kept so the next turn of the chat
 * can send its thought signatures back.
 */
import { Hono } from "hono";
import { z } from "zod";
import { chatInput } from "../chat/history";
import { normalizeMessages } from "../chat/messages";
import { type Completion, chatCompletion, closingEvents, errorEvent, type ImageOutput, imageEvents } from "../chat/render";
import { apiError, invalidParam } from "../errors";
import { readJsonBody } from "../lib/body";
import { lazy } from "../lib/lazy";
import { parseWith } from "../lib/validate";
import { executionOf, runBilledGeneration } from "../pipeline/billed";
import { runBilledStream } from "../pipeline/billed-stream";
import { type DeliveredImage, runGeneration } from "../pipeline/generate";
import { chargeOf } from "../pipeline/meter";
import { meteredOf } from "../pipeline/metering";
import { checkOutput, OutputCompressionField, OutputFormatField } from "../pipeline/output";
import { checkAspectRatio, checkImageSize, checkModelControls, checkN, type GenerationRequest, resolveModel } from "../pipeline/request";
import { saveTurn } from "../pipeline/turns";
import { routeFacts } from "../route-facts";
import type { AppEnv } from "../types";
import { callScope, ServiceTierField, syncOnly } from "./common";
import { ThinkingField } from "./model-controls";

/** Route facts (src/route-facts.ts): billed as the "openai.chat.completions" endpoint; completions are admitted. */
const ROUTE_FACTS = routeFacts({ dialect: "openai", errorStyle: "openai", admitted: true });

/** The body this route parses (also the OpenAPI document's request schema). */
export const ChatBody = lazy(() =>
	z.looseObject({
		model: z.string().default("nano-banana"),
		messages: z
			.array(z.looseObject({ role: z.unknown() }), { error: "messages must be an array of messages" })
			.min(1, "messages must hold at least one message"),
		modalities: z.array(z.string()).optional(),
		n: z.number().optional(),
		stream: z.boolean().optional(),
		stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
		image_config: z
			.looseObject({
				aspect_ratio: z.string().optional(),
				image_size: z.string().optional(),
				thinking_level: ThinkingField().optional(),
				// OpenRouter's image_config names (its SDK docs, 2026-12-03); checked by checkOutput.
				output_format: OutputFormatField().optional(),
				output_compression: OutputCompressionField().optional(),
			})
			.optional(),
		// Nano Banana's thinking level and search grounding under OpenAI's and OpenRouter's names (./model-controls.ts).
		reasoning_effort: ThinkingField().optional(),
		reasoning: z.looseObject({ effort: ThinkingField().optional() }).optional(),
		web_search_options: z.looseObject({}).optional(),
		aspect_ratio: z.string().optional(),
		image_size: z.string().optional(),
		// Unset: data URLs on OpenRouter's path (its provider decodes them as base64), URLs on /v1.
		image_output: z.enum(["url", "data_url"]).optional(),
		service_tier: ServiceTierField(),
	}),
);

/**
 * How images come back when the request does not say. OpenRouter answers data URLs, and
 * `@openrouter/ai-sdk-provider` 3.1 decodes `message.images[].image_url.url` and
 * `delta.images` as base64 (its source, 2026-12-03), so clients set up for OpenRouter's
 * `/api/v1` get data URLs; `/v1` keeps the stored image's URL, as documented from the start.
 */
export function defaultImageOutput(path: string): ImageOutput {
	return path.startsWith("/api/v1/") ? "data_url" : "url";
}

export const chatCompletions = new Hono<AppEnv>().use(ROUTE_FACTS).post("/completions", async (c) => {
	const config = c.get("config");
	const caller = c.get("caller");
	const { value, raw } = await readJsonBody(c.req.raw, config.maxUploadBytes);
	const body = parseWith(ChatBody(), value);
	syncOnly(value, "/v1/chat/completions");
	const model = resolveModel(config.catalog, body.model);
	if (body.modalities && !body.modalities.includes("image")) {
		throw invalidParam("modalities", `${model.id} answers with images: modalities must include "image" (e.g. ["image", "text"])`);
	}
	const ratio =
		body.image_config?.aspect_ratio !== undefined
			? ["image_config.aspect_ratio", body.image_config.aspect_ratio]
			: ["aspect_ratio", body.aspect_ratio];
	const size =
		body.image_config?.image_size !== undefined
			? ["image_config.image_size", body.image_config.image_size]
			: ["image_size", body.image_size];
	const n = checkN(body.n ?? 1);
	const thinking = (
		[
			["reasoning_effort", body.reasoning_effort],
			["reasoning.effort", body.reasoning?.effort],
			["image_config.thinking_level", body.image_config?.thinking_level],
		] as const
	).find(([, v]) => v !== undefined) ?? ["reasoning_effort", undefined];
	const controls = checkModelControls(
		config,
		model,
		{ thinkingLevel: thinking[1], search: body.web_search_options !== undefined },
		{ thinking: thinking[0], search: "web_search_options" },
	);
	const aspectRatio = ratio[1] !== undefined ? checkAspectRatio(model, ratio[1], ratio[0]) : undefined;
	const imageSize = size[1] !== undefined ? checkImageSize(model, size[1], size[0]) : undefined;
	const converted = checkOutput(body.image_config?.output_format, body.image_config?.output_compression, {
		format: "image_config.output_format",
		compression: "image_config.output_compression",
	});
	const origin = new URL(c.req.url).origin;
	const keyId = async () => (await caller.identify()).keyId;
	const input = await chatInput({ buckets: c.env, keyId, origin, config }, model, normalizeMessages(body.messages));
	const req: GenerationRequest = {
		endpoint: "openai.chat.completions",
		model,
		n,
		aspectRatio,
		imageSize,
		...input,
		...controls,
		params: { aspectRatio: ratio[0], imageSize: size[0], images: "messages" },
		// Every image's turn is kept (saveTurn), so a later request can show it to Gemini again.
		keepSignatures: true,
		...(converted ? { output: converted } : {}),
	};
	const output = body.image_output ?? defaultImageOutput(c.req.path);
	const completion: Completion = { id: `chatcmpl-${c.get("requestId").slice(4)}`, created: Math.floor(Date.now() / 1000), model: model.id };
	// A lost turn costs a later request its signatures, never this one its image.
	const keep = (img: DeliveredImage) =>
		saveTurn(c.env, caller.keyId, model.id, img, output === "data_url").catch((error: unknown) => {
			console.error(JSON.stringify({ requestId: c.get("requestId"), event: "turn_not_saved", image: img.key, error: String(error) }));
		});

	const scope = callScope(c, raw);
	if (!body.stream) {
		return runBilledGeneration(scope, req, {
			render: (result) => chatCompletion(completion, result, output),
			after: async (result) => {
				await Promise.all(result.images.map(keep));
			},
		});
	}
	const includeUsage = body.stream_options?.include_usage === true;
	return runBilledStream(
		scope,
		meteredOf(req, scope.config),
		async (emit, price) => {
			let shown = 0;
			const result = await runGeneration(scope, req, async (img) => {
				await keep(img);
				await emit(imageEvents(completion, img, shown++, output));
			});
			const charge = chargeOf(scope.config, result.images.length, price, result.spend, req.n);
			await emit(result.error ? errorEvent(result.error) : closingEvents(completion, result.usage, includeUsage, charge));
			return { ...executionOf(result), charge };
		},
		() => errorEvent(apiError("internal_error", `Internal error (request ${c.get("requestId")})`)),
	);
});
