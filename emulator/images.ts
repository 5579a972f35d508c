/**
 * Real image bytes for the Gemini emulator: a PNG encoder (zlib via node:zlib) and a
 * minimal baseline JPEG encoder (grayscale, pseudo-random AC data weighing what Gemini's
 * photographic JPEGs weigh). Both produce files any decoder accepts (checked with sharp,
 * 2026-12-03), at exactly the requested dimensions, deterministic for a seed.
 */
import { createHash } from "node:crypto";
import { deflateSync } from "node:zlib";

const CRC_TABLE = (() => {
	const t = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		t[n] = c >>> 0;
	}
	return t;
})();

function crc32(bytes: Uint8Array): number {
	let c = 0xffffffff;
	for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
	return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Buffer {
	const out = Buffer.alloc(12 + data.length);
	out.writeUInt32BE(data.length, 0);
	out.write(type, 4, "ascii");
	out.set(data, 8);
	out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
	return out;
}

/** xorshift32: cheap, deterministic noise. */
function prng(seed: number): () => number {
	let s = seed >>> 0 || 0x9e3779b9;
	return () => {
		s ^= s << 13;
		s ^= s >>> 17;
		s ^= s << 5;
		return s >>> 0;
	};
}

/**
 * RGB PNG: a seed-coloured gradient with a checker, whose first `noise` fraction of
 * rows is random bytes. Noise does not compress, so `noise` sets the file size: 1.0
 * gives a file as large as the raw pixels (what a big photographic 4K PNG looks like).
 */
export function encodePng(width: number, height: number, seed: number, noise = 0): Buffer {
	const stride = width * 3 + 1;
	const raw = Buffer.alloc(stride * height);
	const noisyRows = Math.round(Math.min(1, Math.max(0, noise)) * height);
	const next = prng(seed);
	const r0 = seed & 0xff;
	const g0 = (seed >>> 8) & 0xff;
	const b0 = (seed >>> 16) & 0xff;
	for (let y = 0; y < height; y++) {
		const row = y * stride;
		raw[row] = 0; // filter: none
		if (y < noisyRows) {
			for (let i = 1; i < stride; i += 4) {
				const v = next();
				raw[row + i] = v;
				if (i + 1 < stride) raw[row + i + 1] = v >>> 8;
				if (i + 2 < stride) raw[row + i + 2] = v >>> 16;
				if (i + 3 < stride) raw[row + i + 3] = v >>> 24;
			}
			continue;
		}
		const gy = Math.floor((y * 255) / height);
		for (let x = 0; x < width; x++) {
			const p = row + 1 + x * 3;
			const checker = ((x >> 6) + (y >> 6)) & 1 ? 48 : 0;
			raw[p] = (r0 + Math.floor((x * 255) / width)) & 0xff;
			raw[p + 1] = (g0 + gy) & 0xff;
			raw[p + 2] = (b0 + checker) & 0xff;
		}
	}
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(width, 0);
	ihdr.writeUInt32BE(height, 4);
	ihdr[8] = 8; // bit depth
	ihdr[9] = 2; // colour type: RGB
	const idat = deflateSync(raw, { level: noisyRows > 0 ? 1 : 6 });
	return Buffer.concat([
		Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		pngChunk("IHDR", ihdr),
		pngChunk("IDAT", idat),
		pngChunk("IEND", new Uint8Array(0)),
	]);
}

/** An entropy-coded segment writer: up to 24 bits at a time, into a buffer that grows by half. */
class BitWriter {
	private buf: Buffer;
	private len = 0;
	private acc = 0;
	private n = 0;
	constructor(capacity: number) {
		this.buf = Buffer.alloc(Math.max(1024, capacity));
	}
	write(bits: number, count: number): void {
		this.acc = ((this.acc << count) | (bits & ((1 << count) - 1))) >>> 0;
		this.n += count;
		while (this.n >= 8) {
			this.n -= 8;
			this.byte((this.acc >>> this.n) & 0xff);
		}
		this.acc &= (1 << this.n) - 1;
	}
	private byte(b: number): void {
		if (this.len + 2 > this.buf.length) {
			const next = Buffer.alloc(Math.ceil(this.buf.length * 1.5));
			this.buf.copy(next, 0, 0, this.len);
			this.buf = next;
		}
		this.buf[this.len++] = b;
		if (b === 0xff) this.buf[this.len++] = 0; // byte stuffing
	}
	finish(): Buffer {
		if (this.n > 0) this.write((1 << (8 - this.n)) - 1, 8 - this.n); // pad with ones
		return this.buf.subarray(0, this.len);
	}
}

// Annex K.3 luminance DC table: code lengths for categories 0..11.
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CODES: Array<[number, number]> = (() => {
	const codes: Array<[number, number]> = [];
	let code = 0;
	let sym = 0;
	for (let len = 1; len <= 16; len++) {
		for (let i = 0; i < DC_BITS[len - 1]; i++) codes[sym++] = [code++, len];
		code <<= 1;
	}
	return codes;
})();

function segment(marker: number, body: number[]): number[] {
	const len = body.length + 2;
	return [0xff, marker, len >> 8, len & 0xff, ...body];
}

/**
 * What a real Gemini 3 JPEG weighs: the recorded 1K answer (1024 x 1024) carried 439,196
 * base64 characters, 329 KB, about 0.31 bytes per pixel (vercel/ai fixture, checked 2026-12-03).
 */
export const JPEG_BYTES_PER_PIXEL = 0.31;

/**
 * Baseline grayscale JPEG at exactly the requested size, any decoder reads it: each 8x8
 * block has a DC value (a gradient seeded per image) and then as many pseudo-random AC
 * coefficients (category 4: 6 bits each) as make the file weigh about `bytesPerPixel`
 * per pixel, like a photographic Gemini JPEG (0 gives DC-only blocks, a tiny file).
 */
export function encodeJpeg(width: number, height: number, seed: number, bytesPerPixel = JPEG_BYTES_PER_PIXEL): Buffer {
	const bw = Math.ceil(width / 8);
	const bh = Math.ceil(height / 8);
	// Bits a block may spend on AC: the budget less about 6 for its DC and 1 for the EOB.
	const acPerBlock = Math.max(0, Math.min(63, Math.round((bytesPerPixel * 64 * 8 - 7) / 6)));
	const out = new BitWriter(Math.ceil(bw * bh * (8 + 6 * acPerBlock) * 0.13) + 1024);
	const next = prng(seed ^ 0x5bd1e995);
	let prev = 0;
	const base = seed & 0x7f;
	for (let by = 0; by < bh; by++) {
		for (let bx = 0; bx < bw; bx++) {
			const level = (base + Math.floor((bx * 96) / bw) + Math.floor((by * 64) / bh)) & 0xff;
			const dc = (level - 128) * 8; // quantiser 1: DC = 8 x mean of level-shifted samples
			const diff = dc - prev;
			prev = dc;
			const mag = Math.abs(diff);
			const cat = mag === 0 ? 0 : 32 - Math.clz32(mag);
			const [code, len] = DC_CODES[cat];
			out.write(code, len);
			if (cat > 0) out.write(diff > 0 ? diff : diff + (1 << cat) - 1, cat);
			// AC symbol 0x04 (run 0, size 4) is coded "10", then 4 bits of magnitude and sign.
			let r = 0;
			for (let k = 0; k < acPerBlock; k++) {
				if (k % 4 === 0) r = next();
				out.write(0b100000 | ((r >>> ((k % 4) * 8)) & 0xf), 6);
			}
			if (acPerBlock < 63) out.write(0, 1); // EOB, coded "0"
		}
	}
	const header = [
		0xff,
		0xd8,
		...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]),
		...segment(0xdb, [0, ...new Array<number>(64).fill(1)]),
		...segment(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]),
		...segment(0xc4, [0x00, ...DC_BITS, ...Array.from({ length: 12 }, (_, i) => i)]),
		// AC table: EOB (0x00) coded "0", run 0 / size 4 (0x04) coded "10".
		...segment(0xc4, [0x10, 1, 1, ...new Array<number>(14).fill(0), 0x00, 0x04]),
		...segment(0xda, [1, 1, 0x00, 0, 63, 0]),
	];
	return Buffer.concat([Buffer.from(header), out.finish(), Buffer.from([0xff, 0xd9])]);
}

/** A stable number from strings: the same request draws the same image. */
export function seedOf(...parts: string[]): number {
	return createHash("sha256").update(parts.join("\u0000")).digest().readUInt32BE(0);
}

const imageCache = new Map<string, Buffer>();

/** An encoded image, kept for reuse (the last 24), since tests ask for the same ones often. */
export function renderImage(format: "png" | "jpeg", width: number, height: number, seed: number, noise: number): Buffer {
	const key = `${format}:${width}x${height}:${seed}:${noise}`;
	let bytes = imageCache.get(key);
	if (!bytes) {
		bytes = format === "png" ? encodePng(width, height, seed, noise) : encodeJpeg(width, height, seed);
		if (imageCache.size >= 24) imageCache.delete(imageCache.keys().next().value as string);
		imageCache.set(key, bytes);
	}
	return bytes;
}

/** True unless base64 `data` decodes to bytes no image format starts with (undefined: no image there). */
export function isImageData(data: string | undefined): boolean {
	if (data === undefined) return true;
	const bytes = /^[A-Za-z0-9+/]*={0,2}$/.test(data) && data.length % 4 === 0 ? Buffer.from(data, "base64") : Buffer.alloc(0);
	return (
		bytes[0] === 0x89 ||
		(bytes[0] === 0xff && bytes[1] === 0xd8) ||
		bytes.subarray(8, 12).toString("latin1") === "WEBP" ||
		bytes.subarray(4, 8).toString("latin1") === "ftyp"
	);
}
