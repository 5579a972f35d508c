/**
 * The queue consumer: runs jobs through the one generation pipeline and delivers
 * webhooks. Every message may arrive more than once; a job is claimed in D1 (with a
 * lease) before it runs, and settlement is idempotent per hold, so a duplicate neither
 * runs nor charges twice. Transient upstream failures go back on the queue with
 * exponential backoff; after the last attempt the job fails, its hold is released, and
 * the message is sent to the dead-letter queue.
 */

import type { KeyAccountStub } from "../account/key-account";
import { pricePerImage } from "../billing/prices";
import type { GatewayConfig } from "../config";
import { ApiError, apiError } from "../errors";
import { loadConfig } from "../load-config";
import { type GenerationResult, runGeneration } from "../pipeline/generate";
import { chargeOf } from "../pipeline/meter";
import { holdOf, meteredOf, refusal, usageDraft, usesOf } from "../pipeline/metering";
import type { GenerationRequest } from "../pipeline/request";
import { claimJob, getJob, type JobRow, setRunStatus, TERMINAL, updateJob } from "../storage/jobs";
import { formBatch } from "./batch/form";
import { pollBatch } from "./batch/poll";
import { processKeyEvent } from "./key-events";
import { presentJob } from "./present";
import { accountOfKey, backoff, type Decision, finish, outcomeOf, transient } from "./settle";
import { fromSpec, type JobSpec } from "./spec";
import type { JobMessage } from "./submit";
import { deliver } from "./webhooks";

/** Long enough for the slowest generation; a dead worker's job is picked up after it. */
export const LEASE_MS = 15 * 60_000;
/** On top of the worst case: queue delivery, clocks, settling. */
const HOLD_SLACK_MS = 5 * 60_000;

/**
 * How long a hold made when a job runs (a pipeline run's) must live: every attempt may take
 * its whole lease (a worker that dies is replaced only when its lease runs out), with the
 * backoff between attempts, so the hold outlives the job's worst case and is settled, not
 * expired, however the attempts go.
 */
export function runHoldMs(config: GatewayConfig): number {
	let ms = config.jobMaxAttempts * LEASE_MS + HOLD_SLACK_MS;
	for (let attempt = 1; attempt < config.jobMaxAttempts; attempt++) ms += backoff(config, attempt) * 1000;
	return ms;
}

/** Runs one queued job: claimed, its request rebuilt, its hold in place, generated, settled and finished. */
export async function processJob(env: Env, jobId: string): Promise<Decision> {
	const config = loadConfig(env);
	const job = await getJob(env.DB, jobId);
	if (!job || TERMINAL.has(job.status)) return { ack: true }; // duplicate or stale delivery
	if (!(await claimJob(env.DB, jobId, Date.now(), LEASE_MS))) {
		// Another delivery holds it: look again once its lease runs out (it may have died).
		const now = await getJob(env.DB, jobId);
		if (!now || TERMINAL.has(now.status)) return { ack: true };
		return { retryInSeconds: Math.min(900, Math.max(1, Math.ceil(((now.lease_until ?? Date.now()) - Date.now()) / 1000))) };
	}
	const spec = JSON.parse(job.spec) as JobSpec;
	const account = await accountOfKey(env, job.key_id);
	if (!account) {
		await finish(
			env,
			job,
			{ status: "FAILED", error: JSON.stringify({ code: "invalid_api_key", message: "The key that owns this job no longer exists" }) },
			{ status: "skipped", reason: "key_missing" },
		);
		return { ack: true };
	}
	if (job.pipeline_run_id) await setRunStatus(env.DB, job.pipeline_run_id, "running");
	const req = await requestOf(env, config, job, spec, account);
	if (!req) return { ack: true };
	const hold = await holdFor(env, config, job, spec, account, req);
	if (!hold) return { ack: true };
	const result = await runGeneration({ env, config, requestId: job.id, keyId: job.key_id, origin: spec.origin }, req);
	return await conclude(env, config, job, account, hold, result);
}

/** The job's request rebuilt from its spec; when that fails (an input gone, a URL refused) the job fails, its hold released. */
async function requestOf(
	env: Env,
	config: GatewayConfig,
	job: JobRow,
	spec: JobSpec,
	account: KeyAccountStub,
): Promise<GenerationRequest | null> {
	try {
		return await fromSpec(env, spec, config);
	} catch (error) {
		const e = error instanceof ApiError ? error : apiError("invalid_image", String(error));
		if (job.reservation_id)
			await account.settle({
				reservationId: job.reservation_id,
				charge: 0,
				outcome: outcomeOf(undefined, e.status, e.code),
			});
		await finish(env, job, { status: "FAILED", error: JSON.stringify(e.toJSON().error) }, { status: "failed", reason: e.code });
		return null;
	}
}

/** The job's hold: made at submission, or (pipeline runs are paid for when they run) now; null when a run cannot be paid for and is skipped. */
async function holdFor(
	env: Env,
	config: GatewayConfig,
	job: JobRow,
	spec: JobSpec,
	account: KeyAccountStub,
	req: GenerationRequest,
): Promise<{ reservationId: string; price: number } | null> {
	if (job.reservation_id) return { reservationId: job.reservation_id, price: job.price };
	const price = pricePerImage(config.prices, req.model, req.imageSize);
	const metered = { ...meteredOf(req, config), endpoint: spec.endpoint };
	const admitted = await account.admit({
		draft: usageDraft(job.id, metered),
		credits: holdOf(config, metered, price),
		images: req.n,
		ttlMs: runHoldMs(config),
		uses: usesOf(metered),
	});
	if (!admitted.ok) {
		const e = admitted.reason === "replay" ? apiError("internal_error", "unexpected replay") : refusal(admitted);
		await finish(env, job, { status: "FAILED", error: JSON.stringify(e.toJSON().error) }, { status: "skipped", reason: e.code });
		return null;
	}
	await updateJob(env.DB, job.id, { reservation_id: admitted.reservationId, price });
	return { reservationId: admitted.reservationId, price };
}

/** After the run: a transient failure is retried while attempts remain; otherwise settled and finished. */
async function conclude(
	env: Env,
	config: GatewayConfig,
	job: JobRow,
	account: KeyAccountStub,
	hold: { reservationId: string; price: number },
	result: GenerationResult,
): Promise<Decision> {
	const attempts = job.attempts + 1;
	if (result.error && transient(result) && attempts < config.jobMaxAttempts) {
		await updateJob(env.DB, job.id, { status: "CREATED", lease_until: null, error: JSON.stringify(result.error.toJSON().error) });
		return { retryInSeconds: backoff(config, attempts) };
	}
	await updateJob(env.DB, job.id, { status: "STORING", storing_at: new Date().toISOString() });
	const status = result.error?.status ?? 200;
	const settled = await account.settle({
		reservationId: hold.reservationId,
		charge: chargeOf(config, result.images.length, hold.price, result.spend, (JSON.parse(job.spec) as JobSpec).n),
		outcome: outcomeOf(result, status, result.error?.code ?? null),
	});
	if (result.error) {
		await finish(
			env,
			job,
			{ status: "FAILED", error: JSON.stringify(result.error.toJSON().error), credits_charged: settled.charged },
			{ status: "failed", reason: result.error.code },
		);
		return transient(result) ? { deadLetter: true } : { ack: true };
	}
	const body = {
		images: result.images.map((i) => ({ url: i.url, mime_type: i.mimeType, bytes: i.bytes })),
		usage: { input_tokens: result.usage.inputTokens, output_tokens: result.usage.outputTokens, total_tokens: result.usage.totalTokens },
		credits_charged: settled.charged,
		failed_images: result.failures.length,
	};
	await finish(
		env,
		job,
		{ status: "SUCCEEDED", result: JSON.stringify(body), error: null, credits_charged: settled.charged },
		{
			status: "succeeded",
			images: body.images.map((i) => i.url),
			credits: settled.charged,
		},
	);
	return { ack: true };
}

export async function processWebhook(env: Env, jobId: string, attempt: number): Promise<Decision> {
	const config = loadConfig(env);
	const job = await getJob(env.DB, jobId);
	if (!job?.webhook_url || !TERMINAL.has(job.status) || job.webhook_status === "delivered") return { ack: true };
	const account = await accountOfKey(env, job.key_id);
	const secret = await account?.webhookSecret();
	if (!secret) return { ack: true };
	const spec = JSON.parse(job.spec) as JobSpec;
	const body = JSON.stringify({
		type: `job.${job.status.toLowerCase()}`,
		timestamp: new Date().toISOString(),
		data: presentJob(job, spec.origin),
	});
	let sent: { ok: boolean; status: number | null };
	try {
		sent = await deliver(job.webhook_url, secret, `msg_${job.id}_${job.status}`, body, config.webhookTimeoutMs, config.allowHttpImageUrls);
	} catch {
		sent = { ok: false, status: null }; // the URL no longer passes the public-URL rules
		await updateJob(env.DB, job.id, { webhook_status: "failed" });
		return { deadLetter: true };
	}
	if (sent.ok) {
		await updateJob(env.DB, job.id, { webhook_status: "delivered" });
		return { ack: true };
	}
	if (attempt >= config.webhookMaxAttempts) {
		await updateJob(env.DB, job.id, { webhook_status: "failed" });
		return { deadLetter: true };
	}
	await updateJob(env.DB, job.id, { webhook_status: `retrying (last: ${sent.status ?? "no response"})` });
	return { retryInSeconds: backoff(config, attempt, Math.max(1, config.jobRetryBaseSeconds)) };
}

/** The Worker's `queue` handler. */
export async function handleQueue(batch: MessageBatch<JobMessage>, env: Env): Promise<void> {
	const config = loadConfig(env);
	for (const msg of batch.messages) {
		try {
			const body = msg.body;
			const decision =
				body.type === "webhook"
					? await processWebhook(env, body.jobId, msg.attempts)
					: body.type === "key-event"
						? await processKeyEvent(env, config, body, msg.attempts)
						: body.type === "batch-window"
							? await formBatch(env, config, body.model)
							: body.type === "batch-poll"
								? await pollBatch(env, config, body.batchId)
								: await processJob(env, body.jobId);
			if ("retryInSeconds" in decision) msg.retry({ delaySeconds: decision.retryInSeconds });
			else {
				if ("deadLetter" in decision) await env.JOBS_DLQ.send(body);
				msg.ack();
			}
		} catch (error) {
			console.error(JSON.stringify({ event: "queue_message_failed", id: msg.id, attempts: msg.attempts, error: String(error) }));
			// Hand the job back so the retry can claim it (its hold is still in place).
			if (msg.body.type === "job") {
				await updateJob(env.DB, msg.body.jobId, { status: "CREATED", lease_until: null }).catch(() => undefined);
			}
			msg.retry({ delaySeconds: backoff(config, msg.attempts) });
		}
	}
}
