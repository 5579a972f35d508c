/**
 * An R2 body made of several byte arrays, sent without joining them. R2 needs a body's
 * length before it starts, so pieces go through a `FixedLengthStream` of their total; one
 * piece is passed as it is. Joining would hold the body twice while it is copied: an
 * image's blocks (src/storage/image-writer.ts) or a turn's thought signatures
 * (src/gemini/kept-signatures.ts) are a megabyte or more.
 */

/** Total bytes of the pieces. */
export function piecesSize(pieces: readonly Uint8Array[]): number {
	let n = 0;
	for (const p of pieces) n += p.byteLength;
	return n;
}

/**
 * A body of known length for `put` or `uploadPart`. The pieces are written as the bucket
 * reads them; if it stops reading (the put failed), the writes end with it.
 */
export function piecesBody(pieces: readonly Uint8Array[]): Uint8Array | ReadableStream<Uint8Array> {
	if (pieces.length === 1) return pieces[0];
	if (pieces.length === 0) return new Uint8Array(0);
	const { readable, writable } = new FixedLengthStream(piecesSize(pieces));
	const writer = writable.getWriter();
	void (async () => {
		try {
			for (const p of pieces) await writer.write(p);
			await writer.close();
		} catch (error) {
			await writer.abort(error).catch(() => undefined);
		}
	})();
	return readable;
}
