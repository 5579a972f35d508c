/**
 * The key's own resources (account, usage, jobs, pipelines, conversations) and the
 * service's pages, described for the OpenAPI document.
 */
import { z } from "zod";
import { ConversationsQuery, CreateConversation } from "../routes/conversations";
import { JobsQuery } from "../routes/jobs";
import { CreatePipeline, PatchPipeline, SchedulePreview } from "../routes/pipelines";
import { UsageQuery } from "../routes/usage-query";
import { created, json, ok, operations } from "./declare";
import type { Operation } from "./operation";
import * as R from "./responses";

const account = operations("Account", "key");
const jobs = operations("Jobs", "key");
const pipelines = operations("Pipelines", "key");
const conversations = operations("Conversations", "key");
const service = operations("Service", "public");
const images = operations("Images (OpenAI)", "public");

const JOB = { params: { id: "Job id" } };
const PIPELINE = { params: { id: "Pipeline id" } };
const CONVERSATION = { params: { id: "Conversation id" } };

const accountOps: Operation[] = [
	account.get("/v1/account", "Balance, limits and today's usage", ok("The account", R.Account)),
	account.get("/v1/usage", "Usage rows, newest first", ok("A page of usage", R.UsagePage), {
		description: "Paged with `cursor`; filtered by dates (UTC days) and model; with totals by day and by model.",
		query: UsageQuery(),
	}),
	account.get("/v1/account/webhook-secret", "Webhook signing secret", ok("The secret", R.WebhookSecret)),
	account.post("/v1/account/webhook-secret/rotate", "Rotate the webhook signing secret", ok("The new secret", R.WebhookSecret)),
];

const jobOps: Operation[] = [
	jobs.get("/v1/jobs", "List async jobs", ok("A page of jobs", R.JobList), { query: JobsQuery() }),
	jobs.get("/v1/jobs/{id}", "Get a job", ok("The job", R.Job), JOB),
	jobs.post("/v1/jobs/{id}/cancel", "Cancel a job that has not started", ok("The canceled job", R.Job), {
		...JOB,
		description:
			"Its held credits are released. A batch-tier job already in a Gemini batch can be canceled only when it is alone in it (the batch is canceled at Gemini); otherwise 409 job_in_running_batch, and 502 if Gemini refuses the cancel.",
		errors: [400, 409, 502],
	}),
];

const pipelineOps: Operation[] = [
	pipelines.post("/v1/pipelines", "Create a content pipeline", created("The pipeline", R.Pipeline), { body: json(CreatePipeline()) }),
	pipelines.get("/v1/pipelines", "List pipelines", ok("The key's pipelines", R.PipelineList)),
	pipelines.get("/v1/pipelines/{id}", "Get a pipeline", ok("The pipeline", R.Pipeline), PIPELINE),
	pipelines.patch("/v1/pipelines/{id}", "Change a pipeline", ok("The pipeline", R.Pipeline), {
		...PIPELINE,
		body: json(PatchPipeline()),
	}),
	pipelines.delete("/v1/pipelines/{id}", "Delete a pipeline", ok("Deleted", R.Deleted), PIPELINE),
	pipelines.get("/v1/pipelines/{id}/runs", "A pipeline's last 100 runs", ok("Runs, newest first", R.PipelineRunList), PIPELINE),
	pipelines.post(
		"/v1/pipelines/{id}/run",
		"Run a pipeline now",
		{
			202: { description: "A run for the current minute, queued and billed like a scheduled run", schema: R.PipelineRun },
			200: { description: "That minute already had a run: it is answered, nothing more is queued", schema: R.PipelineRun },
		},
		{
			...PIPELINE,
			description:
				"Idempotent per slot (the current UTC minute): a repeat in the same minute, or the scheduled slot of that minute, makes one run. The scheduled slots are not moved.",
		},
	),
	pipelines.get("/v1/pipelines/schedule", "Preview a schedule's next five runs", ok("The next five slots", R.SchedulePreview), {
		description:
			"Validates `schedule` (5-field cron) and `timezone` (IANA, default UTC) as saving a pipeline would, and lists the next five slots as UTC instants.",
		query: SchedulePreview(),
		errors: [400],
	}),
];

const conversationOps: Operation[] = [
	conversations.post("/v1/conversations", "Start a conversation", created("The conversation", R.Conversation), {
		description: "Then send `conversation_id` with generations or edits to keep editing the last result.",
		body: { json: CreateConversation() },
	}),
	conversations.get("/v1/conversations", "List the key's conversations", ok("A page of conversations, newest first", R.ConversationList), {
		description: "Paged with `cursor` (the answer's `next_cursor`); no turns (GET one conversation for those).",
		query: ConversationsQuery(),
	}),
	conversations.get("/v1/conversations/{id}", "Get a conversation's turns", ok("The conversation", R.ConversationDetail), CONVERSATION),
	conversations.delete("/v1/conversations/{id}", "Delete a conversation", ok("Deleted", R.Deleted), CONVERSATION),
];

const IMAGE = { type: "string", contentMediaType: "image/*" };
const IMAGE_KEY = { params: { key: "The R2 key, generated/..." } };
const HTML = { media: { type: "text/html", schema: { type: "string" } } };

const systemOps: Operation[] = [
	service.get("/health", "Liveness", ok("Up", R.Health)),
	service.get("/openapi.json", "This document", ok("OpenAPI 3.1", z.looseObject({ openapi: z.string() }))),
	images.get(
		"/images/{key}",
		"A generated image",
		{
			200: { description: "The image", media: { type: "image/*", schema: IMAGE } },
			206: { description: "A byte range", media: { type: "image/*", schema: IMAGE } },
			304: { description: "Not modified" },
		},
		{
			...IMAGE_KEY,
			query: z.object({
				thumb: z
					.string()
					.optional()
					.describe("Present (any value): the gallery thumbnail instead, a 256-px-wide WebP made on the fly and edge-cached"),
			}),
			description:
				"Served from R2 when no public bucket domain is configured: immutable caching, ETag (304), Range (206), readable from any origin. With `?thumb`, the image's gallery thumbnail (WebP).",
		},
	),
	images.head("/images/{key}", "A generated image's headers", ok("Headers only"), IMAGE_KEY),
	service.get("/", "Home page (HTML)", ok("The page", undefined, HTML), {
		description: "What this is, with links to the console, the API reference and this document.",
	}),
	service.get("/docs", "Interactive API reference (HTML)", ok("The page", undefined, HTML)),
	service.get("/console", "Web console (HTML)", ok("The page", undefined, HTML), {
		description: "Playground, gallery, account and operator views; deep links under /console/ serve the same page.",
	}),
];

/** The service's own endpoints and the key's resources. */
export const ACCOUNT_OPERATIONS: Operation[] = [...systemOps, ...accountOps, ...jobOps, ...pipelineOps, ...conversationOps];
