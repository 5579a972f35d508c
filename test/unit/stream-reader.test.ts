import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GeminiConnectionError, GeminiMalformedResponseError } from "../../src/gemini/errors";
import { jsonWithSignatures } from "../../src/gemini/kept-signatures";
import { readOutcome } from "../../src/gemini/result";
import { placeholderIndex, readStreamed } from "../../src/gemini/stream-reader";
import { ImageWriter } from "../../src/storage/image-writer";

const enc = new TextEncoder();

/** A body that arrives in the given chunk sizes (cycled). */
function chunked(text: string | Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
	const bytes = typeof text === "string" ? enc.encode(text) : text;
	let at = 0;
	let k = 0;
	return new ReadableStream({
		pull(c) {
			if (at >= bytes.length) return c.close();
			const n = Math.max(1, sizes[k++ % sizes.length]);
			c.enqueue(bytes.slice(at, at + n));
			at += n;
		},
	});
}

/** The same, as a byte stream (what fetch gives): read with BYOB readers. */
function byteChunked(text: string | Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
	const bytes = typeof text === "string" ? enc.encode(text) : text;
	let at = 0;
	let k = 0;
	return new ReadableStream({
		type: "bytes",
		pull(c) {
			if (at >= bytes.length) return c.close();
			const n = Math.max(1, sizes[k++ % sizes.length]);
			c.enqueue(bytes.slice(at, at + n));
			at += n;
		},
	});
}

/** Collects what the scanner streams for each image. */
function collector() {
	const images: string[] = [];
	const sink = {
		open: (n: number) => {
			images[n] = "";
			return {
				write: async (s: string) => {
					images[n] += s;
				},
			};
		},
	};
	return { images, sink };
}

const PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

function body(parts: unknown[], extra: object = {}): string {
	return JSON.stringify({
		candidates: [{ content: { role: "model", parts }, finishReason: "STOP", index: 0 }],
		usageMetadata: { promptTokenCount: 7, candidatesTokenCount: 1290, totalTokenCount: 1297 },
		...extra,
	});
}

describe("StreamScanner", () => {
	it("gives the same result as JSON.parse, with images streamed out, for every chunk size down to 1 byte", async () => {
		const text = body([
			{ text: "planning", thought: true },
			{ inlineData: { mimeType: "image/png", data: "QUJD" }, thought: true },
			{ text: "Here you go", thoughtSignature: "c2lnMA==" },
			{ inlineData: { mimeType: "image/png", data: PNG_B64 }, thoughtSignature: "c2lnMQ==" },
			{ text: "and a second one" },
			{ inlineData: { mimeType: "image/jpeg", data: "REVG" } },
		]);
		const expected = JSON.parse(text);
		for (const sizes of [[1], [2], [3], [7], [64], [1, 5, 2, 9], [100_000]]) {
			const c = collector();
			const res = await readStreamed(chunked(text, sizes), c.sink);
			expect(c.images).toEqual(["QUJD", PNG_B64, "REVG"]);
			const parts = res.candidates?.[0]?.content?.parts ?? [];
			expect(parts.map((p) => placeholderIndex(p.inlineData?.data))).toEqual([undefined, 0, undefined, 1, undefined, 2]);
			const outcome = readOutcome(res);
			expect(outcome.images.map((i) => placeholderIndex(i.data))).toEqual([1, 2]);
			expect(outcome.thoughtImages).toBe(1);
			expect(outcome.usage.candidatesTokenCount).toBe(1290);
			// Everything but the image strings and the (skipped) signatures is exactly what JSON.parse gives.
			expect(parts.map((p) => p.thoughtSignature)).toEqual([
				undefined,
				undefined,
				"nbg-sig-skipped",
				"nbg-sig-skipped",
				undefined,
				undefined,
			]);
			for (const p of parts) if (p.inlineData) p.inlineData.data = "";
			for (const p of expected.candidates[0].content.parts) {
				if (p.inlineData) p.inlineData.data = "";
				if (p.thoughtSignature) p.thoughtSignature = "nbg-sig-skipped";
			}
			expect(res).toEqual(expected);
		}
	});

	it("keeps each thought signature as the body's bytes, in pieces, and writes them back into stored JSON", async () => {
		// A signature with escapes (Google sends none in base64, but JSON allows "\/") and one split anywhere.
		const long = "c2lnOj".repeat(5000);
		const text = body([
			{ text: "Here you go", thoughtSignature: "c2lnMA==" },
			{ inlineData: { mimeType: "image/png", data: PNG_B64 }, thoughtSignature: long },
			{ text: "escaped", thought_signature: "ab/cd" },
		]).replace('"ab/cd"', '"ab\\/cd"');
		for (const sizes of [[1], [3], [7], [4096], [100_000]]) {
			const kept: Uint8Array[][] = [];
			const c = collector();
			const sink = {
				...c.sink,
				signature: (n: number, pieces: Uint8Array[]) => {
					kept[n] = pieces;
				},
			};
			const res = await readStreamed(chunked(text, sizes), sink);
			const parts = res.candidates?.[0]?.content?.parts ?? [];
			expect(parts.map((p) => p.thoughtSignature ?? (p as { thought_signature?: string }).thought_signature)).toEqual([
				"nbg-sig:0",
				"nbg-sig:1",
				"nbg-sig:2",
			]);
			// The signatures never went through the reduced JSON: they come back whole from the pieces.
			const stored = JSON.parse(await new Blob(jsonWithSignatures({ parts }, kept)).text()) as { parts: typeof parts };
			expect(stored.parts.map((p) => p.thoughtSignature ?? (p as { thought_signature?: string }).thought_signature)).toEqual([
				"c2lnMA==",
				long,
				"ab/cd",
			]);
		}
	});

	it("a skipped signature can never be stored", () => {
		expect(() => jsonWithSignatures({ parts: [{ thoughtSignature: "nbg-sig-skipped" }] })).toThrow(/skipped/);
		expect(() => jsonWithSignatures({ parts: [{ thoughtSignature: "nbg-sig:3" }] }, [])).toThrow(/not kept/);
	});

	it("unescapes \\/ and \\uXXXX inside base64, across chunk boundaries", async () => {
		const escaped = PNG_B64.replaceAll("/", "\\/").replace("A", "\\u0041");
		const text = `{"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"${escaped}"}}]}}]}`;
		for (const sizes of [[1], [2], [5], [13]]) {
			const c = collector();
			await readStreamed(chunked(text, sizes), c.sink);
			expect(c.images).toEqual([PNG_B64]);
		}
	});

	it("reads snake_case inline_data and any key order", async () => {
		const text = `{"candidates":[{"content":{"parts":[{"thought":false,"inline_data":{"data":"${PNG_B64}","mime_type":"image/png"}}]}}]}`;
		const c = collector();
		const res = await readStreamed(chunked(text, [3]), c.sink);
		expect(c.images).toEqual([PNG_B64]);
		expect(readOutcome(res).images).toHaveLength(1);
	});

	it("an image part with no data streams nothing and is no result", async () => {
		const c = collector();
		const res = await readStreamed(chunked(body([{ inlineData: { mimeType: "image/png" } }]), [4]), c.sink);
		expect(c.images).toEqual([]);
		expect(readOutcome(res).images).toEqual([]);
	});

	it("a 'data' key outside inlineData is ordinary JSON", async () => {
		const text = body([{ text: "x" }], { data: "not an image", promptFeedback: { data: "nope" } });
		const c = collector();
		const res = (await readStreamed(chunked(text, [2]), c.sink)) as unknown as { data: string };
		expect(c.images).toEqual([]);
		expect(res.data).toBe("not an image");
	});

	it("property: text with any characters and escapes, signatures and images with escapes, any chunking: what JSON.parse gives", async () => {
		// Chunks with multi-byte UTF-8 are searched byte by byte, ASCII ones as text: both must agree.
		const tricky = fc.constantFrom('"', "\\", "/", "é", "🍌", "\n", "\u0000", "a", "b");
		const text = fc.oneof(fc.string({ unit: tricky, maxLength: 40 }), fc.string({ unit: "binary", maxLength: 40 }));
		const b64 = fc.base64String({ maxLength: 24 });
		await fc.assert(
			fc.asyncProperty(
				fc.array(fc.tuple(text, b64, b64), { minLength: 1, maxLength: 4 }),
				fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 5 }),
				async (rows, sizes) => {
					const parts = rows.flatMap(([t, img, sig]) => [
						{ text: t, thoughtSignature: sig },
						{ inlineData: { mimeType: "image/png", data: img } },
					]);
					// JSON.stringify never escapes "/", Google may: escape every slash, a valid JSON spelling.
					const raw = body(parts).replaceAll("/", "\\/");
					const expected = JSON.parse(raw);
					const c = collector();
					const kept: Uint8Array[][] = [];
					const res = await readStreamed(chunked(raw, sizes), { ...c.sink, signature: (n, pieces) => (kept[n] = pieces) });
					expect(c.images).toEqual(rows.map(([, img]) => img));
					const got = res.candidates?.[0]?.content?.parts ?? [];
					expect(got.map((p) => p.text)).toEqual(expected.candidates[0].content.parts.map((p: { text?: string }) => p.text));
					const stored = JSON.parse(await new Blob(jsonWithSignatures(got, kept)).text());
					expect(stored.map((p: { thoughtSignature?: string }) => p.thoughtSignature)).toEqual(
						expected.candidates[0].content.parts.map((p: { thoughtSignature?: string }) => p.thoughtSignature),
					);
				},
			),
			{ numRuns: 300 },
		);
	});

	it("a huge text part with escapes comes through intact", async () => {
		const huge = `${'line with "quotes" and \\ backslashes\n'.repeat(60_000)}end`;
		const c = collector();
		const res = await readStreamed(
			chunked(body([{ text: huge }, { inlineData: { mimeType: "image/png", data: PNG_B64 } }]), [65_536, 1, 4_096]),
			c.sink,
		);
		expect(readOutcome(res).text).toBe(huge);
		expect(c.images).toEqual([PNG_B64]);
	});

	it("a body that ends mid-string is a typed error; a dropped connection is retryable", async () => {
		const text = body([{ inlineData: { mimeType: "image/png", data: PNG_B64 } }]);
		const cut = text.slice(0, text.indexOf(PNG_B64) + 20);
		await expect(readStreamed(chunked(cut, [7]), collector().sink)).rejects.toBeInstanceOf(GeminiMalformedResponseError);
		const dropped = new ReadableStream<Uint8Array>({
			start(c) {
				c.enqueue(enc.encode(cut));
				c.error(new TypeError("connection reset"));
			},
		});
		const err = await readStreamed(dropped, collector().sink).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(GeminiConnectionError);
		expect((err as GeminiConnectionError).retryable).toBe(true);
		await expect(readStreamed(chunked("not json at all", [3]), collector().sink)).rejects.toBeInstanceOf(GeminiMalformedResponseError);
	});
});

describe("reading byte streams in large pieces", () => {
	it("reads at least 64 KiB at a time from a body that trickles in 4 KiB chunks, into one reused buffer, losing nothing", async () => {
		const raw = new Uint8Array(300_000);
		for (let at = 0; at < raw.length; at += 65_536) crypto.getRandomValues(raw.subarray(at, at + 65_536));
		const image = raw.toBase64();
		const text = body([{ text: "hi" }, { inlineData: { mimeType: "image/png", data: image } }]);
		const pieces: number[] = [];
		let got = "";
		const sink = {
			open: () => ({
				write: async (chars: string) => {
					pieces.push(chars.length);
					got += chars;
				},
			}),
		};
		const res = await readStreamed(byteChunked(text, [4096]), sink);
		expect(got).toBe(image);
		expect(readOutcome(res).text).toBe("hi");
		// 400 KB of base64 in pieces of at least 64 KiB: a handful of writes, not a hundred.
		expect(pieces.length).toBeLessThanOrEqual(Math.ceil(image.length / (64 * 1024)) + 1);
		for (const n of pieces.slice(1, -1)) expect(n).toBeGreaterThanOrEqual(64 * 1024);
	});

	it("gives the same answer as JSON.parse through BYOB reads for every chunking", async () => {
		const text = body([{ inlineData: { mimeType: "image/png", data: PNG_B64 } }, { text: "after" }], { promptFeedback: {} });
		for (const sizes of [[1], [3, 1000], [65_536], [70_000]]) {
			const c = collector();
			const res = await readStreamed(byteChunked(text, sizes), c.sink);
			expect(c.images).toEqual([PNG_B64]);
			expect(readOutcome(res).text).toBe("after");
		}
	});

	it("reads whole bodies whose stated length is exact, larger or understated (a compressed body's), with buffers sized from it", async () => {
		const text = body([{ inlineData: { mimeType: "image/png", data: PNG_B64.repeat(600) } }, { text: "after" }]);
		const length = enc.encode(text).length;
		for (const stated of [length, 10, 40_000, 10 * length]) {
			const c = collector();
			const res = await readStreamed(byteChunked(text, [70_000, 3]), c.sink, stated);
			expect(c.images).toEqual([PNG_B64.repeat(600)]);
			expect(readOutcome(res).text).toBe("after");
		}
	});

	it("tells each image how much of the body is left when the length is known", async () => {
		const text = body([{ text: "x" }, { inlineData: { mimeType: "image/png", data: PNG_B64 } }]);
		const lefts: Array<number | undefined> = [];
		const sink = {
			open: (_n: number, left?: number) => {
				lefts.push(left);
				return { write: async () => undefined };
			},
		};
		await readStreamed(byteChunked(text, [5]), sink, enc.encode(text).length);
		const after = text.length - text.indexOf(PNG_B64);
		expect(lefts[0]).toBe(after);
		await readStreamed(byteChunked(text, [5]), sink);
		expect(lefts[1]).toBeUndefined();
	});
});

describe("scanner + ImageWriter into R2", () => {
	it("property: for random images and random chunkings, the bytes in R2 equal the bytes encoded", async () => {
		let run = 0;
		await fc.assert(
			fc.asyncProperty(
				fc.uint8Array({ minLength: 0, maxLength: 40_000 }),
				fc.array(fc.integer({ min: 1, max: 5_000 }), { minLength: 1, maxLength: 8 }),
				fc.boolean(),
				async (payload, sizes, escapeSlashes) => {
					const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...payload]);
					let b64 = bytes.toBase64();
					if (escapeSlashes) b64 = b64.replaceAll("/", "\\/");
					const text = `{"candidates":[{"content":{"parts":[{"text":"hi"},{"inlineData":{"mimeType":"image/png","data":"${b64}"}}]}}]}`;
					const writers: ImageWriter[] = [];
					const stem = `test/property/${run++}`;
					await readStreamed(chunked(text, sizes), {
						open: (n) => (writers[n] = new ImageWriter(env.IMAGES, stem, { requestId: "r", model: "m", keyId: "k" })),
					});
					const stored = await writers[0].commit();
					const obj = await env.IMAGES.get(stored.key);
					expect(new Uint8Array((await obj?.arrayBuffer()) ?? new ArrayBuffer(0))).toEqual(bytes);
					expect(obj?.httpMetadata?.contentType).toBe("image/png");
				},
			),
			{ numRuns: 40 },
		);
	});
});
