/**
 * Every error code the gateway answers with, once: its HTTP status, its OpenAI error type
 * and what it means. Codes are a public contract (clients branch on them), so this table
 * is the only place one is declared; `ApiError` takes its status and type from here,
 * docs/errors.md is written from it (`npm run docs`) and the OpenAPI document's error
 * meanings are built from it. A test fails when a code thrown in src/ is missing here or
 * an entry here is no longer thrown (test/node/errors.test.ts).
 *
 * This module is a leaf with no runtime imports: `node scripts/errors-doc.ts` loads it as is.
 */

/** OpenAI's error types (the `type` field of the error body). */
export const ERROR_TYPES = [
	"invalid_request_error",
	"authentication_error",
	"permission_error",
	"not_found_error",
	"rate_limit_error",
	"insufficient_quota",
	"upstream_error",
	"server_error",
] as const;

export type ErrorType = (typeof ERROR_TYPES)[number];

/** One way a code is answered: status, type and what it means to a client. */
export interface ErrorSpec {
	readonly status: number;
	readonly type: ErrorType;
	readonly meaning: string;
}

/** An entry; `also` lists the same code answered under another status (e.g. a path's 404). */
export interface ErrorEntry extends ErrorSpec {
	readonly also?: Readonly<Record<number, Omit<ErrorSpec, "status">>>;
}

const bad = "invalid_request_error";
const upstream = "upstream_error";

/** The registry, grouped by status. The meaning is written for the client who reads the code. */
export const ERRORS = {
	// 400: the request itself; `param` names the field at fault. Nothing was sent upstream.
	invalid_parameter: { status: 400, type: bad, meaning: "A parameter is missing or invalid; `param` names it" },
	model_not_found: {
		status: 400,
		type: bad,
		meaning: "The model named in the body is not one of this gateway's (GET /v1/models lists them)",
		also: { 404: { type: "not_found_error", meaning: "The model in the URL path is not one of this gateway's" } },
	},
	model_not_served: { status: 400, type: bad, meaning: "No upstream of the pool is configured to serve the model (`UPSTREAMS` `models`)" },
	prompt_too_long: { status: 400, type: bad, meaning: "The prompt is longer than `MAX_PROMPT_CHARS`" },
	invalid_json: { status: 400, type: bad, meaning: "The body is not valid JSON, or not a JSON object" },
	invalid_multipart: { status: 400, type: bad, meaning: "The body is not valid multipart/form-data" },
	invalid_image: { status: 400, type: bad, meaning: "A reference image is not an image (PNG, JPEG, WebP, HEIC, HEIF) or not valid base64" },
	invalid_url: { status: 400, type: bad, meaning: "A reference image URL is not a public https URL" },
	image_fetch_failed: {
		status: 400,
		type: bad,
		meaning: "Downloading a reference image failed, or a gateway image it names no longer exists",
	},
	too_many_images: { status: 400, type: bad, meaning: "More reference images than the model (or its upstream) takes" },
	unsupported_parameter: { status: 400, type: bad, meaning: "A parameter the gateway does not support (`mask`)" },
	unsupported_content: { status: 400, type: bad, meaning: "A chat content part other than text or image_url" },
	feature_not_allowed: {
		status: 400,
		type: bad,
		meaning:
			"(Gemini's route) A feature the operator has not enabled (text-only output, Google Search, a thinking level), or a safety setting looser than Google's default; `param` names it",
	},
	invalid_schedule: { status: 400, type: bad, meaning: "A pipeline's schedule is not a 5-field cron expression, or never fires" },
	invalid_timezone: { status: 400, type: bad, meaning: "A pipeline's timezone is not an IANA time zone name the runtime knows" },
	schedule_too_frequent: { status: 400, type: bad, meaning: "A pipeline's schedule fires more often than `MIN_PIPELINE_INTERVAL_MINUTES`" },
	unknown_template_variable: { status: 400, type: bad, meaning: "A pipeline's prompt_template uses a variable it does not define" },
	exceeds_key_limits: { status: 400, type: bad, meaning: "A pipeline run would need more images than the key's quota allows" },
	job_not_cancelable: { status: 400, type: bad, meaning: "The job has already started, so it cannot be canceled" },
	interaction_not_cancelable: {
		status: 400,
		type: bad,
		meaning: "Only a background interaction that has not started can be cancelled (Google's status FAILED_PRECONDITION)",
	},
	batch_too_large: { status: 400, type: bad, meaning: "The request is too large for a Gemini batch; use the standard tier" },
	balance_would_go_negative: { status: 400, type: bad, meaning: "A credit adjustment would take the balance below zero" },
	upstream_rejected_request: { status: 400, type: bad, meaning: "Gemini refused the request as invalid (400, not retried)" },

	// 401-404: who is asking, and for what.
	invalid_api_key: { status: 401, type: "authentication_error", meaning: "Missing, malformed or unknown API key or admin token" },
	insufficient_credits: { status: 402, type: "insufficient_quota", meaning: "The balance cannot cover the price times n" },
	key_revoked: { status: 403, type: "permission_error", meaning: "The API key was revoked" },
	not_allowed_for_key: {
		status: 403,
		type: "permission_error",
		meaning:
			"The key's controls do not allow this model, image size or feature; `param` names the control (`allowed_models`, `allowed_image_sizes`, `allowed_features.search`, …). Nothing was held",
	},
	admin_disabled: { status: 403, type: "permission_error", meaning: "The admin API is disabled: `ADMIN_TOKEN` is not configured" },
	not_found: {
		status: 404,
		type: "not_found_error",
		meaning: "Unknown route, or no such key, job, image, pipeline, upstream or conversation (of this key)",
	},
	upstream_not_found: {
		status: 404,
		type: "not_found_error",
		meaning:
			"Gemini answered 404 NOT_FOUND about this request (something it names, or a glitch), not about the model, which models.get still finds; not retried, nothing failed over, nothing charged",
	},
	unsupported_method: {
		status: 404,
		type: "not_found_error",
		meaning: "A Gemini method the gateway does not serve (only generateContent, streamGenerateContent, countTokens)",
	},
	not_built: { status: 404, type: "not_found_error", meaning: "The console or API reference page was not built into this deployment" },

	// 409: another request got there first.
	idempotency_in_flight: { status: 409, type: bad, meaning: "A request with the same Idempotency-Key is still running" },
	conversation_conflict: {
		status: 409,
		type: bad,
		meaning: "Another message to the conversation is being answered or changed it first; retry",
	},
	job_in_running_batch: {
		status: 409,
		type: bad,
		meaning: "The job shares a running Gemini batch with other jobs, so it cannot be canceled alone",
	},

	// 413, 415: the body's size and type.
	payload_too_large: { status: 413, type: bad, meaning: "The body exceeds its cap (`MAX_JSON_BODY_BYTES`, `MAX_UPLOAD_BYTES`)" },
	image_too_large: { status: 413, type: bad, meaning: "One reference image exceeds its cap; `param` names it" },
	images_too_large: { status: 413, type: bad, meaning: "The reference images together exceed their cap" },
	unsupported_media_type: { status: 415, type: bad, meaning: "The body is not JSON (Content-Type)" },

	// 422: understood, but not done. Free.
	idempotency_key_reused: { status: 422, type: bad, meaning: "The same Idempotency-Key was used with a different body" },
	content_policy_violation: {
		status: 422,
		type: bad,
		meaning: "Gemini blocked the image; the message names its reason (SAFETY, IMAGE_SAFETY, …)",
	},
	no_image_generated: { status: 422, type: bad, meaning: "Gemini answered without an image (NO_IMAGE, text only, …)" },

	// 429: slow down.
	rate_limit_exceeded: {
		status: 429,
		type: "rate_limit_error",
		meaning: "A rate limit or quota of the key; `param` names it, Retry-After says when",
	},
	spend_limit_exceeded: {
		status: 429,
		type: "insufficient_quota",
		meaning:
			"The key's daily or monthly spend cap (credits charged and held, plus this request's hold) would be exceeded; `param` names it (`daily_spend_credits`, `monthly_spend_credits`), Retry-After says when the period resets",
	},
	upstream_rate_limited: {
		status: 429,
		type: "rate_limit_error",
		meaning: "Gemini's own quota still refused after the retries; Retry-After from its RetryInfo",
	},

	// 500: the gateway's side.
	configuration_error: { status: 500, type: "server_error", meaning: "A setting is invalid; the message names it" },
	internal_error: { status: 500, type: "server_error", meaning: "Anything else; logged with the request id, never detailed to the client" },
	job_not_queued: { status: 500, type: "server_error", meaning: "(a job's error) The job could not be queued; its credits were released" },
	job_expired: {
		status: 500,
		type: "server_error",
		meaning:
			"(a job's error) The job's queue message was lost and it could no longer run within its hold's life; its credits were released",
	},

	// 502-504: Gemini's side, after failover and retries. Never charged.
	upstream_error: { status: 502, type: upstream, meaning: "Gemini failed after retries (5xx, 408, network errors, a cut-off body)" },
	upstream_bad_response: { status: 502, type: upstream, meaning: "Gemini's answer was malformed, or its image data was no image" },
	upstream_auth_error: { status: 502, type: upstream, meaning: "Gemini rejected the gateway's credentials (logged for the operator)" },
	upstream_model_not_found: {
		status: 502,
		type: upstream,
		meaning: "Gemini answered 404 for the last upstream id the model can use; the message names it",
	},
	discovery_failed: { status: 502, type: upstream, meaning: "(admin) Listing Gemini's models failed" },
	batch_failed: { status: 502, type: upstream, meaning: "(async batch jobs) Gemini's batch failed, or Gemini no longer knows it" },
	batch_cancelled: { status: 502, type: upstream, meaning: "(async batch jobs) Gemini's batch was cancelled" },
	batch_result_missing: { status: 502, type: upstream, meaning: "(async batch jobs) Gemini's batch had no answer for the request" },
	upstreams_unavailable: {
		status: 503,
		type: upstream,
		meaning: "Every upstream that serves the model is cooling down; Retry-After says when the first is back",
	},
	upstream_timeout: { status: 504, type: upstream, meaning: "Gemini did not answer within `GEMINI_DEADLINE_MS`" },
	batch_expired: { status: 504, type: upstream, meaning: "(async batch jobs) Gemini's batch expired before it ran (48 hours)" },
} as const satisfies Record<string, ErrorEntry>;

/** Every code the gateway answers with. */
export type ErrorCode = keyof typeof ERRORS;

/** Codes answered with 400: the ones `invalidParam` may name. */
export type InvalidRequestCode = { [C in ErrorCode]: (typeof ERRORS)[C]["status"] extends 400 ? C : never }[ErrorCode];

/** The other statuses a code may be answered with (its `also`), or never. */
export type AltStatus<C extends ErrorCode> = (typeof ERRORS)[C] extends { also: infer A } ? keyof A & number : never;

/** Every status of the registry, the alternatives included. */
export type ErrorStatus = { [C in ErrorCode]: (typeof ERRORS)[C]["status"] | AltStatus<C> }[ErrorCode];

/** One row per code and status, ordered by status, as docs/errors.md and OpenAPI list them. */
export function errorRows(): Array<ErrorSpec & { code: ErrorCode }> {
	const rows: Array<ErrorSpec & { code: ErrorCode }> = [];
	for (const [code, entry] of Object.entries(ERRORS) as Array<[ErrorCode, ErrorEntry]>) {
		rows.push({ code, status: entry.status, type: entry.type, meaning: entry.meaning });
		for (const [status, alt] of Object.entries(entry.also ?? {})) rows.push({ code, status: Number(status), ...alt });
	}
	// A stable sort keeps the registry's order within a status.
	return rows.sort((a, b) => a.status - b.status);
}

/** The status, type and meaning a code is answered with; `status` picks one of its alternatives. */
export function specOf(code: ErrorCode, status?: number): ErrorSpec {
	const entry: ErrorEntry = ERRORS[code];
	if (status === undefined || status === entry.status) return entry;
	const alt = entry.also?.[status];
	// A status the registry does not list for this code is a programming error: answering it
	// anyway would break the contract, so the error's primary status stands.
	return alt ? { status, ...alt } : entry;
}
