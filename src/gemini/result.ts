/**
 * Reads a generateContent response into what the gateway sells: the final images
 * (thought images are interim drafts, not results), any text, and why there is no
 * image when there is none. A 200 without an image is a normal outcome, not an error.
 */
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
	};
}
