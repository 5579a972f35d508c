/**
 * The one generation pipeline under every dialect: fan `n` out as parallel Gemini calls
 * (Gemini refuses candidateCount > 1), store each final image in R2, and either return
 * what was delivered or, when nothing was, the most telling reason as an ApiError
 * (src/pipeline/failures.ts). Each image is one call (`generateOne`): ask the model's
 * chain (src/pipeline/upstream.ts), read the answer, store the image.
 */
import { ApiError } from "../errors";
import { readBuffered } from "../gemini/client";
import { GeminiError, GeminiMalformedResponseError } from "../gemini/errors";
import type { KeptSignatures } from "../gemini/kept-signatures";
import { embeddedError, type GenerationOutcome, readOutcome } from "../gemini/result";
import { placeholderIndex, readStreamed } from "../gemini/stream-reader";
import type { GeminiContent, GeminiPart, GenerateContentRequest, GenerateContentResponse, UsageMetadata } from "../gemini/types";
import { timed } from "../observe";
import { convertStored } from "../storage/convert";
import { type ImageMeta, ImageWriter } from "../storage/image-writer";
import { imageKeyStem, imageUrl, putImage, type StoredImage, unguessable } from "../storage/images";
import { badImageMessage, failureToError, type ImageFailure, noImageFailure } from "./failures";
import { type AnswerFate, emptySpend, recordAnswer, type Spend } from "./meter";
import { callBound } from "./metering";
import type { GenerationRequest } from "./request";
import type { RequestScope } from "./scope";
import { callUpstream, type ModelAsk } from "./upstream";

export interface DeliveredImage {
	index: number;
	key: string;
	url: string;
	mimeType: string;
	bytes: number;
	text: string;
	/**
	 * The whole model turn that produced this image. Its thought signatures are in
	 * `signatures` (`nbg-sig:N` in the parts) when the request keeps them, else skipped.
	 */
	modelParts: GeminiPart[];
	signatures: KeptSignatures;
	/** The upstream (pool member) that made it. */
	upstream: string;
}

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
	/** What Google billed for the answers, by what became of them (src/pipeline/meter.ts). */
	spend: Spend;
}

/** The user turn: the instruction, then the reference images in the caller's order. */
export function userTurn(req: Pick<GenerationRequest, "prompt" | "images">): GeminiContent {
	return {
		role: "user",
		parts: [{ text: req.prompt }, ...req.images.map((img) => ({ inlineData: { mimeType: img.mimeType, data: img.data.toBase64() } }))],
	};
}

/**
 * The Gemini request of one image call. `maxOutputTokens` bounds what the call may cost:
 * the image's own tokens plus the operator's allowance for thinking and text
 * (src/pipeline/metering.ts holds for exactly that bound).
 */
export function geminiBody(req: GenerationRequest, maxOutputTokens?: number): GenerateContentRequest {
	const imageConfig: { aspectRatio?: string; imageSize?: string } = {};
	if (req.aspectRatio) imageConfig.aspectRatio = req.aspectRatio;
	const size = req.imageSize ?? req.model.defaultImageSize;
	if (size) imageConfig.imageSize = size;
	return {
		...(req.systemInstruction ? { systemInstruction: { parts: [{ text: req.systemInstruction }] } } : {}),
		contents: [...(req.history ?? []), userTurn(req)],
		// Web and image search, as Google documents grounding for its image models.
		...(req.search ? { tools: [{ googleSearch: { searchTypes: { webSearch: {}, imageSearch: {} } } }] } : {}),
		generationConfig: {
			responseModalities: ["TEXT", "IMAGE"],
			...(maxOutputTokens !== undefined ? { maxOutputTokens } : {}),
			...(Object.keys(imageConfig).length > 0 ? { imageConfig } : {}),
			...(req.thinkingLevel ? { thinkingConfig: { thinkingLevel: req.thinkingLevel.toUpperCase() } } : {}),
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

/** One request's run: what each image's call shares, and the totals they add to. */
interface Run {
	scope: RequestScope;
	req: GenerationRequest;
	body: GenerateContentRequest;
	ask: ModelAsk;
	now: Date;
	usage: TokenUsage;
	/** The slowest call's upstream time. */
	upstreamMs: number;
	/** The Gemini id of the call that answered last. */
	upstreamModel: string | null;
	spend: Spend;
	onImage?: (image: DeliveredImage) => Promise<void>;
}

/**
 * Runs the request. Never throws for upstream outcomes: a result with no images carries
 * `error`. `onImage` hears of each image as soon as it is stored (streamed answers).
 */
export async function runGeneration(
	scope: RequestScope,
	req: GenerationRequest,
	onImage?: (image: DeliveredImage) => Promise<void>,
): Promise<GenerationResult> {
	const run: Run = {
		scope,
		req,
		body: geminiBody(req, callBound(scope.config, req).maxOutputTokens),
		ask: askOf(req),
		now: new Date(),
		usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
		upstreamMs: 0,
		upstreamModel: null,
		spend: emptySpend(),
		onImage,
	};
	const started = Date.now();
	// A failure that is not Gemini's (storage, a bug) costs that image only, not its siblings.
	const guarded = (index: number): Promise<DeliveredImage[] | ImageFailure> =>
		generateOne(run, index).catch((error: unknown): ImageFailure => {
			console.error(JSON.stringify({ requestId: scope.requestId, event: "image_failed", index, error: String(error) }));
			return { index, kind: "internal", message: "generating the image failed" };
		});
	const settled = await Promise.all(Array.from({ length: req.n }, (_, i) => guarded(i)));
	const images = settled.filter((s): s is DeliveredImage[] => Array.isArray(s)).flat();
	const failures = settled.filter((s): s is ImageFailure => !Array.isArray(s));
	const reasoned = failures.find((f) => f.kind === "policy" || f.kind === "no_image");
	return {
		requestId: scope.requestId,
		created: Math.floor(run.now.getTime() / 1000),
		images,
		failures,
		usage: run.usage,
		upstreamMs: run.upstreamMs === 0 ? Date.now() - started : run.upstreamMs,
		upstreamModel: run.upstreamModel,
		error: images.length === 0 ? failureToError(failures, scope.requestId) : undefined,
		finishReason: reasoned && (reasoned.kind === "policy" || reasoned.kind === "no_image") ? reasoned.reason : "STOP",
		spend: run.spend,
	};
}

/**
 * One image: one call on the model's chain, its answer read, its image stored. An answer
 * that carries more than one final image (Google bills them all) delivers them all: the
 * first under the call's name, the others beside it (`{base}-1-{random}`, ...). Each name
 * has its own random part, so no image's URL leads to another's.
 */
async function generateOne(run: Run, index: number): Promise<DeliveredImage[] | ImageFailure> {
	const { scope, req } = run;
	const base = imageKeyStem(req.model.id, scope.keyId, scope.requestId, index, run.now, req.outputPrefix);
	const stem = unguessable(base);
	const meta: ImageMeta = { requestId: scope.requestId, model: req.model.id, keyId: scope.keyId };
	const streamed =
		scope.config.readMode === "streaming" ? new StreamedImages(scope.env.IMAGES, base, stem, meta, req.keepSignatures === true) : undefined;
	const answer = await askUpstream(run, index, streamed);
	if ("kind" in answer) return answer;
	const { outcome, upstream, upstreamModel } = answer;
	addUsage(run.usage, outcome.usage);
	// Google billed this answer whatever becomes of it: metered by what it turns out to be.
	const meter = (fate: AnswerFate) =>
		recordAnswer(run.spend, scope.config.rates, upstreamModel, outcome.usage, fate, outcome.searchQueries ?? 0);
	// The final (non-thought) images; thought drafts are dropped.
	const finals = outcome.images;
	const chosen = finals.map((image) => placeholderIndex(image.data));
	await streamed?.discard((n) => !chosen.includes(n));
	if (finals.length === 0) {
		meter("refused");
		return noImageFailure(index, outcome);
	}
	const stored: StoredImage[] = [];
	try {
		for (const [k, image] of finals.entries()) {
			const name = k === 0 ? stem : unguessable(`${base}-${k}`);
			const at = chosen[k];
			let saved: StoredImage;
			if (at !== undefined) {
				if (!streamed) throw new Error("an image placeholder in an answer that was not streamed");
				saved = await timed("store", () => streamed.commit(at, name));
			} else {
				const bytes = Uint8Array.fromBase64(image.data);
				saved = await timed("store", () => putImage(scope.env.IMAGES, name, bytes, meta));
			}
			// Conversion needs the whole image: read back from R2 once stored (src/storage/convert.ts).
			const { output } = req;
			if (output)
				saved = await timed("convert", () => convertStored(scope.env, saved, output, { ...meta }, scope.config.keepOriginalImages));
			stored.push(saved);
		}
	} catch (error) {
		await streamed?.discard(() => true);
		if (stored.length === 0) {
			meter("faulted");
			const bad = badImageMessage(error);
			if (bad) return { index, kind: "bad_image", message: bad };
			console.error(JSON.stringify({ requestId: scope.requestId, event: "r2_put_failed", error: String(error) }));
			return { index, kind: "internal", message: "storing the image failed" };
		}
		// The first image is stored: it is delivered (and the answer charged); a later one is lost.
		console.error(JSON.stringify({ requestId: scope.requestId, event: "extra_image_failed", index, error: String(error) }));
	}
	meter("delivered");
	const delivered: DeliveredImage[] = stored.map((s) => ({
		index,
		key: s.key,
		url: imageUrl(s.key, scope.config.publicBaseUrl, scope.origin),
		mimeType: s.kind.mimeType,
		bytes: s.size,
		text: outcome.text,
		modelParts: outcome.modelParts,
		signatures: streamed?.signatures ?? [],
		upstream,
	}));
	for (const image of delivered) await run.onImage?.(image);
	return delivered;
}

/**
 * Asks the model's chain for one image and reads the answer. An upstream's failure (an
 * HTTP error, or one embedded in a 200) and a refusal before any call are this image's
 * failure; anything else is thrown.
 */
async function askUpstream(
	run: Run,
	index: number,
	streamed: StreamedImages | undefined,
): Promise<{ outcome: GenerationOutcome; upstream: string; upstreamModel: string } | ImageFailure> {
	const consume = streamed ? streamed.consume : readBuffered<GenerateContentResponse>;
	try {
		const {
			result: response,
			info,
			upstreamModel,
			upstream,
		} = await callUpstream(run.scope.env, run.scope.config, run.ask, run.body, consume);
		run.upstreamMs = Math.max(run.upstreamMs, info.latencyMs);
		run.upstreamModel = upstreamModel;
		const embedded = embeddedError(response);
		if (embedded) {
			await streamed?.discard(() => true);
			return { index, kind: "upstream", error: embedded };
		}
		return { outcome: readOutcome(response), upstream, upstreamModel };
	} catch (error) {
		if (error instanceof GeminiError) return { index, kind: "upstream", error };
		if (error instanceof ApiError) return { index, kind: "refused", error };
		throw error;
	}
}

/**
 * Streaming mode: each image string of an answer goes straight into an ImageWriter as it
 * arrives, and the answer holds a placeholder in its place. `consume` runs once per
 * attempt (retries and failover start afresh).
 */
class StreamedImages {
	private writers: ImageWriter[] = [];
	/** The answer's thought signatures, when kept (the last attempt's). */
	signatures: KeptSignatures = [];

	constructor(
		private readonly bucket: R2Bucket,
		private readonly base: string,
		private readonly stem: string,
		private readonly meta: ImageMeta,
		private readonly keepSignatures: boolean,
	) {}

	readonly consume = async (res: Response): Promise<GenerateContentResponse> => {
		this.writers = [];
		this.signatures = [];
		try {
			const length = Number(res.headers.get("content-length") ?? Number.NaN);
			// Each image of the answer opens under its own provisional name (a draft or an extra
			// image may come first); commit() gives the one kept its final name.
			const open = (n: number, left?: number) =>
				(this.writers[n] = new ImageWriter(this.bucket, n === 0 ? this.stem : unguessable(`${this.base}-p${n}`), this.meta, {
					sizeHint: left === undefined ? undefined : Math.ceil((left * 3) / 4),
				}));
			// Signatures are read only by requests that keep the turn (chat, conversations); the others skip them.
			const signature = this.keepSignatures
				? (n: number, pieces: Uint8Array[]) => {
						this.signatures[n] = pieces;
					}
				: undefined;
			return await readStreamed(res.body, { open, signature }, Number.isFinite(length) ? length : undefined);
		} catch (error) {
			await this.discard(() => true);
			// Bad bytes in a 200 are Gemini's fault (502, free), never retried.
			const bad = badImageMessage(error);
			if (bad) throw new GeminiMalformedResponseError(bad, { status: 200, cause: error });
			throw error;
		}
	};

	/** Drops the images whose index `which` picks (their uploads are aborted). */
	async discard(which: (index: number) => boolean): Promise<void> {
		await Promise.all(this.writers.filter((_, n) => which(n)).map((w) => w.discard()));
	}

	/** Completes the image at `index`, under `stem` where its upload has not begun. */
	commit(index: number, stem: string): Promise<StoredImage> {
		return this.writers[index].commit(stem);
	}
}
