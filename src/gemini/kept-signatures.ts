/**
 * Thought signatures kept as the bytes they arrived in (src/gemini/stream-reader.ts), and
 * written back into JSON for storage. A Gemini 3 signature is larger than its image (over
 * 1 MB at 4K); holding it as a string would mean a growing buffer, a decoded string and a
 * parsed one. Here it stays in the body's pieces until the stored JSON's body is
 * sent (src/storage/pieces.ts: streamed to R2 as they are, joined only when the whole
 * body is at most 1 MiB).
 */
import { SIGNATURE_PLACEHOLDER, SKIPPED_SIGNATURE } from "./stream-reader";

/** Signature n's raw JSON string bytes (escapes included), in pieces; by index as the answer had them. */
export type KeptSignatures = Uint8Array[][];

const encoder = new TextEncoder();
const PLACEHOLDER = new RegExp(`"${SIGNATURE_PLACEHOLDER}(\\d+)"`, "g");

/**
 * `JSON.stringify(value)` as UTF-8 pieces (for `piecesBody`), with each `"nbg-sig:N"`
 * string replaced by signature N's pieces, as they are. Throws on a skipped signature or
 * one not kept: storing either would make a later request fail at Gemini, so it is a bug
 * to stop here.
 */
export function jsonWithSignatures(value: unknown, kept: KeptSignatures = []): Uint8Array[] {
	const text = JSON.stringify(value);
	if (text.includes(SKIPPED_SIGNATURE)) throw new Error("a thought signature was skipped but is needed");
	if (!text.includes(SIGNATURE_PLACEHOLDER)) return [encoder.encode(text)];
	const pieces: Uint8Array[] = [];
	let from = 0;
	for (const m of text.matchAll(PLACEHOLDER)) {
		const sig = kept[Number(m[1])];
		if (!sig) throw new Error(`thought signature ${m[1]} was not kept`);
		pieces.push(encoder.encode(text.slice(from, m.index + 1)), ...sig);
		from = m.index + m[0].length - 1;
	}
	pieces.push(encoder.encode(text.slice(from)));
	return pieces;
}
