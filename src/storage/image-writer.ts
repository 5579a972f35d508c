/**
 * Writes one base64-encoded image into R2 as it streams in, holding only what it needs.
 *
 * Base64 characters are decoded with `Uint8Array.prototype.setFromBase64` straight into
 * blocks that are never copied or grown: when a block is full the next one is added, half
 * as large as what came before (64 KiB at first), so room beyond the bytes is at most a
 * third of them and a 5 MB image takes about a dozen blocks, not a dozen copies into ever
 * larger buffers. With a hint (an upper bound of the image's size, from what is left of
 * Gemini's body: 3 bytes per 4 characters) no block is larger than what can still come,
 * so a 14 KB image holds about 14 KB. An image that fits one part goes up with a single
 * `put` of known length (its blocks as one body, src/storage/pieces.ts); a larger one
 * becomes an R2 multipart upload of equal PART_SIZE parts (R2 wants parts of at least
 * 5 MiB, equal but for the last), each part its blocks. The content type and extension
 * come from sniffing the first decoded bytes. Nothing reaches its final key until
 * `commit()`; `discard()` aborts an open upload, so a failed or unwanted image leaves no
 * object and no open upload behind.
 */
import { type ImageKind, sniffImage } from "../lib/image-bytes";
import { IMMUTABLE, NotAnImageError } from "./images";
import { piecesBody } from "./pieces";

/** 5 MiB + 1: R2's minimum part size, rounded up to a multiple of 3 so 4-character groups align. */
export const PART_SIZE = 5 * 1024 * 1024 + 1;

/** The first block without a hint (a multiple of 3, as every block is, so groups fill it exactly). */
const FIRST_BLOCK = 64 * 1024 + 2;

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
	/** The current part's full blocks, in order, and their bytes. */
	private full: Uint8Array<ArrayBuffer>[] = [];
	private fullBytes = 0;
	/** The block being filled, and how much of it is. */
	private block: Uint8Array<ArrayBuffer>;
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
		this.block = new Uint8Array(this.nextBlockSize());
	}

	/** Bytes decoded so far. */
	get size(): number {
		return this.flushed + this.fullBytes + this.filled;
	}

	/** Bytes held in this writer's blocks right now (for tests and the benchmark). */
	get capacity(): number {
		return this.fullBytes + this.block.length;
	}

	/**
	 * The next block: half of what came before (at least FIRST_BLOCK), no more than the part
	 * has room for, nor than the hint says can still come.
	 */
	private nextBlockSize(): number {
		const before = this.flushed + this.fullBytes;
		let bytes = Math.max(FIRST_BLOCK, Math.floor(before / 2));
		// A hint already passed was wrong (a compressed body's length understates it): ignore it.
		if (this.sizeHint !== undefined && this.sizeHint > before) bytes = Math.min(bytes, this.sizeHint - before);
		return Math.min(this.partSize - this.fullBytes, roundUp3(Math.max(3, bytes)));
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

	/** Decodes `s` into the blocks (adding blocks as needed), keeping a last partial group in `pending`. */
	private async decode(chars: string): Promise<void> {
		let s = chars;
		for (;;) {
			const { read, written } = this.block.subarray(this.filled).setFromBase64(s, { lastChunkHandling: "stop-before-partial" });
			this.filled += written;
			s = s.slice(read);
			// Less than one 4-character group left: wait for more characters.
			if (s.length < 4) break;
			await this.nextBlock();
		}
		this.pending = s;
	}

	/** The block is full and more is coming: keep it, send the part if it is whole, start a new block. */
	private async nextBlock(): Promise<void> {
		const block = this.block.subarray(0, this.filled);
		this.full.push(block);
		this.fullBytes += block.length;
		this.filled = 0;
		this.block = new Uint8Array(0);
		if (this.fullBytes >= this.partSize) await this.flushPart();
		this.block = new Uint8Array(this.nextBlockSize());
	}

	private sniff(): ImageKind {
		if (!this.kind) {
			// The first block: the part's first full one, or the one being filled. The first part
			// is only sent after its key (and so this) has been asked for.
			const first = this.full[0] ?? this.block.subarray(0, this.filled);
			this.kind = sniffImage(first.subarray(0, 32));
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
		const blocks = this.full;
		this.full = [];
		this.flushed += this.fullBytes;
		this.fullBytes = 0;
		this.parts.push(await this.upload.uploadPart(this.parts.length + 1, piecesBody(blocks)));
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
				if (this.block.length - this.filled < 3) await this.nextBlock();
				const { written } = this.block.subarray(this.filled).setFromBase64(this.pending, { lastChunkHandling: "loose" });
				this.filled += written;
				this.pending = "";
			}
			const kind = this.sniff();
			if (this.filled > 0) {
				this.full.push(this.block.subarray(0, this.filled));
				this.fullBytes += this.filled;
				this.filled = 0;
			}
			if (!this.upload) {
				await this.bucket.put(this.key, piecesBody(this.full), {
					httpMetadata: { contentType: kind.mimeType, cacheControl: IMMUTABLE },
					customMetadata: { ...this.meta },
				});
			} else {
				if (this.fullBytes > 0) await this.flushPart();
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
		this.full = [];
		this.fullBytes = 0;
		this.block = new Uint8Array(0);
		this.filled = 0;
	}
}
