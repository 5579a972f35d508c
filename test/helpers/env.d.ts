// Test-only bindings injected by vitest.config.ts (`env` from cloudflare:workers is Cloudflare.Env).
declare namespace Cloudflare {
	interface Env {
		SCHEMA_SQL: string;
		EMULATOR_URL: string;
		LIFECYCLE_EMULATOR_URL: string;
	}
}
