/**
 * The model turn behind each delivered image, kept so a later request that shows the
 * image again (chat history) can send Gemini the turn that produced it, thought
 * signatures included, instead of a bare picture Gemini 3 would refuse to continue from.
 *
 * R2, in the private bucket (src/storage/private.ts): `turns/{keyId}/{turnId}.json`, where
 * turnId is the image key's file stem (`{requestId}-{index}-{random}`); images handed out as data URLs are also indexed by the SHA-256
 * of their bytes (`turns/{keyId}/sha256/{hex}.json`). Lookups only ever read the caller's
 * own prefix, so another key's image URL never reveals its turn. The turn is stored
 * without the image's base64 (a marker stands in) and rebuilt from the stored image.
 */
import { jsonWithSignatures } from "../gemini/kept-signatures";
import { placeholderIndex } from "../gemini/stream-reader";
import type { GeminiContent, GeminiPart } from "../gemini/types";
import { piecesBody } from "../storage/pieces";
import { type Buckets, getPrivate } from "../storage/private";
import type { DeliveredImage } from "./generate";

/** Stands where the image's base64 goes in a stored turn. */
const IMAGE_MARK = "nbg-stored-image";

export interface StoredTurn {
	keyId: string;
	/** The model the caller asked for (signatures do not carry across models). */
	model: string;
	imageKey: string;
	mimeType: string;
	parts: GeminiPart[];
}

/** `generated/.../req_x-0-{hex}.jpg` -> `req_x-0-{hex}`. */
export function turnIdOf(imageKey: string): string {
	const base = imageKey.slice(imageKey.lastIndexOf("/") + 1);
	const dot = base.lastIndexOf(".");
	return dot === -1 ? base : base.slice(0, dot);
}

/**
 * The model parts of the call that produced `image`, as Gemini must get them back: the
 * result image becomes a marker (its bytes are in R2), and drafts or extra images that
 * were never stored are left out (their thought signatures stay on the other parts).
 */
export function reducedParts(image: DeliveredImage): GeminiPart[] {
	const chosen = image.modelParts.findIndex((p) => (p.inlineData || p.inline_data) && !p.thought);
	const parts: GeminiPart[] = [];
	for (const [i, part] of image.modelParts.entries()) {
		const inline = part.inlineData ?? part.inline_data;
		if (!inline || placeholderIndex(inline.data) === undefined) {
			parts.push(part);
			continue;
		}
		if (i !== chosen) continue;
		const { inline_data: _snake, ...rest } = part;
		parts.push({ ...rest, inlineData: { mimeType: image.mimeType, data: IMAGE_MARK } });
	}
	return parts;
}

/** The turn with the stored image's bytes put back; undefined when the image is gone. */
export async function hydrate(bucket: R2Bucket, parts: GeminiPart[], imageKey: string): Promise<GeminiContent | undefined> {
	if (!parts.some((p) => p.inlineData?.data === IMAGE_MARK)) return { role: "model", parts };
	const obj = await bucket.get(imageKey);
	if (!obj) return undefined;
	const data = new Uint8Array(await obj.arrayBuffer()).toBase64();
	return {
		role: "model",
		parts: parts.map((p) => (p.inlineData?.data === IMAGE_MARK ? { ...p, inlineData: { mimeType: p.inlineData.mimeType, data } } : p)),
	};
}

const turnKey = (keyId: string, turnId: string) => `turns/${keyId}/${turnId}.json`;
const digestKey = (keyId: string, hex: string) => `turns/${keyId}/sha256/${hex}.json`;

/** Hex SHA-256 of image bytes (the data-URL index). */
export async function sha256OfBytes(bytes: Uint8Array): Promise<string> {
	return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).toHex();
}

/**
 * Keeps the turn behind `image`. With `byDigest`, the stored image is read back once and
 * the turn is also indexed by its bytes' SHA-256 (for clients that only keep data URLs).
 */
export async function saveTurn(buckets: Buckets, keyId: string, model: string, image: DeliveredImage, byDigest = false): Promise<void> {
	const turn: StoredTurn = { keyId, model, imageKey: image.key, mimeType: image.mimeType, parts: reducedParts(image) };
	// The signatures go to R2 in the pieces they arrived in (src/gemini/kept-signatures.ts).
	const body = jsonWithSignatures(turn, image.signatures);
	const meta = { httpMetadata: { contentType: "application/json" } };
	const writes = [buckets.PRIVATE.put(turnKey(keyId, turnIdOf(image.key)), piecesBody(body), meta)];
	if (byDigest) {
		const obj = await buckets.IMAGES.get(image.key);
		if (obj)
			writes.push(
				buckets.PRIVATE.put(digestKey(keyId, await sha256OfBytes(new Uint8Array(await obj.arrayBuffer()))), piecesBody(body), meta),
			);
	}
	await Promise.all(writes);
}

async function read(buckets: Buckets, key: string, keyId: string): Promise<StoredTurn | undefined> {
	const found = await getPrivate(buckets, key);
	if (!found) return undefined;
	const turn = await found.obj.json<StoredTurn>();
	return turn.keyId === keyId ? turn : undefined;
}

/** The caller's turn for one of its image keys. */
export function turnForImage(buckets: Buckets, keyId: string, imageKey: string): Promise<StoredTurn | undefined> {
	return read(buckets, turnKey(keyId, turnIdOf(imageKey)), keyId).then((t) => (t?.imageKey === imageKey ? t : undefined));
}

/** The caller's turn for image bytes it was handed as a data URL. */
export async function turnForBytes(buckets: Buckets, keyId: string, bytes: Uint8Array): Promise<StoredTurn | undefined> {
	return read(buckets, digestKey(keyId, await sha256OfBytes(bytes)), keyId);
}
