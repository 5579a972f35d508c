/**
 * `npm run dev` (node scripts/dev.ts) in a checkout of its own: the project's files linked,
 * its own wrangler.toml, .dev.vars and local state, so a test never touches the developer's.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./gateway-process.ts";

/** The project's root. */
export const ROOT = new URL("../..", import.meta.url).pathname;

/** A running `npm run dev`: its URL, output so far and demo key. */
export interface Dev {
	url: string;
	output: () => string;
	demoKey: string;
	stop(): Promise<void>;
}

/** Starts `node scripts/dev.ts` in `dir` and waits for its banner. */
export async function startDev(dir: string, env: Record<string, string>): Promise<Dev> {
	const [port, inspector] = [await freePort(), await freePort()];
	const childEnv: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}` };
	// vitest.config.ts puts these in the test process's environment for the workers pool.
	delete childEnv.GEMINI_API_KEY;
	delete childEnv.ADMIN_TOKEN;
	delete childEnv.WRANGLER_LOG;
	Object.assign(childEnv, { PORT: String(port), INSPECTOR_PORT: String(inspector), ...env });
	const child: ChildProcess = spawn("node", [join(dir, "scripts/dev.ts")], { cwd: dir, env: childEnv, detached: true });
	let output = "";
	child.stdout?.on("data", (d) => {
		output += String(d);
	});
	child.stderr?.on("data", (d) => {
		output += String(d);
	});
	const stop = async () => {
		if (child.exitCode !== null || !child.pid) return;
		const exited = new Promise((r) => child.once("exit", r));
		process.kill(-child.pid, "SIGTERM");
		await exited;
	};
	for (let i = 0; i < 480 && !output.includes("Run the cron trigger"); i++) {
		if (child.exitCode !== null) break;
		await new Promise((r) => setTimeout(r, 250));
	}
	const demoKey = output.match(/Demo API key \([^)]*\): (nbk_\S+)/)?.[1];
	if (!demoKey) {
		await stop();
		throw new Error(`npm run dev did not come up:\n${output}`);
	}
	return { url: `http://127.0.0.1:${port}`, output: () => output, demoKey, stop };
}

/** A checkout to run in: the project's files linked, its own wrangler.toml, .dev.vars and state. */
export function checkout(devVars: string): string {
	const dir = mkdtempSync(join(tmpdir(), "nbg-dev-"));
	// public/: the built console and docs (npm test builds them first), wrangler.toml's [assets].
	for (const f of [
		"src",
		"emulator",
		"scripts",
		"migrations",
		"node_modules",
		"public",
		"package.json",
		"tsconfig.json",
		".dev.vars.example",
	]) {
		symlinkSync(join(ROOT, f), join(dir, f));
	}
	cpSync(join(ROOT, "wrangler.toml"), join(dir, "wrangler.toml"));
	writeFileSync(join(dir, ".dev.vars"), devVars);
	return dir;
}
