/**
 * The Batch lane's first step: a model's window has passed, so every batch-tier job
 * waiting for that model is claimed and sent as one Gemini `batchGenerateContent`, with
 * inline requests under the size cap (jobs that do not fit wait for the next batch).
 * Claiming is a conditional update, so a job is in one batch at most, and a job canceled
 * while waiting is never claimed. Pipeline runs are paid for here, when they run.
 *
 * Gemini refusing the batch for good fails its jobs (holds released); Gemini being busy
 * (429, 5xx) hands the jobs back to the waiting line and tries again with backoff, until
 * JOB_MAX_ATTEMPTS. A timeout is different: Gemini may have made the batch, so the batch
 * keeps its id and jobs and the retry resumes it, adopting the batch if Gemini has it
 * (./adopt.ts).
 */
import type { KeyAccountStub } from "../../account/key-account";
import { randomId } from "../../account/keys";
import { pricePerImage } from "../../billing/prices";
import type { ModelSpec } from "../../catalog/catalog";
import type { GatewayConfig } from "../../config";
import { ApiError, apiError } from "../../errors";
import { GeminiError, GeminiTimeoutError } from "../../gemini/errors";
import type { BatchOperation } from "../../gemini/types";
import { upstreamToError } from "../../pipeline/failures";
import { askOf } from "../../pipeline/generate";
import { callBound, holdOf, meteredOf, refusal, usageDraft, usesOf } from "../../pipeline/metering";
import type { GenerationRequest } from "../../pipeline/request";
import { checkUpstreamSupports, onChain } from "../../pipeline/upstream";
import {
	type BatchRow,
	claimWaitingJobs,
	countSubmissionAttempt,
	deleteBatch,
	insertBatch,
	jobsOfBatch,
	leaseBatch,
	setJobsBatchState,
	takeUnrecordedSubmission,
	unclaimJobs,
	updateBatch,
} from "../../storage/batches";
import { type JobRow, setRunStatus, updateJob } from "../../storage/jobs";
import { accountOfKey, backoff, type Decision, failJob, finish } from "../settle";
import { fromSpec, type JobSpec } from "../spec";
import { BATCH_HOLD_MS, type JobMessage } from "../submit";
import { displayNameOf, findSubmitted } from "./adopt";
import { batchBody, fitsWith, inlineRequests } from "./requests";

/** At most this many jobs are claimed per batch (each may carry up to 9 requests). */
const MAX_JOBS = 200;

interface Entry {
	job: JobRow;
	account: KeyAccountStub;
	req: GenerationRequest;
	text: string;
	bytes: number;
	requests: number;
}

/** A claimed job made ready: its request rebuilt, its hold in place. Null when it failed instead. */
async function prepare(env: Env, config: GatewayConfig, job: JobRow): Promise<Entry | null> {
	const account = await accountOfKey(env, job.key_id);
	if (!account) {
		const e = apiError("invalid_api_key", "The key that owns this job no longer exists");
		await finish(env, job, { status: "FAILED", error: JSON.stringify(e.toJSON().error) }, { status: "skipped", reason: "key_missing" });
		return null;
	}
	const spec = JSON.parse(job.spec) as JobSpec;
	if (job.pipeline_run_id) await setRunStatus(env.DB, job.pipeline_run_id, "running");
	let req: GenerationRequest;
	try {
		req = await fromSpec(env, spec, config);
	} catch (error) {
		await failJob(env, job, account, error instanceof ApiError ? error : apiError("invalid_image", String(error)));
		return null;
	}
	if (!job.reservation_id) {
		// A pipeline run: paid for now, at the batch price; one it cannot pay for is skipped.
		const price = pricePerImage(config.batchPrices, req.model, req.imageSize);
		const metered = { ...meteredOf(req, config, "batch"), endpoint: `${spec.endpoint}:batch`, features: { batch: true } };
		const admitted = await account.admit({
			draft: usageDraft(job.id, metered),
			credits: holdOf(config, metered, price),
			images: req.n,
			ttlMs: BATCH_HOLD_MS,
			uses: usesOf(metered),
		});
		if (!admitted.ok) {
			const e = admitted.reason === "replay" ? apiError("internal_error", "unexpected replay") : refusal(admitted);
			await finish(env, job, { status: "FAILED", error: JSON.stringify(e.toJSON().error) }, { status: "skipped", reason: e.code });
			return null;
		}
		job.reservation_id = admitted.reservationId;
		job.price = price;
		await updateJob(env.DB, job.id, { reservation_id: job.reservation_id, price });
	}
	const { text, bytes } = inlineRequests(job.id, req, callBound(config, req, "batch").maxOutputTokens);
	return { job, account, req, text, bytes, requests: req.n };
}

/** A batch being formed: its id, its model, the jobs still in it, and their inline size. */
interface Forming {
	id: string;
	model: ModelSpec;
	/** Narrowed when the serving id turns out unable to take some jobs. */
	live: Entry[];
	bytes: number;
}

/** Longer than any submission takes (the Gemini deadline is at most 15 minutes): a former holding it longer died. */
export const SUBMISSION_MS = 20 * 60_000;

/**
 * Claims the model's waiting jobs and submits them as one batch; first, a submission whose
 * answer was lost is resumed (adopted if Google has it), so no batch is submitted twice.
 */
export async function formBatch(env: Env, config: GatewayConfig, model: string): Promise<Decision> {
	const now = Date.now();
	const unrecorded = await takeUnrecordedSubmission(env.DB, model, now, now + SUBMISSION_MS);
	if (unrecorded) return await resume(env, config, unrecorded);
	const id = randomId("bat");
	await insertBatch(env.DB, id, model, new Date(now).toISOString());
	await leaseBatch(env.DB, id, now, now + SUBMISSION_MS);
	const claimed = await claimWaitingJobs(env.DB, model, id, MAX_JOBS);
	if (claimed.length === 0) {
		await deleteBatch(env.DB, id); // another window's message took them already
		return { ack: true };
	}
	const { live, bytes } = await gather(env, config, model, claimed);
	const spec = config.catalog.find(model);
	if (live.length === 0 || !spec) {
		const e = apiError("model_not_found", `Unknown model '${model}'`, { param: "model" });
		for (const entry of live) await failJob(env, entry.job, entry.account, e);
		await closeUnsubmitted(env, id);
		return { ack: true };
	}
	const forming: Forming = { id, model: spec, live, bytes };
	try {
		return await submit(env, config, forming);
	} catch (error) {
		return await submitFailed(env, config, forming, error);
	}
}

/** A submission resumed with the jobs it claimed: adopted when Google has it under its display name, else submitted again under it. */
async function resume(env: Env, config: GatewayConfig, batch: BatchRow): Promise<Decision> {
	await countSubmissionAttempt(env.DB, batch.id);
	const claimed = await jobsOfBatch(env.DB, batch.id);
	const spec = config.catalog.find(batch.model);
	const { live, bytes } = await gather(env, config, batch.model, claimed);
	if (live.length === 0 || !spec) {
		const e = apiError("model_not_found", `Unknown model '${batch.model}'`, { param: "model" });
		for (const entry of live) await failJob(env, entry.job, entry.account, e);
		await closeUnsubmitted(env, batch.id);
		return { ack: true };
	}
	const forming: Forming = { id: batch.id, model: spec, live, bytes };
	try {
		const found = await findSubmitted(config, displayNameOf(batch.id));
		if (found) {
			const upstreamModel = found.op.metadata?.model?.replace(/^models\//, "") ?? spec.chain[0];
			return await recordSubmitted(env, config, forming, found.op, upstreamModel, found.upstream);
		}
		return await submit(env, config, forming);
	} catch (error) {
		return await submitFailed(env, config, forming, error);
	}
}

/**
 * Prepares the claimed jobs in their order while they fit under the size cap; the first
 * that does not, and every job after it, go back to wait for the next batch (queued now).
 */
async function gather(env: Env, config: GatewayConfig, model: string, claimed: JobRow[]): Promise<{ live: Entry[]; bytes: number }> {
	const live: Entry[] = [];
	const later: string[] = [];
	let bytes = 0;
	for (const job of claimed) {
		if (later.length > 0) {
			later.push(job.id);
			continue;
		}
		const entry = await prepare(env, config, job);
		if (!entry) continue;
		if (!fitsWith(bytes, entry.bytes, config.batchMaxInlineBytes)) {
			later.push(job.id); // keeps its order: the next batch starts with it
			continue;
		}
		bytes += entry.bytes;
		live.push(entry);
	}
	if (later.length > 0) {
		await unclaimJobs(env.DB, later);
		await env.JOBS.send({ type: "batch-window", model } satisfies JobMessage);
	}
	return { live, bytes };
}

/** Sends the batch to a Gemini API upstream, records it, and schedules its first poll. */
async function submit(env: Env, config: GatewayConfig, f: Forming): Promise<Decision> {
	const {
		value: op,
		upstreamModel,
		upstream,
	} = await onChain(
		env,
		config,
		{ model: f.model, inputImages: 0 },
		async (upstreamId, client) => {
			f.live = await servable(env, config, f.live, upstreamId);
			if (f.live.length === 0) return undefined;
			return client.createBatch(
				upstreamId,
				batchBody(
					displayNameOf(f.id),
					f.live.map((e) => e.text),
				),
			);
		},
		// Only the Gemini API has the Batch API; the batch stays with the key that accepted it.
		{ accepts: (u) => u.kind === "gemini", what: "the Batch API" },
	);
	if (!op?.name) {
		if (op) throw new GeminiError("Gemini accepted the batch without naming it", { status: 200 });
		await closeUnsubmitted(env, f.id);
		return { ack: true };
	}
	return await recordSubmitted(env, config, f, { ...op, name: op.name }, upstreamModel, upstream);
}

/** Records a batch Gemini holds (submitted now, or adopted), and schedules its first poll. */
async function recordSubmitted(
	env: Env,
	config: GatewayConfig,
	f: Forming,
	op: BatchOperation & { name: string },
	upstreamModel: string,
	upstream: string,
): Promise<Decision> {
	const state = op.metadata?.state ?? "BATCH_STATE_PENDING";
	await updateBatch(env.DB, f.id, {
		upstream_name: op.name,
		upstream_model: upstreamModel,
		upstream,
		state,
		jobs: f.live.length,
		requests: f.live.reduce((n, e) => n + e.requests, 0),
		bytes: f.bytes,
		lease_until: null,
		submitted_at: new Date().toISOString(),
		next_poll_at: new Date(Date.now() + config.batchPollSeconds * 1000).toISOString(),
	});
	await setJobsBatchState(env.DB, f.id, state);
	await env.JOBS.send({ type: "batch-poll", batchId: f.id } satisfies JobMessage, { delaySeconds: config.batchPollSeconds });
	return { ack: true };
}

/** Each job against the id that will serve it: one it cannot serve fails alone (400), as in a sync call. */
async function servable(env: Env, config: GatewayConfig, entries: Entry[], upstreamId: string): Promise<Entry[]> {
	const served: Entry[] = [];
	for (const entry of entries) {
		try {
			checkUpstreamSupports(config, upstreamId, askOf(entry.req));
			served.push(entry);
		} catch (error) {
			if (!(error instanceof ApiError)) throw error;
			await failJob(env, entry.job, entry.account, error);
		}
	}
	return served;
}

/**
 * Gemini did not take the batch. Busy (429, 5xx, timeouts): the jobs wait again and the
 * retry gathers them (and any newcomers). Refused for good: its jobs fail, holds released.
 */
async function submitFailed(env: Env, config: GatewayConfig, f: Forming, error: unknown): Promise<Decision> {
	const attempts = Math.max(...f.live.map((e) => e.job.attempts)); // counted when claimed
	if (error instanceof GeminiTimeoutError && attempts < config.jobMaxAttempts) {
		// Gemini may have made the batch before the answer was lost: keep its id and its jobs,
		// so the retry finds it under its display name instead of submitting it again.
		const retryInSeconds = backoff(config, attempts);
		await updateBatch(env.DB, f.id, { lease_until: Date.now() + retryInSeconds * 1000 - 1 });
		return { retryInSeconds };
	}
	if (error instanceof GeminiError && error.retryable && attempts < config.jobMaxAttempts) {
		await unclaimJobs(
			env.DB,
			f.live.map((e) => e.job.id),
		);
		await deleteBatch(env.DB, f.id);
		return { retryInSeconds: backoff(config, attempts) };
	}
	const e = error instanceof GeminiError ? upstreamToError(error, f.id) : error instanceof ApiError ? error : undefined;
	if (!e) throw error;
	for (const entry of f.live) await failJob(env, entry.job, entry.account, e);
	await closeUnsubmitted(env, f.id, e);
	return { ack: true };
}

/** Closes a batch that was never submitted (nothing left to hold: it is settled). */
async function closeUnsubmitted(env: Env, id: string, error?: ApiError): Promise<void> {
	await updateBatch(env.DB, id, {
		state: "NOT_SUBMITTED",
		settled: 1,
		...(error ? { error: JSON.stringify(error.toJSON().error) } : {}),
		finished_at: new Date().toISOString(),
	});
}
