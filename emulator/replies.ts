/**
 * Google-shaped replies the emulator sends: google.rpc.Status error bodies with Google's
 * status names and messages, JSON answers, and the 404 for a model that does not exist.
 */

export interface EmulatorReply {
	status: number;
	headers: Record<string, string>;
	body: string;
	delayMs: number;
	/** Send only this many bytes of the body, then drop the connection. */
	truncateAt?: number;
	/** Close the connection without any response. */
	drop?: boolean;
}

export const STATUS_NAMES: Record<number, string> = {
	400: "INVALID_ARGUMENT",
	401: "UNAUTHENTICATED",
	403: "PERMISSION_DENIED",
	404: "NOT_FOUND",
	429: "RESOURCE_EXHAUSTED",
	500: "INTERNAL",
	503: "UNAVAILABLE",
	504: "DEADLINE_EXCEEDED",
};

export const MESSAGES: Record<number, string> = {
	400: "Request contains an invalid argument.",
	401: "Request had invalid authentication credentials.",
	403: "The caller does not have permission",
	404: "Requested entity was not found.",
	429: "Resource has been exhausted (e.g. check quota).",
	500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
	503: "The model is overloaded. Please try again later.",
	504: "Deadline expired before operation could complete.",
};

export function errorReply(status: number, message: string, details: unknown[] = [], headers: Record<string, string> = {}): EmulatorReply {
	// Google leaves `details` out when there are none.
	const error = { code: status, message, status: STATUS_NAMES[status] ?? "UNKNOWN", ...(details.length > 0 ? { details } : {}) };
	return {
		status,
		headers: { "content-type": "application/json; charset=UTF-8", ...headers },
		body: JSON.stringify({ error }),
		delayMs: 0,
	};
}

export function jsonReply(payload: unknown): EmulatorReply {
	return { status: 200, headers: { "content-type": "application/json; charset=UTF-8" }, body: JSON.stringify(payload), delayMs: 0 };
}

/** The 404 Google sends for a generateContent (or other method) on an id that does not exist. */
export function modelNotFound(model: string, method: string): EmulatorReply {
	return errorReply(
		404,
		`models/${model} is not found for API version v1beta, or is not supported for ${method}. Call ModelService.ListModels to see the list of available models and their supported methods.`,
	);
}
