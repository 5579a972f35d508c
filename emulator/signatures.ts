/**
 * Thought signatures as the Gemini API checks them on Gemini 3 image models, and as big
 * as it issues them.
 */
import { randomBytes } from "node:crypto";

interface Content {
	role?: string;
	parts?: Array<{ inlineData?: unknown; inline_data?: unknown; thought?: boolean; thoughtSignature?: string }>;
}

/** The placeholder Google documents for model turns it did not produce (accepted as a signature). */
export const SKIP_SIGNATURE = "skip_thought_signature_validator";

/**
 * Gemini 3 image models refuse a history whose model turn carries an image without the
 * thought signature Gemini gave it. Google's answer (Gemini API, gemini-3-pro-image-preview;
 * reported in langchain-ai/langchain-google#1431, suurt8ll/open_webui_functions#225 and
 * langgenius/dify-official-plugins#2262) is a 400 INVALID_ARGUMENT:
 *   "Image part is missing a thought_signature in content position 2, part position 1.
 *    Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures#model-behavior for more details."
 * with 1-based positions. (Vertex AI's thought-signatures page says Gemini 3 Pro Image does
 * not enforce this there; the emulator plays the Gemini API, which does.) A signature must
 * also be one this emulator issued (or Google's documented placeholder): Google rejects
 * signatures it cannot verify, so a gateway that invents them fails the tests too (that
 * message is the emulator's own wording).
 */
export function missingSignature(contents: Content[]): string | undefined {
	for (const [ci, content] of contents.entries()) {
		if (content.role !== "model") continue;
		for (const [pi, part] of (content.parts ?? []).entries()) {
			if (!(part.inlineData || part.inline_data) || part.thought) continue;
			const sig = part.thoughtSignature;
			const where = `content position ${ci + 1}, part position ${pi + 1}`;
			if (!sig) {
				return `Image part is missing a thought_signature in ${where}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures#model-behavior for more details.`;
			}
			if (sig !== SKIP_SIGNATURE && !Buffer.from(sig, "base64").toString("latin1").startsWith("sig:")) {
				return `Thought signature is not valid in ${where}.`;
			}
		}
	}
	return undefined;
}

/**
 * Characters of thoughtSignature per output image token: the recorded 3.1 Flash Image
 * answer carried 597,616 for a 1,120-token 1K image (vercel/ai fixture
 * google-image-gemini-3.1-flash-image.json, checked 2026-12-03), so ~0.6 MB at 1K and
 * over 1 MB at 4K, larger than the image, right after its data in the same part.
 */
export const SIGNATURE_CHARS_PER_TOKEN = 533;

/** Opaque bytes for signatures (random once; a signature is "sig:{seed}:" then a slice of them). */
let filler: Buffer | undefined;

/**
 * A signature as big as Google's for an image of `imageTokens` tokens, that
 * `missingSignature` accepts when it comes back (it base64-decodes to "sig:...").
 */
export function issueSignature(seed: number, imageTokens: number): string {
	const bytes = Math.floor((SIGNATURE_CHARS_PER_TOKEN * imageTokens * 3) / 4 / 3) * 3;
	const head = Buffer.from(`sig:${seed}:`);
	const need = Math.max(0, bytes - head.length);
	if (!filler || filler.length < need) filler = randomBytes(Math.max(need, 2 * 1024 * 1024));
	return Buffer.concat([head, filler.subarray(0, need)]).toString("base64");
}
