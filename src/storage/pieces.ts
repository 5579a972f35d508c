/**
 * An R2 body made of several byte arrays: an image's blocks (src/storage/image-writer.ts)
 * or a stored turn's JSON with its thought signatures (src/gemini/kept-signatures.ts), a
 * megabyte or more. R2 needs a body's length before it starts. One piece is passed as it
 * is; a large body goes through a `FixedLengthStream` of its total, never joined, since
 * joining holds it twice while it is copied.
 */

/**
 * A body this small is joined instead, by the runtime (`new Blob(pieces)`: one native copy):
 * it costs less CPU than a stream's writes (a 1K image in workerd: 0.35 ms through a
 * FixedLengthStream; joining it in JS, zero-filled then copied, 0.53 ms of process CPU for
 * 432 KiB against 0.10 as a Blob), and holding it twice for that moment is at most this much.
 */
const JOIN_AT_MOST = 1024 * 1024;

/** Total bytes of the pieces. */
function piecesSize(pieces: readonly Uint8Array[]): number {
	let n = 0;
	for (const p of pieces) n += p.byteLength;
	return n;
}

/**
 * A body of known length for `put` or `uploadPart`. The pieces are written as the bucket
 * reads them; if it stops reading (the put failed), the writes end with it.
 */
export function piecesBody(pieces: readonly Uint8Array[]): Uint8Array | Blob | ReadableStream<Uint8Array> {
	if (pieces.length === 1) return pieces[0];
	const size = piecesSize(pieces);
	if (size <= JOIN_AT_MOST) return new Blob(pieces as Uint8Array<ArrayBuffer>[]);
	const { readable, writable } = new FixedLengthStream(size);
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
