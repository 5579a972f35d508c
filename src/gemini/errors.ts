/**
 * Typed failures of a Gemini call, modelled on openai-node's core/error.ts: one base
 * class, one subclass per kind, each knowing whether a retry can help. The pipeline maps
 * them to the gateway's ApiError; nothing upstream leaks to clients unlabelled.
 */
import type { GoogleRpcError, GoogleRpcStatus } from "./types";

export class GeminiError extends Error {
	/** HTTP status from Gemini, or undefined when no response arrived. */
	readonly status: number | undefined;
	/** google.rpc status name, e.g. RESOURCE_EXHAUSTED. */
	readonly rpcStatus: string | undefined;
	/** ErrorInfo.reason, e.g. API_KEY_INVALID. */
	readonly reason: string | undefined;
	readonly retryable: boolean;
	/** Server-requested wait (Retry-After or RetryInfo.retryDelay), in ms. */
	readonly retryAfterMs: number | undefined;
	/** Google's error object as sent (DebugInfo removed: it can echo the key). */
	readonly body: GoogleRpcError | undefined;

	constructor(
		message: string,
		opts: {
			status?: number;
			rpcStatus?: string;
			reason?: string;
			retryable?: boolean;
			retryAfterMs?: number;
			body?: GoogleRpcError;
			cause?: unknown;
		} = {},
	) {
		super(message, { cause: opts.cause });
		this.name = new.target.name;
		this.status = opts.status;
		this.rpcStatus = opts.rpcStatus;
		this.reason = opts.reason;
		this.retryable = opts.retryable ?? false;
		this.retryAfterMs = opts.retryAfterMs;
		this.body = opts.body;
	}

	/**
	 * A 404 NOT_FOUND in the words Google uses when the model id itself does not exist (any
	 * more) for this key: not any 404, since a 404 can be about something the request names,
	 * or a glitch. Checked 2026-12-03 against answers quoted in public issues: the Gemini API
	 * says "models/{id} is not found for API version v1beta, or is not supported for
	 * generateContent. Call ListModels ..." (also `StreamGenerateContent`,
	 * `batchGenerateContent`); Vertex AI says "Publisher Model `projects/.../models/{id}` was
	 * not found or your project does not have access to it." A suspicion only: the chain walk
	 * confirms it with models.get before marking the id gone (src/upstreams/confirm.ts).
	 */
	get modelNotFound(): boolean {
		if (this.status !== 404 || (this.rpcStatus !== undefined && this.rpcStatus !== "NOT_FOUND")) return false;
		const text = this.body?.message ?? "";
		return MODEL_NOT_FOUND.some((re) => re.test(text));
	}
}

/** 400/404/other 4xx: the request itself is wrong; never retried. */
export class GeminiBadRequestError extends GeminiError {}
/** 401/403 or API_KEY_INVALID: the gateway's own credentials are wrong. */
export class GeminiAuthError extends GeminiError {}
/** 429 RESOURCE_EXHAUSTED. */
export class GeminiRateLimitError extends GeminiError {}
/** 5xx and 408. */
export class GeminiServerError extends GeminiError {}
/** No response: DNS, reset, body cut off mid-stream. */
export class GeminiConnectionError extends GeminiError {}
/** The per-call deadline passed. */
export class GeminiTimeoutError extends GeminiError {}
/** A 200 whose body is not the JSON Gemini promises. */
export class GeminiMalformedResponseError extends GeminiError {}

/** Google's model-not-found wordings (see GeminiError.modelNotFound). */
const MODEL_NOT_FOUND = [
	/^models\/\S+ is not found for API version \w+, or is not supported for \w+/,
	/^Publisher Model `[^`]+` was not found or your project does not have access to it/,
];

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

/** "51s", "0.25s", "1.5s" -> ms (google.protobuf.Duration JSON form). */
export function parseDuration(value: string | undefined): number | undefined {
	const m = value?.match(/^(\d+(?:\.\d+)?)s$/);
	return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

/** Retry-After as seconds or an HTTP date, in ms from `now`. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
	if (!value) return undefined;
	if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
	const at = Date.parse(value);
	return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Builds the typed error for a non-2xx Gemini response. */
export function errorFromResponse(status: number, body: GoogleRpcStatus | undefined, retryAfterHeader: string | null): GeminiError {
	const e = body?.error;
	const details = e?.details ?? [];
	const reason = details.find((d) => d.reason)?.reason;
	const retryInfo = parseDuration(details.find((d) => d["@type"]?.endsWith("google.rpc.RetryInfo"))?.retryDelay);
	const opts = {
		status,
		rpcStatus: e?.status,
		reason,
		retryable: RETRYABLE.has(status),
		retryAfterMs: parseRetryAfter(retryAfterHeader) ?? retryInfo,
		body: e ? { ...e, details: details.filter((d) => !d["@type"]?.endsWith("google.rpc.DebugInfo")) } : undefined,
	};
	const message = `Gemini ${status}${e?.status ? ` ${e.status}` : ""}: ${e?.message ?? "no error message"}`;
	if (status === 401 || status === 403 || reason === "API_KEY_INVALID") return new GeminiAuthError(message, { ...opts, retryable: false });
	if (status === 429) return new GeminiRateLimitError(message, opts);
	if (status >= 500 || status === 408) return new GeminiServerError(message, opts);
	return new GeminiBadRequestError(message, opts);
}
