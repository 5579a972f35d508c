/**
 * D1 queries of the Batch lane (always bound parameters): batches, and the jobs waiting
 * for one or inside one. Claims are conditional updates, so two consumers (or a consumer
 * and a cancel) never take the same job or poll the same batch at once.
 */
import type { JobRow } from "./jobs";
import { updateById } from "./sql";

export interface BatchRow {
	id: string;
	model: string;
	upstream_model: string | null;
	upstream_name: string | null;
	state: string;
	settled: number;
	jobs: number;
	requests: number;
	bytes: number;
	polls: number;
	lease_until: number | null;
	next_poll_at: string | null;
	error: string | null;
	created_at: string;
	submitted_at: string | null;
	finished_at: string | null;
	updated_at: string;
	/** The pool member that accepted it (null for batches from before the pool). */
	upstream: string | null;
}

/** A new batch, SUBMITTING until Gemini names it. */
export async function insertBatch(db: D1Database, id: string, model: string, now: string): Promise<void> {
	await db
		.prepare("INSERT INTO batches (id, model, state, created_at, updated_at) VALUES (?, ?, 'SUBMITTING', ?, ?)")
		.bind(id, model, now, now)
		.run();
}

/** One batch by id. */
export async function getBatch(db: D1Database, id: string): Promise<BatchRow | null> {
	return db.prepare("SELECT * FROM batches WHERE id = ?").bind(id).first<BatchRow>();
}

/** Changes any listed columns of a batch (updated_at too). */
export async function updateBatch(db: D1Database, id: string, fields: Partial<Omit<BatchRow, "id">>): Promise<void> {
	await updateById<BatchRow>(db, "batches", id, fields);
}

/** Removes a batch that never claimed a job or was handed back before submission. */
export async function deleteBatch(db: D1Database, id: string): Promise<void> {
	await db.prepare("DELETE FROM batches WHERE id = ?").bind(id).run();
}

/** Takes an unsettled batch for one poller until `until`; false when another holds it. */
export async function leaseBatch(db: D1Database, id: string, now: number, until: number): Promise<boolean> {
	const r = await db
		.prepare("UPDATE batches SET lease_until = ? WHERE id = ? AND settled = 0 AND (lease_until IS NULL OR lease_until < ?)")
		.bind(until, id, now)
		.run();
	return (r.meta.changes ?? 0) > 0;
}

/**
 * Claims up to `limit` batch-tier jobs for `model` that wait for a batch (oldest first)
 * and returns the ones this call got: CREATED -> RUNNING with `batch_id` set.
 */
export async function claimWaitingJobs(db: D1Database, model: string, batchId: string, limit: number): Promise<JobRow[]> {
	const now = new Date().toISOString();
	await db
		.prepare(
			`UPDATE jobs SET status = 'RUNNING', batch_id = ?, attempts = attempts + 1, started_at = COALESCE(started_at, ?), updated_at = ?
			 WHERE id IN (SELECT id FROM jobs WHERE service_tier = 'batch' AND status = 'CREATED' AND batch_id IS NULL
			              AND json_extract(spec, '$.model') = ? ORDER BY created_at, id LIMIT ?)
			   AND status = 'CREATED' AND batch_id IS NULL`,
		)
		.bind(batchId, now, now, model, limit)
		.run();
	return jobsOfBatch(db, batchId);
}

/** Jobs in a batch that are not finished yet. */
export async function jobsOfBatch(db: D1Database, batchId: string): Promise<JobRow[]> {
	return (
		await db
			.prepare("SELECT * FROM jobs WHERE batch_id = ? AND status IN ('RUNNING', 'STORING') ORDER BY created_at, id")
			.bind(batchId)
			.all<JobRow>()
	).results;
}

/** The ids of a batch's jobs that already succeeded (settled in an earlier pass over its answer). */
export async function succeededJobsOfBatch(db: D1Database, batchId: string): Promise<string[]> {
	const rows = await db.prepare("SELECT id FROM jobs WHERE batch_id = ? AND status = 'SUCCEEDED'").bind(batchId).all<{ id: string }>();
	return rows.results.map((r) => r.id);
}

/**
 * A submission of `model` to resume: never recorded as submitted, its former's lease run
 * out (Gemini timed out on it, or the former died). Taken with a new lease until `until`.
 */
export async function takeUnrecordedSubmission(db: D1Database, model: string, now: number, until: number): Promise<BatchRow | null> {
	const row = await db
		.prepare(
			"SELECT * FROM batches WHERE model = ? AND settled = 0 AND upstream_name IS NULL AND lease_until < ? ORDER BY created_at LIMIT 1",
		)
		.bind(model, now)
		.first<BatchRow>();
	return row && (await leaseBatch(db, row.id, now, until)) ? row : null;
}

/** Counts another attempt on every job a resumed submission carries (so repeated timeouts end at JOB_MAX_ATTEMPTS). */
export async function countSubmissionAttempt(db: D1Database, batchId: string): Promise<void> {
	await db
		.prepare("UPDATE jobs SET attempts = attempts + 1, updated_at = ? WHERE batch_id = ? AND status = 'RUNNING'")
		.bind(new Date().toISOString(), batchId)
		.run();
}

/** Models with a submission whose former's lease ran out (a former that died): their window resumes it. */
export async function modelsWithUnrecordedSubmissions(db: D1Database, now: number): Promise<string[]> {
	const rows = await db
		.prepare("SELECT DISTINCT model FROM batches WHERE settled = 0 AND upstream_name IS NULL AND lease_until < ? LIMIT 50")
		.bind(now)
		.all<{ model: string }>();
	return rows.results.map((r) => r.model);
}

/** Hands claimed jobs back to the waiting line (the batch was not submitted). */
export async function unclaimJobs(db: D1Database, ids: string[]): Promise<void> {
	if (ids.length === 0) return;
	await db
		.prepare(
			`UPDATE jobs SET status = 'CREATED', batch_id = NULL, updated_at = ? WHERE id IN (${ids.map(() => "?").join(", ")}) AND status = 'RUNNING'`,
		)
		.bind(new Date().toISOString(), ...ids)
		.run();
}

/** Records Gemini's state of a batch on its unfinished jobs. */
export async function setJobsBatchState(db: D1Database, batchId: string, state: string, status?: "STORING"): Promise<void> {
	const now = new Date().toISOString();
	await db
		.prepare(
			`UPDATE jobs SET batch_state = ?, updated_at = ?${status ? ", status = ?, storing_at = ?" : ""} WHERE batch_id = ? AND status IN ('RUNNING', 'STORING')`,
		)
		.bind(...(status ? [state, now, status, now, batchId] : [state, now, batchId]))
		.run();
}

/** Models with batch-tier jobs that have waited longer than `olderThan` (a lost window message). */
export async function modelsWaitingSince(db: D1Database, olderThan: string): Promise<string[]> {
	const rows = await db
		.prepare(
			"SELECT DISTINCT json_extract(spec, '$.model') AS model FROM jobs WHERE service_tier = 'batch' AND status = 'CREATED' AND batch_id IS NULL AND created_at < ? LIMIT 50",
		)
		.bind(olderThan)
		.all<{ model: string }>();
	return rows.results.map((r) => r.model);
}

/** Unsettled, submitted batches whose next poll is overdue (a lost poll message). */
export async function overdueBatches(db: D1Database, before: string): Promise<string[]> {
	const rows = await db
		.prepare("SELECT id FROM batches WHERE settled = 0 AND upstream_name IS NOT NULL AND next_poll_at < ? LIMIT 100")
		.bind(before)
		.all<{ id: string }>();
	return rows.results.map((r) => r.id);
}

/**
 * Batches never recorded as submitted by a former without a lease (from before submissions
 * were resumed; those with one are resumed by their model's window, see
 * takeUnrecordedSubmission): their jobs go back to waiting and the batch is closed. Returns the models whose jobs went back.
 */
export async function abandonStaleSubmissions(db: D1Database, before: string): Promise<string[]> {
	const stale = (
		await db
			.prepare(
				"SELECT id, model FROM batches WHERE settled = 0 AND upstream_name IS NULL AND lease_until IS NULL AND created_at < ? LIMIT 50",
			)
			.bind(before)
			.all<{ id: string; model: string }>()
	).results;
	const now = new Date().toISOString();
	for (const b of stale) {
		await db.batch([
			db
				.prepare("UPDATE jobs SET status = 'CREATED', batch_id = NULL, updated_at = ? WHERE batch_id = ? AND status = 'RUNNING'")
				.bind(now, b.id),
			db.prepare("UPDATE batches SET state = 'ABANDONED', settled = 1, finished_at = ?, updated_at = ? WHERE id = ?").bind(now, now, b.id),
		]);
	}
	return [...new Set(stale.map((b) => b.model))];
}
