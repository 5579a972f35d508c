// Test-only bindings injected by vitest.config.ts (`env` from cloudflare:workers is Cloudflare.Env).
declare namespace Cloudflare {
	interface Env {
		SCHEMA_SQL: string;
		TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
		MIGRATIONS_CHECK_DB: D1Database;
		SCHEMA_CHECK_DB: D1Database;
		DEV_VARS_EXAMPLE: string;
		README_MD: string;
		EMULATOR_URL: string;
		LIFECYCLE_EMULATOR_URL: string;
	}
}
