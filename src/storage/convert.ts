/**
 * Images in the format a request asks for (`output_format`, `output_compression` in the
 * OpenAI, chat and OpenRouter dialects), made by Cloudflare's Images binding
 * (`IMAGE_TRANSFORM`; `IMAGES` names the R2 bucket). Converted once, at store time: Gemini's
 * image is stored first (streamed from its body into R2 as before), then read back,
 * transformed and stored again under the same name with the new extension. The original is
 * deleted unless the operator keeps originals (KEEP_ORIGINAL_IMAGES); the converted object is
 * the one delivered and charged (conversion never changes the charge).
 */
import { type ImageKind, sniffImage } from "../lib/image-bytes";
import { IMMUTABLE, type StoredImage } from "./images";

/** The formats the Images binding produces (`output()`'s image/* formats but GIF, which it cannot make locally). */
export const OUTPUT_FORMATS = ["png", "jpeg", "webp", "avif"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** What a request asks its images to be. */
export interface OutputAsk {
	format: OutputFormat;
	/** 0-100, OpenAI's scale (100: the least compression); unset: the binding's default quality. */
	compression?: number;
}

const MIME: Record<OutputFormat, "image/png" | "image/jpeg" | "image/webp" | "image/avif"> = {
	png: "image/png",
	jpeg: "image/jpeg",
	webp: "image/webp",
	avif: "image/avif",
};

/** What conversion needs: the public bucket and the Images binding. */
export type ConvertEnv = Pick<Env, "IMAGES" | "IMAGE_TRANSFORM">;

/**
 * Converts a stored image to `ask`, returning the image to deliver. An image already in the
 * asked format with no compression asked is delivered as stored. The converted object goes
 * to `{stem}.{ext}` beside the original; the original is deleted unless `keepOriginal`
 * (when both would share one key, a JPEG re-encoded as JPEG, a kept original moves to
 * `{stem}.original.{ext}`). On a failure nothing converted is left and, unless kept, the
 * original is deleted too, so the caller sees one failed image and R2 holds no orphan.
 */
export async function convertStored(
	env: ConvertEnv,
	stored: StoredImage,
	ask: OutputAsk,
	meta: Record<string, string>,
	keepOriginal: boolean,
): Promise<StoredImage> {
	const mime = MIME[ask.format];
	if (stored.kind.mimeType === mime && ask.compression === undefined) return stored;
	const stem = stored.key.slice(0, stored.key.length - stored.kind.ext.length - 1);
	let written: string | undefined;
	try {
		const obj = await env.IMAGES.get(stored.key);
		if (!obj) throw new Error(`stored image ${stored.key} is missing`);
		const original = new Uint8Array(await obj.arrayBuffer());
		const result = await env.IMAGE_TRANSFORM.input(new Blob([original]).stream()).output({
			format: mime,
			// Cloudflare's quality is 1-100; OpenAI's compression 0 is its lowest quality.
			...(ask.compression !== undefined ? { quality: Math.max(1, ask.compression) } : {}),
		});
		const bytes = new Uint8Array(await new Response(result.image()).arrayBuffer());
		const kind = sniffImage(bytes);
		if (kind?.mimeType !== mime) throw new Error(`the Images binding answered ${kind?.mimeType ?? "unknown bytes"}, not ${mime}`);
		const key = `${stem}.${kind.ext}`;
		const sameKey = key === stored.key;
		if (sameKey && keepOriginal) {
			await env.IMAGES.put(`${stem}.original.${stored.kind.ext}`, original, {
				httpMetadata: { contentType: stored.kind.mimeType, cacheControl: IMMUTABLE },
				customMetadata: meta,
			});
		}
		written = key;
		await env.IMAGES.put(key, bytes, {
			httpMetadata: { contentType: kind.mimeType, cacheControl: IMMUTABLE },
			customMetadata: { ...meta, convertedFrom: stored.kind.mimeType },
		});
		if (!sameKey && !keepOriginal) await env.IMAGES.delete(stored.key);
		return { key, kind, size: bytes.byteLength };
	} catch (error) {
		const drop = [written, keepOriginal ? undefined : stored.key].filter((k): k is string => k !== undefined && k !== "");
		await env.IMAGES.delete([...new Set(drop)]).catch(() => undefined);
		throw error;
	}
}

/** A stored image known by its key, type and size (the Batch lane's record of it). */
export function storedOf(key: string, mimeType: string, size: number): StoredImage {
	const kind = { mimeType, ext: key.slice(key.lastIndexOf(".") + 1) } as ImageKind;
	return { key, kind, size };
}
