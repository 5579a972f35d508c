/**
 * Content pipelines: `POST/GET /v1/pipelines`, `GET/PATCH/DELETE /v1/pipelines/{id}`,
 * `GET /v1/pipelines/{id}/runs`, `POST /v1/pipelines/{id}/run` (run now) and
 * `GET /v1/pipelines/schedule` (the next five slots of a schedule in a time zone, unsaved). Everything is validated before anything is stored: the
 * cron expression and its minimum interval, template variables, model options, URLs,
 * and that one run fits the key's own image limits.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { randomId } from "../account/keys";
import { invalidParam, notFound } from "../errors";
import { publicUrl } from "../inputs/public-url";
import {
	checkTemplate,
	checkTimezone,
	longestRendering,
	nextSlot,
	nextSlots,
	parseSchedule,
	runNow,
	type Variables,
} from "../jobs/pipelines";
import { readJsonObject } from "../lib/body";
import { lazy } from "../lib/lazy";
import { parseWith } from "../lib/validate";
import { checkAspectRatio, checkImageSize, checkN, checkPrompt, resolveModel } from "../pipeline/request";
import { routeFacts } from "../route-facts";
import {
	deletePipeline,
	getPipeline,
	getRunBySlot,
	listPipelines,
	listRuns,
	type PipelineRow,
	type RunRow,
	upsertPipeline,
} from "../storage/jobs";
import type { AppEnv } from "../types";
import { ServiceTierField, serviceTierOf } from "./common";

/** Route facts (src/route-facts.ts): the gateway's own API (runs are billed by the cron, not here). */
const ROUTE_FACTS = routeFacts({ dialect: "openai", errorStyle: "openai" });

const Fields = lazy(() => ({
	name: z.string().trim().min(1).max(200),
	schedule: z.string().min(1).max(200),
	prompt_template: z.string().min(1),
	variables: z.record(
		z.string().regex(/^[A-Za-z_][\w-]*$/, "variable names are letters, digits, _ and -"),
		z.union([z.string(), z.array(z.string()).min(1)]),
	),
	model: z.string(),
	aspect_ratio: z.string().nullable(),
	image_size: z.string().nullable(),
	n: z.number().int(),
	reference_images: z.array(z.string()).max(14),
	output_prefix: z
		.string()
		.regex(/^[a-z0-9][a-z0-9_/-]{0,99}$/, "output_prefix is lowercase letters, digits, _, - and /")
		.refine((p) => !p.includes("..") && !p.includes("//"), "output_prefix may not contain .. or //")
		.nullable(),
	webhook_url: z.string().nullable(),
	enabled: z.boolean(),
	service_tier: ServiceTierField().unwrap(),
	timezone: z.string().min(1).max(64),
}));

export const CreatePipeline = lazy(() =>
	z.strictObject({
		...Fields(),
		variables: Fields().variables.default({}),
		model: Fields().model.default("nano-banana"),
		aspect_ratio: Fields().aspect_ratio.optional(),
		image_size: Fields().image_size.optional(),
		n: Fields().n.default(1),
		reference_images: Fields().reference_images.default([]),
		output_prefix: Fields().output_prefix.optional(),
		webhook_url: Fields().webhook_url.optional(),
		enabled: Fields().enabled.default(true),
		service_tier: Fields().service_tier.optional(),
		timezone: Fields().timezone.default("UTC"),
	}),
);
export const PatchPipeline = lazy(() => z.strictObject(Fields()).partial());
export const SchedulePreview = lazy(() => z.object({ schedule: Fields().schedule, timezone: Fields().timezone.default("UTC") }));

type Draft = Omit<PipelineRow, "runs" | "next_run_at" | "created_at" | "updated_at">;

/** Every run's prompt fits the prompt cap: the longest the template can render to is checked. */
function checkRendered(template: string, variables: Variables, maxChars: number): void {
	const longest = longestRendering(template, variables).trim().length;
	if (longest > maxChars) {
		throw invalidParam(
			"prompt_template",
			`prompt_template renders to up to ${longest} characters with these variables; the limit is ${maxChars}`,
			"prompt_too_long",
		);
	}
}

/** Checks a whole pipeline (new or patched) and returns it normalized. */
async function validate(c: Context<AppEnv>, d: Draft): Promise<Draft> {
	const config = c.get("config");
	const model = resolveModel(config.catalog, d.model);
	checkTimezone(d.timezone);
	parseSchedule(d.schedule, config.minPipelineIntervalMinutes, d.timezone);
	checkPrompt(d.prompt_template, config.maxPromptChars, "prompt_template");
	const variables = JSON.parse(d.variables) as Variables;
	checkTemplate(d.prompt_template, variables);
	checkRendered(d.prompt_template, variables, config.maxPromptChars);
	checkN(d.n);
	const refs = JSON.parse(d.reference_images) as string[];
	if (refs.length > model.maxInputImages)
		throw invalidParam("reference_images", `${model.id} accepts at most ${model.maxInputImages} input images`, "too_many_images");
	refs.forEach((u, i) => {
		publicUrl(u, `reference_images[${i}]`, config.allowHttpImageUrls);
	});
	if (d.webhook_url) publicUrl(d.webhook_url, "webhook_url", config.allowHttpImageUrls);
	// A run that could never fit the key's own limits is refused now, not every slot.
	const limits = (await c.get("caller").account.describe())?.limits;
	if (limits && (d.n > limits.images_per_day || d.n > limits.images_per_month)) {
		throw invalidParam(
			"n",
			`n = ${d.n} exceeds this key's image quota (${Math.min(limits.images_per_day, limits.images_per_month)} per period)`,
			"exceeds_key_limits",
		);
	}
	return {
		...d,
		service_tier: serviceTierOf(d.service_tier),
		model: model.id,
		aspect_ratio: d.aspect_ratio ? checkAspectRatio(model, d.aspect_ratio) : null,
		image_size: d.image_size ? checkImageSize(model, d.image_size) : null,
	};
}

function present(p: PipelineRow) {
	return {
		id: p.id,
		object: "pipeline",
		name: p.name,
		schedule: p.schedule,
		prompt_template: p.prompt_template,
		variables: JSON.parse(p.variables) as unknown,
		model: p.model,
		aspect_ratio: p.aspect_ratio,
		image_size: p.image_size,
		n: p.n,
		reference_images: JSON.parse(p.reference_images) as unknown,
		output_prefix: p.output_prefix,
		webhook_url: p.webhook_url,
		enabled: p.enabled === 1,
		service_tier: p.service_tier,
		timezone: p.timezone,
		runs: p.runs,
		next_run_at: p.next_run_at,
		// The schedule helper: the next five slots in the pipeline's zone (none while paused).
		next_runs: p.enabled === 1 ? nextSlots(p.schedule, new Date(), p.timezone) : [],
		created_at: p.created_at,
		updated_at: p.updated_at,
	};
}

function presentRun(r: RunRow) {
	return {
		id: r.id,
		object: "pipeline.run",
		slot: r.slot,
		sequence: r.sequence,
		status: r.status,
		prompt: r.prompt,
		job_id: r.job_id,
		images: JSON.parse(r.images) as string[],
		credits_charged: r.credits_charged,
		reason: r.reason,
		created_at: r.created_at,
		finished_at: r.finished_at,
	};
}

async function ownPipeline(c: Context<AppEnv>): Promise<PipelineRow> {
	const p = await getPipeline(c.env.DB, c.req.param("id") ?? "", c.get("caller").keyId);
	if (!p) throw notFound(`No pipeline with id '${c.req.param("id")}'`);
	return p;
}

async function save(c: Context<AppEnv>, d: Draft, base: Pick<PipelineRow, "runs" | "created_at">): Promise<PipelineRow> {
	const row: PipelineRow = {
		...d,
		...base,
		next_run_at: d.enabled ? nextSlot(d.schedule, new Date(), d.timezone) : null,
		updated_at: new Date().toISOString(),
	};
	await upsertPipeline(c.env.DB, row);
	return row;
}

export const pipelines = new Hono<AppEnv>()
	.use(ROUTE_FACTS)
	.post("/", async (c) => {
		const b = parseWith(CreatePipeline(), await readJsonObject(c.req.raw, c.get("config").maxJsonBodyBytes));
		const draft = await validate(c, {
			id: randomId("pipe"),
			key_id: c.get("caller").keyId,
			name: b.name,
			schedule: b.schedule.trim(),
			prompt_template: b.prompt_template,
			variables: JSON.stringify(b.variables),
			model: b.model,
			aspect_ratio: b.aspect_ratio ?? null,
			image_size: b.image_size ?? null,
			n: b.n,
			reference_images: JSON.stringify(b.reference_images),
			output_prefix: b.output_prefix ?? null,
			webhook_url: b.webhook_url ?? null,
			origin: new URL(c.req.url).origin,
			enabled: b.enabled ? 1 : 0,
			service_tier: serviceTierOf(b.service_tier),
			timezone: b.timezone,
		});
		return c.json(present(await save(c, draft, { runs: 0, created_at: new Date().toISOString() })), 201);
	})
	.get("/schedule", (c) => {
		const q = parseWith(SchedulePreview(), c.req.query());
		const timezone = checkTimezone(q.timezone);
		parseSchedule(q.schedule, c.get("config").minPipelineIntervalMinutes, timezone);
		return c.json({
			object: "schedule",
			schedule: q.schedule.trim(),
			timezone,
			next_runs: nextSlots(q.schedule.trim(), new Date(), timezone),
		});
	})
	.get("/", async (c) => c.json({ object: "list", data: (await listPipelines(c.env.DB, c.get("caller").keyId)).map(present) }))
	.get("/:id", async (c) => c.json(present(await ownPipeline(c))))
	.patch("/:id", async (c) => {
		const current = await ownPipeline(c);
		const b = parseWith(PatchPipeline(), await readJsonObject(c.req.raw, c.get("config").maxJsonBodyBytes));
		const draft = await validate(c, {
			...current,
			...(b.name !== undefined ? { name: b.name } : {}),
			...(b.schedule !== undefined ? { schedule: b.schedule.trim() } : {}),
			...(b.prompt_template !== undefined ? { prompt_template: b.prompt_template } : {}),
			...(b.variables !== undefined ? { variables: JSON.stringify(b.variables) } : {}),
			...(b.model !== undefined ? { model: b.model } : {}),
			...(b.aspect_ratio !== undefined ? { aspect_ratio: b.aspect_ratio } : {}),
			...(b.image_size !== undefined ? { image_size: b.image_size } : {}),
			...(b.n !== undefined ? { n: b.n } : {}),
			...(b.reference_images !== undefined ? { reference_images: JSON.stringify(b.reference_images) } : {}),
			...(b.output_prefix !== undefined ? { output_prefix: b.output_prefix } : {}),
			...(b.webhook_url !== undefined ? { webhook_url: b.webhook_url } : {}),
			...(b.enabled !== undefined ? { enabled: b.enabled ? 1 : 0 } : {}),
			...(b.service_tier !== undefined ? { service_tier: serviceTierOf(b.service_tier) } : {}),
			...(b.timezone !== undefined ? { timezone: b.timezone } : {}),
		});
		return c.json(present(await save(c, draft, { runs: current.runs, created_at: current.created_at })));
	})
	.delete("/:id", async (c) => {
		const p = await ownPipeline(c);
		await deletePipeline(c.env.DB, p.id, p.key_id);
		return c.json({ id: p.id, deleted: true });
	})
	.get("/:id/runs", async (c) => {
		const p = await ownPipeline(c);
		return c.json({ object: "list", data: (await listRuns(c.env.DB, p.id, 100)).map(presentRun) });
	})
	.post("/:id/run", async (c) => {
		const p = await ownPipeline(c);
		// Idempotent per slot: a second run-now in the same minute (or a scheduled slot of that
		// minute) answers the run that slot already has, and nothing more is queued or billed.
		const { slot, started } = await runNow(c.env, p, new Date(), c.get("config").batchWindowSeconds);
		const run = await getRunBySlot(c.env.DB, p.id, slot);
		if (!run) throw notFound(`No run of pipeline '${p.id}' for slot ${slot}`);
		return c.json(presentRun(run), started ? 202 : 200);
	});
