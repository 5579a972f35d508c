/**
 * Writes one base64-encoded image into R2 as it streams in, holding only what it needs.
 *
 * Base64 characters are decoded with `Uint8Array.prototype.setFromBase64` straight into
 * a buffer. An image that fits one part goes up with a single `put` of known length; a
 * larger one becomes an R2 multipart upload of equal PART_SIZE parts (R2 wants parts of
 * at least 5 MiB, equal but for the last). The buffer is sized from a hint when the
 * caller has one (what is left of Gemini's body bounds the image: 3 bytes per 4
 * characters), so a 14 KB image holds about 14 KB, not a part; without a hint it grows
 * by half up to a part. After a full part goes up, the buffer is kept for the next part
 * or, when the hint says less is coming, replaced by one of that size. The content type
 * and extension come from sniffing the first decoded bytes. Nothing reaches its final
 * key until `commit()`; `discard()` aborts an open upload, so a failed or unwanted image
 * leaves no object and no open upload behind.
 */
import { type ImageKind, sniffImage } from "../lib/image-bytes";
import { IMMUTABLE, NotAnImageError } from "./images";

/** 5 MiB + 1: R2's minimum part size, rounded up to a multiple of 3 so 4-character groups align. */
export const PART_SIZE = 5 * 1024 * 1024 + 1;

/** The first buffer when there is no hint; it grows by half as needed. */
const START_SIZE = 64 * 1024 + 2; // a multiple of 3

export interface ImageMeta {
	requestId: string;
	model: string;
	keyId: string;
}

export interface WriterOptions {
	partSize?: number;
	/** An upper bound of the image's size in bytes, when known. */
	sizeHint?: number;
}

const roundUp3 = (n: number) => Math.ceil(n / 3) * 3;

export class ImageWriter {
	private buffer: Uint8Array<ArrayBuffer>;
	private filled = 0;
	/** Base64 characters not yet decoded (less than one 4-character group). */
	private pending = "";
	private upload: R2MultipartUpload | undefined;
	private readonly parts: R2UploadedPart[] = [];
	private kind: ImageKind | undefined;
	private flushed = 0;
	private done = false;
	private readonly partSize: number;
	private readonly sizeHint: number | undefined;

	constructor(
		private readonly bucket: R2Bucket,
		private stem: string,
		private readonly meta: ImageMeta,
		opts: WriterOptions = {},
	) {
		this.partSize = opts.partSize ?? PART_SIZE;
		if (this.partSize % 3 !== 0) throw new Error("part size must be a multiple of 3");
		this.sizeHint = opts.sizeHint;
		this.buffer = new Uint8Array(this.capacityFor(this.sizeHint ?? START_SIZE));
	}

	/** Bytes decoded so far. */
	get size(): number {
		return this.flushed + this.filled;
	}

	/** Bytes held in this writer's buffer right now (for tests and the benchmark). */
	get capacity(): number {
		return this.buffer.length;
	}

	private capacityFor(bytes: number): number {
		return Math.min(this.partSize, roundUp3(Math.max(3, bytes)));
	}

	/** Appends base64 characters (any chunking). */
	async write(chars: string): Promise<void> {
		let s = chars;
		if (this.pending) {
			// Finish the group left over from the last write on its own: `pending + chars` would
			// make V8 copy the whole chunk (a read's worth of characters) to flatten it.
			const need = 4 - this.pending.length;
			if (chars.length < need) {
				this.pending += chars;
				return;
			}
			await this.decode(this.pending + chars.slice(0, need));
			s = chars.slice(need); // a slice shares the chunk's characters
		}
		await this.decode(s);
	}

	/** Decodes `s` into the buffer (making room as needed), keeping a last partial group in `pending`. */
	private async decode(chars: string): Promise<void> {
		let s = chars;
		for (;;) {
			const { read, written } = this.buffer.subarray(this.filled).setFromBase64(s, { lastChunkHandling: "stop-before-partial" });
			this.filled += written;
			s = s.slice(read);
			// Less than one 4-character group left: wait for more characters.
			if (s.length < 4) break;
			await this.makeRoom();
		}
		this.pending = s;
	}

	/** The buffer is full and more is coming: grow it, or send it as a part. */
	private async makeRoom(): Promise<void> {
		if (this.buffer.length < this.partSize) {
			this.resize(this.capacityFor(Math.max(this.buffer.length * 1.5, this.filled + 4096)));
			return;
		}
		await this.flushPart();
		if (this.sizeHint !== undefined) {
			const left = this.sizeHint - this.flushed;
			// Less than a part is coming: hold only that (it is the last part).
			if (left < this.partSize) this.resize(this.capacityFor(left + 3));
		}
	}

	/**
	 * A buffer of `bytes` keeping what is filled. `ArrayBuffer.prototype.transfer` detaches
	 * the old one, so its memory goes back at once instead of lingering until a GC: an
	 * image never holds its old and new buffers together for long.
	 */
	private resize(bytes: number): void {
		this.buffer = new Uint8Array(this.buffer.buffer.transfer(bytes));
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

	/**
	 * Finishes the image under `{stem}.{ext}`; `finalStem` names it instead when its upload
	 * has not begun (an image over one part already went up under the stem it was opened with).
	 */
	async commit(finalStem?: string): Promise<{ key: string; kind: ImageKind; size: number }> {
		if (this.done) throw new Error("image already finished");
		if (finalStem !== undefined && !this.upload) this.stem = finalStem;
		try {
			if (this.pending) {
				// The last group decodes to at most 2 bytes; make room for them.
				if (this.buffer.length - this.filled < 3) await this.makeRoom();
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
