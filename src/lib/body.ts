/**
 * Request bodies read with a byte cap before parsing: the cap is checked against
 * Content-Length first and enforced while streaming, so an oversized body is refused
 * without being buffered. Wrong content type is 415, too large 413, bad JSON 400.
 */
import { ApiError, invalidParam } from "../errors";

export function payloadTooLarge(max: number): ApiError {
	return new ApiError(413, "invalid_request_error", "payload_too_large", `Request body exceeds ${max} bytes`);
}

export async function readCapped(req: Request, max: number): Promise<Uint8Array> {
	return readStreamCapped(req.body, req.headers.get("content-length"), max, () => payloadTooLarge(max));
}

/**
 * Reads a body into one array, refusing (with `tooLarge()`) a declared length over `max`
 * before reading and an actual length over `max` as soon as it is passed.
 */
export async function readStreamCapped(
	body: ReadableStream<Uint8Array> | null,
	declaredLength: string | null,
	max: number,
	tooLarge: () => Error,
): Promise<Uint8Array> {
	const declared = Number(declaredLength ?? "NaN");
	if (Number.isFinite(declared) && declared > max) {
		await body?.cancel();
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
			await reader.cancel();
			throw tooLarge();
		}
		chunks.push(value);
	}
	const out = new Uint8Array(total);
	let at = 0;
	for (const c of chunks) {
		out.set(c, at);
		at += c.byteLength;
	}
	return out;
}

/** Parses a JSON object body; anything but `application/json` (or `+json`) is a 415. */
export async function readJsonObject(req: Request, max: number): Promise<Record<string, unknown>> {
	return (await readJsonBody(req, max)).value;
}

/** Like readJsonObject, also returning the raw bytes (hashed for idempotency). */
export async function readJsonBody(req: Request, max: number): Promise<{ value: Record<string, unknown>; raw: Uint8Array }> {
	const type = req.headers.get("content-type") ?? "";
	if (!/^application\/([\w.+-]+\+)?json\b/i.test(type.trim())) {
		throw new ApiError(
			415,
			"invalid_request_error",
			"unsupported_media_type",
			`Content-Type must be application/json, got '${type || "none"}'`,
		);
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
