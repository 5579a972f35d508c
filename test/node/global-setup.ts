// Starts the Gemini emulator once for the whole run and hands its URL (and the D1
// schema) to the workerd test pool through vitest's provide/inject. A second instance
// serves the model-lifecycle tests, which shut models down mid-run: no other test file
// may see that.
import { readFileSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { startEmulator } from "../../emulator/server.ts";
import { freePort } from "./gateway-process.ts";

declare module "vitest" {
	export interface ProvidedContext {
		emulatorUrl: string;
		lifecycleEmulatorUrl: string;
		schemaSql: string;
	}
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
	// Any free port, or ones from TEST_PORTS when set (see gateway-process.ts).
	const emulator = await startEmulator({ requiredKey: "test-gemini-key", port: await freePort() });
	const lifecycle = await startEmulator({ requiredKey: "test-gemini-key", port: await freePort() });
	project.provide("emulatorUrl", emulator.url);
	project.provide("lifecycleEmulatorUrl", lifecycle.url);
	project.provide("schemaSql", readFileSync(new URL("../../schema.sql", import.meta.url), "utf8"));
	return async () => {
		await emulator.close();
		await lifecycle.close();
	};
}
