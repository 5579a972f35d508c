/**
 * Every setting the Worker reads, each declared once below: the variable's name, how its
 * text is read (bounds and default included), the config field it becomes, and what it
 * does. The config type is derived from that table, so a setting cannot be parsed one way
 * and typed another. A bad value is never replaced by a default: it is a ConfigError
 * naming the variable and the problem, logged once, and every API call answers 500
 * `configuration_error` until it is fixed. Variables come from wrangler.toml [vars],
 * secrets, `.dev.vars` or the environment; wrangler may hand a [vars] entry over as a
 * number or an object, so both are accepted.
 *
 * This module sits low on purpose (it imports only the JSON settings' own schemas): every
 * layer takes the config type and ConfigError from here. What is built from the settings
 * (the catalog, the price tables, the upstream pool) is built by src/load-config.ts,
 * which the Worker's entry points call.
 */
import { z } from "zod";
import { defaultLimits, LimitsPatch } from "./billing/limits";
import { PricesOverride } from "./billing/prices";
import { ModelsOverride } from "./catalog/overrides";
import { RatesOverride } from "./catalog/rates";
import { ApiError } from "./errors";
import { lazy } from "./lib/lazy";
import { blank, corsOrigins, flag, json, num, optionalNum, text, url } from "./lib/setting-values";

/** A setting with a bad value: 500 `configuration_error`, naming the variable. */
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

/** The thinking levels Gemini's image models take (thinkingConfig.thinkingLevel, lower case). */
export const THINKING_LEVELS = ["minimal", "low", "medium", "high"] as const;
export type ThinkingLevel = (typeof THINKING_LEVELS)[number];

/**
 * NATIVE_THINKING_LEVELS: a comma- or space-separated subset of THINKING_LEVELS, or
 * "none"; unset: all of them (thought tokens are billed from usageMetadata, and count
 * against the maxOutputTokens cap the gateway sends).
 */
const thinkingLevels = lazy(() =>
	z.preprocess(
		(v) => (blank(v) ? undefined : typeof v === "string" ? v.trim().toLowerCase() : v),
		z
			.string()
			.transform((s) => (s === "none" ? [] : s.split(/[\s,]+/).filter(Boolean)))
			.pipe(z.array(z.enum(THINKING_LEVELS, { error: `each entry must be one of ${THINKING_LEVELS.join(", ")} (or "none" alone)` })))
			.default([...THINKING_LEVELS]),
	),
);

/** A setting that becomes the config field `name`. */
function field<const F extends string, S extends z.ZodType>(name: F, schema: S, doc: string) {
	return { field: name, schema: schema.describe(doc) };
}

/** A setting that src/load-config.ts builds something from (the pool, the catalog, the prices). */
function input<S extends z.ZodType>(schema: S, doc: string) {
	return { field: null, schema: schema.describe(doc) };
}

const MB = 1_048_576;

/**
 * The settings, by variable, in the order their problems are reported (the first bad one
 * is named). .dev.vars.example and the README's Configuration table list every one
 * (test/unit/settings-doc.test.ts checks), with the defaults written here.
 */
const SETTINGS = lazy(() => ({
	GEMINI_API_KEY: input(text(), "A Google AI Studio key (secret): the upstream gemini-1."),
	GEMINI_API_KEYS: input(text(), "More keys (secret), comma-separated: one upstream each (gemini-1, gemini-2, ...)."),
	GEMINI_BASE_URL: input(url(), "Where the keys of GEMINI_API_KEY(S) call Gemini (default: Google's API)."),
	// Read as JSON here; load-config.ts checks its entries against UpstreamsSetting
	// (src/upstreams/spec.ts), so that this module stays below the upstreams that read it.
	UPSTREAMS: input(
		json(z.unknown()),
		"JSON: named upstreams (Gemini keys, Vertex AI projects), each naming the secret with its credential.",
	),
	GEMINI_ATTEMPT_TIMEOUT_MS: field(
		"attemptTimeoutMs",
		optionalNum(0, 900_000),
		"Per-attempt timeout when another upstream could take over (default: half of GEMINI_DEADLINE_MS).",
	),
	UPSTREAM_HEALTH_SYNC_MS: field(
		"healthSyncMs",
		num(5_000, 0, 600_000),
		"How often an isolate syncs upstream health with the others (0: never).",
	),
	ADMIN_TOKEN: field("adminToken", text(), "Bearer token for /admin/* (secret)."),
	PUBLIC_BASE_URL: field("publicBaseUrl", url(), "Public bucket domain for image URLs; unset: the Worker serves /images/..."),
	GEMINI_MAX_RETRIES: field("maxRetries", num(3, 0, 10), "Retries after the first attempt of a Gemini call."),
	GEMINI_RETRY_BASE_MS: field("retryBaseMs", num(500, 0, 60_000), "Backoff base between retries."),
	GEMINI_RETRY_MAX_MS: field("retryMaxMs", num(8_000, 0, 600_000), "Backoff cap between retries."),
	GEMINI_DEADLINE_MS: field("deadlineMs", num(180_000, 1, 900_000), "One deadline per call, failovers to other upstreams included."),
	MAX_PROMPT_CHARS: field("maxPromptChars", num(8_000, 1, 1_000_000), "Longest prompt accepted."),
	MAX_JSON_BODY_BYTES: field("maxJsonBodyBytes", num(MB, 1, 100 * MB), "Largest JSON body without images."),
	MAX_UPLOAD_BYTES: field(
		"maxUploadBytes",
		num(32 * MB, 1, 100 * MB),
		"Cap for bodies that may carry images (multipart or JSON with base64).",
	),
	MAX_IMAGE_BYTES: field("maxImageBytes", num(7 * MB, 1, 100 * MB), "Largest reference image."),
	MAX_TOTAL_IMAGE_BYTES: field("maxTotalImageBytes", num(15 * MB, 1, 100 * MB), "Largest total of one request's reference images."),
	ALLOW_HTTP_IMAGE_URLS: field("allowHttpImageUrls", flag(), '"true" lets reference-image URLs use plain http (local development only).'),
	IMAGE_FETCH_TIMEOUT_MS: field("imageFetchTimeoutMs", num(10_000, 1, 300_000), "Timeout for fetching one reference-image URL."),
	NATIVE_MAX_SYSTEM_CHARS: field(
		"nativeMaxSystemChars",
		num(8_000, 0, 1_000_000),
		"Gemini's native route: longest systemInstruction (its text parts together); 0 refuses one.",
	),
	NATIVE_MAX_OUTPUT_TOKENS: field(
		"nativeMaxOutputTokens",
		num(20_480, 1, 1_000_000),
		"Gemini's native route: the maxOutputTokens always sent (the caller's, if lower; never above the model's limit).",
	),
	NATIVE_ALLOW_TEXT_OUTPUT: field(
		"nativeAllowTextOutput",
		flag(),
		'Gemini\'s native route: "true" accepts responseModalities without IMAGE (text-only answers, billed by tokens).',
	),
	NATIVE_THINKING_LEVELS: field(
		"nativeThinkingLevels",
		thinkingLevels(),
		'Gemini\'s native route: the thinkingConfig.thinkingLevel values accepted, comma-separated ("none": no thinkingConfig).',
	),
	NATIVE_ALLOW_SEARCH: field(
		"nativeAllowSearch",
		flag(),
		'Gemini\'s native route: "true" accepts tools: [{googleSearch: {}}] (Google bills each search query).',
	),
	GEMINI_READ_MODE: field(
		"readMode",
		z.preprocess((v) => (blank(v) ? undefined : v), z.enum(["streaming", "buffered"]).default("streaming")),
		'"streaming": images go from Gemini\'s body into R2 chunk by chunk. "buffered": the whole-body path, kept as the benchmark\'s baseline.',
	),
	KEEP_ORIGINAL_IMAGES: field(
		"keepOriginalImages",
		flag(),
		'"true": an image converted to the output_format a request asked for keeps Gemini\'s original beside it in R2 (same name, its own extension).',
	),
	JOB_MAX_ATTEMPTS: field("jobMaxAttempts", num(5, 1, 100), "Async jobs: attempts before a transient failure becomes final."),
	JOB_RETRY_BASE_SECONDS: field("jobRetryBaseSeconds", num(10, 0, 3_600, false), "Async jobs: the backoff base between attempts."),
	WEBHOOK_MAX_ATTEMPTS: field("webhookMaxAttempts", num(8, 1, 100), "Deliveries of one webhook before it is given up."),
	WEBHOOK_TIMEOUT_MS: field("webhookTimeoutMs", num(10_000, 1, 300_000), "Timeout of one webhook delivery."),
	MIN_PIPELINE_INTERVAL_MINUTES: field(
		"minPipelineIntervalMinutes",
		num(15, 1, 525_600),
		"Content pipelines may not run more often than this.",
	),
	RETENTION_DAYS: field(
		"retentionDays",
		optionalNum(0, 36_500),
		"Generated images (and the turns behind them, and conversations idle as long) older than this many days (fractions allowed) are deleted by the cron trigger; unset: kept.",
	),
	USAGE_RETENTION_DAYS: field(
		"usageRetentionDays",
		num(90, 30, 36_500),
		"Usage and ledger rows older than this many days are exported to R2 (exports/), folded into daily rollups and deleted from D1 by the cron trigger; totals stay whole (at least 30: the console's longest chart reads rows).",
	),
	BATCH_WINDOW_SECONDS: field(
		"batchWindowSeconds",
		num(30, 0, 3_600),
		"Batch lane: how long requests for one model are gathered into one batch.",
	),
	BATCH_POLL_SECONDS: field("batchPollSeconds", num(60, 0, 3_600), "Batch lane: how often a submitted batch is polled."),
	BATCH_MAX_INLINE_BYTES: field(
		"batchMaxInlineBytes",
		num(19 * MB, 1, 20_000_000),
		"Batch lane: cap on one batch's inline requests (Google's: 20 MB).",
	),
	MODELS: input(json(ModelsOverride()), "JSON: aliases to add, or fields of one to change (src/catalog/overrides.ts)."),
	PRICES: input(
		json(PricesOverride()),
		'JSON: credits per image by alias and size; its "batch" key prices the Batch lane (default: derived from RATES and MARGIN_PERCENT; never below Google\'s price).',
	),
	MARGIN_PERCENT: field(
		"marginPercent",
		num(0, 0, 1_000, false),
		"The operator's margin over what Google bills, in percent (fractions allowed): on derived prices and on token-metered charges.",
	),
	CHARGE_REFUSED: field(
		"chargeRefused",
		flag(),
		'"true": an answer Google billed that carries no image (a safety block, NO_IMAGE, text only) is charged its token cost; default: the operator absorbs it (shown in /admin/usage).',
	),
	OUTPUT_ALLOWANCE_TOKENS: field(
		"outputAllowanceTokens",
		num(1_536, 0, 65_536),
		"Tokens of thinking and text each image call may spend beyond its image (sent as maxOutputTokens with the image's own tokens; bounds the hold).",
	),
	RATES: input(
		json(RatesOverride()),
		"JSON: Google's rates to replace, per upstream model id, in USD per 1M tokens (src/catalog/rates.ts).",
	),
	DEFAULT_LIMITS: field(
		"defaultLimits",
		json(LimitsPatch()).transform((patch) => defaultLimits(patch)),
		"JSON: limits for keys without their own (src/billing/limits.ts).",
	),
	CORS_ORIGINS: field("corsOrigins", corsOrigins(), 'Origins allowed to call the API from a browser: "*" or a list of exact origins.'),
}));

type Table = ReturnType<typeof SETTINGS>;

/** Every setting by the variable it is read from; parsing gives each its final value. */
export const envSchema = lazy(() =>
	z.object(
		Object.fromEntries(Object.entries(SETTINGS()).map(([name, s]) => [name, s.schema])) as { [V in keyof Table]: Table[V]["schema"] },
	),
);

/** The variables' values renamed to their fields... */
type Fields = { [V in keyof Table as Table[V]["field"] & string]: z.output<Table[V]["schema"]> };
/** ...and the `input` ones, by variable, that load-config.ts builds from. */
export type Inputs = { [V in keyof Table as Table[V]["field"] extends string ? never : V]: z.output<Table[V]["schema"]> };

/**
 * The settings parsed, renamed to their fields, and checked against each other: the one
 * default that depends on another setting is filled in, and a retry base above its cap
 * is named.
 */
const settingsSchema = lazy(() =>
	envSchema().transform((vars, ctx) => {
		if (vars.GEMINI_RETRY_BASE_MS > vars.GEMINI_RETRY_MAX_MS) {
			ctx.addIssue({
				code: "custom",
				path: ["GEMINI_RETRY_BASE_MS"],
				message: `is larger than GEMINI_RETRY_MAX_MS (${vars.GEMINI_RETRY_MAX_MS})`,
			});
			return z.NEVER;
		}
		const fields: Record<string, unknown> = {};
		const inputs: Record<string, unknown> = {};
		for (const [name, s] of Object.entries(SETTINGS())) {
			const value = vars[name as keyof Table];
			if (s.field) fields[s.field] = value;
			else inputs[name] = value;
		}
		const settings = fields as Fields;
		return {
			settings: { ...settings, attemptTimeoutMs: settings.attemptTimeoutMs ?? Math.ceil(settings.deadlineMs / 2) },
			inputs: inputs as Inputs,
		};
	}),
);

type Parsed = z.output<ReturnType<typeof settingsSchema>>;

/** The settings as every layer reads them. */
export type Settings = Parsed["settings"];

/** The variables read from the environment, for the `Env` that wrangler generates (src/env.d.ts). */
export type SettingVars = { [V in keyof Table]?: string };

/**
 * The gateway's configuration: the settings, plus what src/load-config.ts builds from them
 * (geminiBaseUrl, upstreams, catalog, prices, batchPrices), which it adds to this
 * interface itself. Declared there, those fields' types (the pool's, the catalog's) stay
 * with the code that builds them, and this module needs none of it: whoever reads the
 * config imports only this low module, never the builder.
 */
export interface GatewayConfig extends Settings {}

/** A zod issue as a ConfigError naming the variable (and, inside a JSON one, the path to the mistake). */
export function issueError(variable: string, issue: { message: string }, path: readonly PropertyKey[]): ConfigError {
	return new ConfigError(variable, `${path.length > 0 ? `${path.map(String).join(".")}: ` : ""}${issue.message}`);
}

function parse(env: Env): Parsed {
	const r = settingsSchema().safeParse(env);
	if (r.success) return r.data;
	const issue = r.error.issues[0];
	const [variable, ...path] = issue.path;
	throw issueError(variable === undefined ? "configuration" : String(variable), issue, path);
}

const logged = new WeakSet<ConfigError>();

/**
 * `build(env)`, kept per `env` in `cache` for the isolate's life (bindings do not change
 * while it lives). A ConfigError is kept too and thrown every time; it is logged once.
 */
export function cachedPerEnv<T extends object>(cache: WeakMap<object, T | ConfigError>, env: Env, build: (env: Env) => T): T {
	let entry = cache.get(env);
	if (!entry) {
		try {
			entry = build(env);
		} catch (error) {
			if (!(error instanceof ConfigError)) throw error;
			entry = error;
			if (!logged.has(error)) {
				logged.add(error);
				console.error(JSON.stringify({ event: "configuration_error", variable: error.variable, problem: error.problem }));
			}
		}
		cache.set(env, entry);
	}
	if (entry instanceof ConfigError) throw entry;
	return entry;
}

const parsed = new WeakMap<object, Parsed | ConfigError>();

/** The settings for this `env` with the inputs load-config.ts builds from. Throws the ConfigError. */
export function parseSettings(env: Env): Parsed {
	return cachedPerEnv(parsed, env, parse);
}

/**
 * The settings for this `env`, without what is built from them: for a Durable Object that
 * needs a setting (the default limits) and none of the pool. Throws the ConfigError.
 */
export function loadSettings(env: Env): Settings {
	return parseSettings(env).settings;
}
