/**
 * The standard lane's safety net, run by the per-minute cron trigger (the Batch lane has its
 * own, ./batch/sweep.ts). A queue message can be lost, or a consumer can die holding it;
 * without this a standard-tier job would wait forever while its hold waits for the alarm.
 * Every admitted job is therefore eventually run (its message sent again) or, when it can
 * no longer finish within its hold's life, failed with its hold released. Sending again is
 * safe: the consumer claims a job conditionally, so a duplicate neither runs nor charges twice.
 */
import type { GatewayConfig } from "../config";
import { apiError } from "../errors";
import type { JobRow } from "../storage/jobs";
import { runHoldMs } from "./consumer";
import { accountOfKey, failJob } from "./settle";
import { ASYNC_HOLD_MS, type JobMessage } from "./submit";

/** How late past its expected next step a job may be before the sweep steps in. */
const GRACE_MS = 5 * 60_000;
/** The longest a job waits between attempts (backoff is capped at 15 minutes). */
const MAX_BACKOFF_MS = 15 * 60_000;
/** Jobs looked at per run; the rest are picked up by the next. */
const PAGE = 200;

/** Whether a job has stalled: waiting longer than any backoff, or running past its lease. */
function stalled(job: JobRow, at: number): boolean {
	if (job.status === "CREATED") return Date.parse(job.updated_at) < at - MAX_BACKOFF_MS - GRACE_MS;
	return (job.lease_until ?? 0) < at - GRACE_MS;
}

export async function sweepStandardJobs(env: Env, at: Date, config: GatewayConfig): Promise<{ requeued: number; expired: number }> {
	const now = at.getTime();
	// Older than the last moment a run could start and still end before an async hold expires.
	const tooLate = new Date(now - (ASYNC_HOLD_MS - runHoldMs(config))).toISOString();
	const candidates = await env.DB.prepare(
		`SELECT * FROM jobs WHERE service_tier = 'standard' AND status IN ('CREATED', 'RUNNING', 'STORING') AND created_at < ?
		 ORDER BY created_at LIMIT ?`,
	)
		.bind(new Date(now - MAX_BACKOFF_MS - GRACE_MS).toISOString(), PAGE)
		.all<JobRow>();
	let requeued = 0;
	let expired = 0;
	for (const job of candidates.results) {
		if (!stalled(job, now)) continue;
		if (job.created_at < tooLate) {
			const e = apiError("job_expired", "The job could not run before its credits' hold expired. You were not charged.");
			await failJob(env, job, await accountOfKey(env, job.key_id), e);
			expired++;
			continue;
		}
		await env.JOBS.send({ type: "job", jobId: job.id } satisfies JobMessage);
		requeued++;
	}
	return { requeued, expired };
}
