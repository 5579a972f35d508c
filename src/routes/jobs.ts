/**
 * `GET /v1/jobs/{id}`, `GET /v1/jobs` (paged, `status` filter) and
 * `POST /v1/jobs/{id}/cancel` (before the job runs, or when it is alone in a Gemini batch;
 * the hold is released).
 * A job is visible to the key that made it only; any other key gets 404.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { emptyOutcome } from "../account/records";
import { apiError, invalidParam, notFound } from "../errors";
import { GeminiError } from "../gemini/errors";
import { presentJob } from "../jobs/present";
import { dropJobInputs, type JobSpec } from "../jobs/spec";
import type { JobMessage } from "../jobs/submit";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { lazy } from "../lib/lazy";
import { parseWith } from "../lib/validate";
import { upstreamToError } from "../pipeline/failures";
import { routeFacts } from "../route-facts";
import { getBatch, jobsOfBatch } from "../storage/batches";
import { cancelBatchedJob, cancelJob, getJob, type JobRow, listJobs } from "../storage/jobs";
import type { AppEnv } from "../types";
import { memberClient } from "../upstreams/pool";

/** Route facts (src/route-facts.ts): the gateway's own API. */
const ROUTE_FACTS = routeFacts({ dialect: "openai", errorStyle: "openai" });

export const JobsQuery = lazy(() =>
	z.strictObject({
		status: z.enum(["CREATED", "RUNNING", "STORING", "SUCCEEDED", "FAILED", "CANCELED"]).optional(),
		limit: z.coerce.number().int().min(1).max(100).default(20),
		cursor: z.string().optional(),
	}),
);

/**
 * A job inside a submitted batch. Gemini cancels whole batches, not single requests, so
 * the job is canceled only when it is the batch's last unfinished job: the batch is
 * canceled upstream first (nothing more is billed), then the job. Otherwise a clear 409:
 * other jobs ride in the same batch, and this one finishes (or fails, released) with it.
 */
async function cancelInBatch(c: Context<AppEnv>, job: JobRow): Promise<boolean> {
	const batch = job.batch_id ? await getBatch(c.env.DB, job.batch_id) : null;
	if (!batch?.upstream_name) {
		throw apiError("job_in_running_batch", `Job ${job.id} is being submitted to Gemini in a batch; retry in a few seconds`);
	}
	const others = (await jobsOfBatch(c.env.DB, batch.id)).filter((j) => j.id !== job.id).length;
	if (others > 0) {
		throw apiError(
			"job_in_running_batch",
			`Job ${job.id} is in Gemini batch ${batch.id} (${batch.state}) with ${others} other job(s). Gemini cancels whole batches only, so it cannot be canceled alone: it finishes with its batch (target 24 h), and if the batch expires its credits are released.`,
		);
	}
	try {
		await (await memberClient(c.get("config"), batch.upstream)).cancelBatch(batch.upstream_name);
	} catch (error) {
		if (error instanceof GeminiError) throw upstreamToError(error, c.get("requestId"));
		throw error;
	}
	return cancelBatchedJob(c.env.DB, job.id, job.key_id);
}

export const jobs = new Hono<AppEnv>()
	.use(ROUTE_FACTS)
	.get("/", async (c) => {
		const q = parseWith(JobsQuery(), c.req.query());
		const rows = await listJobs(c.env.DB, c.get("caller").keyId, q.status, q.limit + 1, q.cursor ? decodeCursor(q.cursor) : undefined);
		const page = rows.slice(0, q.limit);
		const origin = new URL(c.req.url).origin;
		const last = page[page.length - 1];
		return c.json({
			object: "list",
			data: page.map((j) => presentJob(j, origin)),
			has_more: rows.length > q.limit,
			next_cursor: rows.length > q.limit ? encodeCursor(last.created_at, last.id) : null,
		});
	})
	.get("/:id", async (c) => {
		const job = await getJob(c.env.DB, c.req.param("id"), c.get("caller").keyId);
		if (!job) throw notFound(`No job with id '${c.req.param("id")}'`);
		return c.json(presentJob(job, new URL(c.req.url).origin));
	})
	.post("/:id/cancel", async (c) => {
		const caller = c.get("caller");
		const id = c.req.param("id");
		const job = await getJob(c.env.DB, id, caller.keyId);
		if (!job) throw notFound(`No job with id '${id}'`);
		const done = job.batch_id && job.status === "RUNNING" ? await cancelInBatch(c, job) : await cancelJob(c.env.DB, id, caller.keyId);
		if (!done) {
			throw invalidParam(null, `Job ${id} is ${job.status}; only a job that has not started can be canceled`, "job_not_cancelable");
		}
		if (job.reservation_id) {
			const spec = JSON.parse(job.spec) as JobSpec;
			await caller.account.settle({
				reservationId: job.reservation_id,
				charge: 0,
				outcome: emptyOutcome(
					499,
					"canceled",
					spec.inputs.map((i) => i.key),
				),
			});
		}
		await dropJobInputs(c.env, job.spec); // the user's photos are kept only while the job may run
		if (job.webhook_url) await c.env.JOBS.send({ type: "webhook", jobId: id } satisfies JobMessage);
		const canceled = await getJob(c.env.DB, id, caller.keyId);
		return c.json(presentJob(canceled ?? job, new URL(c.req.url).origin));
	});
