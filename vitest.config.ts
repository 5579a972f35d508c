import { existsSync, readFileSync } from "node:fs";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { buildWeb } from "./scripts/build-web.ts";
import { TEST_PRICES, TEST_RATES } from "./test/node/prices.ts";

// The D1 migrations, read the way wrangler reads them; every test file's database gets them
// (test/helpers/setup.ts), as `npm run dev` and the deploy apply them with wrangler.
const migrations = await readD1Migrations({ projectPath: import.meta.dirname, migrationsDir: "migrations" });

// The plugin reads wrangler.toml like `wrangler dev` does and warns about each secret in
// `[secrets] required` that no .dev.vars or environment variable supplies, although the
// bindings below supply them. Present in the environment, they are not missing (a local
// .dev.vars, when there is one, is read instead and supplies its own).
process.env.GEMINI_API_KEY ??= "test-gemini-key";
process.env.ADMIN_TOKEN ??= "test-admin-token";
// ...and its note "Using secrets defined in process.env", once per test file, is not news.
// Warnings and errors still show. (Tests that start wrangler themselves drop all three.)
process.env.WRANGLER_LOG ??= "warn";

// wrangler.toml's [assets] directory must exist before the plugin reads the config:
// `npm test` builds it first; a bare `npx vitest run ...` builds it here when missing.
if (!existsSync("public/console/index.html")) await buildWeb();

// Two projects. "workers": unit and integration tests inside workerd (the same runtime as
// production) against the real Worker from wrangler.toml; the Gemini emulator runs in Node
// (test/node/global-setup.ts) and the Worker reaches it over loopback through
// GEMINI_BASE_URL, exactly as in `npm run dev`. "node": tests that drive things from the
// outside in Node (the emulator itself, processes, browsers): test/node/**/*.test.ts.
export default defineConfig({
	test: {
		reporters: ["default", ["json", { outputFile: "test-results.json" }]],
		// The Worker logs one JSON line per request; thousands of them would bury the report.
		// Tests that are about the log line read it from a spy on console.log.
		onConsoleLog: (log) => !log.startsWith('{"event":"request"'),
		projects: [
			{
				plugins: [
					cloudflareTest(({ inject }) => ({
						wrangler: { configPath: "./wrangler.toml" },
						miniflare: {
							// Two empty databases for the test that migrations build exactly schema.sql.
							d1Databases: ["MIGRATIONS_CHECK_DB", "SCHEMA_CHECK_DB"],
							bindings: {
								GEMINI_BASE_URL: inject<string>("emulatorUrl"),
								GEMINI_API_KEY: "test-gemini-key",
								ADMIN_TOKEN: "test-admin-token",
								PUBLIC_BASE_URL: "",
								GEMINI_RETRY_BASE_MS: "5",
								GEMINI_RETRY_MAX_MS: "50",
								GEMINI_DEADLINE_MS: "20000",
								JOB_RETRY_BASE_SECONDS: "0",
								// The Batch lane in seconds, not minutes (the emulator's batches take about one).
								BATCH_WINDOW_SECONDS: "1",
								BATCH_POLL_SECONDS: "1",
								// Small round prices keep the tests' arithmetic readable (and prove PRICES applies).
								PRICES: JSON.stringify(TEST_PRICES),
								RATES: JSON.stringify(TEST_RATES),
								SCHEMA_SQL: inject<string>("schemaSql"),
								TEST_MIGRATIONS: migrations,
								DEV_VARS_EXAMPLE: readFileSync(new URL(".dev.vars.example", import.meta.url), "utf8"),
								README_MD: readFileSync(new URL("README.md", import.meta.url), "utf8"),
								EMULATOR_URL: inject<string>("emulatorUrl"),
								LIFECYCLE_EMULATOR_URL: inject<string>("lifecycleEmulatorUrl"),
							},
						},
					})),
				],
				test: {
					name: "workers",
					include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
					globalSetup: ["./test/node/global-setup.ts"],
					setupFiles: ["./test/helpers/setup.ts"],
					testTimeout: 30_000,
				},
			},
			{
				test: {
					name: "node",
					environment: "node",
					include: ["test/node/**/*.test.ts"],
					testTimeout: 120_000,
				},
			},
		],
	},
});
