// Test-only bindings injected by vitest.config.ts.
interface Env {
	SCHEMA_SQL: string;
	EMULATOR_URL: string;
}
