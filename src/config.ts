/**
 * Tunables from vars, with defaults in code. Read once per request; cheap.
 */

function num(value: string | undefined, fallback: number, min = 0): number {
	if (value === undefined || value.trim() === "") return fallback;
	const n = Number(value);
	return Number.isFinite(n) && n >= min ? n : fallback;
}

export interface GatewayConfig {
	geminiBaseUrl: string;
	geminiApiKey: string;
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
}

export function loadConfig(env: Env): GatewayConfig {
	return {
		geminiBaseUrl: (env.GEMINI_BASE_URL || "https://generativelanguage.googleapis.com").replace(/\/+$/, ""),
		geminiApiKey: env.GEMINI_API_KEY ?? "",
		maxRetries: num(env.GEMINI_MAX_RETRIES, 3),
		retryBaseMs: num(env.GEMINI_RETRY_BASE_MS, 500),
		retryMaxMs: num(env.GEMINI_RETRY_MAX_MS, 8_000),
		deadlineMs: num(env.GEMINI_DEADLINE_MS, 180_000, 1),
		maxPromptChars: num(env.MAX_PROMPT_CHARS, 8_000, 1),
		maxJsonBodyBytes: num(env.MAX_JSON_BODY_BYTES, 1_048_576, 1),
		maxUploadBytes: num(env.MAX_UPLOAD_BYTES, 32 * 1_048_576, 1),
		maxImageBytes: num(env.MAX_IMAGE_BYTES, 7 * 1_048_576, 1),
		maxTotalImageBytes: num(env.MAX_TOTAL_IMAGE_BYTES, 15 * 1_048_576, 1),
		allowHttpImageUrls: env.ALLOW_HTTP_IMAGE_URLS === "true",
		imageFetchTimeoutMs: num(env.IMAGE_FETCH_TIMEOUT_MS, 10_000, 1),
		publicBaseUrl: env.PUBLIC_BASE_URL ? env.PUBLIC_BASE_URL.replace(/\/+$/, "") : undefined,
		readMode: env.GEMINI_READ_MODE === "buffered" ? "buffered" : "streaming",
		jobMaxAttempts: num(env.JOB_MAX_ATTEMPTS, 5, 1),
		jobRetryBaseSeconds: num(env.JOB_RETRY_BASE_SECONDS, 10),
		webhookMaxAttempts: num(env.WEBHOOK_MAX_ATTEMPTS, 8, 1),
		webhookTimeoutMs: num(env.WEBHOOK_TIMEOUT_MS, 10_000, 1),
		minPipelineIntervalMinutes: num(env.MIN_PIPELINE_INTERVAL_MINUTES, 15, 1),
		retentionDays: env.RETENTION_DAYS ? num(env.RETENTION_DAYS, Number.NaN) : undefined,
	};
}
