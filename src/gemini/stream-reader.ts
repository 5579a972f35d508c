/**
 * Reads a generateContent response body as it arrives, without ever holding the JSON
 * text of an image. Every `inlineData.data` (or `inline_data.data`) string is handed,
 * unescaped, to a writer as it streams past; everything else is copied into a small
 * "reduced" JSON text in which each image string is replaced by a placeholder, and that
 * text is parsed normally at the end. So text parts, finish and block reasons,
 * usageMetadata, thought flags and thoughtSignatures come out exactly as a buffered
 * `JSON.parse` would give them, while memory stays bounded by the writers.
 */
import { GeminiConnectionError, GeminiMalformedResponseError } from "./errors";
import type { GenerateContentResponse } from "./types";

/** Placeholder left in the reduced JSON where image `n`'s base64 was. */
export const INLINE_PLACEHOLDER = "nbg-inline:";

export interface InlineWriter {
	write(chars: string): Promise<void>;
}

/** Receives each image string: `open(n)` is called when image n (0-based, document order) starts. */
export interface InlineSink {
	open(index: number): InlineWriter;
}

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
	private buf = new Uint8Array(4096);
	length = 0;
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
		return new TextDecoder().decode(this.buf.subarray(0, this.length));
	}
}

// Base64 is ASCII, so the native UTF-8 decoder gives the same characters as latin1, faster.
const ascii = new TextDecoder();
const encoder = new TextEncoder();

export class StreamScanner {
	private readonly out = new Bytes();
	private readonly stack: Frame[] = [];
	private mode: "none" | "key" | "value" | "stream" = "none";
	/** Inside a normal string: the previous byte was an unescaped backslash. */
	private escaped = false;
	/** Inside an image string: an escape sequence begun but not finished (e.g. "\\u00"). */
	private pendingEscape = "";
	private keyBytes = new Bytes();
	private writer: InlineWriter | undefined;
	private images = 0;

	constructor(private readonly sink: InlineSink) {}

	get imageCount(): number {
		return this.images;
	}

	async feed(chunk: Uint8Array): Promise<void> {
		let i = 0;
		while (i < chunk.length) {
			if (this.mode === "stream") i = await this.streamString(chunk, i);
			else if (this.mode !== "none") i = this.copyString(chunk, i);
			else i = this.structural(chunk, i);
		}
	}

	/** Copies a key or ordinary value string up to its closing quote. */
	private copyString(chunk: Uint8Array, start: number): number {
		let i = start;
		while (i < chunk.length) {
			const b = chunk[i];
			if (this.escaped) this.escaped = false;
			else if (b === BACKSLASH) this.escaped = true;
			else if (b === QUOTE) break;
			i++;
		}
		const body = chunk.subarray(start, i);
		this.out.append(body);
		if (this.mode === "key") this.keyBytes.append(body);
		if (i === chunk.length) return i;
		this.out.push(QUOTE);
		if (this.mode === "key") {
			const top = this.stack[this.stack.length - 1];
			if (top) top.key = this.keyBytes.text();
		}
		this.mode = "none";
		return i + 1;
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
			const q = chunk.indexOf(QUOTE, i);
			const bs = chunk.indexOf(BACKSLASH, i);
			const stop = q === -1 ? bs : bs === -1 ? q : Math.min(q, bs);
			const end = stop === -1 ? chunk.length : stop;
			if (end > i) pieces.push(ascii.decode(chunk.subarray(i, end)));
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
		if (pieces.length > 0) await this.writer?.write(pieces.join(""));
		if (ended) {
			this.out.push(QUOTE);
			this.writer = undefined;
			this.mode = "none";
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
						this.keyBytes = new Bytes();
						this.out.push(QUOTE);
					} else if (top?.obj && top.key === "data" && (top.parentKey === "inlineData" || top.parentKey === "inline_data")) {
						this.mode = "stream";
						this.out.append(encoder.encode(`"${INLINE_PLACEHOLDER}${this.images}`));
						this.writer = this.sink.open(this.images++);
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

/** Reads a whole body through the scanner. Network failures mid-body are retryable. */
export async function readStreamed(body: ReadableStream<Uint8Array> | null, sink: InlineSink): Promise<GenerateContentResponse> {
	const scanner = new StreamScanner(sink);
	if (!body) return scanner.finish();
	const reader = body.getReader();
	for (;;) {
		let next: ReadableStreamReadResult<Uint8Array>;
		try {
			next = await reader.read();
		} catch (cause) {
			throw new GeminiConnectionError("The response from Gemini was cut off", { retryable: true, cause });
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
