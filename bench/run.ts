/**
 * `npm run bench`: measurements taken in one run on this machine, printed as a table
 * and written to bench/results.json.
 *
 * KeyAccount admissions: the real Durable Object in workerd (`wrangler dev`, local
 * storage) driven over native RPC by bench/admission-worker.ts: each simulated request
 * admits then settles, for one hot key and for 100 keys.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

async function waitFor(url: string, proc: ChildProcess): Promise<void> {
	for (let i = 0; i < 600; i++) {
		if (proc.exitCode !== null) throw new Error(`process exited (${proc.exitCode}) before ${url} answered`);
		try {
			await fetch(url, { method: "HEAD" });
			return;
		} catch {
			await new Promise((r) => setTimeout(r, 200));
		}
	}
	throw new Error(`${url} never answered`);
}

function startWrangler(config: string, port: number): ChildProcess {
	const state = mkdtempSync(join(tmpdir(), "nbg-bench-"));
	return spawn(
		"wrangler",
		["dev", "-c", config, "--port", String(port), "--ip", "127.0.0.1", "--persist-to", state, "--show-interactive-dev-session=false"],
		{
			stdio: ["ignore", "ignore", "inherit"],
		},
	);
}

interface AdmissionResult {
	op: string;
	keys: number;
	count: number;
	concurrency: number;
	admitted: number;
	requests_per_s: number;
	admit_p50_ms: number;
	admit_p99_ms: number;
}

async function admissions(): Promise<AdmissionResult[]> {
	const port = 8911;
	const proc = startWrangler("bench/wrangler.bench.toml", port);
	try {
		await waitFor(`http://127.0.0.1:${port}/?keys=1&count=1`, proc);
		await fetch(`http://127.0.0.1:${port}/?keys=1&count=500&concurrency=16`); // warm-up
		const out: AdmissionResult[] = [];
		const runs: Array<[string, number, number]> = [
			["authorize", 1, 64], // read-only RPC: the floor the harness itself costs
			["pair", 1, 8],
			["pair", 1, 64],
			["pair", 100, 64],
		];
		for (const [op, keys, concurrency] of runs) {
			const res = await fetch(`http://127.0.0.1:${port}/?op=${op}&keys=${keys}&count=5000&concurrency=${concurrency}`);
			out.push({ op, ...((await res.json()) as Omit<AdmissionResult, "op">) });
		}
		return out;
	} finally {
		proc.kill("SIGTERM");
	}
}

const results = {
	measured_at: new Date().toISOString(),
	machine: "2 cores, loopback, wrangler dev (workerd)",
	admissions: await admissions(),
};

const fmt = (n: number) => (n >= 100 ? Math.round(n).toString() : n.toFixed(2));
console.log("\nKeyAccount admissions (real Durable Object in workerd, native RPC)\n");
console.log("| operation | keys | calls | concurrency | per second | call p50 ms | call p99 ms |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const r of results.admissions) {
	const op = r.op === "pair" ? "admit + settle" : "authorize (read-only baseline)";
	console.log(
		`| ${op} | ${r.keys} | ${r.count} | ${r.concurrency} | ${fmt(r.requests_per_s)} | ${fmt(r.admit_p50_ms)} | ${fmt(r.admit_p99_ms)} |`,
	);
}
writeFileSync("bench/results.json", `${JSON.stringify(results, null, 2)}\n`);
console.log("\nwritten to bench/results.json");
