/**
 * Benchmark plumbing: start `wrangler dev` on loopback (with its DevTools inspector on a
 * fixed port), find its runtime workerd process, sample that process's resident memory,
 * time requests, compute percentiles.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Wrangler {
	proc: ChildProcess;
	url: string;
	stop(): Promise<void>;
}

export async function waitFor(url: string, proc: ChildProcess): Promise<void> {
	for (let i = 0; i < 600; i++) {
		if (proc.exitCode !== null) throw new Error(`wrangler exited (${proc.exitCode}) before ${url} answered`);
		try {
			await fetch(url, { method: "HEAD" });
			return;
		} catch {
			await new Promise((r) => setTimeout(r, 200));
		}
	}
	throw new Error(`${url} never answered`);
}

/** `wrangler dev` with fresh local state; `vars` are passed with --var. */
export async function startWrangler(opts: {
	config?: string;
	port: number;
	vars?: Record<string, string>;
	schema?: boolean;
	ready: string;
	/** The DevTools inspector's port (bench/inspector.ts); wrangler's default 9229 otherwise. */
	inspectorPort?: number;
}): Promise<Wrangler> {
	const state = mkdtempSync(join(tmpdir(), "nbg-bench-"));
	const config = opts.config ?? "wrangler.toml";
	if (opts.schema) {
		const r = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local", "-c", config, "--persist-to", state], {
			stdio: "ignore",
		});
		if (r.status !== 0) throw new Error("applying the D1 migrations failed");
	}
	const args = [
		"dev",
		"-c",
		config,
		"--port",
		String(opts.port),
		"--ip",
		"127.0.0.1",
		"--persist-to",
		state,
		"--show-interactive-dev-session=false",
	];
	if (opts.inspectorPort) args.push("--inspector-port", String(opts.inspectorPort));
	for (const [k, v] of Object.entries(opts.vars ?? {})) args.push("--var", `${k}:${v}`);
	const proc = spawn("wrangler", args, { stdio: ["ignore", "ignore", "ignore"] });
	const url = `http://127.0.0.1:${opts.port}`;
	await waitFor(`${url}${opts.ready}`, proc);
	return {
		proc,
		url,
		stop: () =>
			new Promise((resolve) => {
				proc.once("exit", () => resolve());
				proc.kill("SIGTERM");
				setTimeout(() => proc.kill("SIGKILL"), 5_000).unref();
			}),
	};
}

/**
 * The workerd process under a wrangler process that runs the Worker. wrangler starts two:
 * a proxy that owns the public port (`entry=127.0.0.1:<port>`) and the runtime, the one
 * started with an inspector address.
 */
export function workerdPid(root: number): number {
	const rows = execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" })
		.trim()
		.split("\n")
		.map((l) => l.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/))
		.filter((m): m is RegExpMatchArray => m !== null)
		.map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3] }));
	const family = new Set([root]);
	for (let grew = true; grew; ) {
		grew = false;
		for (const r of rows) {
			if (family.has(r.ppid) && !family.has(r.pid)) {
				family.add(r.pid);
				grew = true;
			}
		}
	}
	const runtime = rows.filter((r) => family.has(r.pid) && /workerd/.test(r.args) && /--inspector-addr=/.test(r.args));
	if (runtime.length !== 1) throw new Error(`expected one runtime workerd under wrangler, found ${runtime.length}`);
	return runtime[0].pid;
}

/** CPU time (ms) all threads of a process have used so far (/proc, clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
	let ticks = 0;
	for (const task of readdirSync(`/proc/${pid}/task`)) {
		const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8");
		const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
		ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
	}
	return ticks * 10;
}

export function rssBytes(pid: number): number {
	const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
	return m ? Number(m[1]) * 1024 : 0;
}

/** Samples RSS every `everyMs` while `work` runs; returns the peak. */
export async function peakRssDuring<T>(pid: number, work: () => Promise<T>, everyMs = 5): Promise<{ peak: number; result: T }> {
	let peak = rssBytes(pid);
	const timer = setInterval(() => {
		peak = Math.max(peak, rssBytes(pid));
	}, everyMs);
	try {
		const result = await work();
		peak = Math.max(peak, rssBytes(pid));
		return { peak, result };
	} finally {
		clearInterval(timer);
	}
}

export function percentile(sorted: number[], p: number): number {
	if (sorted.length === 0) return Number.NaN;
	return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** Runs `count` calls of `task` with `concurrency` in flight; latencies in ms. */
export async function load(
	count: number,
	concurrency: number,
	task: (i: number) => Promise<void>,
): Promise<{ latencies: number[]; seconds: number }> {
	const latencies: number[] = [];
	let next = 0;
	const started = performance.now();
	await Promise.all(
		Array.from({ length: concurrency }, async () => {
			while (next < count) {
				const i = next++;
				const t = performance.now();
				await task(i);
				latencies.push(performance.now() - t);
			}
		}),
	);
	latencies.sort((a, b) => a - b);
	return { latencies, seconds: (performance.now() - started) / 1000 };
}
