/**
 * The one error shape on the wire, OpenAI's: {"error":{"message","type","code","param"}}.
 * Every expected failure is an ApiError with a status and a stable code; anything else
 * becomes a generic 500 in `onError`, logged with the request id and never echoed.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

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

	/** The JSON body clients parse (the OpenAI SDK reads `error.{message,type,code,param}`). */
	toJSON(): { error: { message: string; type: ErrorType; code: string; param: string | null } } {
		return { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
	}

	getResponse(requestId: string): Response {
		return Response.json(this.toJSON(), {
			status: this.status,
			headers: { ...this.headers, "x-request-id": requestId },
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
