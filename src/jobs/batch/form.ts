/**
 * The Batch lane's first step: a model's window has passed, so every batch-tier job
 * waiting for that model is claimed and sent as one Gemini `batchGenerateContent`, with
 * inline requests under the size cap (jobs that do not fit wait for the next batch).
 * Claiming is a conditional update, so a job is in one batch at most, and a job canceled
 * while waiting is never claimed. Pipeline runs are paid for here, when they run.
 *
 * Gemini refusing the batch for good fails its jobs (holds released); Gemini being busy
 * (429, 5xx, timeouts) hands the jobs back to the waiting line and tries again with
 * backoff, until JOB_MAX_ATTEMPTS.
 */
import type { KeyAccountStub } from "../../account/key-account";
import { randomId } from "../../account/keys";
import { pricePerImage } from "../../billing/prices";
import { type GatewayConfig, loadConfig } from "../../config";
import { ApiError } from "../../errors";
import { GeminiError, GeminiTimeoutError } from "../../gemini/errors";
import { upstreamToError } from "../../pipeline/failures";
import { askOf } from "../../pipeline/generate";
import { meteredOf, refusal, usageDraft } from "../../pipeline/metering";
import type { GenerationRequest } from "../../pipeline/request";
import { checkUpstreamSupports, onChain } from "../../pipeline/upstream";
import { claimWaitingJobs, deleteBatch, insertBatch, setJobsBatchState, unclaimJobs, updateBatch } from "../../storage/batches";
import { type JobRow, setRunStatus, updateJob } from "../../storage/jobs";
import { accountOfKey, backoff, type Decision, failJob, finish } from "../settle";
import { fromSpec, type JobSpec } from "../spec";
import { BATCH_HOLD_MS, type JobMessage } from "../submit";
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
		const e = new ApiError(401, "authentication_error", "invalid_api_key", "The key that owns this job no longer exists");
		await finish(env, job, { status: "FAILED", error: JSON.stringify(e.toJSON().error) }, { status: "skipped", reason: "key_missing" });
		return null;
	}
	const spec = JSON.parse(job.spec) as JobSpec;
	if (job.pipeline_run_id) await setRunStatus(env.DB, job.pipeline_run_id, "running");
	let req: GenerationRequest;
	try {
		req = await fromSpec(env.IMAGES, spec, config);
	} catch (error) {
		await failJob(
			env,
			job,
			account,
			error instanceof ApiError ? error : new ApiError(400, "invalid_request_error", "invalid_image", String(error)),
		);
		return null;
	}
	if (!job.reservation_id) {
		// A pipeline run: paid for now, at the batch price; one it cannot pay for is skipped.
		const price = pricePerImage(config.batchPrices, req.model, req.imageSize);
		const admitted = await account.admit({
			draft: usageDraft(job.id, { ...meteredOf(req), endpoint: `${spec.endpoint}:batch` }),
			credits: price * req.n,
			images: req.n,
			ttlMs: BATCH_HOLD_MS,
		});
		if (!admitted.ok) {
			const e = admitted.reason === "replay" ? new ApiError(500, "server_error", "internal_error", "unexpected replay") : refusal(admitted);
			await finish(env, job, { status: "FAILED", error: JSON.stringify(e.toJSON().error) }, { status: "skipped", reason: e.code });
			return null;
		}
		job.reservation_id = admitted.reservationId;
		job.price = price;
		await updateJob(env.DB, job.id, { reservation_id: job.reservation_id, price });
	}
	const { text, bytes } = inlineRequests(job.id, req);
	return { job, account, req, text, bytes, requests: req.n };
}

/** Claims the model's waiting jobs and submits them as one batch. */
export async function formBatch(env: Env, model: string): Promise<Decision> {
	const config = loadConfig(env);
	const id = randomId("bat");
	const now = new Date().toISOString();
	await insertBatch(env.DB, id, model, now);
	const claimed = await claimWaitingJobs(env.DB, model, id, MAX_JOBS);
	if (claimed.length === 0) {
		await deleteBatch(env.DB, id); // another window's message took them already
		return { ack: true };
	}
	let live: Entry[] = [];
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
	const spec = config.catalog.find(model);
	if (live.length === 0 || !spec) {
		const e = new ApiError(400, "invalid_request_error", "model_not_found", `Unknown model '${model}'`, "model");
		for (const entry of live) await failJob(env, entry.job, entry.account, e);
		await updateBatch(env.DB, id, { state: "NOT_SUBMITTED", settled: 1, finished_at: new Date().toISOString() });
		return { ack: true };
	}

	try {
		const {
			value: op,
			upstreamModel,
			upstream,
		} = await onChain(
			env,
			config,
			{ model: spec, inputImages: 0 },
			async (upstreamId, client) => {
				// Each job against the id that will serve it: one it cannot serve fails alone (400), as in a sync call.
				const served: Entry[] = [];
				for (const entry of live) {
					try {
						checkUpstreamSupports(config, upstreamId, askOf(entry.req));
						served.push(entry);
					} catch (error) {
						if (!(error instanceof ApiError)) throw error;
						await failJob(env, entry.job, entry.account, error);
					}
				}
				live = served;
				if (live.length === 0) return undefined;
				return client.createBatch(
					upstreamId,
					batchBody(
						`nano-banana-gateway ${id}`,
						live.map((e) => e.text),
					),
				);
			},
			// Only the Gemini API has the Batch API; the batch stays with the key that accepted it.
			{ accepts: (u) => u.kind === "gemini", what: "the Batch API" },
		);
		if (!op?.name) {
			if (op) throw new GeminiError("Gemini accepted the batch without naming it", { status: 200 });
			await updateBatch(env.DB, id, { state: "NOT_SUBMITTED", settled: 1, finished_at: new Date().toISOString() });
			return { ack: true };
		}
		const state = op.metadata?.state ?? "BATCH_STATE_PENDING";
		await updateBatch(env.DB, id, {
			upstream_name: op.name,
			upstream_model: upstreamModel,
			upstream,
			state,
			jobs: live.length,
			requests: live.reduce((n, e) => n + e.requests, 0),
			bytes,
			submitted_at: new Date().toISOString(),
			next_poll_at: new Date(Date.now() + config.batchPollSeconds * 1000).toISOString(),
		});
		await setJobsBatchState(env.DB, id, state);
		await env.JOBS.send({ type: "batch-poll", batchId: id } satisfies JobMessage, { delaySeconds: config.batchPollSeconds });
		return { ack: true };
	} catch (error) {
		const attempts = Math.max(...live.map((e) => e.job.attempts)); // counted when claimed
		if (error instanceof GeminiError && (error.retryable || error instanceof GeminiTimeoutError) && attempts < config.jobMaxAttempts) {
			// Gemini is busy: the jobs wait again, and the retry gathers them (and any newcomers).
			await unclaimJobs(
				env.DB,
				live.map((e) => e.job.id),
			);
			await deleteBatch(env.DB, id);
			return { retryInSeconds: backoff(config, attempts) };
		}
		const e = error instanceof GeminiError ? upstreamToError(error, id) : error instanceof ApiError ? error : undefined;
		if (!e) throw error;
		for (const entry of live) await failJob(env, entry.job, entry.account, e);
		await updateBatch(env.DB, id, {
			state: "NOT_SUBMITTED",
			settled: 1,
			error: JSON.stringify(e.toJSON().error),
			finished_at: new Date().toISOString(),
		});
		return { ack: true };
	}
}
