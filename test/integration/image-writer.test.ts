import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ImageWriter, PART_SIZE } from "../../src/storage/image-writer";

const META = { requestId: "req_w", model: "nano-banana-pro", keyId: "key_w" };

/** A fake PNG of `size` bytes with deterministic noise after the signature. */
function bigPng(size: number): Uint8Array {
	const b = new Uint8Array(size);
	b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
	let x = 0x12345678;
	for (let i = 8; i < size; i++) {
		x ^= x << 13;
		x ^= x >>> 17;
		x ^= x << 5;
		b[i] = x & 0xff;
	}
	return b;
}

async function digest(bytes: ArrayBuffer | Uint8Array): Promise<string> {
	return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).toHex();
}

/** Feeds base64 in uneven pieces, as a network would. */
async function feed(w: ImageWriter, b64: string) {
	const sizes = [1, 70_001, 3, 1_048_577, 17];
	for (let at = 0, k = 0; at < b64.length; k++) {
		const n = sizes[k % sizes.length];
		await w.write(b64.slice(at, at + n));
		at += n;
	}
}

describe("ImageWriter", () => {
	it("an image larger than two parts goes up as a multipart upload and round-trips byte for byte", async () => {
		const size = 2 * PART_SIZE + 12_345;
		let bytes: Uint8Array | undefined = bigPng(size);
		const want = await digest(bytes);
		const w = new ImageWriter(env.IMAGES, "test/writer/big", META);
		const b64 = bytes.toBase64();
		bytes = undefined;
		await feed(w, b64);
		const stored = await w.commit();
		expect(stored).toMatchObject({ key: "test/writer/big.png", size });
		const obj = await env.IMAGES.get(stored.key);
		expect(obj?.httpMetadata?.contentType).toBe("image/png");
		expect(obj?.customMetadata).toEqual(META);
		expect(obj?.size).toBe(size);
		expect(await digest(await (obj as R2ObjectBody).arrayBuffer())).toBe(want);
	});

	it("an image of a few MiB without a hint is one put of its blocks, streamed (no joined copy), byte for byte", async () => {
		const bytes = bigPng(3 * 1024 * 1024 + 7);
		const w = new ImageWriter(env.IMAGES, "test/writer/streamed", META);
		await feed(w, bytes.toBase64());
		expect(w.capacity).toBeLessThan(bytes.length * 1.34 + 70 * 1024); // blocks: at most a third more than the bytes
		const stored = await w.commit();
		const obj = await env.IMAGES.get(stored.key);
		expect(obj?.size).toBe(bytes.length);
		expect(await digest(await (obj as R2ObjectBody).arrayBuffer())).toBe(await digest(bytes));
	});

	it("a small image is one put of known length", async () => {
		const bytes = bigPng(1000);
		const calls: string[] = [];
		const bucket = new Proxy(env.IMAGES, {
			get(target, prop, receiver) {
				const v = Reflect.get(target, prop, receiver);
				if (typeof v !== "function") return v;
				return (...args: unknown[]) => {
					calls.push(String(prop));
					return v.apply(target, args);
				};
			},
		});
		const w = new ImageWriter(bucket, "test/writer/small", META);
		await feed(w, bytes.toBase64());
		await w.commit();
		expect(calls).toEqual(["put"]);
	});

	it("a failure mid-upload leaves no object and no open upload", async () => {
		let upload: R2MultipartUpload | undefined;
		let aborted = false;
		let partsSent = 0;
		const bucket = new Proxy(env.IMAGES, {
			get(target, prop, receiver) {
				if (prop === "createMultipartUpload") {
					return async (key: string, opts: R2MultipartOptions) => {
						upload = await target.createMultipartUpload(key, opts);
						const real = upload;
						return {
							key: real.key,
							uploadId: real.uploadId,
							uploadPart: async (n: number, v: Uint8Array) => {
								if (++partsSent === 2) throw new Error("R2 went away");
								return real.uploadPart(n, v);
							},
							abort: async () => {
								aborted = true;
								return real.abort();
							},
							complete: (p: R2UploadedPart[]) => real.complete(p),
						};
					};
				}
				const v = Reflect.get(target, prop, receiver);
				return typeof v === "function" ? v.bind(target) : v;
			},
		});
		const w = new ImageWriter(bucket, "test/writer/failing", META);
		const err = await feed(w, bigPng(2 * PART_SIZE + 3).toBase64()).catch((e: unknown) => e);
		expect(String(err)).toContain("R2 went away");
		await w.discard();
		expect(aborted).toBe(true);
		expect(await env.IMAGES.head("test/writer/failing.png")).toBeNull();
		// The upload is gone: resuming it and completing fails.
		const resumed = env.IMAGES.resumeMultipartUpload("test/writer/failing.png", upload?.uploadId ?? "");
		await expect(resumed.complete([])).rejects.toThrow();
	});

	it("holds only what an image needs: sized from a hint, added to in blocks without one, a tail no bigger than what is left", async () => {
		const small = bigPng(14_000);
		const hinted = new ImageWriter(env.IMAGES, "test/writer/hinted", META, { sizeHint: 14_010 });
		await feed(hinted, small.toBase64());
		expect(hinted.capacity).toBeLessThanOrEqual(Math.ceil(14_000 * 1.2));
		await hinted.commit();
		expect(hinted.capacity).toBe(0); // released once committed

		const blind = new ImageWriter(env.IMAGES, "test/writer/blind", META);
		expect(blind.capacity).toBeLessThan(70 * 1024); // not a 5 MiB part for a small image
		await blind.write(bigPng(200_000).toBase64());
		expect(blind.capacity).toBeGreaterThanOrEqual(200_000);
		expect(blind.capacity).toBeLessThan(200_000 * 1.6);
		await blind.discard();

		const size = 2 * PART_SIZE + 12_345;
		const big = bigPng(size);
		const tail = new ImageWriter(env.IMAGES, "test/writer/tail", META, { sizeHint: size });
		expect(tail.capacity).toBeLessThan(70 * 1024); // blocks as the bytes come, not a 5 MiB part up front
		const b64 = big.toBase64();
		const twoParts = ((2 * PART_SIZE) / 3) * 4;
		await tail.write(b64.slice(0, twoParts + 4)); // two full parts sent, a few bytes into the third
		expect(tail.capacity).toBeLessThan(12_345 + 8);
		await tail.write(b64.slice(twoParts + 4));
		const stored = await tail.commit();
		expect(stored.size).toBe(size);
		const obj = await env.IMAGES.get(stored.key);
		expect(await digest(await (obj as R2ObjectBody).arrayBuffer())).toBe(await digest(big));
	});

	it("parts are 5 MiB + 1 byte: R2's minimum, a multiple of 3", () => {
		expect(PART_SIZE).toBe(5 * 1024 * 1024 + 1);
		expect(PART_SIZE % 3).toBe(0);
	});

	it("bytes that are no image are refused at commit, leaving nothing", async () => {
		const w = new ImageWriter(env.IMAGES, "test/writer/html", META);
		await w.write(new TextEncoder().encode("<html>nope</html>").toBase64());
		await expect(w.commit()).rejects.toThrow(/neither PNG/);
		expect((await env.IMAGES.list({ prefix: "test/writer/html" })).objects).toEqual([]);
	});

	it("any chunking of the base64 (pieces of 1 to 9 characters among long ones, padding split) stores the same bytes", async () => {
		// 3 sizes so the last group has no, one and two padding characters.
		// And one over several blocks (64 KiB, then half of what came before), with and without a hint.
		const images = [4_000, 4_001, 4_002, 300_001].map((n) => bigPng(n));
		const cut = fc.array(fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 3_000 })), { minLength: 1, maxLength: 40 });
		let run = 0;
		await fc.assert(
			fc.asyncProperty(fc.constantFrom(0, 1, 2, 3), fc.boolean(), cut, async (which, hinted, sizes) => {
				const bytes = images[which];
				const b64 = bytes.toBase64();
				const w = new ImageWriter(env.IMAGES, `test/writer/chunks-${run++}`, META, hinted ? { sizeHint: bytes.length } : {});
				for (let at = 0, k = 0; at < b64.length; k++) {
					const n = sizes[k % sizes.length];
					await w.write(b64.slice(at, at + n));
					at += n;
				}
				const stored = await w.commit();
				const obj = (await env.IMAGES.get(stored.key)) as R2ObjectBody;
				expect(new Uint8Array(await obj.arrayBuffer())).toEqual(bytes);
			}),
			{ numRuns: 60 },
		);
	});
});
