/**
 * What a generation's failures become for the caller: each image's failure is classified
 * once (policy, empty answer, upstream error, refusal, bad bytes), and when no image came
 * back the most telling one is the request's ApiError. Gemini's errors are translated to
 * the gateway's codes here only (src/routes/gemini-native.ts adds Google's details).
 */
import { type ApiError, apiError } from "../errors";
import {
	GeminiAuthError,
	GeminiBadRequestError,
	type GeminiError,
	GeminiMalformedResponseError,
	GeminiRateLimitError,
	GeminiTimeoutError,
} from "../gemini/errors";
import { type GenerationOutcome, POLICY_REASONS } from "../gemini/result";
import { NotAnImageError } from "../storage/images";
import { UpstreamsUnavailableError } from "../upstreams/route";

export type ImageFailure =
	| { index: number; kind: "policy" | "no_image"; reason: string; text: string }
	| { index: number; kind: "upstream"; error: GeminiError }
	/** Refused before or instead of a call: the successor cannot do what was asked (400), or no upstream id is left (502). */
	| { index: number; kind: "refused"; error: ApiError }
	| { index: number; kind: "bad_image" | "internal"; message: string };

/**
 * Why image bytes Gemini sent are unusable (not base64, or not an image), or undefined for
 * any other error. The one place such errors are recognised, whether they surface while
 * an answer streams in or when a buffered image is stored.
 */
export function badImageMessage(error: unknown): string | undefined {
	if (error instanceof SyntaxError) return "Gemini returned image data that is not valid base64";
	if (error instanceof NotAnImageError) return error.message;
	return undefined;
}

/** Why an answer without an image has none: a policy refusal, or an empty (or text-only) answer. */
export function noImageFailure(index: number, outcome: GenerationOutcome): ImageFailure {
	const reason = outcome.blockReason ?? outcome.finishReason ?? "NO_IMAGE";
	const policy = POLICY_REASONS.has(reason);
	const why = !policy && reason === "STOP" ? "TEXT_ONLY" : reason;
	return { index, kind: policy ? "policy" : "no_image", reason: why, text: outcome.text };
}

/** The one error that best explains why no image came back. */
export function failureToError(failures: ImageFailure[], requestId: string): ApiError {
	const refused = failures.find((f) => f.kind === "refused");
	if (refused && refused.kind === "refused") return refused.error;
	const policy = failures.find((f) => f.kind === "policy");
	if (policy && policy.kind === "policy") {
		return apiError("content_policy_violation", `Gemini refused to generate this image (reason: ${policy.reason}). You were not charged.`, {
			param: "prompt",
		});
	}
	const empty = failures.find((f) => f.kind === "no_image");
	if (empty && empty.kind === "no_image") {
		const said = empty.text ? ` Gemini said: ${empty.text.slice(0, 300)}` : "";
		return apiError("no_image_generated", `Gemini answered without an image (reason: ${empty.reason}). You were not charged.${said}`, {
			param: "prompt",
		});
	}
	const upstream = failures.find((f) => f.kind === "upstream");
	if (upstream && upstream.kind === "upstream") return upstreamToError(upstream.error, requestId);
	const other = failures[0];
	const message = other && (other.kind === "bad_image" || other.kind === "internal") ? other.message : "generation failed";
	return other?.kind === "bad_image"
		? apiError("upstream_bad_response", message)
		: apiError("internal_error", `Internal error (request ${requestId}). You were not charged.`);
}

/** A Gemini (or pool) failure as the gateway reports it: status, code and a message that says who is at fault. */
export function upstreamToError(e: GeminiError, requestId: string): ApiError {
	if (e instanceof UpstreamsUnavailableError) {
		const seconds = Math.max(1, Math.ceil((e.retryAfterMs ?? 1000) / 1000));
		return apiError(
			"upstreams_unavailable",
			`Every upstream that serves ${e.model} is cooling down after rate limits or failures; retry in ${seconds} s. You were not charged.`,
			{ headers: { "retry-after": String(seconds) } },
		);
	}
	if (e instanceof GeminiTimeoutError) {
		return apiError("upstream_timeout", "Gemini did not answer in time. You were not charged.");
	}
	if (e instanceof GeminiRateLimitError) {
		// Gemini's own quota survived the retries: the caller should back off, not blame us.
		const seconds = Math.max(1, Math.ceil((e.retryAfterMs ?? 1000) / 1000));
		return apiError("upstream_rate_limited", `Gemini is rate limiting the gateway; retry in ${seconds} s. You were not charged.`, {
			headers: { "retry-after": String(seconds) },
		});
	}
	if (e instanceof GeminiAuthError) {
		console.error(JSON.stringify({ requestId, event: "gemini_auth_failed", status: e.status, reason: e.reason }));
		return apiError("upstream_auth_error", "The gateway's Gemini credentials were rejected. You were not charged.");
	}
	if (e instanceof GeminiBadRequestError && e.status !== 404) {
		return apiError("upstream_rejected_request", `Gemini rejected the request: ${e.message}`);
	}
	if (e instanceof GeminiBadRequestError && e.status === 404) {
		// Not the model (that would have failed over, or ended as upstream_model_not_found): something the request names.
		return apiError(
			"upstream_not_found",
			`Gemini answered 404 NOT_FOUND for this request: ${e.body?.message ?? e.message}. You were not charged.`,
		);
	}
	if (e instanceof GeminiMalformedResponseError) {
		return apiError("upstream_bad_response", "Gemini sent a malformed response. You were not charged.");
	}
	return apiError(
		"upstream_error",
		`Gemini failed${e.retryable ? " after retries" : ""} (${e.status ?? "no response"}${e.rpcStatus ? ` ${e.rpcStatus}` : ""}). You were not charged.`,
	);
}
