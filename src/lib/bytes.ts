/** Byte arrays joined into one of `size` bytes, their total (counted by the caller as they came). */
export function joinBytes(pieces: readonly Uint8Array[], size: number): Uint8Array {
	const out = new Uint8Array(size);
	let at = 0;
	for (const p of pieces) {
		out.set(p, at);
		at += p.byteLength;
	}
	return out;
}
