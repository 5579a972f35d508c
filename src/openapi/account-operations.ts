/**
 * The key's own resources (account, usage, jobs, pipelines, conversations) and the
 * service's pages, described for the OpenAPI document.
 */
import { z } from "zod";
import { CreateConversation } from "../routes/conversations";
import { JobsQuery } from "../routes/jobs";
import { CreatePipeline, PatchPipeline } from "../routes/pipelines";
import { UsageQuery } from "../routes/usage-query";
import type { Operation } from "./operation";
import * as R from "./responses";

const accountOps: Operation[] = [
	{
		method: "get",
		path: "/v1/account",
		tag: "Account",
		summary: "Balance, limits and today's usage",
		auth: "key",
		responses: { 200: { description: "The account", schema: R.Account } },
		errors: [401, 403],
	},
	{
		method: "get",
		path: "/v1/usage",
		tag: "Account",
		summary: "Usage rows, newest first",
		description: "Paged with `cursor`; filtered by dates (UTC days) and model; with totals by day and by model.",
		auth: "key",
		query: UsageQuery,
		responses: { 200: { description: "A page of usage", schema: R.UsagePage } },
		errors: [400, 401, 403],
	},
	{
		method: "get",
		path: "/v1/account/webhook-secret",
		tag: "Account",
		summary: "Webhook signing secret",
		auth: "key",
		responses: { 200: { description: "The secret", schema: R.WebhookSecret } },
		errors: [401, 403],
	},
	{
		method: "post",
		path: "/v1/account/webhook-secret/rotate",
		tag: "Account",
		summary: "Rotate the webhook signing secret",
		auth: "key",
		responses: { 200: { description: "The new secret", schema: R.WebhookSecret } },
		errors: [401, 403],
	},
];

const jobOps: Operation[] = [
	{
		method: "get",
		path: "/v1/jobs",
		tag: "Jobs",
		summary: "List async jobs",
		auth: "key",
		query: JobsQuery,
		responses: { 200: { description: "A page of jobs", schema: R.JobList } },
		errors: [400, 401, 403],
	},
	{
		method: "get",
		path: "/v1/jobs/{id}",
		tag: "Jobs",
		summary: "Get a job",
		auth: "key",
		params: { id: "Job id" },
		responses: { 200: { description: "The job", schema: R.Job } },
		errors: [401, 403, 404],
	},
	{
		method: "post",
		path: "/v1/jobs/{id}/cancel",
		tag: "Jobs",
		summary: "Cancel a job that has not started",
		description:
			"Its held credits are released. A batch-tier job already in a Gemini batch can be canceled only when it is alone in it (the batch is canceled at Gemini); otherwise 409 job_in_running_batch, and 502 if Gemini refuses the cancel.",
		auth: "key",
		params: { id: "Job id" },
		responses: { 200: { description: "The canceled job", schema: R.Job } },
		errors: [400, 401, 403, 404, 409, 502],
	},
];

const pipelineOps: Operation[] = [
	{
		method: "post",
		path: "/v1/pipelines",
		tag: "Pipelines",
		summary: "Create a content pipeline",
		auth: "key",
		body: { json: CreatePipeline, required: true },
		responses: { 201: { description: "The pipeline", schema: R.Pipeline } },
		errors: [400, 401, 403, 413, 415],
	},
	{
		method: "get",
		path: "/v1/pipelines",
		tag: "Pipelines",
		summary: "List pipelines",
		auth: "key",
		responses: { 200: { description: "The key's pipelines", schema: R.PipelineList } },
		errors: [401, 403],
	},
	{
		method: "get",
		path: "/v1/pipelines/{id}",
		tag: "Pipelines",
		summary: "Get a pipeline",
		auth: "key",
		params: { id: "Pipeline id" },
		responses: { 200: { description: "The pipeline", schema: R.Pipeline } },
		errors: [401, 403, 404],
	},
	{
		method: "patch",
		path: "/v1/pipelines/{id}",
		tag: "Pipelines",
		summary: "Change a pipeline",
		auth: "key",
		params: { id: "Pipeline id" },
		body: { json: PatchPipeline, required: true },
		responses: { 200: { description: "The pipeline", schema: R.Pipeline } },
		errors: [400, 401, 403, 404, 413, 415],
	},
	{
		method: "delete",
		path: "/v1/pipelines/{id}",
		tag: "Pipelines",
		summary: "Delete a pipeline",
		auth: "key",
		params: { id: "Pipeline id" },
		responses: { 200: { description: "Deleted", schema: R.Deleted } },
		errors: [401, 403, 404],
	},
	{
		method: "get",
		path: "/v1/pipelines/{id}/runs",
		tag: "Pipelines",
		summary: "A pipeline's last 100 runs",
		auth: "key",
		params: { id: "Pipeline id" },
		responses: { 200: { description: "Runs, newest first", schema: R.PipelineRunList } },
		errors: [401, 403, 404],
	},
];

const conversationOps: Operation[] = [
	{
		method: "post",
		path: "/v1/conversations",
		tag: "Conversations",
		summary: "Start a conversation",
		description: "Then send `conversation_id` with generations or edits to keep editing the last result.",
		auth: "key",
		body: { json: CreateConversation },
		responses: { 201: { description: "The conversation", schema: R.Conversation } },
		errors: [400, 401, 403, 413, 415],
	},
	{
		method: "get",
		path: "/v1/conversations/{id}",
		tag: "Conversations",
		summary: "Get a conversation's turns",
		auth: "key",
		params: { id: "Conversation id" },
		responses: { 200: { description: "The conversation", schema: R.ConversationDetail } },
		errors: [401, 403, 404],
	},
	{
		method: "delete",
		path: "/v1/conversations/{id}",
		tag: "Conversations",
		summary: "Delete a conversation",
		auth: "key",
		params: { id: "Conversation id" },
		responses: { 200: { description: "Deleted", schema: R.Deleted } },
		errors: [401, 403, 404],
	},
];

const IMAGE = { type: "string", contentMediaType: "image/*" };

const systemOps: Operation[] = [
	{
		method: "get",
		path: "/health",
		tag: "Service",
		summary: "Liveness",
		auth: "public",
		responses: { 200: { description: "Up", schema: R.Health } },
		errors: [],
	},
	{
		method: "get",
		path: "/openapi.json",
		tag: "Service",
		summary: "This document",
		auth: "public",
		responses: { 200: { description: "OpenAPI 3.1", schema: z.looseObject({ openapi: z.string() }) } },
		errors: [],
	},
	{
		method: "get",
		path: "/images/{key}",
		tag: "Images (OpenAI)",
		summary: "A generated image",
		description:
			"Served from R2 when no public bucket domain is configured: immutable caching, ETag (304), Range (206), readable from any origin.",
		auth: "public",
		params: { key: "The R2 key, generated/..." },
		responses: {
			200: { description: "The image", media: { type: "image/*", schema: IMAGE } },
			206: { description: "A byte range", media: { type: "image/*", schema: IMAGE } },
			304: { description: "Not modified" },
		},
		errors: [404],
	},
	{
		method: "head",
		path: "/images/{key}",
		tag: "Images (OpenAI)",
		summary: "A generated image's headers",
		auth: "public",
		params: { key: "The R2 key, generated/..." },
		responses: { 200: { description: "Headers only" } },
		errors: [404],
	},
	{
		method: "get",
		path: "/",
		tag: "Service",
		summary: "Home page (HTML)",
		description: "What this is, with links to the console, the API reference and this document.",
		auth: "public",
		responses: { 200: { description: "The page", media: { type: "text/html", schema: { type: "string" } } } },
		errors: [],
	},
	{
		method: "get",
		path: "/docs",
		tag: "Service",
		summary: "Interactive API reference (HTML)",
		auth: "public",
		responses: { 200: { description: "The page", media: { type: "text/html", schema: { type: "string" } } } },
		errors: [],
	},
	{
		method: "get",
		path: "/console",
		tag: "Service",
		summary: "Web console (HTML)",
		description: "Playground, gallery, account and operator views; deep links under /console/ serve the same page.",
		auth: "public",
		responses: { 200: { description: "The page", media: { type: "text/html", schema: { type: "string" } } } },
		errors: [],
	},
];

/** The service's own endpoints and the key's resources. */
export const ACCOUNT_OPERATIONS: Operation[] = [...systemOps, ...accountOps, ...jobOps, ...pipelineOps, ...conversationOps];
