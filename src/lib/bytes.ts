/** Byte arrays joined into one of `size` bytes (their total, when the caller has counted it). */
export function joinBytes(pieces: readonly Uint8Array[], size = pieces.reduce((n, p) => n + p.byteLength, 0)): Uint8Array {
	const out = new Uint8Array(size);
	let at = 0;
	for (const p of pieces) {
		out.set(p, at);
		at += p.byteLength;
	}
	return out;
}
