/**
 * A JSON body that embeds R2 objects as base64 strings, produced as a stream with a
 * known length: text pieces and objects alternate, and each object is read and encoded
 * one 3-byte-aligned chunk at a time, so no whole image (or its base64) is ever held.
 */

/** Bytes of base64 per object chunk: a multiple of 3 bytes in, 4 characters per 3 out. */
const CHUNK = 3 * 256 * 1024;

export type Piece = string | { key: string; size: number };

export function base64Length(bytes: number): number {
	return 4 * Math.ceil(bytes / 3);
}

const encoder = new TextEncoder();

/** The total byte length of the body the pieces make. */
export function piecesLength(pieces: Piece[]): number {
	return pieces.reduce((n, p) => n + (typeof p === "string" ? encoder.encode(p).length : base64Length(p.size)), 0);
}

export function piecesStream(bucket: R2Bucket, pieces: Piece[]): ReadableStream<Uint8Array> {
	const queue = [...pieces];
	const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
	const write = async () => {
		const writer = writable.getWriter();
		try {
			for (const piece of queue) {
				if (typeof piece === "string") {
					await writer.write(encoder.encode(piece));
					continue;
				}
				const obj = await bucket.get(piece.key);
				if (!obj) throw new Error(`object ${piece.key} vanished`);
				const reader = obj.body.getReader();
				const buf = new Uint8Array(CHUNK);
				let filled = 0;
				for (;;) {
					const { done, value } = await reader.read();
					if (done) break;
					let at = 0;
					while (at < value.length) {
						const n = Math.min(CHUNK - filled, value.length - at);
						buf.set(value.subarray(at, at + n), filled);
						filled += n;
						at += n;
						if (filled === CHUNK) {
							await writer.write(encoder.encode(buf.toBase64()));
							filled = 0;
						}
					}
				}
				if (filled > 0) await writer.write(encoder.encode(buf.subarray(0, filled).toBase64()));
			}
			await writer.close();
		} catch (error) {
			await writer.abort(error);
		}
	};
	void write();
	return readable;
}
