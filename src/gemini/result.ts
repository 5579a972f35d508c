/**
 * Reads a generateContent response into what the gateway sells: the final images
 * (thought images are interim drafts, not results), any text, and why there is no
 * image when there is none. A 200 without an image is a normal outcome, not an error.
 */
import { sniffImage } from "../lib/image-bytes";
import { GeminiMalformedResponseError, GeminiServerError } from "./errors";
import type { GeminiPart, GenerateContentResponse, UsageMetadata } from "./types";

export interface ResultImage {
	/** The mimeType Gemini declared; storage trusts the sniffed bytes instead. */
	declaredMimeType: string;
	/** Base64, as Gemini sent it. */
	data: string;
	thoughtSignature?: string;
}

export interface GenerationOutcome {
	images: ResultImage[];
	/** Interim images Gemini marked `thought: true`; never stored or charged. */
	thoughtImages: number;
	text: string;
	finishReason?: string;
	blockReason?: string;
	usage: UsageMetadata;
	/** The whole model turn, for multi-turn editing (thought signatures included). */
	modelParts: GeminiPart[];
	/** Google Search queries the answer ran (groundingMetadata), each one billed. */
	searchQueries: number;
}

/** Finish or block reasons that mean "refused on policy grounds" (422 content_policy_violation). */
export const POLICY_REASONS = new Set([
	"SAFETY",
	"IMAGE_SAFETY",
	"PROHIBITED_CONTENT",
	"IMAGE_PROHIBITED_CONTENT",
	"BLOCKLIST",
	"SPII",
	"RECITATION",
	"IMAGE_RECITATION",
	"JAILBREAK",
	"MODEL_ARMOR",
]);

/**
 * A 200 that is not a generateContent answer: an error object in the body. It is
 * Gemini's failure, not the caller's (502), and is not retried (a 200 may be billed).
 */
export function embeddedError(res: GenerateContentResponse): GeminiServerError | undefined {
	const e = res.error;
	if (!e || typeof e !== "object") return undefined;
	return new GeminiServerError(`Gemini answered 200 with an error: ${e.status ?? e.code ?? "unknown"} ${e.message ?? ""}`.trim(), {
		status: typeof e.code === "number" ? e.code : undefined,
		rpcStatus: e.status,
		retryable: false,
	});
}

/** Every final image must be base64 of real image bytes, or the answer is Gemini's fault (502, free). */
export function checkImages(outcome: GenerationOutcome): void {
	for (const image of outcome.images) {
		let bytes: Uint8Array;
		try {
			bytes = Uint8Array.fromBase64(image.data);
		} catch (cause) {
			throw new GeminiMalformedResponseError("Gemini returned image data that is not valid base64", { status: 200, cause });
		}
		if (!sniffImage(bytes.subarray(0, 32))) {
			throw new GeminiMalformedResponseError("Gemini returned image data that is neither PNG, JPEG nor WebP", { status: 200 });
		}
	}
}

export function readOutcome(res: GenerateContentResponse): GenerationOutcome {
	const candidate = res.candidates?.[0];
	const parts = candidate?.content?.parts ?? [];
	const images: ResultImage[] = [];
	let thoughtImages = 0;
	const texts: string[] = [];
	for (const part of parts) {
		const inline =
			part.inlineData ??
			(part.inline_data
				? { mimeType: part.inline_data.mimeType ?? part.inline_data.mime_type ?? "", data: part.inline_data.data }
				: undefined);
		if (inline) {
			if (part.thought) thoughtImages++;
			else if (inline.data) images.push({ declaredMimeType: inline.mimeType, data: inline.data, thoughtSignature: part.thoughtSignature });
		} else if (typeof part.text === "string" && !part.thought) {
			texts.push(part.text);
		}
	}
	return {
		images,
		thoughtImages,
		text: texts.join("\n"),
		finishReason: candidate?.finishReason,
		blockReason: res.promptFeedback?.blockReason,
		usage: res.usageMetadata ?? {},
		modelParts: parts,
		searchQueries: billedSearchQueries(res),
	};
}

/**
 * The Google Search queries an answer ran, as the meter bills them: every dialect, Gemini's
 * native route included, counts them here.
 *
 * Checked 2026-12-03 with the search tool: Google bills grounding with Google Search on
 * Gemini 3 models (the image models included) per search query the model runs, $14 per
 * 1,000 after 5,000 free prompts a month (ai.google.dev/gemini-api/docs/pricing, as quoted
 * on discuss.ai.google.dev/t/134866 and transcribed by api-evangelist/gemini 2026-09-20;
 * 2.5 models per grounded prompt). `imageSearchQueries` are "the image search queries that
 * were used to generate the content", filled only when searchTypes.imageSearch is on
 * (@google/genai and java-genai GroundingMetadata docs). No Google page found says whether
 * they are billed apart from, or like, web queries; they are counted as queries, so the meter
 * is never below Google's bill. (Google's grounding page, as quoted on discuss.ai.google.dev
 * /t/168136, ignores empty web queries "when counting unique queries"; the array's entries
 * are counted as sent, the higher count.)
 */
export function billedSearchQueries(res: GenerateContentResponse): number {
	const grounding = res.candidates?.[0]?.groundingMetadata;
	return (grounding?.webSearchQueries?.length ?? 0) + (grounding?.imageSearchQueries?.length ?? 0);
}
