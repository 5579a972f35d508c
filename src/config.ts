/**
 * All configuration, parsed with zod once per isolate (per `env` object): numbers,
 * flags, URLs, and the JSON variables MODELS, PRICES and DEFAULT_LIMITS. A bad value is
 * never replaced by a default: it is a ConfigError naming the variable and the problem,
 * logged once, and every API call answers 500 `configuration_error` until it is fixed.
 * Variables come from wrangler.toml [vars], secrets, `.dev.vars` or the environment;
 * wrangler may hand a [vars] entry over as a number or an object, so both are accepted.
 */
import { z } from "zod";
import { defaultLimits, type Limits, LimitsPatch } from "./billing/limits";
import { buildBatchPrices, buildPrices, PricesOverride, type PriceTable } from "./billing/prices";
import { Catalog, CatalogError } from "./catalog/catalog";
import { ModelsOverride } from "./catalog/overrides";
import { ApiError } from "./errors";
import { buildPool, DEFAULT_GEMINI_BASE_URL, PoolConfigError, type UpstreamSpec, UpstreamsSetting } from "./upstreams/spec";

export class ConfigError extends ApiError {
	constructor(
		readonly variable: string,
		readonly problem: string,
	) {
		super({
			code: "configuration_error",
			message: `The gateway is misconfigured: ${variable}: ${problem}. The operator must fix this setting.`,
		});
		this.name = "ConfigError";
	}
}

const blank = (v: unknown) => v === undefined || v === null || (typeof v === "string" && v.trim() === "");

/** A number from a string or number; blank means the default. */
/** "must be a number" for text that is not one; zod's own words for bounds. */
const isNumber = {
	error: (issue: { code: string; expected?: string }) =>
		issue.code !== "invalid_type" ? undefined : issue.expected === "int" ? "must be a whole number" : "must be a number",
};

function num(fallback: number, min: number, max: number, int = true) {
	const n = z.number(isNumber).min(min).max(max);
	return z.preprocess((v) => (blank(v) ? undefined : typeof v === "string" ? Number(v.trim()) : v), (int ? n.int() : n).default(fallback));
}

function optionalNum(min: number, max: number) {
	return z.preprocess(
		(v) => (blank(v) ? undefined : typeof v === "string" ? Number(v.trim()) : v),
		z.number(isNumber).gt(min).max(max).optional(),
	);
}

const flag = z.preprocess(
	(v) => (blank(v) ? undefined : typeof v === "string" ? v.trim().toLowerCase() : v),
	z
		.union([z.boolean(), z.enum(["true", "false", "1", "0"])], { error: 'must be "true" or "false"' })
		.transform((v) => v === true || v === "true" || v === "1")
		.default(false),
);

const url = z.preprocess(
	(v) => (blank(v) ? undefined : v),
	z
		.url({ protocol: /^https?$/, error: "must be an http(s) URL" })
		.transform((u) => u.replace(/\/+$/, ""))
		.optional(),
);

const text = z.preprocess((v) => (blank(v) ? undefined : v), z.string().optional());

/** JSON given as a string (or already an object, from wrangler.toml). */
function json<T extends z.ZodType>(schema: T) {
	return z.preprocess((v, ctx) => {
		if (blank(v)) return undefined;
		if (typeof v !== "string") return v;
		try {
			return JSON.parse(v);
		} catch {
			ctx.addIssue({ code: "custom", message: "is not valid JSON" });
			return z.NEVER;
		}
	}, schema.optional());
}

const MB = 1_048_576;

/**
 * CORS_ORIGINS: "*" (any origin; API keys are bearer tokens, never cookies) or a comma-
 * or space-separated list of exact origins (`https://app.example.com`), no paths.
 */
const corsOrigins = z.preprocess(
	(v) => (blank(v) ? undefined : typeof v === "string" ? v.trim() : v),
	z
		.union([
			z.literal("*"),
			z
				.string()
				.transform((s) => s.split(/[\s,]+/).filter(Boolean))
				.pipe(
					z
						.array(
							z.string().refine((o) => {
								try {
									const u = new URL(o);
									return (u.protocol === "https:" || u.protocol === "http:") && u.origin === o;
								} catch {
									return false;
								}
							}, "each entry must be an origin like https://app.example.com (scheme, host, optional port; no path or trailing slash)"),
						)
						.min(1, 'must be "*" or a list of origins'),
				),
		])
		.default("*"),
);

/** Every setting the Worker reads (documented in .dev.vars.example and the README). */
export const EnvSchema = z.object({
	GEMINI_API_KEY: text,
	GEMINI_API_KEYS: text,
	GEMINI_BASE_URL: url,
	UPSTREAMS: json(UpstreamsSetting),
	GEMINI_ATTEMPT_TIMEOUT_MS: optionalNum(0, 900_000),
	UPSTREAM_HEALTH_SYNC_MS: num(5_000, 0, 600_000),
	ADMIN_TOKEN: text,
	PUBLIC_BASE_URL: url,
	GEMINI_MAX_RETRIES: num(3, 0, 10),
	GEMINI_RETRY_BASE_MS: num(500, 0, 60_000),
	GEMINI_RETRY_MAX_MS: num(8_000, 0, 600_000),
	GEMINI_DEADLINE_MS: num(180_000, 1, 900_000),
	MAX_PROMPT_CHARS: num(8_000, 1, 1_000_000),
	MAX_JSON_BODY_BYTES: num(MB, 1, 100 * MB),
	MAX_UPLOAD_BYTES: num(32 * MB, 1, 100 * MB),
	MAX_IMAGE_BYTES: num(7 * MB, 1, 100 * MB),
	MAX_TOTAL_IMAGE_BYTES: num(15 * MB, 1, 100 * MB),
	ALLOW_HTTP_IMAGE_URLS: flag,
	IMAGE_FETCH_TIMEOUT_MS: num(10_000, 1, 300_000),
	GEMINI_READ_MODE: z.preprocess((v) => (blank(v) ? undefined : v), z.enum(["streaming", "buffered"]).default("streaming")),
	JOB_MAX_ATTEMPTS: num(5, 1, 100),
	JOB_RETRY_BASE_SECONDS: num(10, 0, 3_600, false),
	WEBHOOK_MAX_ATTEMPTS: num(8, 1, 100),
	WEBHOOK_TIMEOUT_MS: num(10_000, 1, 300_000),
	MIN_PIPELINE_INTERVAL_MINUTES: num(15, 1, 525_600),
	RETENTION_DAYS: optionalNum(0, 36_500),
	BATCH_WINDOW_SECONDS: num(30, 0, 3_600),
	BATCH_POLL_SECONDS: num(60, 0, 3_600),
	BATCH_MAX_INLINE_BYTES: num(19 * MB, 1, 20_000_000),
	MODELS: json(ModelsOverride),
	PRICES: json(PricesOverride),
	DEFAULT_LIMITS: json(LimitsPatch),
	CORS_ORIGINS: corsOrigins,
});

export interface GatewayConfig {
	/** Where the upstreams from GEMINI_API_KEY(S) are. */
	geminiBaseUrl: string;
	/** The upstream pool (src/upstreams/spec.ts); credentials included, so never logged. */
	upstreams: UpstreamSpec[];
	/** Per-attempt timeout when another upstream could take over (default: half the deadline). */
	attemptTimeoutMs: number;
	/** How often an isolate syncs upstream health with the others (0: never). */
	healthSyncMs: number;
	adminToken: string | undefined;
	maxRetries: number;
	retryBaseMs: number;
	retryMaxMs: number;
	deadlineMs: number;
	maxPromptChars: number;
	maxJsonBodyBytes: number;
	/** Cap for bodies that may carry images (multipart or JSON with base64). */
	maxUploadBytes: number;
	maxImageBytes: number;
	maxTotalImageBytes: number;
	allowHttpImageUrls: boolean;
	imageFetchTimeoutMs: number;
	publicBaseUrl: string | undefined;
	/** "streaming" (default): images go from Gemini's body into R2 chunk by chunk. "buffered": the old whole-body path, kept as the benchmark's baseline. */
	readMode: "streaming" | "buffered";
	/** Async jobs: attempts before a transient failure becomes final, and the backoff base. */
	jobMaxAttempts: number;
	jobRetryBaseSeconds: number;
	webhookMaxAttempts: number;
	webhookTimeoutMs: number;
	/** Content pipelines may not run more often than this. */
	minPipelineIntervalMinutes: number;
	/** Generated images older than this are deleted by the cron trigger (unset: kept). */
	retentionDays: number | undefined;
	/** Origins allowed to call the API from a browser: "*" or an exact list. */
	corsOrigins: "*" | string[];
	/** Batch lane: how long requests for one model are gathered before they go as one batch... */
	batchWindowSeconds: number;
	/** ...how often a submitted batch is polled, and the cap on its inline requests (Google's: 20 MB). */
	batchPollSeconds: number;
	batchMaxInlineBytes: number;
	catalog: Catalog;
	prices: PriceTable;
	/** The Batch lane's prices (half the standard ones unless PRICES.batch says otherwise). */
	batchPrices: PriceTable;
	defaultLimits: Limits;
}

function parse(env: Env): GatewayConfig {
	const r = EnvSchema.safeParse(env);
	if (!r.success) {
		const issue = r.error.issues[0];
		const [variable, ...path] = issue.path.map(String);
		throw new ConfigError(variable ?? "configuration", `${path.length > 0 ? `${path.join(".")}: ` : ""}${issue.message}`);
	}
	const v = r.data;
	if (v.GEMINI_RETRY_BASE_MS > v.GEMINI_RETRY_MAX_MS) {
		throw new ConfigError("GEMINI_RETRY_BASE_MS", `is larger than GEMINI_RETRY_MAX_MS (${v.GEMINI_RETRY_MAX_MS})`);
	}
	let catalog: Catalog;
	try {
		catalog = Catalog.build(v.MODELS ?? {});
	} catch (error) {
		if (error instanceof CatalogError) throw new ConfigError("MODELS", error.message);
		throw error;
	}
	let prices: PriceTable;
	let batchPrices: PriceTable;
	try {
		prices = buildPrices(catalog, v.PRICES ?? {});
		batchPrices = buildBatchPrices(catalog, prices, v.PRICES ?? {});
	} catch (error) {
		throw new ConfigError("PRICES", error instanceof Error ? error.message : String(error));
	}
	const geminiBaseUrl = v.GEMINI_BASE_URL ?? DEFAULT_GEMINI_BASE_URL;
	let upstreams: UpstreamSpec[];
	try {
		upstreams = buildPool(env as unknown as Record<string, unknown>, v.UPSTREAMS, geminiBaseUrl, catalog);
	} catch (error) {
		if (error instanceof PoolConfigError) throw new ConfigError(error.variable, error.problem);
		throw error;
	}
	return {
		geminiBaseUrl,
		upstreams,
		attemptTimeoutMs: v.GEMINI_ATTEMPT_TIMEOUT_MS ?? Math.ceil(v.GEMINI_DEADLINE_MS / 2),
		healthSyncMs: v.UPSTREAM_HEALTH_SYNC_MS,
		adminToken: v.ADMIN_TOKEN,
		maxRetries: v.GEMINI_MAX_RETRIES,
		retryBaseMs: v.GEMINI_RETRY_BASE_MS,
		retryMaxMs: v.GEMINI_RETRY_MAX_MS,
		deadlineMs: v.GEMINI_DEADLINE_MS,
		maxPromptChars: v.MAX_PROMPT_CHARS,
		maxJsonBodyBytes: v.MAX_JSON_BODY_BYTES,
		maxUploadBytes: v.MAX_UPLOAD_BYTES,
		maxImageBytes: v.MAX_IMAGE_BYTES,
		maxTotalImageBytes: v.MAX_TOTAL_IMAGE_BYTES,
		allowHttpImageUrls: v.ALLOW_HTTP_IMAGE_URLS,
		imageFetchTimeoutMs: v.IMAGE_FETCH_TIMEOUT_MS,
		publicBaseUrl: v.PUBLIC_BASE_URL,
		readMode: v.GEMINI_READ_MODE,
		jobMaxAttempts: v.JOB_MAX_ATTEMPTS,
		jobRetryBaseSeconds: v.JOB_RETRY_BASE_SECONDS,
		webhookMaxAttempts: v.WEBHOOK_MAX_ATTEMPTS,
		webhookTimeoutMs: v.WEBHOOK_TIMEOUT_MS,
		minPipelineIntervalMinutes: v.MIN_PIPELINE_INTERVAL_MINUTES,
		retentionDays: v.RETENTION_DAYS,
		corsOrigins: v.CORS_ORIGINS,
		batchWindowSeconds: v.BATCH_WINDOW_SECONDS,
		batchPollSeconds: v.BATCH_POLL_SECONDS,
		batchMaxInlineBytes: v.BATCH_MAX_INLINE_BYTES,
		catalog,
		prices,
		batchPrices,
		defaultLimits: defaultLimits(v.DEFAULT_LIMITS ?? {}),
	};
}

const cache = new WeakMap<object, GatewayConfig | ConfigError>();

/**
 * The configuration for this `env`, parsed on first use and kept for the isolate's life
 * (bindings do not change while it lives). Throws the ConfigError every time while the
 * configuration is broken; it is logged once.
 */
export function loadConfig(env: Env): GatewayConfig {
	let entry = cache.get(env);
	if (!entry) {
		try {
			entry = parse(env);
		} catch (error) {
			if (!(error instanceof ConfigError)) throw error;
			entry = error;
			console.error(JSON.stringify({ event: "configuration_error", variable: error.variable, problem: error.problem }));
		}
		cache.set(env, entry);
	}
	if (entry instanceof ConfigError) throw entry;
	return entry;
}
