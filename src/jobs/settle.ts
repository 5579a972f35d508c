/**
 * What every way of running a job shares (the queue consumer, and the Batch lane's
 * formation and polling): the queue decision, the retry backoff, the key's account, the
 * usage outcome of a run, and how a job is finished (row, pipeline run, webhook).
 */

import { accountFor, type KeyAccountStub } from "../account/key-account";
import { emptyOutcome, type UsageOutcome } from "../account/records";
import type { GatewayConfig } from "../config";
import type { ApiError } from "../errors";
import { GeminiTimeoutError } from "../gemini/errors";
import type { GenerationResult } from "../pipeline/generate";
import { spendRecord } from "../pipeline/meter";
import { getKey } from "../storage/db";
import { finishRun, type JobRow, updateJob } from "../storage/jobs";
import { dropJobInputs } from "./spec";
import type { JobMessage } from "./submit";

export type Decision = { ack: true } | { retryInSeconds: number } | { deadLetter: true };

/** Seconds before retry number `attempt`: doubling from `base`, capped at 15 minutes. */
export function backoff(config: GatewayConfig, attempt: number, base = config.jobRetryBaseSeconds): number {
	return Math.min(900, Math.round(base * 2 ** Math.max(0, attempt - 1)));
}

/** The KeyAccount of a key id, or null when the key no longer exists. */
export async function accountOfKey(env: Env, keyId: string): Promise<KeyAccountStub | null> {
	const k = await getKey(env.DB, keyId);
	return k ? accountFor(env, k.key_hash) : null;
}

/** Only upstream trouble a later attempt can fix: rate limits, 5xx, timeouts, dropped connections. */
export function transient(result: GenerationResult): boolean {
	return (
		result.failures.length > 0 &&
		result.failures.every((f) => f.kind === "upstream" && (f.error.retryable || f.error instanceof GeminiTimeoutError))
	);
}

/** What settlement records about a pipeline run. */
export function outcomeOf(result: GenerationResult | undefined, status: number, code: string | null): UsageOutcome {
	return {
		imagesDelivered: result?.images.length ?? 0,
		promptTokens: result?.usage.inputTokens ?? 0,
		outputTokens: result?.usage.outputTokens ?? 0,
		totalTokens: result?.usage.totalTokens ?? 0,
		upstreamMs: result?.upstreamMs ?? null,
		upstreamModel: result?.upstreamModel ?? null,
		upstreams: result?.images.map((i) => i.upstream) ?? [],
		status,
		errorCode: code,
		finishReason: result?.finishReason ?? null,
		r2Keys: result?.images.map((i) => i.key) ?? [],
		...spendRecord(result?.spend),
	};
}

export type RunReport = { status: "succeeded" | "failed" | "skipped"; images?: string[]; credits?: number; reason?: string | null };

/** Writes the job's final row, deletes its uploaded images, closes its pipeline run, and queues its webhook. */
export async function finish(env: Env, job: JobRow, fields: Partial<JobRow>, run?: RunReport): Promise<void> {
	await updateJob(env.DB, job.id, { ...fields, lease_until: null, finished_at: new Date().toISOString() });
	await dropJobInputs(env, job.spec);
	if (job.pipeline_run_id && run) await finishRun(env.DB, job.pipeline_run_id, run);
	if (job.webhook_url) await env.JOBS.send({ type: "webhook", jobId: job.id } satisfies JobMessage);
}

/** Fails a job that delivered nothing: its hold released (charged 0), the error recorded. */
export async function failJob(
	env: Env,
	job: JobRow,
	account: KeyAccountStub | null,
	error: ApiError,
	runStatus: RunReport["status"] = "failed",
	/** What the failed job is charged: nothing, unless the operator charges refused answers (CHARGE_REFUSED). */
	charge = 0,
): Promise<void> {
	if (account && job.reservation_id) {
		await account.settle({ reservationId: job.reservation_id, charge, outcome: emptyOutcome(error.status, error.code) });
	}
	await finish(
		env,
		job,
		{ status: "FAILED", error: JSON.stringify(error.toJSON().error), credits_charged: 0 },
		{ status: runStatus, reason: error.code },
	);
}
