/**
 * Per-key rate limits and quotas. Each key may override any of them; the rest come from
 * the DEFAULT_LIMITS variable (JSON, validated with the rest of the configuration) or the
 * defaults here.
 */
import { z } from "zod";
import { lazy } from "../lib/lazy";

export interface Limits {
	requests_per_minute: number;
	concurrent_requests: number;
	/**
	 * Batch-tier jobs waiting or running at once. Apart from concurrent_requests: a batch
	 * job holds its credits for up to 72 hours, and must never take a sync request's slot.
	 */
	concurrent_batch_jobs: number;
	images_per_day: number;
	images_per_month: number;
}

export type LimitName = keyof Limits;

/** Whether a hold is batch-tier work (its usage row's endpoint ends in ":batch"), which has its own concurrency limit. */
export const isBatchWork = (draft: { endpoint: string }): boolean => draft.endpoint.endsWith(":batch");

export const BUILTIN_LIMITS: Limits = {
	requests_per_minute: 60,
	concurrent_requests: 8,
	concurrent_batch_jobs: 200,
	images_per_day: 1_000,
	images_per_month: 20_000,
};

const Value = lazy(() => z.number().int().min(0).max(10_000_000));

/** A per-key override: each field a non-negative integer, or null to return to the default. */
export const LimitsPatch = lazy(() =>
	z.strictObject({
		requests_per_minute: Value().nullable().optional(),
		concurrent_requests: Value().nullable().optional(),
		concurrent_batch_jobs: Value().nullable().optional(),
		images_per_day: Value().nullable().optional(),
		images_per_month: Value().nullable().optional(),
	}),
);
export type LimitsPatch = z.infer<ReturnType<typeof LimitsPatch>>;
export type LimitOverrides = Partial<Limits>;

/** The built-in defaults with the DEFAULT_LIMITS variable (already validated) applied. */
export function defaultLimits(patch: LimitsPatch = {}): Limits {
	const out = { ...BUILTIN_LIMITS };
	for (const [k, v] of Object.entries(patch) as Array<[LimitName, number | null | undefined]>) if (typeof v === "number") out[k] = v;
	return out;
}

/** Applies a patch to stored overrides (null removes an override). */
export function applyPatch(current: LimitOverrides, patch: LimitsPatch): LimitOverrides {
	const next: LimitOverrides = { ...current };
	for (const [k, v] of Object.entries(patch) as Array<[LimitName, number | null | undefined]>) {
		if (v === null) delete next[k];
		else if (v !== undefined) next[k] = v;
	}
	return next;
}
