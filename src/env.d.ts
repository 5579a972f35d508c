// Optional knobs read with defaults in src/config.ts. They are not in wrangler.toml, so
// they are declared here, merged into the `Env` that `wrangler types` generates.
interface Env {
	GEMINI_MAX_RETRIES?: string;
	GEMINI_RETRY_BASE_MS?: string;
	GEMINI_RETRY_MAX_MS?: string;
	GEMINI_DEADLINE_MS?: string;
	MAX_PROMPT_CHARS?: string;
	MAX_JSON_BODY_BYTES?: string;
}
interface Env {
	/** JSON price overrides, see src/billing/prices.ts. */
	PRICES?: string;
	/** JSON default limits, see src/billing/limits.ts. */
	DEFAULT_LIMITS?: string;
}
interface Env {
	MAX_UPLOAD_BYTES?: string;
	MAX_IMAGE_BYTES?: string;
	MAX_TOTAL_IMAGE_BYTES?: string;
	/** "true" lets reference-image URLs use plain http (local development only). */
	ALLOW_HTTP_IMAGE_URLS?: string;
	IMAGE_FETCH_TIMEOUT_MS?: string;
}
interface Env {
	/** "buffered" switches off streaming into R2 (benchmark baseline only). */
	GEMINI_READ_MODE?: string;
}
interface Env {
	JOB_MAX_ATTEMPTS?: string;
	JOB_RETRY_BASE_SECONDS?: string;
	WEBHOOK_MAX_ATTEMPTS?: string;
	WEBHOOK_TIMEOUT_MS?: string;
	MIN_PIPELINE_INTERVAL_MINUTES?: string;
	/** Days to keep generated images (fractions allowed); unset keeps them forever. */
	RETENTION_DAYS?: string;
}
interface Env {
	/** Batch lane: seconds to gather requests per model, seconds between polls, cap on inline bytes. */
	BATCH_WINDOW_SECONDS?: string;
	BATCH_POLL_SECONDS?: string;
	BATCH_MAX_INLINE_BYTES?: string;
}
interface Env {
	/** Comma-separated Gemini API keys: the upstreams gemini-1 ... gemini-N (see src/upstreams/spec.ts). */
	GEMINI_API_KEYS?: string;
	/** JSON: named upstreams (Gemini keys, Vertex AI projects), each naming the secret with its credential. */
	UPSTREAMS?: string;
	/** Per-attempt timeout when another upstream could take over (default: half of GEMINI_DEADLINE_MS). */
	GEMINI_ATTEMPT_TIMEOUT_MS?: string;
	/** How often (ms) an isolate shares upstream health with the others; 0 keeps it to itself. */
	UPSTREAM_HEALTH_SYNC_MS?: string;
}
