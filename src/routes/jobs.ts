/**
 * `GET /v1/jobs/{id}`, `GET /v1/jobs` (paged, `status` filter) and
 * `POST /v1/jobs/{id}/cancel` (only before the job runs; the hold is released).
 * A job is visible to the key that made it only; any other key gets 404.
 */
import { Hono } from "hono";
import { z } from "zod";
import { emptyOutcome } from "../account/records";
import { invalidParam, notFound } from "../errors";
import { presentJob } from "../jobs/present";
import type { JobSpec } from "../jobs/spec";
import type { JobMessage } from "../jobs/submit";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { parseWith } from "../lib/validate";
import { cancelJob, getJob, listJobs } from "../storage/jobs";
import type { AppEnv } from "../types";

export const JobsQuery = z.strictObject({
	status: z.enum(["CREATED", "RUNNING", "STORING", "SUCCEEDED", "FAILED", "CANCELED"]).optional(),
	limit: z.coerce.number().int().min(1).max(100).default(20),
	cursor: z.string().optional(),
});

export const jobs = new Hono<AppEnv>()
	.get("/", async (c) => {
		const q = parseWith(JobsQuery, c.req.query());
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
		if (!(await cancelJob(c.env.DB, id, caller.keyId))) {
			throw invalidParam(null, `Job ${id} is ${job.status}; only a job that has not started can be canceled`, "job_not_cancelable");
		}
		if (job.reservation_id) {
			const spec = JSON.parse(job.spec) as JobSpec;
			await caller.account.settle({
				reservationId: job.reservation_id,
				pricePerImage: job.price,
				outcome: emptyOutcome(
					499,
					"canceled",
					spec.inputs.map((i) => i.key),
				),
			});
		}
		if (job.webhook_url) await c.env.JOBS.send({ type: "webhook", jobId: id } satisfies JobMessage);
		const canceled = await getJob(c.env.DB, id, caller.keyId);
		return c.json(presentJob(canceled ?? job, new URL(c.req.url).origin));
	});
