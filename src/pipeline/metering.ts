/**
 * What a request is billed as, shared by the sync path (billed.ts), async submission and
 * the queue consumer: the metered shape, the usage draft the KeyAccount records, and the
 * error a refused admission becomes.
 */
import { refusedKey } from "../account/caller";
import type { AdmitResult, UsageDraft } from "../account/records";
import type { ImageSize, ModelSpec } from "../catalog/catalog";
import { ApiError } from "../errors";
import { type GenerationRequest, modeOf } from "./request";

/** What is billed: the model and size set the price, `images` the worst case held. */
export interface Metered {
	endpoint: string;
	model: ModelSpec;
	mode: "generate" | "edit";
	images: number;
	aspectRatio?: string;
	imageSize?: ImageSize;
}

/** How an image-pipeline request is metered. */
export function meteredOf(req: GenerationRequest): Metered {
	return {
		endpoint: req.endpoint,
		model: req.model,
		mode: modeOf(req),
		images: req.n,
		aspectRatio: req.aspectRatio,
		imageSize: req.imageSize,
	};
}

/** The usage draft a KeyAccount records at admission. */
export function usageDraft(requestId: string, m: Metered): UsageDraft {
	return {
		requestId,
		endpoint: m.endpoint,
		model: m.model.id,
		mode: m.mode,
		n: m.images,
		aspectRatio: m.aspectRatio ?? null,
		imageSize: m.imageSize ?? m.model.defaultImageSize ?? null,
		startedAt: Date.now(),
	};
}

/** The error a refused admission becomes (402, 429, 409, 422, 401, 403). */
export function refusal(a: Exclude<AdmitResult, { ok: true } | { reason: "replay" }>): ApiError {
	switch (a.reason) {
		case "unknown_key":
		case "key_revoked":
			return refusedKey(a.reason);
		case "insufficient_credits":
			return new ApiError(
				402,
				"insufficient_quota",
				"insufficient_credits",
				`This request needs up to ${a.required} credits; the balance is ${a.balance}. Lower n or add credits.`,
				null,
				{ "x-credits-remaining": String(a.balance) },
			);
		case "rate_limited":
			return new ApiError(
				429,
				"rate_limit_error",
				"rate_limit_exceeded",
				`Limit ${a.limit} (${a.value}) reached; retry in ${a.retryAfterSeconds} s`,
				a.limit,
				{
					"retry-after": String(a.retryAfterSeconds),
					"ratelimit-limit": String(a.value),
					"ratelimit-remaining": "0",
					"ratelimit-reset": String(a.retryAfterSeconds),
					"ratelimit-policy": `"${a.limit}";q=${a.value}`,
				},
			);
		case "idempotency_mismatch":
			return new ApiError(
				422,
				"invalid_request_error",
				"idempotency_key_reused",
				"This Idempotency-Key was already used with a different request body",
				"Idempotency-Key",
			);
		case "idempotency_in_flight":
			return new ApiError(
				409,
				"invalid_request_error",
				"idempotency_in_flight",
				"A request with this Idempotency-Key is still running",
				"Idempotency-Key",
			);
	}
}
