/**
 * Runs the gateway as a user meets it: `wrangler dev` on a free loopback port with its own
 * state folder, the Gemini emulator beside it, and the D1 migrations applied. For tests that
 * need real HTTP (connection handling, uploads), which the in-process pool cannot show.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningEmulator, startEmulator } from "../../emulator/server.ts";

export const ADMIN_TOKEN = "process-admin-token";

export interface GatewayProcess {
	url: string;
	emulator: RunningEmulator;
	stop(): Promise<void>;
}

function listenOn(port: number): Promise<number> {
	return new Promise((resolve, reject) => {
		const srv = createServer();
		srv.once("error", reject);
		srv.listen(port, "127.0.0.1", () => {
			const { port: bound } = srv.address() as { port: number };
			srv.close(() => resolve(bound));
		});
	});
}

let cursor = 0;

/**
 * A free loopback port: any, or one from TEST_PORTS ("8820-8839") when set, for machines
 * where several runs share the port space. Test files run in parallel workers, so each
 * worker (VITEST_POOL_ID) takes its own quarter of the range, and walks it in turn so one
 * gateway's emulator, server and inspector never get the same port. A range too small to
 * give each quarter three ports is walked whole by every worker (run with --maxWorkers=1).
 */
export async function freePort(): Promise<number> {
	const range = process.env.TEST_PORTS?.match(/^(\d+)-(\d+)$/);
	if (!range) return listenOn(0);
	const [lo, hi] = [Number(range[1]), Number(range[2])];
	const parts = hi - lo + 1 >= 12 ? 4 : 1;
	const size = Math.max(1, Math.floor((hi - lo + 1) / parts));
	const start = lo + ((Number(process.env.VITEST_POOL_ID ?? 1) - 1) % parts) * size;
	for (let i = 0; i < size; i++) {
		const port = start + (cursor++ % size);
		try {
			return await listenOn(port);
		} catch {
			// taken (a process still closing): try the next one
		}
	}
	throw new Error(`No free port in this worker's part of TEST_PORTS=${process.env.TEST_PORTS}`);
}

export async function startGateway(vars: Record<string, string> = {}): Promise<GatewayProcess> {
	const emulator = await startEmulator({ requiredKey: "process-gemini-key", port: await freePort() });
	const state = newState();
	try {
		const run = await runWrangler(emulator, state, vars);
		return {
			url: run.url,
			emulator,
			stop: async () => {
				run.signal("SIGTERM");
				await emulator.close();
				rmSync(state, { recursive: true, force: true });
			},
		};
	} catch (error) {
		await emulator.close();
		rmSync(state, { recursive: true, force: true });
		throw error;
	}
}

/** A new local state folder (D1, R2, Durable Objects) with the D1 migrations applied. */
export function newState(): string {
	const state = mkdtempSync(join(tmpdir(), "nbg-process-"));
	const schema = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
		encoding: "utf8",
		stdio: ["ignore", "pipe", "pipe"],
	});
	if (schema.status !== 0) throw new Error(`applying the D1 migrations failed: ${schema.stdout}${schema.stderr}`);
	return state;
}

/** One `wrangler dev` on a state folder; `signal` reaches its whole process group (wrangler and workerd). */
export interface WranglerRun {
	url: string;
	child: ChildProcess;
	signal(sig: NodeJS.Signals): void;
	/** Resolves when the process group's leader has exited. */
	exited: Promise<void>;
}

/**
 * Starts `wrangler dev` on `state` against `emulator` and waits for `/health`. Several runs
 * may use one state folder in turn (a restart after a crash); `--test-scheduled` lets a
 * test fire the cron trigger (`GET /__scheduled`).
 */
export async function runWrangler(emulator: RunningEmulator, state: string, vars: Record<string, string> = {}): Promise<WranglerRun> {
	const [port, inspector] = [await freePort(), await freePort()];
	const all = { GEMINI_BASE_URL: emulator.url, GEMINI_API_KEY: "process-gemini-key", ADMIN_TOKEN, ...vars };
	const args = ["wrangler", "dev", "--port", String(port), "--inspector-port", String(inspector), "--ip", "127.0.0.1"];
	args.push("--persist-to", state, "--show-interactive-dev-session=false", "--log-level", "warn", "--test-scheduled");
	for (const [k, v] of Object.entries(all)) args.push("--var", `${k}:${v}`);
	const child: ChildProcess = spawn("npx", args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
	const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
	let output = "";
	child.stdout?.on("data", (d) => {
		output += String(d);
	});
	child.stderr?.on("data", (d) => {
		output += String(d);
	});
	const url = `http://127.0.0.1:${port}`;
	const signal = (sig: NodeJS.Signals) => {
		try {
			if (child.pid) process.kill(-child.pid, sig);
		} catch {
			// already gone
		}
	};
	for (let i = 0; i < 240; i++) {
		try {
			if ((await fetch(`${url}/health`)).ok) return { url, child, signal, exited };
		} catch {
			// not up yet
		}
		if (child.exitCode !== null) break;
		await new Promise((r) => setTimeout(r, 250));
	}
	signal("SIGTERM");
	throw new Error(`wrangler dev did not come up:\n${output}`);
}

/** Creates an API key through the gateway's admin API and returns it in plain text. */
export async function createApiKey(gw: GatewayProcess, name: string, credits = 100_000): Promise<string> {
	const res = await fetch(`${gw.url}/admin/keys`, {
		method: "POST",
		headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
		body: JSON.stringify({ name, credits }),
	});
	if (res.status !== 201) throw new Error(`creating key ${name}: ${res.status} ${await res.text()}`);
	return ((await res.json()) as { key: string }).key;
}
