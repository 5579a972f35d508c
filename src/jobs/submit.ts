/**
 * Async submission (`"async": true` or `Prefer: respond-async`): the credits are held
 * exactly as for a synchronous call, the request is stored, a message is queued, and the
 * client gets 202 at once with where to poll.
 */
import type { KeyEventMessage } from "../account/events";
import { randomId } from "../account/keys";
import { emptyOutcome } from "../account/records";
import { lifecycleHeaders } from "../catalog/headers";
import { apiError, invalidParam } from "../errors";
import { admitCall } from "../pipeline/billed";
import { meteredOf } from "../pipeline/metering";
import type { GenerationRequest } from "../pipeline/request";
import type { CallScope } from "../pipeline/scope";
import { getJob, insertJob, updateJob } from "../storage/jobs";
import { deletePrivate } from "../storage/private";
import { checkFitsBatch } from "./batch/requests";
import { presentJob } from "./present";
import { inputKey, toSpec } from "./spec";

/** A batch-tier job waits for its model's window: the first message after it forms the batch. */
export async function queueForBatch(env: Env, model: string, windowSeconds: number): Promise<void> {
	await env.JOBS.send({ type: "batch-window", model } satisfies JobMessage, { delaySeconds: windowSeconds });
}

export interface AsyncOptions {
	webhookUrl?: string;
	/** "batch": grouped into one Gemini batch at the batch price (src/jobs/batch/). */
	tier?: "standard" | "batch";
}

export type JobMessage =
	| { type: "job"; jobId: string }
	| { type: "webhook"; jobId: string }
	/** Batch lane: gather the model's waiting jobs into one Gemini batch... */
	| { type: "batch-window"; model: string }
	/** ...and look at a submitted batch. */
	| { type: "batch-poll"; batchId: string }
	/** A key event (key.balance_low) to deliver to the key's webhook URL (key-events.ts). */
	| KeyEventMessage;

/** How long an async job's hold may wait in the queue before the alarm releases it. */
export const ASYNC_HOLD_MS = 24 * 60 * 60_000;
/** A batch may take Gemini 48 hours before it expires; the hold outlives that and the polling. */
export const BATCH_HOLD_MS = 72 * 60 * 60_000;

/**
 * Holds the credits, stores and queues the request, and answers 202 with where to poll.
 * Admission is the synchronous path's (admitCall): a repeated Idempotency-Key with the same
 * body replays the first 202 (no second job, no second hold), a different body is 422, and
 * a repeat while the first is being queued is 409.
 */
export async function submitJob(scope: CallScope, req: GenerationRequest, opts: AsyncOptions): Promise<Response> {
	const { env, caller, config, origin } = scope;
	if (req.history) throw invalidParam("async", "Conversations continue synchronously; drop async or conversation_id");
	const batch = opts.tier === "batch";
	if (batch) checkFitsBatch(req, config.batchMaxInlineBytes);
	const id = randomId("job");
	const base = meteredOf(req, config, batch ? "batch" : "standard");
	const metered = { ...base, endpoint: batch ? `${req.endpoint}:batch` : req.endpoint, features: { ...base.features, batch } };
	const admitted = await admitCall(scope, metered, {
		prices: batch ? config.batchPrices : config.prices,
		ttlMs: batch ? BATCH_HOLD_MS : ASYNC_HOLD_MS,
		draftId: id,
		submission: true,
	});
	if (admitted instanceof Response) return admitted;
	const { price, idemKey } = admitted;
	const now = new Date().toISOString();
	try {
		const spec = await toSpec(env, id, req, origin);
		await insertJob(env.DB, {
			id,
			key_id: caller.keyId,
			kind: "request",
			spec: JSON.stringify(spec),
			reservation_id: admitted.reservationId,
			price,
			webhook_url: opts.webhookUrl ?? null,
			pipeline_run_id: null,
			created_at: now,
			service_tier: batch ? "batch" : "standard",
		});
		if (batch) await queueForBatch(env, spec.model, config.batchWindowSeconds);
		else await env.JOBS.send({ type: "job", jobId: id } satisfies JobMessage);
	} catch (error) {
		// Could not queue it: give the credits back and leave no half-made job behind.
		await deletePrivate(
			env,
			req.images.map((_, i) => inputKey(id, i)),
		).catch(() => undefined);
		if (idemKey) await caller.account.keepSubmission(idemKey, null);
		await caller.account.settle({
			reservationId: admitted.reservationId,
			charge: 0,
			outcome: emptyOutcome(500, "job_not_queued"),
		});
		await updateJob(env.DB, id, {
			status: "FAILED",
			error: JSON.stringify({ code: "job_not_queued", message: "The job could not be queued" }),
		}).catch(() => undefined);
		throw error;
	}
	const row = await getJob(env.DB, id);
	if (!row) throw apiError("internal_error", `Internal error (request ${scope.requestId})`);
	const job = presentJob(row, origin);
	const headers: Record<string, string> = {
		"content-type": "application/json",
		location: job.poll_url,
		...lifecycleHeaders(req.model, origin),
		"x-credits-held": String(price * req.n),
		"x-credits-remaining": String(admitted.balance),
	};
	const body = JSON.stringify(job);
	// The 202 is what a repeat replays (the job's later settlement leaves the record alone).
	if (idemKey) await caller.account.keepSubmission(idemKey, { status: 202, headers, body });
	return new Response(body, { status: 202, headers: { ...headers, "x-request-id": scope.requestId } });
}
