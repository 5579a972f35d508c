/**
 * Request bodies read with a byte cap before parsing: the cap is checked against
 * Content-Length first and enforced while streaming, so an oversized body is refused
 * without being buffered. Wrong content type is 415, too large 413, bad JSON 400.
 *
 * A refused upload is still read to its end (and thrown away, up to DRAIN_LIMIT): HTTP
 * clients that are still sending when the answer comes (Node's fetch, curl with
 * `Expect: 100-continue`) report a reset connection instead of the 413 otherwise.
 */
import { type ApiError, apiError, invalidParam } from "../errors";
import { joinBytes } from "./bytes";

/** Cloudflare refuses request bodies over 100 MB itself; past this, stop draining. */
const DRAIN_LIMIT = 128 * 1024 * 1024;

export function payloadTooLarge(max: number): ApiError {
	return apiError("payload_too_large", `Request body exceeds ${max} bytes`);
}

/** Reads what is left of a stream and throws it away, up to `limit` bytes. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, limit = DRAIN_LIMIT): Promise<void> {
	let seen = 0;
	try {
		for (;;) {
			const { done, value } = await reader.read();
			if (done) return;
			seen += value.byteLength;
			if (seen > limit) break;
		}
		await reader.cancel();
	} catch {
		// The client went away: nothing left to answer.
	}
}

/** Drains a request body nobody read (an early error), so the client hears the answer. */
export async function discardUnreadBody(req: Request): Promise<void> {
	if (req.body && !req.bodyUsed && !req.body.locked) await drain(req.body.getReader());
}

export async function readCapped(req: Request, max: number): Promise<Uint8Array> {
	return readStreamCapped(req.body, req.headers.get("content-length"), max, () => payloadTooLarge(max), true);
}

/**
 * Reads a body into one array, refusing (with `tooLarge()`) a declared length over `max`
 * before buffering anything and an actual length over `max` as soon as it is passed.
 * `drainOnRefusal` reads the rest of a refused request body and throws it away; a
 * response body (a downloaded image) is cancelled instead.
 */
export async function readStreamCapped(
	body: ReadableStream<Uint8Array> | null,
	declaredLength: string | null,
	max: number,
	tooLarge: () => Error,
	drainOnRefusal = false,
): Promise<Uint8Array> {
	const declared = Number(declaredLength ?? "NaN");
	if (Number.isFinite(declared) && declared > max) {
		if (drainOnRefusal && body) await drain(body.getReader());
		else await body?.cancel();
		throw tooLarge();
	}
	if (!body) return new Uint8Array(0);
	const chunks: Uint8Array[] = [];
	let total = 0;
	const reader = body.getReader();
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		total += value.byteLength;
		if (total > max) {
			if (drainOnRefusal) await drain(reader);
			else await reader.cancel();
			throw tooLarge();
		}
		chunks.push(value);
	}
	return joinBytes(chunks, total);
}

/** Parses a JSON object body; anything but `application/json` (or `+json`) is a 415. */
export async function readJsonObject(req: Request, max: number): Promise<Record<string, unknown>> {
	return (await readJsonBody(req, max)).value;
}

/** Like readJsonObject, also returning the raw bytes (hashed for idempotency). */
export async function readJsonBody(req: Request, max: number): Promise<{ value: Record<string, unknown>; raw: Uint8Array }> {
	const type = req.headers.get("content-type") ?? "";
	if (!/^application\/([\w.+-]+\+)?json\b/i.test(type.trim())) {
		throw apiError("unsupported_media_type", `Content-Type must be application/json, got '${type || "none"}'`);
	}
	const bytes = await readCapped(req, max);
	let value: unknown;
	try {
		value = JSON.parse(new TextDecoder().decode(bytes));
	} catch {
		throw invalidParam(null, "Request body is not valid JSON", "invalid_json");
	}
	if (typeof value !== "object" || value === null || Array.isArray(value)) {
		throw invalidParam(null, "Request body must be a JSON object", "invalid_json");
	}
	return { value: value as Record<string, unknown>, raw: bytes };
}
