/**
 * D1 queries for async jobs, content pipelines and their runs (always bound parameters).
 */
import { allOf, updateById } from "./sql";

export type JobStatus = "CREATED" | "RUNNING" | "STORING" | "SUCCEEDED" | "FAILED" | "CANCELED";
export const TERMINAL: ReadonlySet<JobStatus> = new Set(["SUCCEEDED", "FAILED", "CANCELED"]);

export interface JobRow {
	id: string;
	key_id: string;
	kind: "request" | "pipeline";
	status: JobStatus;
	spec: string;
	reservation_id: string | null;
	price: number;
	webhook_url: string | null;
	attempts: number;
	lease_until: number | null;
	result: string | null;
	error: string | null;
	credits_charged: number;
	pipeline_run_id: string | null;
	webhook_status: string | null;
	created_at: string;
	started_at: string | null;
	storing_at: string | null;
	finished_at: string | null;
	updated_at: string;
	service_tier: "standard" | "batch";
	/** Batch lane: the batch the job went into, and Gemini's last seen state of it. */
	batch_id: string | null;
	batch_state: string | null;
}

export async function insertJob(
	db: D1Database,
	j: Pick<JobRow, "id" | "key_id" | "kind" | "spec" | "reservation_id" | "price" | "webhook_url" | "pipeline_run_id" | "created_at"> & {
		service_tier?: JobRow["service_tier"];
	},
): Promise<void> {
	await db
		.prepare(
			"INSERT INTO jobs (id, key_id, kind, status, spec, reservation_id, price, webhook_url, pipeline_run_id, created_at, updated_at, service_tier) VALUES (?, ?, ?, 'CREATED', ?, ?, ?, ?, ?, ?, ?, ?)",
		)
		.bind(
			j.id,
			j.key_id,
			j.kind,
			j.spec,
			j.reservation_id,
			j.price,
			j.webhook_url,
			j.pipeline_run_id,
			j.created_at,
			j.created_at,
			j.service_tier ?? "standard",
		)
		.run();
}

export async function getJob(db: D1Database, id: string, keyId?: string): Promise<JobRow | null> {
	return keyId
		? db.prepare("SELECT * FROM jobs WHERE id = ? AND key_id = ?").bind(id, keyId).first<JobRow>()
		: db.prepare("SELECT * FROM jobs WHERE id = ?").bind(id).first<JobRow>();
}

export async function listJobs(
	db: D1Database,
	keyId: string,
	status: JobStatus | undefined,
	limit: number,
	before?: { createdAt: string; id: string },
): Promise<JobRow[]> {
	const where = allOf([
		["key_id = ?", keyId],
		status && ["status = ?", status],
		before && ["(created_at, id) < (?, ?)", before.createdAt, before.id],
	]);
	const rows = await db
		.prepare(`SELECT * FROM jobs WHERE ${where.sql} ORDER BY created_at DESC, id DESC LIMIT ?`)
		.bind(...where.params, limit)
		.all<JobRow>();
	return rows.results;
}

/**
 * Takes the job for one worker: CREATED, or RUNNING/STORING whose lease ran out (its
 * worker died). Returns false when another delivery already holds it or it is finished.
 */
export async function claimJob(db: D1Database, id: string, now: number, leaseMs: number): Promise<boolean> {
	const r = await db
		.prepare(
			`UPDATE jobs SET status = 'RUNNING', attempts = attempts + 1, lease_until = ?, started_at = COALESCE(started_at, ?), updated_at = ?
			 WHERE id = ? AND (status = 'CREATED' OR (status IN ('RUNNING', 'STORING') AND lease_until < ?))`,
		)
		.bind(now + leaseMs, new Date(now).toISOString(), new Date(now).toISOString(), id, now)
		.run();
	return (r.meta.changes ?? 0) > 0;
}

/** Changes status (and any listed columns) of a job. */
export async function updateJob(db: D1Database, id: string, fields: Partial<Omit<JobRow, "id">>): Promise<void> {
	await updateById<JobRow>(db, "jobs", id, fields);
}

/** A job in a submitted batch -> CANCELED (its batch is being canceled upstream). */
export async function cancelBatchedJob(db: D1Database, id: string, keyId: string): Promise<boolean> {
	return cancelIf(db, id, keyId, "status = 'RUNNING' AND batch_id IS NOT NULL");
}

/** CREATED -> CANCELED for the owner only; false when the job is already running or done. */
export async function cancelJob(db: D1Database, id: string, keyId: string): Promise<boolean> {
	return cancelIf(db, id, keyId, "status = 'CREATED'");
}

/** The owner's job -> CANCELED when it is still in the state `condition` names. */
async function cancelIf(db: D1Database, id: string, keyId: string, condition: string): Promise<boolean> {
	const now = new Date().toISOString();
	const r = await db
		.prepare(
			`UPDATE jobs SET status = 'CANCELED', finished_at = ?, updated_at = ?, lease_until = NULL WHERE id = ? AND key_id = ? AND ${condition}`,
		)
		.bind(now, now, id, keyId)
		.run();
	return (r.meta.changes ?? 0) > 0;
}

// ---- pipelines -------------------------------------------------------------------------

export interface PipelineRow {
	id: string;
	key_id: string;
	name: string;
	schedule: string;
	prompt_template: string;
	variables: string;
	model: string;
	aspect_ratio: string | null;
	image_size: string | null;
	n: number;
	reference_images: string;
	output_prefix: string | null;
	webhook_url: string | null;
	/** Origin for Worker-served image URLs of this pipeline's runs. */
	origin: string;
	enabled: number;
	runs: number;
	next_run_at: string | null;
	created_at: string;
	updated_at: string;
	/** "batch": runs go through the Batch lane at the batch price. */
	service_tier: "standard" | "batch";
	/** IANA time zone the schedule is read in ("UTC" unless the owner chose one). */
	timezone: string;
}

const PIPELINE_COLUMNS = [
	"id",
	"key_id",
	"name",
	"schedule",
	"prompt_template",
	"variables",
	"model",
	"aspect_ratio",
	"image_size",
	"n",
	"reference_images",
	"output_prefix",
	"webhook_url",
	"origin",
	"enabled",
	"runs",
	"next_run_at",
	"created_at",
	"updated_at",
	"service_tier",
	"timezone",
] as const satisfies ReadonlyArray<keyof PipelineRow>;

export async function upsertPipeline(db: D1Database, p: PipelineRow): Promise<void> {
	await db
		.prepare(`INSERT OR REPLACE INTO pipelines (${PIPELINE_COLUMNS.join(", ")}) VALUES (${PIPELINE_COLUMNS.map(() => "?").join(", ")})`)
		.bind(...PIPELINE_COLUMNS.map((c) => p[c]))
		.run();
}

export async function getPipeline(db: D1Database, id: string, keyId: string): Promise<PipelineRow | null> {
	return db.prepare("SELECT * FROM pipelines WHERE id = ? AND key_id = ?").bind(id, keyId).first<PipelineRow>();
}

export async function listPipelines(db: D1Database, keyId: string): Promise<PipelineRow[]> {
	return (await db.prepare("SELECT * FROM pipelines WHERE key_id = ? ORDER BY created_at DESC LIMIT 200").bind(keyId).all<PipelineRow>())
		.results;
}

export async function deletePipeline(db: D1Database, id: string, keyId: string): Promise<boolean> {
	const r = await db.prepare("DELETE FROM pipelines WHERE id = ? AND key_id = ?").bind(id, keyId).run();
	return (r.meta.changes ?? 0) > 0;
}

/** Enabled pipelines whose next slot is at or before `at`. */
export async function duePipelines(db: D1Database, at: string, limit: number): Promise<PipelineRow[]> {
	return (
		await db
			.prepare("SELECT * FROM pipelines WHERE enabled = 1 AND next_run_at <= ? ORDER BY next_run_at LIMIT ?")
			.bind(at, limit)
			.all<PipelineRow>()
	).results;
}

export interface RunRow {
	id: string;
	pipeline_id: string;
	key_id: string;
	slot: string;
	sequence: number;
	status: "queued" | "running" | "succeeded" | "failed" | "skipped";
	prompt: string;
	job_id: string | null;
	images: string;
	credits_charged: number;
	reason: string | null;
	created_at: string;
	finished_at: string | null;
}

/**
 * Records a slot's run if the slot has none yet. The UNIQUE (pipeline_id, slot) key makes
 * this the once-per-slot guard, however often or concurrently the trigger fires.
 */
export async function insertRunOnce(
	db: D1Database,
	r: Omit<RunRow, "images" | "credits_charged" | "reason" | "finished_at">,
): Promise<boolean> {
	const res = await db
		.prepare(
			"INSERT OR IGNORE INTO pipeline_runs (id, pipeline_id, key_id, slot, sequence, status, prompt, job_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		)
		.bind(r.id, r.pipeline_id, r.key_id, r.slot, r.sequence, r.status, r.prompt, r.job_id, r.created_at)
		.run();
	return (res.meta.changes ?? 0) > 0;
}

export async function finishRun(
	db: D1Database,
	id: string,
	f: { status: RunRow["status"]; images?: string[]; credits?: number; reason?: string | null },
): Promise<void> {
	await db
		.prepare("UPDATE pipeline_runs SET status = ?, images = ?, credits_charged = ?, reason = ?, finished_at = ? WHERE id = ?")
		.bind(f.status, JSON.stringify(f.images ?? []), f.credits ?? 0, f.reason ?? null, new Date().toISOString(), id)
		.run();
}

export async function setRunStatus(db: D1Database, id: string, status: RunRow["status"]): Promise<void> {
	await db.prepare("UPDATE pipeline_runs SET status = ? WHERE id = ?").bind(status, id).run();
}

export async function listRuns(db: D1Database, pipelineId: string, limit: number): Promise<RunRow[]> {
	return (
		await db.prepare("SELECT * FROM pipeline_runs WHERE pipeline_id = ? ORDER BY slot DESC LIMIT ?").bind(pipelineId, limit).all<RunRow>()
	).results;
}

/** Advances a pipeline to its next slot and counts the run; returns the new run count. */
export async function advancePipeline(db: D1Database, id: string, nextRunAt: string | null): Promise<number> {
	const r = await db
		.prepare("UPDATE pipelines SET runs = runs + 1, next_run_at = ?, updated_at = ? WHERE id = ? RETURNING runs")
		.bind(nextRunAt, new Date().toISOString(), id)
		.first<{ runs: number }>();
	return r?.runs ?? 0;
}

export async function setNextRun(db: D1Database, id: string, nextRunAt: string | null): Promise<void> {
	await db.prepare("UPDATE pipelines SET next_run_at = ? WHERE id = ?").bind(nextRunAt, id).run();
}

/** Counts a run started by hand ("run now"): the scheduled slot pointer stays where it is. */
export async function countRun(db: D1Database, id: string): Promise<void> {
	await db.prepare("UPDATE pipelines SET runs = runs + 1, updated_at = ? WHERE id = ?").bind(new Date().toISOString(), id).run();
}

/** One run of a pipeline by its slot (the run-now endpoint's idempotency check). */
export async function getRunBySlot(db: D1Database, pipelineId: string, slot: string): Promise<RunRow | null> {
	return db.prepare("SELECT * FROM pipeline_runs WHERE pipeline_id = ? AND slot = ?").bind(pipelineId, slot).first<RunRow>();
}
