/**
 * What an image's bytes really are. Gemini's declared mimeType can be wrong (JPEG bytes
 * labelled image/png), so storage and uploads trust the magic bytes, never the label.
 */

export interface ImageKind {
	readonly mimeType: "image/png" | "image/jpeg" | "image/webp" | "image/gif" | "image/heic" | "image/heif" | "image/avif";
	readonly ext: "png" | "jpg" | "webp" | "gif" | "heic" | "heif" | "avif";
}

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(b: Uint8Array, sig: readonly number[], at = 0): boolean {
	if (b.length < at + sig.length) return false;
	for (let i = 0; i < sig.length; i++) if (b[at + i] !== sig[i]) return false;
	return true;
}

function ascii(b: Uint8Array, at: number, len: number): string {
	return String.fromCharCode(...b.subarray(at, at + len));
}

/** Identifies PNG, JPEG, WebP, GIF, AVIF, HEIC and HEIF from their first 12+ bytes. */
export function sniffImage(b: Uint8Array): ImageKind | undefined {
	if (startsWith(b, PNG)) return { mimeType: "image/png", ext: "png" };
	if (startsWith(b, [0xff, 0xd8, 0xff])) return { mimeType: "image/jpeg", ext: "jpg" };
	if (b.length >= 12 && ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 4) === "WEBP") {
		return { mimeType: "image/webp", ext: "webp" };
	}
	if (b.length >= 6 && (ascii(b, 0, 6) === "GIF87a" || ascii(b, 0, 6) === "GIF89a")) {
		return { mimeType: "image/gif", ext: "gif" };
	}
	if (b.length >= 12 && ascii(b, 4, 4) === "ftyp") {
		const brand = ascii(b, 8, 4);
		if (brand === "avif" || brand === "avis") return { mimeType: "image/avif", ext: "avif" };
		if (["heic", "heix", "heim", "heis", "hevc", "hevx"].includes(brand)) return { mimeType: "image/heic", ext: "heic" };
		if (["mif1", "msf1", "heif"].includes(brand)) return { mimeType: "image/heif", ext: "heif" };
	}
	return undefined;
}

/** Width and height from a PNG IHDR or a JPEG SOF0-2 segment. */
export function imageDimensions(b: Uint8Array): { width: number; height: number } | undefined {
	const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
	if (startsWith(b, PNG) && b.length >= 24) return { width: v.getUint32(16), height: v.getUint32(20) };
	if (!startsWith(b, [0xff, 0xd8])) return undefined;
	let i = 2;
	while (i + 9 < b.length) {
		if (b[i] !== 0xff) return undefined;
		const marker = b[i + 1];
		if (marker >= 0xc0 && marker <= 0xc2) return { height: v.getUint16(i + 5), width: v.getUint16(i + 7) };
		i += 2 + v.getUint16(i + 2);
	}
	return undefined;
}
