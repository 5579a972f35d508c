/**
 * The one error shape on the wire, OpenAI's: {"error":{"message","type","code","param"}}.
 * Every expected failure is an ApiError with a status and a stable code; anything else
 * becomes a generic 500 in `onError`, logged with the request id and never echoed.
 * On Gemini's own routes the same error is written in Google's shape instead,
 * {"error":{"code","message","status","details"}}, which `@google/genai` users branch on;
 * the gateway's code travels in an ErrorInfo detail.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { GoogleRpcDetail } from "./gemini/types";

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

export type ErrorType =
	| "invalid_request_error"
	| "authentication_error"
	| "permission_error"
	| "not_found_error"
	| "rate_limit_error"
	| "insufficient_quota"
	| "upstream_error"
	| "server_error";

export class ApiError extends Error {
	constructor(
		readonly status: ContentfulStatusCode,
		readonly type: ErrorType,
		readonly code: string,
		message: string,
		readonly param: string | null = null,
		readonly headers: Record<string, string> = {},
	) {
		super(message);
		this.name = "ApiError";
	}

	/** Upstream's own google.rpc status and details, for Google-shaped answers. */
	google?: { status?: string; details?: GoogleRpcDetail[] };

	/** The JSON body clients parse (the OpenAI SDK reads `error.{message,type,code,param}`). */
	toJSON(): { error: { message: string; type: ErrorType; code: string; param: string | null } } {
		return { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
	}

	/** Google's shape: status name from the HTTP status, our code in an ErrorInfo, RetryInfo from Retry-After. */
	toGoogleJSON(): { error: { code: number; message: string; status: string; details: GoogleRpcDetail[] } } {
		const details: GoogleRpcDetail[] = [...(this.google?.details ?? [])];
		details.push({
			"@type": "type.googleapis.com/google.rpc.ErrorInfo",
			reason: this.code.toUpperCase(),
			domain: "nano-banana-gateway",
			metadata: { type: this.type, ...(this.param ? { param: this.param } : {}) },
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

/** 400 naming the parameter at fault. */
export function invalidParam(param: string | null, message: string, code = "invalid_parameter"): ApiError {
	return new ApiError(400, "invalid_request_error", code, message, param);
}

export function notFound(message = "Not found"): ApiError {
	return new ApiError(404, "not_found_error", "not_found", message);
}

export function unauthorized(message: string): ApiError {
	return new ApiError(401, "authentication_error", "invalid_api_key", message, null, {
		"www-authenticate": 'Bearer realm="nano-banana-gateway"',
	});
}
