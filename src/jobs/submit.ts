/**
 * Async submission (`"async": true` or `Prefer: respond-async`): the credits are held
 * exactly as for a synchronous call, the request is stored, a message is queued, and the
 * client gets 202 at once with where to poll.
 */
import type { KeyEventMessage } from "../account/events";
import { randomId } from "../account/keys";
import { emptyOutcome } from "../account/records";
import { pricePerImage } from "../billing/prices";
import { lifecycleHeaders } from "../catalog/headers";
import { apiError, invalidParam } from "../errors";
import { noteRequest, timed } from "../observe";
import { dialectOf } from "../pipeline/billed";
import { holdOf, meteredOf, refusal, usageDraft, usesOf } from "../pipeline/metering";
import type { GenerationRequest } from "../pipeline/request";
import type { CallScope } from "../pipeline/scope";
import { getJob, insertJob, updateJob } from "../storage/jobs";
import { checkServed } from "../upstreams/route";
import { checkFitsBatch } from "./batch/requests";
import { presentJob } from "./present";
import { toSpec } from "./spec";

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

/** Holds the credits, stores and queues the request, and answers 202 with where to poll. */
export async function submitJob(scope: CallScope, req: GenerationRequest, opts: AsyncOptions): Promise<Response> {
	const { env, caller, config, origin } = scope;
	noteRequest({ dialect: dialectOf(req.endpoint), model: req.model.id });
	if (req.history) throw invalidParam("async", "Conversations continue synchronously; drop async or conversation_id");
	checkServed(config, req.model);
	const batch = opts.tier === "batch";
	if (batch) checkFitsBatch(req, config.batchMaxInlineBytes);
	const id = randomId("job");
	const price = pricePerImage(batch ? config.batchPrices : config.prices, req.model, req.imageSize);
	const metered = {
		...meteredOf(req, config, batch ? "batch" : "standard"),
		endpoint: batch ? `${req.endpoint}:batch` : req.endpoint,
		features: { batch },
	};
	const draft = usageDraft(id, metered);
	const admitted = await timed(
		"admit",
		async () =>
			await caller.account.admit({
				draft,
				credits: holdOf(config, metered, price),
				images: req.n,
				ttlMs: batch ? BATCH_HOLD_MS : ASYNC_HOLD_MS,
				uses: usesOf(metered),
			}),
	);
	if ("keyId" in admitted) caller.resolve({ keyId: admitted.keyId, name: admitted.name });
	if (!admitted.ok) {
		if (admitted.reason === "replay") throw apiError("internal_error", "unexpected replay");
		throw refusal(admitted);
	}
	const now = new Date().toISOString();
	try {
		const spec = await toSpec(env.IMAGES, id, req, origin);
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
	return Response.json(job, {
		status: 202,
		headers: {
			location: job.poll_url,
			...lifecycleHeaders(req.model, origin),
			"x-request-id": scope.requestId,
			"x-credits-held": String(price * req.n),
			"x-credits-remaining": String(admitted.balance),
		},
	});
}
