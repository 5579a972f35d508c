/**
 * Gemini's own API, so `@google/genai` works with `httpOptions.baseUrl` at the gateway:
 *   POST /v1beta/models/{model}:generateContent             (also under /v1, which the SDK's
 *   POST /v1beta/models/{model}:streamGenerateContent?alt=sse  3.x releases call by default)
 * The body goes to Gemini as the caller wrote it, with the gateway's key; the answer
 * comes back in Gemini's shape. Image parts are metered like every other dialect. The
 * stream form answers with one SSE event holding the whole response: Gemini sends each
 * image part whole in one event anyway, and metering needs the complete answer first.
 */
import { Hono } from "hono";
import { z } from "zod";
import { loadConfig } from "../config";
import { invalidParam } from "../errors";
import { GeminiError } from "../gemini/errors";
import { readOutcome } from "../gemini/result";
import type { GenerateContentRequest } from "../gemini/types";
import { checkImageBytes, inputLimitsFrom } from "../inputs/images";
import { readJsonBody } from "../lib/body";
import { parseWith } from "../lib/validate";
import { runBilled } from "../pipeline/billed";
import { geminiClient, tokenUsage, upstreamToError } from "../pipeline/generate";
import { checkAspectRatio, checkImageSize, resolveModel } from "../pipeline/request";
import type { AppEnv } from "../types";
import { billedCall } from "./common";

const Part = z.looseObject({
	text: z.string().optional(),
	inlineData: z.looseObject({ mimeType: z.string(), data: z.string() }).optional(),
	inline_data: z.looseObject({ mime_type: z.string().optional(), mimeType: z.string().optional(), data: z.string() }).optional(),
	fileData: z.unknown().optional(),
	file_data: z.unknown().optional(),
});

const NativeBody = z.looseObject({
	contents: z.array(z.looseObject({ role: z.enum(["user", "model"]).optional(), parts: z.array(Part).min(1) })).min(1),
	generationConfig: z
		.looseObject({
			candidateCount: z.number().int().min(1).max(1, "Gemini image models return one candidate; send n parallel requests").optional(),
			imageConfig: z.looseObject({ aspectRatio: z.string().optional(), imageSize: z.string().optional() }).optional(),
		})
		.optional(),
});

/** Images held per native call: a single answer can carry several image parts. */
const HOLD_IMAGES = 4;

export const geminiNative = new Hono<AppEnv>().post("/models/:target{[^/]+}", async (c) => {
	const target = c.req.param("target");
	const at = target.lastIndexOf(":");
	const action = at === -1 ? "" : target.slice(at + 1);
	if (action !== "generateContent" && action !== "streamGenerateContent") {
		throw invalidParam(
			null,
			`Unsupported method '${action || target}': use generateContent or streamGenerateContent`,
			"unsupported_method",
		);
	}
	const config = loadConfig(c.env);
	const model = resolveModel(decodeURIComponent(target.slice(0, at)));
	const { value, raw } = await readJsonBody(c.req.raw, config.maxUploadBytes);
	const body = parseWith(NativeBody, value);
	const imageConfig = body.generationConfig?.imageConfig;
	const aspectRatio =
		imageConfig?.aspectRatio !== undefined
			? checkAspectRatio(model, imageConfig.aspectRatio, "generationConfig.imageConfig.aspectRatio")
			: undefined;
	const imageSize =
		imageConfig?.imageSize !== undefined
			? checkImageSize(model, imageConfig.imageSize, "generationConfig.imageConfig.imageSize")
			: undefined;

	let inputImages = 0;
	const limits = inputLimitsFrom(config);
	for (const [ci, content] of body.contents.entries()) {
		for (const [pi, part] of content.parts.entries()) {
			const param = `contents[${ci}].parts[${pi}]`;
			if (part.fileData || part.file_data)
				throw invalidParam(param, "fileData parts are not supported through the gateway; send the image as inlineData");
			const inline = part.inlineData ?? part.inline_data;
			if (!inline) continue;
			inputImages++;
			let bytes: Uint8Array;
			try {
				bytes = Uint8Array.fromBase64(inline.data);
			} catch {
				throw invalidParam(`${param}.inlineData.data`, "inlineData.data is not valid base64", "invalid_image");
			}
			checkImageBytes(bytes, `${param}.inlineData`, limits);
		}
	}
	if (inputImages > model.maxInputImages) {
		throw invalidParam(
			"contents",
			`${model.id} accepts at most ${model.maxInputImages} input images; got ${inputImages}`,
			"too_many_images",
		);
	}

	const stream = action === "streamGenerateContent";
	const mode = inputImages > 0 ? "edit" : "generate";
	return runBilled(
		billedCall(c, config, raw),
		{ endpoint: `gemini.${action}`, model, mode, images: HOLD_IMAGES, aspectRatio, imageSize },
		async () => {
			const started = Date.now();
			try {
				const { response, info } = await geminiClient(config).generateContent(model.gemini, body as GenerateContentRequest);
				const outcome = readOutcome(response);
				return {
					delivered: outcome.images.length,
					usage: tokenUsage(outcome.usage),
					upstreamMs: info.latencyMs,
					finishReason: outcome.blockReason ?? outcome.finishReason ?? null,
					r2Keys: [],
					body: response,
					raw: stream ? { text: `data: ${JSON.stringify(response)}\r\n\r\n`, contentType: "text/event-stream" } : undefined,
				};
			} catch (error) {
				if (!(error instanceof GeminiError)) throw error;
				const apiError = upstreamToError(error, c.get("requestId"));
				return {
					delivered: 0,
					usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
					upstreamMs: Date.now() - started,
					finishReason: null,
					r2Keys: [],
					error: apiError,
				};
			}
		},
	);
});
