/**
 * What a request is billed as, shared by the sync path (billed.ts), async submission and
 * the queue consumer: the metered shape, the usage draft the KeyAccount records, and the
 * error a refused admission becomes.
 */
import { refusedKey } from "../account/caller";
import type { AdmitResult, UsageDraft } from "../account/records";
import { type ControlledUse, controlledUse, type RequestedFeatures } from "../billing/controls";
import type { ImageSize, ModelSpec } from "../catalog/catalog";
import { type ApiError, apiError } from "../errors";
import { type GenerationRequest, modeOf } from "./request";

/** What is billed: the model and size set the price, `images` the worst case held. */
export interface Metered {
	endpoint: string;
	model: ModelSpec;
	mode: "generate" | "edit";
	images: number;
	aspectRatio?: string;
	imageSize?: ImageSize;
	/** Priced features the request uses, for the key's controls (billing/controls.ts). */
	features?: RequestedFeatures;
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

/** What the key's controls check at admission: the model's names, the size, the features. */
export function usesOf(m: Metered): ControlledUse {
	return controlledUse(m.model, m.imageSize ?? m.model.defaultImageSize, m.features);
}

/** The error a refused admission becomes (402, 429, 409, 422, 401, 403). */
export function refusal(a: Exclude<AdmitResult, { ok: true } | { reason: "replay" }>): ApiError {
	switch (a.reason) {
		case "unknown_key":
		case "key_revoked":
			return refusedKey(a.reason);
		case "insufficient_credits":
			return apiError(
				"insufficient_credits",
				`This request needs up to ${a.required} credits; the balance is ${a.balance}. Lower n or add credits.`,
				{ headers: { "x-credits-remaining": String(a.balance) } },
			);
		case "rate_limited":
			return apiError("rate_limit_exceeded", `Limit ${a.limit} (${a.value}) reached; retry in ${a.retryAfterSeconds} s`, {
				param: a.limit,
				headers: {
					"retry-after": String(a.retryAfterSeconds),
					"ratelimit-limit": String(a.value),
					"ratelimit-remaining": "0",
					"ratelimit-reset": String(a.retryAfterSeconds),
					"ratelimit-policy": `"${a.limit}";q=${a.value}`,
				},
			});
		case "not_allowed":
			return apiError("not_allowed_for_key", a.message, { param: a.control });
		case "spend_limited":
			return apiError(
				"spend_limit_exceeded",
				`Spend limit ${a.limit} (${a.value} credits) reached: ${a.spent} charged or held in the ${a.limit === "daily_spend_credits" ? "day" : "month"} (UTC), and this request holds up to ${a.required}; retry in ${a.retryAfterSeconds} s`,
				{ param: a.limit, headers: { "retry-after": String(a.retryAfterSeconds) } },
			);
		case "idempotency_mismatch":
			return apiError("idempotency_key_reused", "This Idempotency-Key was already used with a different request body", {
				param: "Idempotency-Key",
			});
		case "idempotency_in_flight":
			return apiError("idempotency_in_flight", "A request with this Idempotency-Key is still running", { param: "Idempotency-Key" });
	}
}
