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
