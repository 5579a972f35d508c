/**
 * Generated images in R2: the key scheme, the put (content type from the bytes, never
 * from Gemini's label) and the public URL.
 */
import { type ImageKind, sniffImage } from "../lib/image-bytes";

export const IMMUTABLE = "public, max-age=31536000, immutable";

/**
 * generated/{model}/{keyId}/{yyyy}/{mm}/{dd}/{requestId}-{i}: the readable part of an
 * image's name (a content pipeline's output prefix goes after the key id). Every stored
 * image adds its own `unguessable` part and the extension once sniffed.
 */
export function imageKeyStem(model: string, keyId: string, requestId: string, index: number, at: Date, prefix?: string): string {
	const yyyy = at.getUTCFullYear();
	const mm = String(at.getUTCMonth() + 1).padStart(2, "0");
	const dd = String(at.getUTCDate()).padStart(2, "0");
	return `generated/${model}/${keyId}/${prefix ? `${prefix}/` : ""}${yyyy}/${mm}/${dd}/${requestId}-${index}`;
}

/**
 * `{stem}-{32 hex}`: 128 random bits per stored image. Image URLs are public capabilities
 * (the bucket may be a public domain); without this part, one URL (or a request or job id)
 * would lead to every other image of the request, the key and the day.
 */
export function unguessable(stem: string): string {
	return `${stem}-${crypto.getRandomValues(new Uint8Array(16)).toHex()}`;
}

export interface StoredImage {
	key: string;
	kind: ImageKind;
	size: number;
}

export class NotAnImageError extends Error {}

/** Stores decoded bytes under `stem.{png|jpg|...}`; refuses bytes that are no image. */
export async function putImage(
	bucket: R2Bucket,
	stem: string,
	bytes: Uint8Array,
	meta: { requestId: string; model: string; keyId: string },
): Promise<StoredImage> {
	const kind = sniffImage(bytes);
	if (!kind) throw new NotAnImageError("Gemini returned image data that is neither PNG, JPEG nor WebP");
	const key = `${stem}.${kind.ext}`;
	await bucket.put(key, bytes, {
		httpMetadata: { contentType: kind.mimeType, cacheControl: IMMUTABLE },
		customMetadata: meta,
	});
	return { key, kind, size: bytes.byteLength };
}

/** PUBLIC_BASE_URL/{key} when a public bucket domain is set, else served by /images/{key}. */
export function imageUrl(key: string, publicBaseUrl: string | undefined, origin: string): string {
	return publicBaseUrl ? `${publicBaseUrl}/${key}` : `${origin}/images/${key}`;
}
