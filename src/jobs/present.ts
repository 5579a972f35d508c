/**
 * The job object clients poll and webhooks carry.
 */
import type { JobRow } from "../storage/jobs";
import type { JobSpec } from "./spec";

export function presentJob(job: JobRow, origin: string) {
	const spec = JSON.parse(job.spec) as JobSpec;
	return {
		id: job.id,
		object: "job",
		status: job.status,
		kind: job.kind,
		model: spec.model,
		mode: spec.mode,
		n: spec.n,
		created_at: job.created_at,
		started_at: job.started_at,
		storing_at: job.storing_at,
		finished_at: job.finished_at,
		attempts: job.attempts,
		credits_charged: job.credits_charged,
		result: job.result ? (JSON.parse(job.result) as unknown) : null,
		error: job.error ? (JSON.parse(job.error) as unknown) : null,
		service_tier: job.service_tier ?? "standard",
		// Batch lane: the batch the job is in, and Gemini's last seen state of it.
		batch: job.batch_id ? { id: job.batch_id, state: job.batch_state ?? "SUBMITTING" } : null,
		webhook_url: job.webhook_url,
		webhook_status: job.webhook_status,
		pipeline_run_id: job.pipeline_run_id,
		poll_url: `${origin}/v1/jobs/${job.id}`,
	};
}
