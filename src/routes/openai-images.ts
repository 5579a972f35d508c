/**
 * OpenAI Images dialect, so the official `openai` SDK works with baseURL at the gateway:
 *   POST /v1/images/generations  JSON; reference images (`image`, `image_url`, `images`) make it an edit
 *   POST /v1/images/edits        multipart (`image` or repeated `image[]`, as the SDK sends) or JSON
 * Superset fields: aspect_ratio, image_size, conversation_id. OpenAI's output_format and
 * output_compression convert the stored images (src/storage/convert.ts; avif beside png,
 * jpeg and webp), and the answer names the format as gpt-image's does (`output_format`).
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { sha256Hex } from "../account/keys";
import type { GatewayConfig } from "../config";
import { type ApiError, invalidParam } from "../errors";
import { inputLimitsFrom, resolveImages } from "../inputs/images";
import type { Piece } from "../lib/b64-stream";
import { readCapped, readJsonBody } from "../lib/body";
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
	mapOpenAiSize,
	resolveModel,
} from "../pipeline/request";
import { routeFacts } from "../route-facts";
import type { OutputFormat } from "../storage/convert";
import type { AppEnv } from "../types";
import { asyncOptions, callScope, runOrQueue, ServiceTierField } from "./common";
import { continueConversation, conversationModel } from "./conversations";
import { SearchField, ThinkingField } from "./model-controls";

/** Route facts (src/route-facts.ts): OpenAI's Images dialect; generations and edits are admitted. */
const ROUTE_FACTS = routeFacts({ dialect: "openai", errorStyle: "openai", admitted: true });

const Str = lazy(() => z.string());
const ImageRefs = lazy(() => z.union([Str(), z.array(Str())]));

/** Fields shared by both endpoints (JSON bodies). */
export const ImagesBody = lazy(() =>
	z.looseObject({
		model: Str().optional(),
		prompt: z.string({ error: "prompt is required and must be a string" }),
		n: z.number().optional(),
		size: Str().optional(),
		aspect_ratio: Str().optional(),
		image_size: Str().optional(),
		// Unset: `url` on generations; both `url` and `b64_json` on edits (see defaultFormat).
		response_format: z.enum(["url", "b64_json"]).optional(),
		image: ImageRefs().optional(),
		"image[]": ImageRefs().optional(),
		images: z.array(Str()).optional(),
		image_url: Str().optional(),
		conversation_id: Str().optional(),
		async: z.boolean().optional(),
		webhook_url: Str().optional(),
		service_tier: ServiceTierField(),
		// Nano Banana's thinking level and search grounding (./model-controls.ts).
		thinking_level: ThinkingField().optional(),
		google_search: SearchField().optional(),
		// Checked by checkOutput (src/pipeline/output.ts), which names the field and the formats.
		output_format: OutputFormatField().optional(),
		output_compression: OutputCompressionField().optional(),
		// Accepted for SDK compatibility; Gemini has no equivalent knob.
		quality: Str().optional(),
		style: Str().optional(),
		user: Str().optional(),
		input_fidelity: Str().optional(),
	}),
);
type ImagesBody = z.infer<ReturnType<typeof ImagesBody>>;

/** Multipart forms carry every field as a string, numbers included. */
export const ImagesForm = lazy(() =>
	ImagesBody().extend({
		n: z.string().regex(/^\d+$/, "must be an integer").transform(Number).optional(),
		async: z
			.enum(["true", "false"])
			.transform((v) => v === "true")
			.optional(),
	}),
);

/** What each image in `data` carries: its URL, its base64, or both. */
export type ImagesFormat = "url" | "b64_json" | "both";

/**
 * The answer's format when the request names none. Generations answer URLs, as this
 * dialect always has. Edits answer both `url` and `b64_json`: `@ai-sdk/openai` 4.0 sends
 * no response_format on edits and requires `data[].b64_json` (its source, 2026-12-03),
 * while clients written for this gateway read `data[].url`. The price is the base64
 * (4/3 of the image's bytes) on edits that did not choose; `response_format: "url"` avoids it.
 */
function defaultFormat(route: "generations" | "edits"): ImagesFormat {
	return route === "edits" ? "both" : "url";
}

/**
 * OpenAI-shaped response body. With b64_json the images are streamed from R2 into the
 * body (one chunk in memory at a time), never held as base64 strings.
 */
export function renderOpenAiImages(
	result: GenerationResult,
	format: ImagesFormat,
	conversationId?: string,
	outputFormat?: OutputFormat,
): unknown {
	const usage = {
		input_tokens: result.usage.inputTokens,
		output_tokens: result.usage.outputTokens,
		total_tokens: result.usage.totalTokens,
	};
	const tail = conversationId ? { conversation_id: conversationId } : {};
	// As gpt-image answers: the format the images are in (only when asked, so older answers keep their shape).
	const named = outputFormat ? { output_format: outputFormat } : {};
	if (format === "url") return { created: result.created, data: result.images.map((img) => ({ url: img.url })), ...named, usage, ...tail };
	const pieces: Piece[] = [`{"created":${result.created},"data":[`];
	result.images.forEach((img, i) => {
		const url = format === "both" ? `"url":${JSON.stringify(img.url)},` : "";
		pieces.push(`${i > 0 ? "," : ""}{${url}"b64_json":"`, { key: img.key, size: img.bytes }, '"}');
	});
	pieces.push(
		`],${outputFormat ? `"output_format":"${outputFormat}",` : ""}"usage":${JSON.stringify(usage)}${conversationId ? `,"conversation_id":${JSON.stringify(conversationId)}` : ""}}`,
	);
	return new StreamedBody(pieces);
}

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every reference image in the order given, each with the parameter that named it. */
function referencesOf(body: ImagesBody, files: Array<{ param: string; value: File }>): Array<{ param: string; value: string | File }> {
	const refs: Array<{ param: string; value: string | File }> = [...files];
	const add = (name: string, values: string[]) => {
		for (const [i, value] of values.entries()) refs.push({ param: values.length > 1 ? `${name}[${i}]` : name, value });
	};
	add("image", asList(body.image));
	add("image", asList(body["image[]"]));
	add("images", body.images ?? []);
	add("image_url", asList(body.image_url));
	return refs;
}

/** A parsed request of either endpoint: its fields, uploaded files, and what idempotency hashes. */
interface ImagesInput {
	body: ImagesBody;
	files: Array<{ param: string; value: File }>;
	hashInput: Uint8Array;
}

/** Both endpoints: `edits` needs a reference image (or a conversation to continue). */
async function handle(c: Context<AppEnv>, route: "generations" | "edits", { body, files, hashInput }: ImagesInput) {
	const config = c.get("config");
	// Continuing a conversation without naming a model means the conversation's model.
	const model = resolveModel(
		config.catalog,
		body.model ?? (body.conversation_id ? await conversationModel(c, body.conversation_id) : "nano-banana"),
	);
	const fromSize = body.size ? mapOpenAiSize(model, body.size) : {};
	const refs = referencesOf(body, files);
	if (route === "edits" && refs.length === 0 && !body.conversation_id) {
		throw invalidParam("image", "An edit needs at least one image (image, image[], images or image_url), or a conversation_id");
	}
	const req: GenerationRequest = {
		endpoint: `openai.images.${route}`,
		model,
		prompt: checkPrompt(body.prompt, config.maxPromptChars),
		n: checkN(body.n ?? 1),
		aspectRatio: body.aspect_ratio !== undefined ? checkAspectRatio(model, body.aspect_ratio) : fromSize.aspectRatio,
		imageSize: body.image_size !== undefined ? checkImageSize(model, body.image_size) : fromSize.imageSize,
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
	const conversation = body.conversation_id ? await continueConversation(c, body.conversation_id, req) : undefined;
	try {
		req.images = await resolveImages(refs, model.maxInputImages, model.id, inputLimitsFrom(config));
		const format = body.response_format ?? defaultFormat(route);
		return await runOrQueue(callScope(c, hashInput), req, {
			render: (result) => renderOpenAiImages(result, format, conversation?.id, req.output?.format),
			after: conversation?.record,
			async: asyncMode,
		});
	} finally {
		// Whatever kept the exchange from being recorded (a refusal, a failed call), the conversation is free again.
		await conversation?.release();
	}
}

/** Multipart form -> fields, files and a stable idempotency hash input (boundaries vary per send). */
async function readForm(c: Context<AppEnv>, config: GatewayConfig) {
	const bytes = await readCapped(c.req.raw, config.maxUploadBytes);
	let form: FormData;
	try {
		form = await new Request("https://form.invalid/", {
			method: "POST",
			headers: { "content-type": c.req.header("content-type") ?? "" },
			body: bytes,
		}).formData();
	} catch {
		throw invalidParam(null, "Request body is not valid multipart/form-data", "invalid_multipart");
	}
	// A Map: a field named `__proto__` or `constructor` is just a field.
	const fields = new Map<string, string | string[]>();
	const files: Array<{ param: string; value: File }> = [];
	const canonical: Array<[string, string]> = [];
	for (const [name, value] of form.entries()) {
		if (typeof value === "string") {
			const prev = fields.get(name);
			fields.set(name, prev === undefined ? value : [...asList(prev), value]);
			canonical.push([name, value]);
		} else {
			if (name === "mask") continue; // refused below with a clear message
			if (name !== "image" && name !== "image[]")
				throw invalidParam(name, `Unexpected file field '${name}'; send images as image or image[]`);
			files.push({ param: name, value });
			canonical.push([name, `sha256:${await sha256Hex(new Uint8Array(await value.arrayBuffer()))}`]);
		}
	}
	if (form.has("mask")) throw maskUnsupported();
	files.forEach((f, i) => {
		if (files.length > 1) f.param = `image[${i}]`;
	});
	return { fields: Object.fromEntries(fields), files, hashInput: new TextEncoder().encode(JSON.stringify(canonical)) };
}

function maskUnsupported(): ApiError {
	return invalidParam(
		"mask",
		"mask is not supported: Gemini edits from the instruction itself. Describe the region to change in the prompt (e.g. 'replace only the sky').",
		"unsupported_parameter",
	);
}

export const openAiImages = new Hono<AppEnv>()
	.use(ROUTE_FACTS)
	.post("/generations", async (c) => {
		const config = c.get("config");
		const { value, raw } = await readJsonBody(c.req.raw, config.maxUploadBytes);
		if ("mask" in value) throw maskUnsupported();
		return handle(c, "generations", { body: parseWith(ImagesBody(), value), files: [], hashInput: raw });
	})
	.post("/edits", async (c) => {
		const config = c.get("config");
		if ((c.req.header("content-type") ?? "").toLowerCase().startsWith("multipart/form-data")) {
			const { fields, files, hashInput } = await readForm(c, config);
			return handle(c, "edits", { body: parseWith(ImagesForm(), fields), files, hashInput });
		}
		const { value, raw } = await readJsonBody(c.req.raw, config.maxUploadBytes);
		if ("mask" in value) throw maskUnsupported();
		return handle(c, "edits", { body: parseWith(ImagesBody(), value), files: [], hashInput: raw });
	});
