/**
 * Content pipelines: a 5-field cron schedule (UTC, parsed by croner), a prompt template
 * with {{date}}, {{weekday}} and the pipeline's own variables (a list rotates one value
 * per run), and the cron-trigger step that turns each due slot into exactly one run.
 */
import { Cron } from "croner";
import { randomId } from "../account/keys";
import { invalidParam } from "../errors";
import { advancePipeline, duePipelines, insertJob, insertRunOnce, type PipelineRow, setNextRun } from "../storage/jobs";
import type { JobSpec } from "./spec";
import { type JobMessage, queueForBatch } from "./submit";

const BUILTINS = new Set(["date", "weekday"]);
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w-]*)\s*\}\}/g;

export type Variables = Record<string, string | string[]>;

/** Parses a 5-field cron expression (UTC) and enforces the minimum interval between runs. */
export function parseSchedule(expr: string, minIntervalMinutes: number): Cron {
	const fields = expr.trim().split(/\s+/);
	if (fields.length !== 5)
		throw invalidParam(
			"schedule",
			`schedule must be a 5-field cron expression (minute hour day month weekday), got ${fields.length} fields`,
			"invalid_schedule",
		);
	let cron: Cron;
	try {
		cron = new Cron(fields.join(" "), { timezone: "UTC", paused: true });
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

/** The first slot strictly after `after`, as an ISO timestamp (minute precision). */
export function nextSlot(schedule: string, after: Date): string | null {
	const next = new Cron(schedule, { timezone: "UTC", paused: true }).nextRun(after);
	return next ? next.toISOString() : null;
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

/** Fills the template for the run at `slot` (UTC) with sequence number `sequence`. */
export function renderTemplate(template: string, variables: Variables, slot: Date, sequence: number): string {
	return template.replace(PLACEHOLDER, (_all, name: string) => {
		if (name === "date") return slot.toISOString().slice(0, 10);
		if (name === "weekday") return WEEKDAYS[slot.getUTCDay()];
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
		const slot = p.next_run_at as string;
		const next = nextSlot(p.schedule, at);
		const variables = JSON.parse(p.variables) as Variables;
		const prompt = renderTemplate(p.prompt_template, variables, new Date(slot), p.runs);
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
		if (!inserted) {
			duplicates++;
			await setNextRun(env.DB, p.id, next);
			continue;
		}
		await advancePipeline(env.DB, p.id, next);
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
		queued++;
	}
	return { queued, duplicates };
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
