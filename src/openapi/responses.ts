/**
 * zod schemas of what the gateway answers, for the OpenAPI document. Requests are
 * documented from the very schemas the routes parse with; responses are built by the
 * routes as plain objects, so their shapes are written down here, and a test checks
 * real answers against them (test/node/openapi.test.ts).
 */
import { z } from "zod";
import { ERROR_TYPES } from "../errors/codes";
import { Iso, LifecycleStatus, list } from "./schema-parts";

// The account's and the operator's answers: exported from here too, because the document
// registers every schema this module exports as a named component.
export * from "./account-responses";

const Nullable = <T extends z.ZodType>(t: T) => t.nullable();

export const ErrorBody = z
	.object({
		error: z.object({
			message: z.string(),
			type: z.enum(ERROR_TYPES),
			code: z.string().describe("Stable machine-readable code (the table in docs/errors.md), e.g. invalid_api_key, insufficient_credits"),
			param: z.string().nullable().describe("The parameter at fault, when there is one"),
			reason: z
				.string()
				.optional()
				.describe(
					"A stable sub-code, when there is one: why a reference URL failed (dns, connect, tls, timeout, http_status, redirects, not_image, too_large, network)",
				),
		}),
	})
	.describe("The one error shape (OpenAI's). Every response also carries x-request-id.");

export const GoogleErrorBody = z
	.object({
		error: z.object({
			code: z.number().int(),
			message: z.string(),
			status: z.string().describe("google.rpc status name, e.g. INVALID_ARGUMENT, UNAUTHENTICATED, RESOURCE_EXHAUSTED"),
			details: z.array(z.looseObject({ "@type": z.string() })),
		}),
	})
	.describe("Google's error shape, used on Gemini's own routes; the gateway's code is in an ErrorInfo detail.");

const TokenUsage = z.object({ input_tokens: z.number().int(), output_tokens: z.number().int(), total_tokens: z.number().int() });

export const ImagesResponse = z.object({
	created: z.number().int(),
	data: z.array(z.object({ url: z.string().optional(), b64_json: z.string().optional() })),
	output_format: z
		.enum(["png", "jpeg", "webp", "avif"])
		.optional()
		.describe("The images' format, when the request named output_format (as gpt-image answers)"),
	usage: TokenUsage,
	conversation_id: z.string().optional(),
});

/** What a finished job delivered (the same for every dialect). */
export const JobResult = z.object({
	images: z.array(z.object({ url: z.string(), mime_type: z.string(), bytes: z.number().int() })),
	usage: TokenUsage,
	credits_charged: z.number().int(),
	failed_images: z.number().int(),
});

/** Why a job failed: the error's code and message (as in the error shape), and its type and param when known. */
export const JobError = z.looseObject({ code: z.string(), message: z.string() });

const ServiceTier = z.enum(["standard", "batch"]);

const JobStatus = z.enum(["CREATED", "RUNNING", "STORING", "SUCCEEDED", "FAILED", "CANCELED"]);

export const Job = z.object({
	id: z.string(),
	object: z.literal("job"),
	status: JobStatus,
	kind: z.string(),
	model: z.string(),
	mode: z.enum(["generate", "edit"]),
	n: z.number().int(),
	created_at: Iso,
	started_at: Nullable(Iso),
	storing_at: Nullable(Iso),
	finished_at: Nullable(Iso),
	attempts: z.number().int(),
	credits_charged: z.number().int().nullable(),
	result: JobResult.nullable().describe("Once SUCCEEDED"),
	error: JobError.nullable().describe("Once FAILED (or the last transient failure while it is retried)"),
	service_tier: ServiceTier,
	batch: z
		.object({ id: z.string(), state: z.string().describe("Gemini's last seen BATCH_STATE_*, or SUBMITTING") })
		.nullable()
		.describe("Batch lane: the Gemini batch the job is in"),
	webhook_url: z.string().nullable(),
	webhook_status: z.string().nullable(),
	pipeline_run_id: z.string().nullable(),
	poll_url: z.string(),
});

export const JobList = list(Job);

export const VydraResponse = z.object({
	imageUrl: z.string(),
	mimeType: z.string(),
	mode: z.enum(["generate", "edit"]),
	creditsCharged: z.number().int(),
	durationMs: z.number().int(),
});

export const NanoBananaApiResponse = z.object({
	data: z.object({ url: z.string(), urls: z.array(z.string()), mime_type: z.string(), mode: z.enum(["generate", "edit"]) }),
	credits_charged: z.number().int(),
});

const SizePrices = z.record(z.string(), z.number().int()).describe("Credits per delivered image by image_size (512, 1K, 2K, 4K)");

export const Model = z.object({
	id: z.string(),
	object: z.literal("model"),
	owned_by: z.string(),
	kind: z.enum(["alias", "upstream"]),
	description: z.string(),
	upstream_model: z.string(),
	upstream_chain: z.array(z.string()),
	aspect_ratios: z.array(z.string()),
	image_sizes: z.array(z.string()),
	default_image_size: z.string().nullable(),
	max_input_images: z.number().int(),
	prices: SizePrices.nullable(),
	batch_prices: SizePrices.nullable().describe("Prices of the Batch lane (service_tier batch)"),
	deprecated: z.boolean(),
	lifecycle: z.object({
		status: LifecycleStatus,
		deprecated_on: z.string().nullable(),
		sunset_on: z.string().nullable(),
		replacement: z.string().nullable(),
	}),
});

export const ModelList = z.object({ object: z.literal("list"), data: z.array(Model) });

export const GoogleModel = z.looseObject({
	name: z.string(),
	baseModelId: z.string(),
	version: z.string(),
	displayName: z.string(),
	description: z.string(),
	inputTokenLimit: z.number().int(),
	outputTokenLimit: z.number().int(),
	supportedGenerationMethods: z.array(z.string()),
});

export const GoogleModelList = z.object({ models: z.array(GoogleModel), nextPageToken: z.string().optional() });

export const GenerateContentResponse = z
	.looseObject({
		candidates: z.array(z.looseObject({ content: z.unknown(), finishReason: z.string().optional() })).optional(),
		promptFeedback: z.unknown().optional(),
		usageMetadata: z.unknown().optional(),
		modelVersion: z.string().optional(),
	})
	.describe("Gemini's GenerateContentResponse, as Google sends it");

export const Pricing = z.object({
	unit: z.string(),
	credit_usd: z.number().describe("What one credit is worth in US dollars"),
	rules: z
		.object({
			charge: z.string(),
			margin_percent: z.number(),
			refused_answers: z.string(),
			failures: z.string(),
			hold: z.string(),
		})
		.describe("How a request is charged and held"),
	note: z.string(),
	data: z.array(
		z.object({
			model: z.string(),
			upstream_model: z.string(),
			default_image_size: z.string().nullable(),
			prices: SizePrices,
			batch_prices: SizePrices.describe("Prices of the Batch lane (service_tier batch)"),
		}),
	),
});

export const Pipeline = z.object({
	id: z.string(),
	object: z.literal("pipeline"),
	name: z.string(),
	schedule: z.string(),
	prompt_template: z.string(),
	variables: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
	model: z.string(),
	aspect_ratio: z.string().nullable(),
	image_size: z.string().nullable(),
	n: z.number().int(),
	reference_images: z.array(z.string()),
	output_prefix: z.string().nullable(),
	webhook_url: z.string().nullable(),
	enabled: z.boolean(),
	service_tier: ServiceTier,
	timezone: z.string().describe("IANA time zone the schedule is read in"),
	runs: z.number().int(),
	next_run_at: Iso.nullable(),
	next_runs: z.array(Iso).describe("The next five slots (UTC instants); empty while paused"),
	created_at: Iso,
	updated_at: Iso,
});

export const PipelineList = z.object({ object: z.literal("list"), data: z.array(Pipeline) });

export const PipelineRun = z.object({
	id: z.string(),
	object: z.literal("pipeline.run"),
	slot: z.string(),
	sequence: z.number().int(),
	status: z.string(),
	prompt: z.string().nullable(),
	job_id: z.string().nullable(),
	images: z.array(z.string()),
	credits_charged: z.number().int().nullable(),
	reason: z.string().nullable(),
	created_at: Iso,
	finished_at: Iso.nullable(),
});

export const PipelineRunList = z.object({ object: z.literal("list"), data: z.array(PipelineRun) });

export const SchedulePreview = z.object({
	object: z.literal("schedule"),
	schedule: z.string(),
	timezone: z.string(),
	next_runs: z.array(Iso),
});

export const Deleted = z.object({ id: z.string(), deleted: z.literal(true) });

export const Conversation = z.object({ id: z.string(), model: z.string(), turns: z.number().int(), created_at: Iso });

export const ConversationList = z.object({
	object: z.literal("list"),
	data: z.array(Conversation.extend({ updated_at: Iso })),
	has_more: z.boolean(),
	next_cursor: z.string().nullable(),
});

export const ConversationDetail = Conversation.extend({
	updated_at: Iso,
	contents: z.array(
		z.object({
			index: z.number().int(),
			role: z.string(),
			text: z.string(),
			images: z.number().int(),
			thought_signatures: z.number().int(),
		}),
	),
});

export const Health = z.object({ ok: z.literal(true) });
