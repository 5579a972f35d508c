import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_PRICES } from "./test/node/prices.ts";

// Two projects. "workers": unit and integration tests inside workerd (the same runtime as
// production) against the real Worker from wrangler.toml; the Gemini emulator runs in Node
// (test/node/global-setup.ts) and the Worker reaches it over loopback through
// GEMINI_BASE_URL, exactly as in `npm run dev`. "node": tests that drive things from the
// outside in Node (the emulator itself, processes, browsers): test/node/**/*.test.ts.
export default defineConfig({
	test: {
		reporters: ["default", ["json", { outputFile: "test-results.json" }]],
		projects: [
			{
				plugins: [
					cloudflareTest(({ inject }) => ({
						wrangler: { configPath: "./wrangler.toml" },
						miniflare: {
							bindings: {
								GEMINI_BASE_URL: inject<string>("emulatorUrl"),
								GEMINI_API_KEY: "test-gemini-key",
								ADMIN_TOKEN: "test-admin-token",
								PUBLIC_BASE_URL: "",
								GEMINI_RETRY_BASE_MS: "5",
								GEMINI_RETRY_MAX_MS: "50",
								GEMINI_DEADLINE_MS: "20000",
								JOB_RETRY_BASE_SECONDS: "0",
								// Small round prices keep the tests' arithmetic readable (and prove PRICES applies).
								PRICES: JSON.stringify(TEST_PRICES),
								SCHEMA_SQL: inject<string>("schemaSql"),
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
