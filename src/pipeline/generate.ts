/**
 * The one generation pipeline under every dialect: fan `n` out as parallel Gemini calls
 * (Gemini refuses candidateCount > 1), store each final image in R2, and either return
 * what was delivered or, when nothing was, the most telling reason as an ApiError.
 */
import type { GatewayConfig } from "../config";
import { ApiError, apiError } from "../errors";
import { readBuffered } from "../gemini/client";
import {
	GeminiAuthError,
	GeminiBadRequestError,
	GeminiError,
	GeminiMalformedResponseError,
	GeminiRateLimitError,
	GeminiTimeoutError,
} from "../gemini/errors";
import { embeddedError, type GenerationOutcome, POLICY_REASONS, readOutcome } from "../gemini/result";
import { placeholderIndex, readStreamed } from "../gemini/stream-reader";
import type { GeminiContent, GeminiPart, GenerateContentRequest, GenerateContentResponse, UsageMetadata } from "../gemini/types";
import { timed } from "../observe";
import { ImageWriter } from "../storage/image-writer";
import { imageKeyStem, imageUrl, NotAnImageError, putImage, type StoredImage } from "../storage/images";
import { UpstreamsUnavailableError } from "../upstreams/route";
import type { GenerationRequest } from "./request";
import { callUpstream, type ModelAsk } from "./upstream";

export interface DeliveredImage {
	index: number;
	key: string;
	url: string;
	mimeType: string;
	bytes: number;
	text: string;
	/** The whole model turn that produced this image (thought signatures included). */
	modelParts: GeminiPart[];
	/** The upstream (pool member) that made it. */
	upstream: string;
}

export type ImageFailure =
	| { index: number; kind: "policy" | "no_image"; reason: string; text: string }
	| { index: number; kind: "upstream"; error: GeminiError }
	/** Refused before or instead of a call: the successor cannot do what was asked (400), or no upstream id is left (502). */
	| { index: number; kind: "refused"; error: ApiError }
	| { index: number; kind: "bad_image" | "internal"; message: string };

export interface TokenUsage {
	inputTokens: number;
	outputTokens: number;
	totalTokens: number;
}

export interface GenerationResult {
	requestId: string;
	created: number;
	images: DeliveredImage[];
	failures: ImageFailure[];
	usage: TokenUsage;
	upstreamMs: number;
	/** The Gemini id that served the request (the last one that answered). */
	upstreamModel: string | null;
	/** Set when not a single image was delivered: the most telling reason. */
	error?: ApiError;
	/** Gemini's finish or block reason of the first call that gave no image, else STOP. */
	finishReason: string;
}

export interface PipelineContext {
	env: Env;
	config: GatewayConfig;
	requestId: string;
	keyId: string;
	/** Origin used for Worker-served image URLs. */
	origin: string;
}

/** The user turn: the instruction, then the reference images in the caller's order. */
export function userTurn(req: Pick<GenerationRequest, "prompt" | "images">): GeminiContent {
	return {
		role: "user",
		parts: [{ text: req.prompt }, ...req.images.map((img) => ({ inlineData: { mimeType: img.mimeType, data: img.data.toBase64() } }))],
	};
}

export function geminiBody(req: GenerationRequest): GenerateContentRequest {
	const imageConfig: { aspectRatio?: string; imageSize?: string } = {};
	if (req.aspectRatio) imageConfig.aspectRatio = req.aspectRatio;
	const size = req.imageSize ?? req.model.defaultImageSize;
	if (size) imageConfig.imageSize = size;
	return {
		...(req.systemInstruction ? { systemInstruction: { parts: [{ text: req.systemInstruction }] } } : {}),
		contents: [...(req.history ?? []), userTurn(req)],
		generationConfig: {
			responseModalities: ["TEXT", "IMAGE"],
			...(Object.keys(imageConfig).length > 0 ? { imageConfig } : {}),
		},
	};
}

/** What the request asks of whichever upstream id ends up serving it. */
export function askOf(req: GenerationRequest): ModelAsk {
	return {
		model: req.model,
		aspectRatio: req.aspectRatio,
		imageSize: req.imageSize ?? req.model.defaultImageSize,
		inputImages: req.images.length + (req.history ?? []).flatMap((c) => c.parts).filter((p) => p.inlineData || p.inline_data).length,
		params: req.params,
	};
}

/** Gemini's usageMetadata as the gateway counts it (thinking tokens are output). */
export function tokenUsage(u: UsageMetadata): TokenUsage {
	return {
		inputTokens: u.promptTokenCount ?? 0,
		outputTokens: (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0),
		totalTokens: u.totalTokenCount ?? 0,
	};
}

function addUsage(total: TokenUsage, u: UsageMetadata): void {
	const t = tokenUsage(u);
	total.inputTokens += t.inputTokens;
	total.outputTokens += t.outputTokens;
	total.totalTokens += t.totalTokens;
}

/**
 * Runs the request. Never throws for upstream outcomes: a result with no images carries
 * `error`. `onImage` hears of each image as soon as it is stored (streamed answers).
 */
export async function runGeneration(
	ctx: PipelineContext,
	req: GenerationRequest,
	onImage?: (image: DeliveredImage) => Promise<void>,
): Promise<GenerationResult> {
	const body = geminiBody(req);
	const ask = askOf(req);
	const now = new Date();
	const usage: TokenUsage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
	const started = Date.now();
	let upstreamMs = 0;
	let upstreamModel: string | null = null;

	const one = async (index: number): Promise<DeliveredImage | ImageFailure> => {
		const stem = imageKeyStem(req.model.id, ctx.keyId, ctx.requestId, index, now, req.outputPrefix);
		const meta = { requestId: ctx.requestId, model: req.model.id, keyId: ctx.keyId };
		// Streaming: each image string goes straight into an ImageWriter as it arrives.
		let writers: ImageWriter[] = [];
		const consume =
			ctx.config.readMode === "streaming"
				? async (res: Response) => {
						writers = [];
						try {
							const length = Number(res.headers.get("content-length") ?? Number.NaN);
							const open = (n: number, left?: number) =>
								(writers[n] = new ImageWriter(ctx.env.IMAGES, stem, meta, {
									sizeHint: left === undefined ? undefined : Math.ceil((left * 3) / 4),
								}));
							return await readStreamed(res.body, { open }, Number.isFinite(length) ? length : undefined);
						} catch (error) {
							await Promise.all(writers.map((w) => w.discard()));
							// Bad bytes in a 200 are Gemini's fault (502, free), never retried.
							if (error instanceof SyntaxError) {
								throw new GeminiMalformedResponseError("Gemini returned image data that is not valid base64", {
									status: 200,
									cause: error,
								});
							}
							if (error instanceof NotAnImageError) throw new GeminiMalformedResponseError(error.message, { status: 200, cause: error });
							throw error;
						}
					}
				: readBuffered<GenerateContentResponse>;
		let outcome: ReturnType<typeof readOutcome>;
		let upstream: string;
		try {
			const { result: response, info, upstreamModel: served, upstream: by } = await callUpstream(ctx.env, ctx.config, ask, body, consume);
			upstreamMs = Math.max(upstreamMs, info.latencyMs);
			upstreamModel = served;
			upstream = by;
			const embedded = embeddedError(response);
			if (embedded) {
				await Promise.all(writers.map((w) => w.discard()));
				return { index, kind: "upstream", error: embedded };
			}
			outcome = readOutcome(response);
		} catch (error) {
			if (error instanceof GeminiError) return { index, kind: "upstream", error };
			if (error instanceof ApiError) return { index, kind: "refused", error };
			throw error;
		}
		addUsage(usage, outcome.usage);
		// One image per call: the first final (non-thought) image. Drafts and extras are dropped.
		const image = outcome.images[0];
		const chosen = placeholderIndex(image?.data);
		await Promise.all(writers.filter((_, n) => n !== chosen).map((w) => w.discard()));
		if (!image) return noImageFailure(index, outcome);
		let stored: StoredImage;
		try {
			if (chosen !== undefined) {
				stored = await timed("store", () => writers[chosen].commit());
			} else {
				let bytes: Uint8Array;
				try {
					bytes = Uint8Array.fromBase64(image.data);
				} catch {
					return { index, kind: "bad_image", message: "Gemini returned image data that is not valid base64" };
				}
				stored = await timed("store", () => putImage(ctx.env.IMAGES, stem, bytes, meta));
			}
		} catch (error) {
			if (error instanceof NotAnImageError) return { index, kind: "bad_image", message: error.message };
			if (error instanceof SyntaxError) return { index, kind: "bad_image", message: "Gemini returned image data that is not valid base64" };
			console.error(JSON.stringify({ requestId: ctx.requestId, event: "r2_put_failed", error: String(error) }));
			return { index, kind: "internal", message: "storing the image failed" };
		}
		const delivered: DeliveredImage = {
			index,
			key: stored.key,
			url: imageUrl(stored.key, ctx.config.publicBaseUrl, ctx.origin),
			mimeType: stored.kind.mimeType,
			bytes: stored.size,
			text: outcome.text,
			modelParts: outcome.modelParts,
			upstream,
		};
		await onImage?.(delivered);
		return delivered;
	};

	// A failure that is not Gemini's (storage, a bug) costs that image only, not its siblings.
	const guarded = (index: number) =>
		one(index).catch((error: unknown): ImageFailure => {
			console.error(JSON.stringify({ requestId: ctx.requestId, event: "image_failed", index, error: String(error) }));
			return { index, kind: "internal", message: "generating the image failed" };
		});
	const settled = await Promise.all(Array.from({ length: req.n }, (_, i) => guarded(i)));
	const images = settled.filter((s): s is DeliveredImage => "key" in s);
	const failures = settled.filter((s): s is ImageFailure => "kind" in s);
	if (upstreamMs === 0) upstreamMs = Date.now() - started;
	const reasoned = failures.find((f) => f.kind === "policy" || f.kind === "no_image");
	return {
		requestId: ctx.requestId,
		created: Math.floor(now.getTime() / 1000),
		images,
		failures,
		usage,
		upstreamMs,
		upstreamModel,
		error: images.length === 0 ? failureToError(failures, ctx.requestId) : undefined,
		finishReason: reasoned && (reasoned.kind === "policy" || reasoned.kind === "no_image") ? reasoned.reason : "STOP",
	};
}

/** Why an answer without an image has none: a policy refusal, or an empty (or text-only) answer. */
export function noImageFailure(index: number, outcome: GenerationOutcome): ImageFailure {
	const reason = outcome.blockReason ?? outcome.finishReason ?? "NO_IMAGE";
	const policy = POLICY_REASONS.has(reason);
	const why = !policy && reason === "STOP" ? "TEXT_ONLY" : reason;
	return { index, kind: policy ? "policy" : "no_image", reason: why, text: outcome.text };
}

/** The one error that best explains why no image came back. */
export function failureToError(failures: ImageFailure[], requestId: string): ApiError {
	const refused = failures.find((f) => f.kind === "refused");
	if (refused && refused.kind === "refused") return refused.error;
	const policy = failures.find((f) => f.kind === "policy");
	if (policy && policy.kind === "policy") {
		return apiError("content_policy_violation", `Gemini refused to generate this image (reason: ${policy.reason}). You were not charged.`, {
			param: "prompt",
		});
	}
	const empty = failures.find((f) => f.kind === "no_image");
	if (empty && empty.kind === "no_image") {
		const said = empty.text ? ` Gemini said: ${empty.text.slice(0, 300)}` : "";
		return apiError("no_image_generated", `Gemini answered without an image (reason: ${empty.reason}). You were not charged.${said}`, {
			param: "prompt",
		});
	}
	const upstream = failures.find((f) => f.kind === "upstream");
	if (upstream && upstream.kind === "upstream") return upstreamToError(upstream.error, requestId);
	const other = failures[0];
	const message = other && (other.kind === "bad_image" || other.kind === "internal") ? other.message : "generation failed";
	return other?.kind === "bad_image"
		? apiError("upstream_bad_response", message)
		: apiError("internal_error", `Internal error (request ${requestId}). You were not charged.`);
}

export function upstreamToError(e: GeminiError, requestId: string): ApiError {
	if (e instanceof UpstreamsUnavailableError) {
		const seconds = Math.max(1, Math.ceil((e.retryAfterMs ?? 1000) / 1000));
		return apiError(
			"upstreams_unavailable",
			`Every upstream that serves ${e.model} is cooling down after rate limits or failures; retry in ${seconds} s. You were not charged.`,
			{ headers: { "retry-after": String(seconds) } },
		);
	}
	if (e instanceof GeminiTimeoutError) {
		return apiError("upstream_timeout", "Gemini did not answer in time. You were not charged.");
	}
	if (e instanceof GeminiRateLimitError) {
		// Gemini's own quota survived the retries: the caller should back off, not blame us.
		const seconds = Math.max(1, Math.ceil((e.retryAfterMs ?? 1000) / 1000));
		return apiError("upstream_rate_limited", `Gemini is rate limiting the gateway; retry in ${seconds} s. You were not charged.`, {
			headers: { "retry-after": String(seconds) },
		});
	}
	if (e instanceof GeminiAuthError) {
		console.error(JSON.stringify({ requestId, event: "gemini_auth_failed", status: e.status, reason: e.reason }));
		return apiError("upstream_auth_error", "The gateway's Gemini credentials were rejected. You were not charged.");
	}
	if (e instanceof GeminiBadRequestError && e.status !== 404) {
		return apiError("upstream_rejected_request", `Gemini rejected the request: ${e.message}`);
	}
	if (e instanceof GeminiMalformedResponseError) {
		return apiError("upstream_bad_response", "Gemini sent a malformed response. You were not charged.");
	}
	return apiError(
		"upstream_error",
		`Gemini failed${e.retryable ? " after retries" : ""} (${e.status ?? "no response"}${e.rpcStatus ? ` ${e.rpcStatus}` : ""}). You were not charged.`,
	);
}
