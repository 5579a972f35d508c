/**
 * Shapes that cross the Worker <-> KeyAccount RPC boundary and travel through the
 * outbox to D1. Plain data only (structured-clonable).
 */
import type { ControlName, KeyControls, SpendLimitName } from "../billing/controls";
import type { LimitName, LimitOverrides, Limits } from "../billing/limits";

/** What is known about a request when it is admitted. */
export interface UsageDraft {
	requestId: string;
	endpoint: string;
	model: string;
	mode: "generate" | "edit";
	n: number;
	aspectRatio: string | null;
	imageSize: string | null;
	/** The request's prompt, cut to PROMPT_KEPT_CHARS (absent in drafts held before it was recorded). */
	prompt?: string | null;
	startedAt: number;
}

/** What happened, reported at settlement. */
export interface UsageOutcome {
	imagesDelivered: number;
	promptTokens: number;
	outputTokens: number;
	totalTokens: number;
	upstreamMs: number | null;
	/** The Gemini id that served the request, when one answered. */
	upstreamModel?: string | null;
	/** The upstream (pool member) of each delivered image, in order. */
	upstreams?: string[];
	status: number;
	errorCode: string | null;
	finishReason: string | null;
	r2Keys: string[];
	/** What Google billed (credits, a fraction) and the tokens behind it (src/pipeline/meter.ts). */
	googleCost?: number;
	metered?: MeteredRecord;
}

/** The meter's record of a request's tokens, as stored in the usage row's `metered` column. */
export interface MeteredRecord {
	input_text: number;
	input_image: number;
	cached_input: number;
	output_image: number;
	output_text: number;
	thoughts: number;
	search_queries: number;
	service_tier: string;
	/** Answers by the model that served them. */
	models: Record<string, number>;
	/** Google's bill by what became of the answers (credits). */
	cost: { delivered: number; refused: number; faulted: number };
}

/** The outcome of a request that delivered nothing (refused, canceled, expired, unqueued). */
export function emptyOutcome(status: number, errorCode: string, r2Keys: string[] = []): UsageOutcome {
	return {
		imagesDelivered: 0,
		promptTokens: 0,
		outputTokens: 0,
		totalTokens: 0,
		upstreamMs: null,
		status,
		errorCode,
		finishReason: null,
		r2Keys,
	};
}

/** The UTC day (`yyyy-mm-dd`) and month (`yyyy-mm`) of a time in ms. */
export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
export const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);

/** The D1 usage row of a request admitted (or refused) with `draft`, finished at `now`. */
export function usageRow(keyId: string, draft: UsageDraft, reserved: number, charged: number, o: UsageOutcome, now: number): UsageRow {
	return {
		request_id: draft.requestId,
		key_id: keyId,
		endpoint: draft.endpoint,
		model: draft.model,
		upstream_model: o.upstreamModel ?? null,
		mode: draft.mode,
		n_requested: draft.n,
		images_delivered: o.imagesDelivered,
		aspect_ratio: draft.aspectRatio,
		image_size: draft.imageSize,
		credits_reserved: reserved,
		credits_charged: charged,
		prompt_tokens: o.promptTokens,
		output_tokens: o.outputTokens,
		total_tokens: o.totalTokens,
		upstream_ms: o.upstreamMs,
		total_ms: now - draft.startedAt,
		status: o.status,
		error_code: o.errorCode,
		finish_reason: o.finishReason,
		r2_keys: JSON.stringify(o.r2Keys),
		prompt: draft.prompt ?? null,
		upstreams: JSON.stringify(o.upstreams ?? []),
		google_cost: Math.round((o.googleCost ?? 0) * 10_000) / 10_000,
		metered: JSON.stringify(o.metered ?? {}),
		created_at: new Date(draft.startedAt).toISOString(),
		day: dayOf(draft.startedAt),
	};
}

/** The D1 usage row. */
export interface UsageRow {
	request_id: string;
	key_id: string;
	endpoint: string;
	model: string;
	upstream_model: string | null;
	mode: string;
	n_requested: number;
	images_delivered: number;
	aspect_ratio: string | null;
	image_size: string | null;
	credits_reserved: number;
	credits_charged: number;
	prompt_tokens: number;
	output_tokens: number;
	total_tokens: number;
	upstream_ms: number | null;
	total_ms: number | null;
	status: number;
	error_code: string | null;
	finish_reason: string | null;
	r2_keys: string;
	/** The prompt's first PROMPT_KEPT_CHARS characters; null for rows from before it was kept. */
	prompt: string | null;
	/** JSON array: the upstream (pool member id) that served each delivered image, in order. */
	upstreams: string;
	/** Google's bill for the request, in credits (a fraction). */
	google_cost: number;
	/** JSON MeteredRecord. */
	metered: string;
	created_at: string;
	day: string;
}

export type LedgerKind = "grant" | "adjustment" | "reserve" | "release" | "charge";

/**
 * The D1 ledger row. `seq` orders a key's rows: it is taken when the balance changes, so
 * `balance_after` chains row to row in `seq` order. Rows queued before it was carried
 * here lack it and take their outbox sequence instead.
 */
export interface LedgerRow {
	id: string;
	seq?: number;
	key_id: string;
	request_id: string | null;
	kind: LedgerKind;
	amount: number;
	balance_after: number;
	reason: string | null;
	created_at: string;
}

/** A stored response, replayed for a repeated Idempotency-Key. */
export interface StoredResponse {
	status: number;
	headers: Record<string, string>;
	/** Inline body, or the R2 key holding it when it was too large for the object. */
	body?: string;
	bodyRef?: string;
}

/** The key an admission found valid: admission is also the key check for the routes it guards. */
export interface KnownKey {
	keyId: string;
	name: string;
}

/** An admin grant's Idempotency-Key, and what its body is recognised by. */
export interface GrantKey {
	key: string;
	bodyHash: string;
}

/** A grant's or adjustment's result; `replayed`: a repeat of an Idempotency-Key, answered with the first balance. */
export type GrantResult =
	| { ok: true; balance: number; replayed?: true }
	| { ok: false; reason: "unknown_key" | "would_go_negative" | "idempotency_mismatch"; balance: number };

export type AdmitResult =
	| ({ ok: true; reservationId: string; balance: number; rateLimit: { limit: number; remaining: number; resetSeconds: number } } & KnownKey)
	| { ok: false; reason: "unknown_key" | "key_revoked" }
	| ({ ok: false; reason: "insufficient_credits"; balance: number; required: number } & KnownKey)
	| ({ ok: false; reason: "rate_limited"; limit: LimitName; value: number; retryAfterSeconds: number } & KnownKey)
	| ({ ok: false; reason: "not_allowed"; control: ControlName; message: string } & KnownKey)
	| ({
			ok: false;
			reason: "spend_limited";
			limit: SpendLimitName;
			value: number;
			spent: number;
			required: number;
			retryAfterSeconds: number;
	  } & KnownKey)
	| ({ ok: false; reason: "idempotency_mismatch" | "idempotency_in_flight" } & KnownKey)
	| ({ ok: false; reason: "replay"; response: StoredResponse } & KnownKey);

export interface PeriodUsage {
	requests: number;
	images: number;
	credits: number;
}

export interface AccountView {
	keyId: string;
	name: string;
	status: "active" | "revoked";
	createdAt: string;
	revokedAt: string | null;
	credits: number;
	reservedCredits: number;
	limits: Limits;
	limitOverrides: LimitOverrides;
	/** The key's spend controls as set (absent fields: no restriction). */
	controls: KeyControls;
	usage: { today: PeriodUsage; this_month: PeriodUsage };
}
