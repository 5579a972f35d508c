/**
 * Content pipelines: a 5-field cron schedule (read in the pipeline's IANA time zone, default
 * UTC; croner computes the slots, daylight saving included), a prompt template
 * with {{date}}, {{weekday}} and the pipeline's own variables (a list rotates one value
 * per run), and the cron-trigger step that turns each due slot into exactly one run.
 */
import { Cron } from "croner";
import { randomId } from "../account/keys";
import { invalidParam } from "../errors";
import { advancePipeline, countRun, duePipelines, insertJob, insertRunOnce, type PipelineRow, setNextRun } from "../storage/jobs";
import type { JobSpec } from "./spec";
import { type JobMessage, queueForBatch } from "./submit";

const BUILTINS = new Set(["date", "weekday"]);
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w-]*)\s*\}\}/g;

export type Variables = Record<string, string | string[]>;

/** An IANA zone name ("Europe/Berlin", "UTC"); offsets such as "+01:00" are not zones. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/;

/**
 * Checks an IANA time zone name against the runtime's own zone data (Intl, which workerd
 * ships), so a zone the scheduler cannot compute in is refused when the pipeline is saved.
 */
export function checkTimezone(timezone: string): string {
	if (timezone.length > 64 || !ZONE_NAME.test(timezone)) {
		throw invalidParam(
			"timezone",
			`timezone must be an IANA time zone name such as "Europe/Berlin", got "${timezone}"`,
			"invalid_timezone",
		);
	}
	try {
		new Intl.DateTimeFormat("en-US", { timeZone: timezone });
	} catch {
		throw invalidParam("timezone", `timezone "${timezone}" is not a known IANA time zone`, "invalid_timezone");
	}
	return timezone;
}

function cronOf(expr: string, timezone: string): Cron {
	return new Cron(expr, { timezone, paused: true });
}

/** Parses a 5-field cron expression (in `timezone`) and enforces the minimum interval between runs. */
export function parseSchedule(expr: string, minIntervalMinutes: number, timezone = "UTC"): Cron {
	const fields = expr.trim().split(/\s+/);
	if (fields.length !== 5)
		throw invalidParam(
			"schedule",
			`schedule must be a 5-field cron expression (minute hour day month weekday), got ${fields.length} fields`,
			"invalid_schedule",
		);
	let cron: Cron;
	try {
		cron = cronOf(fields.join(" "), timezone);
	} catch (error) {
		throw invalidParam(
			"schedule",
			`schedule is not a valid cron expression: ${error instanceof Error ? error.message : String(error)}`,
			"invalid_schedule",
		);
	}
	const runs = cron.nextRuns(60, new Date());
	if (runs.length === 0) throw invalidParam("schedule", "schedule never fires", "invalid_schedule");
	for (let i = 1; i < runs.length; i++) {
		const gap = (runs[i].getTime() - runs[i - 1].getTime()) / 60_000;
		if (gap < minIntervalMinutes) {
			throw invalidParam(
				"schedule",
				`schedule runs every ${gap} minutes at times; the minimum interval is ${minIntervalMinutes} minutes`,
				"schedule_too_frequent",
			);
		}
	}
	return cron;
}

/**
 * The first slot strictly after `after`, as an ISO timestamp (minute precision). In a zone
 * with daylight saving, croner fires a local time that falls in the spring-forward gap once
 * (at the first valid minute after it) and a local time that occurs twice in the autumn
 * overlap once (its first occurrence).
 */
export function nextSlot(schedule: string, after: Date, timezone = "UTC"): string | null {
	const next = cronOf(schedule, timezone).nextRun(after);
	return next ? next.toISOString() : null;
}

/** The next `count` slots strictly after `after` (the console's schedule helper, `next_runs`). */
export function nextSlots(schedule: string, after: Date, timezone = "UTC", count = 5): string[] {
	return cronOf(schedule, timezone)
		.nextRuns(count, after)
		.map((d) => d.toISOString());
}

/** Every placeholder must be a builtin or one of the pipeline's variables. */
export function checkTemplate(template: string, variables: Variables): void {
	for (const m of template.matchAll(PLACEHOLDER)) {
		if (!BUILTINS.has(m[1]) && !Object.hasOwn(variables, m[1])) {
			throw invalidParam(
				"prompt_template",
				`prompt_template uses {{${m[1]}}}, which is neither a builtin (date, weekday) nor a variable`,
				"unknown_template_variable",
			);
		}
	}
}

/** The longest value of each builtin: an ISO date, and the longest weekday's name. */
const LONGEST_BUILTIN: Record<string, string> = { date: "0000-00-00", weekday: "Wednesday" };

/**
 * The longest prompt the template can render to: every placeholder filled with its longest
 * value (a builtin's longest, a list's longest entry). The prompt cap holds for what reaches
 * Gemini, so it is checked against this, not against the template alone.
 */
export function longestRendering(template: string, variables: Variables): string {
	return template.replace(PLACEHOLDER, (_all, name: string) => {
		if (Object.hasOwn(LONGEST_BUILTIN, name)) return LONGEST_BUILTIN[name];
		const v = Object.hasOwn(variables, name) ? variables[name] : undefined;
		return (Array.isArray(v) ? v : [v ?? ""]).reduce((a, b) => (b.length > a.length ? b : a), "");
	});
}

/** The slot's calendar date and weekday in the pipeline's zone (a 00:30 Berlin run is that day's, not yesterday's UTC date). */
function localDay(slot: Date, timezone: string): { date: string; weekday: string } {
	if (timezone === "UTC") return { date: slot.toISOString().slice(0, 10), weekday: WEEKDAYS[slot.getUTCDay()] };
	const parts = new Intl.DateTimeFormat("en-US", {
		timeZone: timezone,
		year: "numeric",
		month: "2-digit",
		day: "2-digit",
		weekday: "long",
	}).formatToParts(slot);
	const part = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
	return { date: `${part("year")}-${part("month")}-${part("day")}`, weekday: part("weekday") };
}

/** Fills the template for the run at `slot` (in `timezone`) with sequence number `sequence`. */
export function renderTemplate(template: string, variables: Variables, slot: Date, sequence: number, timezone = "UTC"): string {
	const day = localDay(slot, timezone);
	return template.replace(PLACEHOLDER, (_all, name: string) => {
		if (name === "date") return day.date;
		if (name === "weekday") return day.weekday;
		const v = Object.hasOwn(variables, name) ? variables[name] : undefined;
		return Array.isArray(v) ? v[sequence % v.length] : (v ?? "");
	});
}

/**
 * The cron trigger's step: every enabled pipeline whose next slot has come gets one run
 * for that slot (recorded, then queued as a job billed to its key, or handed to the Batch
 * lane when the pipeline's service_tier is "batch"). Firing twice for the
 * same minute, or two overlapping triggers, still makes one run: the run's
 * UNIQUE (pipeline_id, slot) decides, and the slot pointer moves on either way.
 */
export async function schedulePipelines(env: Env, at: Date, batchWindowSeconds = 0): Promise<{ queued: number; duplicates: number }> {
	let queued = 0;
	let duplicates = 0;
	for (const p of await duePipelines(env.DB, at.toISOString(), 500)) {
		const next = nextSlot(p.schedule, at, p.timezone);
		const run = await startRun(env, p, p.next_run_at as string, batchWindowSeconds);
		if (!run) {
			duplicates++;
			await setNextRun(env.DB, p.id, next);
			continue;
		}
		await advancePipeline(env.DB, p.id, next);
		queued++;
	}
	return { queued, duplicates };
}

/**
 * Records one run of `p` for `slot` and queues its job (or hands it to the Batch lane), billed
 * to the pipeline's key like every run. Returns null when the slot already has a run (the
 * UNIQUE (pipeline_id, slot) guard), without queueing anything. The caller moves the
 * pipeline's counters: the cron step advances the slot pointer, run-now only counts.
 */
export async function startRun(
	env: Env,
	p: PipelineRow,
	slot: string,
	batchWindowSeconds = 0,
): Promise<{ runId: string; jobId: string } | null> {
	const variables = JSON.parse(p.variables) as Variables;
	const prompt = renderTemplate(p.prompt_template, variables, new Date(slot), p.runs, p.timezone);
	const runId = randomId("run");
	const jobId = randomId("job");
	const now = new Date().toISOString();
	const inserted = await insertRunOnce(env.DB, {
		id: runId,
		pipeline_id: p.id,
		key_id: p.key_id,
		slot,
		sequence: p.runs,
		status: "queued",
		prompt,
		job_id: jobId,
		created_at: now,
	});
	if (!inserted) return null;
	await insertJob(env.DB, {
		id: jobId,
		key_id: p.key_id,
		kind: "pipeline",
		spec: JSON.stringify(pipelineSpec(p, prompt)),
		reservation_id: null,
		price: 0,
		webhook_url: p.webhook_url,
		pipeline_run_id: runId,
		created_at: now,
		service_tier: p.service_tier,
	});
	// A batch-tier run waits for its model's window; it is paid for when its batch forms.
	if (p.service_tier === "batch") await queueForBatch(env, p.model, batchWindowSeconds);
	else await env.JOBS.send({ type: "job", jobId } satisfies JobMessage);
	return { runId, jobId };
}

/** Run now: a run for the current minute, counted without moving the scheduled slot pointer. */
export async function runNow(env: Env, p: PipelineRow, at: Date, batchWindowSeconds = 0): Promise<{ slot: string; started: boolean }> {
	const slot = new Date(Math.floor(at.getTime() / 60_000) * 60_000).toISOString();
	const run = await startRun(env, p, slot, batchWindowSeconds);
	if (run) await countRun(env.DB, p.id);
	return { slot, started: run !== null };
}

function pipelineSpec(p: PipelineRow, prompt: string): JobSpec {
	const refs = JSON.parse(p.reference_images) as string[];
	return {
		endpoint: "pipeline",
		model: p.model,
		mode: refs.length > 0 ? "edit" : "generate",
		prompt,
		n: p.n,
		aspectRatio: p.aspect_ratio ?? undefined,
		imageSize: (p.image_size ?? undefined) as JobSpec["imageSize"],
		inputs: [],
		referenceUrls: refs,
		outputPrefix: p.output_prefix ?? undefined,
		origin: p.origin,
	};
}
