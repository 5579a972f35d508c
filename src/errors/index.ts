/**
 * The one error shape on the wire, OpenAI's: {"error":{"message","type","code","param"}}.
 * Every expected failure is an ApiError with a stable code from the registry (./codes.ts),
 * which gives it its status and type; anything else becomes a generic 500 in `onError`,
 * logged with the request id and never echoed. Build one with `apiError(code, message,
 * { param, headers, cause })` or a helper below.
 * On Gemini's own routes the same error is written in Google's shape instead,
 * {"error":{"code","message","status","details"}}, which `@google/genai` users branch on;
 * the gateway's code travels in an ErrorInfo detail.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { GoogleRpcDetail } from "../gemini/types";
import { type AltStatus, type ErrorCode, type ErrorStatus, type ErrorType, type InvalidRequestCode, specOf } from "./codes";

export type ErrorStyle = "openai" | "google";

/** google.rpc status names by HTTP status, as Google's APIs map them. */
const RPC_STATUS: Record<number, string> = {
	400: "INVALID_ARGUMENT",
	401: "UNAUTHENTICATED",
	402: "RESOURCE_EXHAUSTED",
	403: "PERMISSION_DENIED",
	404: "NOT_FOUND",
	405: "UNIMPLEMENTED",
	409: "ABORTED",
	413: "INVALID_ARGUMENT",
	415: "INVALID_ARGUMENT",
	422: "INVALID_ARGUMENT",
	429: "RESOURCE_EXHAUSTED",
	499: "CANCELLED",
	500: "INTERNAL",
	501: "UNIMPLEMENTED",
	502: "UNAVAILABLE",
	503: "UNAVAILABLE",
	504: "DEADLINE_EXCEEDED",
};

export type { ErrorCode, ErrorType } from "./codes";

/** What an ApiError may carry besides its code and message. */
export interface ApiErrorOptions {
	/** The parameter at fault (`error.param`), when there is one. */
	param?: string | null;
	/** Extra response headers, e.g. Retry-After. */
	headers?: Record<string, string>;
	/** What caused it, for logs and debuggers; never sent to the client. */
	cause?: unknown;
	/** A stable sub-code under `code`, sent as `error.reason` (e.g. why a reference URL failed: `dns`, `timeout`). */
	reason?: string;
}

/** An ApiError's code and message, with its options. */
export interface ApiErrorInit extends ApiErrorOptions {
	code: ErrorCode;
	message: string;
	/** Only for a code the registry lists under several statuses (its `also`); `apiError` types it per code. */
	status?: ErrorStatus;
}

export class ApiError extends Error {
	readonly status: ContentfulStatusCode;
	readonly type: ErrorType;
	readonly code: ErrorCode;
	readonly param: string | null;
	readonly headers: Record<string, string>;
	readonly reason?: string;

	/** Status and type come from the registry (./codes.ts), so a code always answers the same way. */
	constructor(init: ApiErrorInit) {
		super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
		this.name = "ApiError";
		const spec = specOf(init.code, init.status);
		// The registry holds only statuses that carry a body (400-504).
		this.status = spec.status as ContentfulStatusCode;
		this.type = spec.type;
		this.code = init.code;
		this.param = init.param ?? null;
		this.headers = init.headers ?? {};
		if (init.reason) this.reason = init.reason;
	}

	/** Upstream's own google.rpc status and details, for Google-shaped answers. */
	google?: { status?: string; details?: GoogleRpcDetail[] };

	/** The JSON body clients parse (the OpenAI SDK reads `error.{message,type,code,param}`). */
	toJSON(): { error: { message: string; type: ErrorType; code: string; param: string | null; reason?: string } } {
		const error = { message: this.message, type: this.type, code: this.code, param: this.param };
		return { error: this.reason ? { ...error, reason: this.reason } : error };
	}

	/** Google's shape: status name from the HTTP status, our code in an ErrorInfo, RetryInfo from Retry-After. */
	toGoogleJSON(): { error: { code: number; message: string; status: string; details: GoogleRpcDetail[] } } {
		const details: GoogleRpcDetail[] = [...(this.google?.details ?? [])];
		details.push({
			"@type": "type.googleapis.com/google.rpc.ErrorInfo",
			reason: this.code.toUpperCase(),
			domain: "nano-banana-gateway",
			metadata: { type: this.type, ...(this.param ? { param: this.param } : {}), ...(this.reason ? { reason: this.reason } : {}) },
		});
		const retry = this.headers["retry-after"];
		if (retry && !details.some((d) => d["@type"]?.endsWith("google.rpc.RetryInfo"))) {
			details.push({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${retry}s` });
		}
		const status = this.google?.status ?? RPC_STATUS[this.status] ?? "UNKNOWN";
		return { error: { code: this.status, message: this.message, status, details } };
	}

	body(style: ErrorStyle = "openai"): string {
		return JSON.stringify(style === "google" ? this.toGoogleJSON() : this.toJSON());
	}

	getResponse(requestId: string, style: ErrorStyle = "openai"): Response {
		return new Response(this.body(style), {
			status: this.status,
			headers: { "content-type": "application/json", ...this.headers, "x-request-id": requestId },
		});
	}
}

/**
 * The error a code stands for, with the registry's status and type:
 * `throw apiError("insufficient_credits", message, { headers })`. `status` is accepted
 * only for a code the registry also lists under another status.
 */
export function apiError<C extends ErrorCode>(
	code: C,
	message: string,
	options: ApiErrorOptions & { status?: AltStatus<C> } = {},
): ApiError {
	return new ApiError({ ...options, code, message });
}

/** 400 naming the parameter at fault. */
export function invalidParam(
	param: string | null,
	message: string,
	code: InvalidRequestCode = "invalid_parameter",
	reason?: string,
): ApiError {
	return apiError(code, message, { param, reason });
}

/** 404 for a route or resource that does not exist (or is not the caller's). */
export function notFound(message = "Not found"): ApiError {
	return apiError("not_found", message);
}

/** 401 with the challenge RFC 6750 asks for. */
export function unauthorized(message: string): ApiError {
	return apiError("invalid_api_key", message, { headers: { "www-authenticate": 'Bearer realm="nano-banana-gateway"' } });
}
