/**
 * Reads a generateContent response body as it arrives, without ever holding the JSON
 * text of an image. Every `inlineData.data` (or `inline_data.data`) string is handed,
 * unescaped, to a writer as it streams past; everything else is copied into a small
 * "reduced" JSON text in which each image string is replaced by a placeholder, and that
 * text is parsed normally at the end. So text parts, finish and block reasons,
 * usageMetadata and thought flags come out exactly as a buffered `JSON.parse` would give
 * them, while memory stays bounded by the writers.
 *
 * A Gemini 3 `thoughtSignature` is larger than its image (about 533 characters per image
 * token: 0.6 MB at 1K, over 1 MB at 4K), so it never enters the reduced text either. A
 * sink that needs signatures (to keep a turn) gets each one's raw JSON string bytes, in
 * the pieces they arrived in, never one string; the part holds `nbg-sig:N` in its place
 * (src/gemini/kept-signatures.ts writes it back into stored JSON). Without `signature`,
 * the scanner only looks for the string's end and the part holds `nbg-sig-skipped`.
 */
import { GeminiConnectionError, GeminiMalformedResponseError } from "./errors";
import type { GenerateContentResponse } from "./types";

/** Placeholder left in the reduced JSON where image `n`'s base64 was. */
export const INLINE_PLACEHOLDER = "nbg-inline:";

export interface InlineWriter {
	write(chars: string): Promise<void>;
	/** Called when the image string has ended (a writer may finish its upload then). */
	end?(): Promise<void>;
}

/**
 * Receives each image string: `open(n, left)` is called when image n (0-based, document
 * order) starts; `left` is how many bytes of the body remain, when the length is known
 * (the image's characters are among them, so its size is at most 3/4 of that).
 */
export interface InlineSink {
	open(index: number, bytesLeft?: number): InlineWriter;
	/**
	 * Signature `index` (0-based, document order): its JSON string's bytes as they stood in
	 * the body, escapes included, in arrival order. Leave it out to skip signatures.
	 */
	signature?(index: number, pieces: Uint8Array[]): void;
}

/** Placeholder left in the reduced JSON where signature `n` was (with a sink that keeps them). */
export const SIGNATURE_PLACEHOLDER = "nbg-sig:";
/** Left where a signature was skipped (a sink without `signature`): never to be sent to Gemini. */
export const SKIPPED_SIGNATURE = "nbg-sig-skipped";

interface Frame {
	obj: boolean;
	key: string | null;
	expectKey: boolean;
	/** The key under which this container sits in its parent object (null in arrays). */
	parentKey: string | null;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

/** A growable byte buffer for the reduced JSON (small: everything but the images). */
class Bytes {
	private buf: Uint8Array;
	length = 0;
	constructor(capacity = 4096) {
		this.buf = new Uint8Array(capacity);
	}
	/** Empties it, keeping its buffer. */
	clear(): void {
		this.length = 0;
	}
	push(b: number): void {
		if (this.length === this.buf.length) this.grow(1);
		this.buf[this.length++] = b;
	}
	append(src: Uint8Array): void {
		if (this.length + src.length > this.buf.length) this.grow(src.length);
		this.buf.set(src, this.length);
		this.length += src.length;
	}
	private grow(extra: number): void {
		const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + extra));
		next.set(this.buf.subarray(0, this.length));
		this.buf = next;
	}
	text(): string {
		return utf8.decode(this.buf.subarray(0, this.length));
	}
}

// Base64 is ASCII, so the native UTF-8 decoder gives the same characters as latin1, faster.
const utf8 = new TextDecoder();
const encoder = new TextEncoder();

export class StreamScanner {
	private readonly out = new Bytes();
	private readonly stack: Frame[] = [];
	private mode: "none" | "key" | "value" | "stream" | "signature" = "none";
	/** The signature being read: its pieces so far (undefined when skipping it). */
	private sigPieces: Uint8Array[] | undefined;
	private signatures = 0;
	/** Inside a normal string: the previous byte was an unescaped backslash. */
	private escaped = false;
	/** Inside an image string: an escape sequence begun but not finished (e.g. "\\u00"). */
	private pendingEscape = "";
	/** The key being read (one buffer for all keys: they are short). */
	private readonly keyBytes = new Bytes(64);
	private writer: InlineWriter | undefined;
	private images = 0;
	/** The current chunk as text (see find): null until needed, undefined when not one byte per character. */
	private text: string | null | undefined = null;
	/** The last backslash search in this chunk: where it started (-1: none yet) and what it found. */
	private backslashFrom = -1;
	private backslashAt = -1;
	/** Bytes fed before the current chunk, and the current chunk's start offset. */
	private consumed = 0;

	constructor(
		private readonly sink: InlineSink,
		private readonly bodyLength?: number,
	) {}

	get imageCount(): number {
		return this.images;
	}

	/** Scans one chunk. Nothing of `chunk` is kept after this returns, so its buffer may be reused. */
	async feed(chunk: Uint8Array): Promise<void> {
		this.text = null;
		this.backslashFrom = -1;
		let i = 0;
		while (i < chunk.length) {
			if (this.mode === "stream") i = await this.streamString(chunk, i);
			else if (this.mode === "signature") i = this.signatureString(chunk, i);
			else if (this.mode !== "none") i = this.copyString(chunk, i);
			else i = this.structural(chunk, i);
		}
		this.text = null;
		this.consumed += chunk.length;
	}

	/**
	 * Where `byte` (a quote or a backslash) next occurs in the chunk at or after `from`.
	 * Searching the chunk's text is an order of magnitude faster than
	 * `Uint8Array.prototype.indexOf` in V8 (a native memchr against a byte loop: about 5 and
	 * 70 µs per 112 KiB in workerd), and decoding the chunk to text once costs about 10;
	 * it is only used when every byte became one character (no multi-byte UTF-8, which
	 * Gemini's JSON has only inside text parts), so positions in the text are byte offsets.
	 */
	private find(chunk: Uint8Array, byte: number, from: number): number {
		if (byte === BACKSLASH) {
			// Most chunks have no backslash at all: one search to the chunk's end answers every
			// string in it (a search per short key would scan to the end each time).
			if (this.backslashFrom !== -1 && this.backslashFrom <= from && (this.backslashAt === -1 || this.backslashAt >= from)) {
				return this.backslashAt;
			}
			this.backslashFrom = from;
			this.backslashAt = this.search(chunk, byte, from);
			return this.backslashAt;
		}
		return this.search(chunk, byte, from);
	}

	private search(chunk: Uint8Array, byte: number, from: number): number {
		const text = this.textOf(chunk);
		return text === undefined ? chunk.indexOf(byte, from) : text.indexOf(byte === QUOTE ? '"' : "\\", from);
	}

	/** The chunk as text, decoded once per chunk; undefined when a byte did not become one character. */
	private textOf(chunk: Uint8Array): string | undefined {
		if (this.text === null) {
			const text = utf8.decode(chunk);
			this.text = text.length === chunk.length ? text : undefined;
		}
		return this.text;
	}

	/**
	 * The closing quote of the string being read (from `from` on), or -1 when it is not in
	 * this chunk; an escape split across chunks is carried in `escaped`.
	 */
	private stringEnd(chunk: Uint8Array, from: number): number {
		let i = from;
		if (this.escaped) {
			if (i >= chunk.length) return -1;
			this.escaped = false;
			i++;
		}
		let quote = this.find(chunk, QUOTE, i);
		let backslash = this.find(chunk, BACKSLASH, i);
		while (backslash !== -1 && (quote === -1 || backslash < quote)) {
			// An escape: the byte after the backslash is taken as it is, whatever it is.
			const next = backslash + 2;
			if (next > chunk.length) {
				this.escaped = true;
				return -1;
			}
			if (quote !== -1 && quote < next) quote = this.find(chunk, QUOTE, next);
			backslash = this.find(chunk, BACKSLASH, next);
		}
		return quote;
	}

	/** Copies a key or ordinary value string up to its closing quote. */
	private copyString(chunk: Uint8Array, start: number): number {
		const end = this.stringEnd(chunk, start);
		const body = chunk.subarray(start, end === -1 ? chunk.length : end);
		this.out.append(body);
		if (this.mode === "key") this.keyBytes.append(body);
		if (end === -1) return chunk.length;
		this.out.push(QUOTE);
		if (this.mode === "key") {
			const top = this.stack[this.stack.length - 1];
			if (top) top.key = this.keyBytes.text();
		}
		this.mode = "none";
		return end + 1;
	}

	/**
	 * Reads a signature string up to its closing quote, keeping its bytes (a copy of each
	 * chunk's share: the chunk's buffer is reused) or only looking for the quote.
	 */
	private signatureString(chunk: Uint8Array, start: number): number {
		const end = this.stringEnd(chunk, start);
		const stop = end === -1 ? chunk.length : end;
		if (this.sigPieces && stop > start) this.sigPieces.push(chunk.slice(start, stop));
		if (end === -1) return chunk.length;
		if (this.sigPieces) {
			this.sink.signature?.(this.signatures, this.sigPieces);
			this.out.append(encoder.encode(`"${SIGNATURE_PLACEHOLDER}${this.signatures}"`));
		} else {
			this.out.append(encoder.encode(`"${SKIPPED_SIGNATURE}"`));
		}
		this.signatures++;
		this.sigPieces = undefined;
		this.mode = "none";
		return end + 1;
	}

	/** Passes an image string's characters to its writer, unescaping as it goes. */
	private async streamString(chunk: Uint8Array, start: number): Promise<number> {
		const pieces: string[] = [];
		let i = start;
		let ended = false;
		while (i < chunk.length) {
			if (this.pendingEscape) {
				this.pendingEscape += String.fromCharCode(chunk[i++]);
				const e = this.pendingEscape;
				if (e[1] === "u") {
					if (e.length < 6) continue;
					pieces.push(String.fromCharCode(Number.parseInt(e.slice(2), 16)));
				} else {
					pieces.push(ESCAPES[e[1]] ?? e[1]);
				}
				this.pendingEscape = "";
				continue;
			}
			const q = this.find(chunk, QUOTE, i);
			const bs = this.find(chunk, BACKSLASH, i);
			const stop = q === -1 ? bs : bs === -1 ? q : Math.min(q, bs);
			const end = stop === -1 ? chunk.length : stop;
			// The chunk's text shares its characters with a slice: no second decode.
			if (end > i) pieces.push(this.textOf(chunk)?.slice(i, end) ?? utf8.decode(chunk.subarray(i, end)));
			i = end;
			if (stop === -1) break;
			if (stop === bs) {
				this.pendingEscape = "\\";
				i++;
				continue;
			}
			ended = true;
			i++;
			break;
		}
		// Usually one piece: the chunk's characters as they are (join would copy them).
		if (pieces.length > 0) await this.writer?.write(pieces.length === 1 ? pieces[0] : pieces.join(""));
		if (ended) {
			this.out.push(QUOTE);
			const done = this.writer;
			this.writer = undefined;
			this.mode = "none";
			await done?.end?.();
		}
		return i;
	}

	/** Structural characters, numbers and literals, up to the next string. */
	private structural(chunk: Uint8Array, start: number): number {
		let i = start;
		for (; i < chunk.length; i++) {
			const b = chunk[i];
			const top = this.stack[this.stack.length - 1];
			switch (b) {
				case 0x20:
				case 0x0a:
				case 0x0d:
				case 0x09:
					continue;
				case QUOTE:
					if (top?.obj && top.expectKey) {
						this.mode = "key";
						this.keyBytes.clear();
						this.out.push(QUOTE);
					} else if (top?.obj && top.key === "data" && (top.parentKey === "inlineData" || top.parentKey === "inline_data")) {
						this.mode = "stream";
						this.out.append(encoder.encode(`"${INLINE_PLACEHOLDER}${this.images}`));
						this.writer = this.sink.open(
							this.images++,
							this.bodyLength === undefined ? undefined : this.bodyLength - this.consumed - i - 1,
						);
					} else if (top?.obj && (top.key === "thoughtSignature" || top.key === "thought_signature")) {
						this.mode = "signature";
						this.sigPieces = this.sink.signature ? [] : undefined;
					} else {
						this.mode = "value";
						this.out.push(QUOTE);
					}
					return i + 1;
				case 0x7b: // {
					this.stack.push({ obj: true, key: null, expectKey: true, parentKey: top?.obj ? top.key : null });
					break;
				case 0x5b: // [
					this.stack.push({ obj: false, key: null, expectKey: false, parentKey: top?.obj ? top.key : null });
					break;
				case 0x7d: // }
				case 0x5d: // ]
					this.stack.pop();
					break;
				case 0x3a: // :
					if (top) top.expectKey = false;
					break;
				case 0x2c: // ,
					if (top?.obj) {
						top.expectKey = true;
						top.key = null;
					}
					break;
			}
			this.out.push(b);
		}
		return i;
	}

	/** The parsed response (with placeholders), once the whole body has been fed. */
	finish(): GenerateContentResponse {
		if (this.mode !== "none" || this.stack.length > 0 || this.pendingEscape) {
			throw new GeminiMalformedResponseError("Gemini's response ended in the middle of its JSON", { status: 200 });
		}
		try {
			return JSON.parse(this.out.text()) as GenerateContentResponse;
		} catch (cause) {
			throw new GeminiMalformedResponseError("Gemini returned a body that is not valid JSON", { status: 200, cause });
		}
	}
}

/** Bytes asked of the runtime per read: its default chunks are about 4 KiB. */
const MIN_READ = 64 * 1024;
/**
 * At most this much per read. Each read becomes a string of as many characters; below
 * V8's large-object size (128 KiB) those strings die young and cheaply, above it each
 * would wait in large-object space for a full GC, megabytes per image in flight.
 */
const READ_BUFFER = 112 * 1024;

/**
 * Reads a whole body through the scanner, in pieces of 64 to 112 KiB (BYOB reads into
 * one reused buffer) where the body is a byte stream; otherwise chunk by chunk.
 * Network failures mid-body are retryable. `bodyLength` (Content-Length) lets image
 * writers size their buffers.
 */
export async function readStreamed(
	body: ReadableStream<Uint8Array> | null,
	sink: InlineSink,
	bodyLength?: number,
): Promise<GenerateContentResponse> {
	const scanner = new StreamScanner(sink, bodyLength);
	if (!body) return scanner.finish();
	let byob: ReadableStreamBYOBReader | undefined;
	try {
		byob = body.getReader({ mode: "byob" });
	} catch {
		byob = undefined; // not a byte stream
	}
	const cutOff = (cause: unknown) => new GeminiConnectionError("The response from Gemini was cut off", { retryable: true, cause });
	if (byob) {
		// A small body gets a buffer of about its own size, not 112 KiB (at least 16 KiB, as a
		// compressed body's Content-Length understates what it decodes to).
		const size = bodyLength && bodyLength > 0 ? Math.min(READ_BUFFER, Math.max(16 * 1024, bodyLength)) : READ_BUFFER;
		const atLeast = Math.min(MIN_READ, size);
		let buffer = new Uint8Array(size);
		for (;;) {
			let next: ReadableStreamReadResult<Uint8Array>;
			try {
				next = await byob.readAtLeast(atLeast, buffer);
			} catch (cause) {
				throw cutOff(cause);
			}
			if (next.value && next.value.byteLength > 0) await scanner.feed(next.value);
			if (next.done) break;
			// The read transferred the buffer; the returned view owns it now. Reuse it whole.
			buffer = new Uint8Array((next.value?.buffer as ArrayBuffer | undefined) ?? new ArrayBuffer(size));
		}
		return scanner.finish();
	}
	const reader = body.getReader();
	for (;;) {
		let next: ReadableStreamReadResult<Uint8Array>;
		try {
			next = await reader.read();
		} catch (cause) {
			throw cutOff(cause);
		}
		if (next.done) break;
		await scanner.feed(next.value);
	}
	return scanner.finish();
}

/** The image index a placeholder stands for, or undefined for real data. */
export function placeholderIndex(data: string | undefined): number | undefined {
	return data?.startsWith(INLINE_PLACEHOLDER) ? Number(data.slice(INLINE_PLACEHOLDER.length)) : undefined;
}
