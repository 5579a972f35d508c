/**
 * zod schemas of what the key's account routes and the operator's admin routes answer,
 * for the OpenAPI document (kept apart from ./responses.ts, which re-exports them so the
 * document names every answer schema from one module). Real answers are checked against
 * them in test/node/openapi.test.ts.
 */
import { z } from "zod";
import { Iso, LifecycleStatus, list } from "./schema-parts";

const Limits = z.object({
	requests_per_minute: z.number().int(),
	concurrent_requests: z.number().int(),
	concurrent_batch_jobs: z.number().int().describe("Batch-tier jobs waiting or running at once (apart from concurrent_requests)"),
	images_per_day: z.number().int(),
	images_per_month: z.number().int(),
});
const Controls = z
	.object({
		allowed_models: z.array(z.string()).nullable().describe("Models (aliases or raw Gemini ids) the key may use; null: all"),
		allowed_image_sizes: z.array(z.string()).nullable().describe("Image sizes the key may ask for; null: all"),
		allowed_features: z.object({
			search: z.boolean().describe("Google Search grounding (native route)"),
			thinking: z.enum(["minimal", "low", "medium", "high"]).describe("The highest thinking level a request may ask for"),
			batch: z.boolean().describe('The Batch lane (service_tier "batch")'),
			text_output: z.boolean().describe("Text-only answers (native route)"),
		}),
		daily_spend_credits: z.number().int().nullable().describe("Cap on credits charged and held per UTC day; null: none"),
		monthly_spend_credits: z.number().int().nullable().describe("Cap on credits charged and held per UTC month; null: none"),
		low_balance_threshold: z.number().int().nullable().describe("key.balance_low is sent when a charge takes the balance below this"),
		low_balance_webhook_url: z.string().nullable().describe("Where key.balance_low is POSTed, signed with the key's webhook secret"),
	})
	.describe("The key's spend controls, set by the operator");
const PeriodUsage = z.object({ requests: z.number().int(), images: z.number().int(), credits: z.number().int() });
const AccountUsage = z.object({ today: PeriodUsage, this_month: PeriodUsage });

export const Account = z.object({
	id: z.string(),
	name: z.string(),
	credits: z.number().int(),
	reserved_credits: z.number().int(),
	limits: Limits.nullable(),
	controls: Controls,
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
	prompt: z
		.string()
		.nullable()
		.describe("The request's prompt (its first 1,000 characters); null for rows recorded before prompts were kept"),
	thumbnail_urls: z
		.array(z.string())
		.describe("Each image's gallery thumbnail: a 256-px-wide WebP made on the fly (GET /images/{key}?thumb), in image_urls' order"),
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
	detail_archived_before: z
		.string()
		.nullable()
		.describe(
			"Set when the range reaches back before it: rows created before this time are no longer listed (they were exported after USAGE_RETENTION_DAYS); aggregates still count them.",
		),
});

export const WebhookSecret = z.object({ secret: z.string().describe("Standard Webhooks signing secret (whsec_...)") });

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
	controls: Controls,
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

/** The operator's totals: what was charged beside what Google billed for it. */
const CostedAggregate = UsageAggregate.extend({
	google_cost: z.number().describe("What Google billed for these requests, in credits (2 decimals); credits minus this is the margin"),
});

export const AdminUsage = z.object({
	total: CostedAggregate,
	by_key: z.array(CostedAggregate),
	by_model: z.array(CostedAggregate),
	by_day: z.array(CostedAggregate),
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
