/**
 * Writes one base64-encoded image into R2 as it streams in, in constant memory.
 *
 * Base64 characters are decoded with `Uint8Array.prototype.setFromBase64` straight into
 * one fixed buffer of PART_SIZE bytes. An image that fits the buffer goes up with a
 * single `put` of known length; a larger one becomes an R2 multipart upload of equal
 * PART_SIZE parts (R2 wants parts >= 5 MiB and equal but for the last). The content type
 * and extension come from sniffing the first decoded bytes. Nothing reaches its final
 * key until `commit()`; `discard()` aborts an open upload, so a failed or unwanted image
 * leaves no object and no open upload behind.
 */
import { type ImageKind, sniffImage } from "../lib/image-bytes";
import { IMMUTABLE, NotAnImageError } from "./images";

/** 6 MiB: >= R2's 5 MiB minimum part, and a multiple of 3 so 4-character groups align. */
export const PART_SIZE = 6 * 1024 * 1024;

export interface ImageMeta {
	requestId: string;
	model: string;
	keyId: string;
}

export class ImageWriter {
	private buffer: Uint8Array;
	private filled = 0;
	/** Base64 characters not yet decoded (less than one 4-character group). */
	private pending = "";
	private upload: R2MultipartUpload | undefined;
	private readonly parts: R2UploadedPart[] = [];
	private kind: ImageKind | undefined;
	private flushed = 0;
	private done = false;

	constructor(
		private readonly bucket: R2Bucket,
		private readonly stem: string,
		private readonly meta: ImageMeta,
		partSize = PART_SIZE,
	) {
		if (partSize % 3 !== 0) throw new Error("part size must be a multiple of 3");
		this.buffer = new Uint8Array(partSize);
	}

	/** Bytes decoded so far. */
	get size(): number {
		return this.flushed + this.filled;
	}

	/** Appends base64 characters (any chunking). */
	async write(chars: string): Promise<void> {
		let s = this.pending + chars;
		for (;;) {
			const { read, written } = this.buffer.subarray(this.filled).setFromBase64(s, { lastChunkHandling: "stop-before-partial" });
			this.filled += written;
			s = s.slice(read);
			if (this.filled < this.buffer.length) break;
			await this.flushPart();
		}
		this.pending = s;
	}

	private sniff(): ImageKind {
		if (!this.kind) {
			this.kind = sniffImage(this.buffer.subarray(0, Math.min(this.filled, 32)));
			if (!this.kind) throw new NotAnImageError("Gemini returned image data that is neither PNG, JPEG nor WebP");
		}
		return this.kind;
	}

	get key(): string {
		return `${this.stem}.${this.sniff().ext}`;
	}

	private async flushPart(): Promise<void> {
		if (!this.upload) {
			this.upload = await this.bucket.createMultipartUpload(this.key, {
				httpMetadata: { contentType: this.sniff().mimeType, cacheControl: IMMUTABLE },
				customMetadata: { ...this.meta },
			});
		}
		this.parts.push(await this.upload.uploadPart(this.parts.length + 1, this.buffer.subarray(0, this.filled)));
		this.flushed += this.filled;
		this.filled = 0;
	}

	/** Finishes the image under `{stem}.{ext}`. */
	async commit(): Promise<{ key: string; kind: ImageKind; size: number }> {
		if (this.done) throw new Error("image already finished");
		try {
			if (this.pending) {
				const { written } = this.buffer.subarray(this.filled).setFromBase64(this.pending, { lastChunkHandling: "loose" });
				this.filled += written;
				this.pending = "";
			}
			const kind = this.sniff();
			if (!this.upload) {
				await this.bucket.put(this.key, this.buffer.subarray(0, this.filled), {
					httpMetadata: { contentType: kind.mimeType, cacheControl: IMMUTABLE },
					customMetadata: { ...this.meta },
				});
			} else {
				if (this.filled > 0) await this.flushPart();
				await this.upload.complete(this.parts);
			}
			this.done = true;
			return { key: this.key, kind, size: this.size };
		} catch (error) {
			await this.discard();
			throw error;
		} finally {
			this.release();
		}
	}

	/** Drops the image: aborts an open multipart upload; nothing is left in R2. */
	async discard(): Promise<void> {
		if (this.done) return;
		this.done = true;
		this.release();
		if (this.upload) await this.upload.abort().catch(() => undefined);
	}

	private release(): void {
		this.buffer = new Uint8Array(0);
	}
}
