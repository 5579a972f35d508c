/**
 * zod schemas of what the gateway answers, for the OpenAPI document. Requests are
 * documented from the very schemas the routes parse with; responses are built by the
 * routes as plain objects, so their shapes are written down here, and a test checks
 * real answers against them (test/node/openapi.test.ts).
 */
import { z } from "zod";
import { ERROR_TYPES } from "../errors/codes";

const Iso = z.string().describe("ISO 8601 date-time (UTC)");
const Nullable = <T extends z.ZodType>(t: T) => t.nullable();

export const ErrorBody = z
	.object({
		error: z.object({
			message: z.string(),
			type: z.enum(ERROR_TYPES),
			code: z.string().describe("Stable machine-readable code (the table in docs/errors.md), e.g. invalid_api_key, insufficient_credits"),
			param: z.string().nullable().describe("The parameter at fault, when there is one"),
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

const list = <T extends z.ZodType>(item: T) =>
	z.object({ object: z.literal("list"), data: z.array(item), has_more: z.boolean(), next_cursor: z.string().nullable() });

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
const LifecycleStatus = z.enum(["active", "deprecated", "retired"]);

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

const Limits = z.object({
	requests_per_minute: z.number().int(),
	concurrent_requests: z.number().int(),
	images_per_day: z.number().int(),
	images_per_month: z.number().int(),
});
const PeriodUsage = z.object({ requests: z.number().int(), images: z.number().int(), credits: z.number().int() });
const AccountUsage = z.object({ today: PeriodUsage, this_month: PeriodUsage });

export const Account = z.object({
	id: z.string(),
	name: z.string(),
	credits: z.number().int(),
	reserved_credits: z.number().int(),
	limits: Limits.nullable(),
	usage: AccountUsage.nullable(),
});

export const UsageRow = z.object({
	request_id: z.string(),
	key_id: z.string(),
	endpoint: z.string(),
	model: z.string(),
	upstream_model: z.string().nullable(),
	mode: z.string(),
	n_requested: z.number().int(),
	images_delivered: z.number().int(),
	aspect_ratio: z.string().nullable(),
	image_size: z.string().nullable(),
	credits_reserved: z.number().int(),
	credits_charged: z.number().int(),
	prompt_tokens: z.number().int(),
	output_tokens: z.number().int(),
	total_tokens: z.number().int(),
	upstream_ms: z.number().nullable(),
	total_ms: z.number().nullable(),
	status: z.number().int(),
	error_code: z.string().nullable(),
	finish_reason: z.string().nullable(),
	r2_keys: z.array(z.string()).describe("R2 keys of the images delivered"),
	image_urls: z.array(z.string()).describe("Public URLs of the images delivered"),
	created_at: Iso,
	day: z.string(),
});

export const UsageAggregate = z.object({
	day: z.string().optional(),
	model: z.string().optional(),
	key_id: z.string().optional(),
	requests: z.number().int(),
	images: z.number().int(),
	credits: z.number().int(),
	failed: z.number().int(),
});

export const UsagePage = list(UsageRow).extend({
	aggregates: z.object({ by_day: z.array(UsageAggregate), by_model: z.array(UsageAggregate) }),
});

export const WebhookSecret = z.object({ secret: z.string().describe("Standard Webhooks signing secret (whsec_...)") });

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
	runs: z.number().int(),
	next_run_at: Iso.nullable(),
	created_at: Iso,
	updated_at: Iso,
});

export const PipelineList = z.object({ object: z.literal("list"), data: z.array(Pipeline) });

export const PipelineRunList = z.object({
	object: z.literal("list"),
	data: z.array(
		z.object({
			id: z.string(),
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
		}),
	),
});

export const Deleted = z.object({ id: z.string(), deleted: z.literal(true) });

export const Conversation = z.object({ id: z.string(), model: z.string(), turns: z.number().int(), created_at: Iso });

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

export const Key = z.object({
	id: z.string(),
	name: z.string(),
	prefix: z.string(),
	status: z.enum(["active", "revoked"]),
	created_at: Iso,
	revoked_at: Iso.nullable(),
	credits: z.number().int(),
	reserved_credits: z.number().int(),
	limits: Limits.nullable(),
	limit_overrides: Limits.partial(),
	usage: AccountUsage.nullable(),
});

export const CreatedKey = Key.extend({ key: z.string().describe("The API key in plain text; shown this once only") });

export const KeyList = list(Key);

export const Balance = z.object({ id: z.string(), credits: z.number().int() });

const UpstreamAggregate = z.object({
	upstream: z.string().describe("Upstream id of the pool"),
	requests: z.number().int().describe("Requests with at least one image from it"),
	images: z.number().int(),
	credits: z.number().int().describe("What its images were charged"),
});

export const AdminUsage = z.object({
	total: UsageAggregate,
	by_key: z.array(UsageAggregate),
	by_model: z.array(UsageAggregate),
	by_day: z.array(UsageAggregate),
	by_upstream: z.array(UpstreamAggregate).describe("Image by image: the upstream that served each"),
});

export const Stats = z.object({
	window: z.enum(["1h", "24h", "7d", "30d"]),
	requests: z.number().int(),
	succeeded: z.number().int(),
	success_rate: z.number().nullable(),
	safety_blocks: z.number().int(),
	latency_ms: z.object({ p50: z.number().nullable(), p95: z.number().nullable() }),
	bucket_seconds: z.number().int(),
	series: z.array(
		z.object({
			start: Iso,
			requests: z.number().int(),
			succeeded: z.number().int(),
			success_rate: z.number().nullable(),
			p50_ms: z.number().nullable(),
			p95_ms: z.number().nullable(),
		}),
	),
});

const IdState = z.looseObject({
	id: z.string(),
	seen_upstream: z.boolean().nullable(),
	gone: z.boolean(),
	gone_reason: z.string().nullable(),
	gone_at: Iso.nullable(),
	last_seen_at: Iso.nullable(),
	last_checked_at: Iso.nullable(),
	lifecycle: z.looseObject({ status: LifecycleStatus }).nullable(),
});

export const CatalogHealth = z.object({
	upstream: z.string().nullable().describe("The pool's upstream these findings are for (?upstream=, default the first)"),
	upstreams: z.array(z.string()),
	last_check: z.object({ at: Iso, ok: z.boolean(), models: z.number().int().nullable(), error: z.string().nullable() }).nullable(),
	aliases: z.array(
		z.object({
			alias: z.string(),
			resolves_to: z.string().nullable(),
			upstream: z.string(),
			successors: z.array(z.string()),
			lifecycle: z.looseObject({ status: LifecycleStatus }),
			chain: z.array(IdState),
		}),
	),
	upstream_ids: z.array(IdState),
	unused_image_models: z.array(z.string()),
});

const DiscoveryResult = z.object({
	upstream: z.string(),
	checked_at: Iso,
	pages: z.number().int(),
	listed: z.number().int(),
	present: z.array(z.string()),
	missing: z.array(z.string()),
	unused_image_models: z.array(z.string()),
});

export const Discovery = z.object({ upstreams: z.array(DiscoveryResult).describe("One listing per Gemini API upstream of the pool") });

const UpstreamCounts = z.object({
	requests: z.number().int(),
	successes: z.number().int(),
	status_429: z.number().int(),
	status_5xx: z.number().int().describe("5xx, 408 and refused credentials"),
	network_errors: z.number().int().describe("No answer, cut-off bodies, timeouts"),
});

export const UpstreamView = z.object({
	id: z.string(),
	kind: z.enum(["gemini", "vertex"]),
	auth: z.enum(["api_key", "service_account", "express_api_key"]),
	credential: z.object({
		source: z.string().describe("Where the credential comes from: a secret's name, or GEMINI_API_KEYS[i]"),
		fingerprint: z.string().describe("sha256:… of a key, or the service account and key id; never the credential"),
	}),
	base_url: z.string(),
	project: z.string().nullable(),
	location: z.string().nullable(),
	weight: z.number(),
	models: z.array(z.string()).nullable(),
	max_concurrency: z.number().int().nullable(),
	state: z.enum(["healthy", "limited", "open", "half_open", "unusable"]),
	problem: z.string().nullable().describe("Why it is unusable"),
	in_flight: z.number().int(),
	last_hour: UpstreamCounts,
	cooldown_until: Iso.nullable(),
	quota_cooldowns: z.array(
		z.object({ model: z.string(), window: z.enum(["minute", "day", "unknown"]), quota_id: z.string().nullable(), until: Iso }),
	),
	last_rate_limited_at: Iso.nullable(),
	last_error: z.object({ at: Iso, status: z.number().int().nullable(), kind: z.string(), message: z.string() }).nullable(),
	vertex_token: z.object({ minted_here: z.number().int(), expires_at: Iso.nullable() }).optional(),
});

export const UpstreamPool = z.object({
	shared: z.object({
		across_isolates: z.boolean().describe("Figures from every isolate (the UpstreamHealth object), or this isolate's alone"),
		sync_interval_ms: z.number().int(),
		error: z.string().optional(),
	}),
	upstreams: z.array(UpstreamView),
});

export const Health = z.object({ ok: z.literal(true) });

const DependencyCheck = z.looseObject({
	ok: z.boolean(),
	ms: z.number().describe("How long the check took"),
	error: z.string().optional().describe("Why it failed"),
});

export const HealthReport = z.object({
	ok: z.boolean(),
	checked_at: Iso,
	checks: z.object({
		d1: DependencyCheck,
		r2: DependencyCheck,
		key_account: DependencyCheck,
		queue: DependencyCheck,
		upstream: DependencyCheck,
	}),
});
