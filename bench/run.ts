/**
 * `npm run bench`: every figure measured in one run on this machine, printed as tables
 * and written to bench/results.json. Everything talks over loopback.
 *
 * 1. Latency: a 1K image through the gateway (`wrangler dev`, local bindings) vs the
 *    same generateContent call straight to the Gemini emulator, concurrency 1 and 16.
 * 2. Memory: peak RSS growth of the gateway's workerd process with 1, 4 and 9 4K images
 *    (nano-banana-pro, 16:9, 4K PNG over 15 MB) in flight, streaming vs the buffered
 *    baseline (GEMINI_READ_MODE=buffered), a fresh gateway per measurement.
 * 3. KeyAccount admissions: the real Durable Object over native RPC (bench/admission-worker.ts).
 * 4. Upstream pool: what sharing upstream health between isolates adds per request (the
 *    routing decision with and without it, timed from outside workerd; one background sync
 *    with the UpstreamHealth object), and two gateways with a pool of three keys, sharing
 *    on and off, driven alternately.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { startEmulator } from "../emulator/server.ts";
import { load, peakRssDuring, percentile, rssBytes, startWrangler, type Wrangler, workerdPid } from "./lib.ts";

const ADMIN = "bench-admin-token";
const MB = 1024 * 1024;
const emulator = await startEmulator();

async function gateway(
	port: number,
	mode: "streaming" | "buffered",
	vars: Record<string, string> = {},
): Promise<{ gw: Wrangler; key: string }> {
	const gw = await startWrangler({
		port,
		schema: true,
		ready: "/health",
		vars: { GEMINI_BASE_URL: emulator.url, GEMINI_API_KEY: "bench", ADMIN_TOKEN: ADMIN, GEMINI_READ_MODE: mode, ...vars },
	});
	const res = await fetch(`${gw.url}/admin/keys`, {
		method: "POST",
		headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
		body: JSON.stringify({
			name: "bench",
			credits: 1_000_000_000,
			limits: { requests_per_minute: 10_000_000, concurrent_requests: 100_000, images_per_day: 10_000_000, images_per_month: 10_000_000 },
		}),
	});
	if (res.status !== 201) throw new Error(`creating a key failed: ${res.status} ${await res.text()}`);
	return { gw, key: ((await res.json()) as { key: string }).key };
}

async function generate(gw: Wrangler, key: string, body: object): Promise<number> {
	const res = await fetch(`${gw.url}/v1/images/generations`, {
		method: "POST",
		headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
		body: JSON.stringify(body),
	});
	await res.arrayBuffer();
	return res.status;
}

// ---- 1. latency ------------------------------------------------------------------------

interface LatencyRow {
	concurrency: number;
	requests: number;
	direct_p50_ms: number;
	direct_p99_ms: number;
	gateway_p50_ms: number;
	gateway_p99_ms: number;
	added_p50_ms: number;
	/** Same run: wrangler dev's own floor (GET /health) and one local R2 put of this image's size. */
	floor_health_p50_ms: number;
	floor_r2_put_p50_ms: number;
	direct_rps: number;
	gateway_rps: number;
	image_bytes: number;
}

async function latency(): Promise<LatencyRow[]> {
	const { gw, key } = await gateway(8931, "streaming");
	try {
		// A realistic 1K PNG (~1.5 MB): half noise, half gradient.
		const prompt = "a nano banana on a plate [emu:noise=0.5,format=png]";
		const direct = async () => {
			const res = await fetch(`${emulator.url}/v1beta/models/gemini-3.1-flash-image:generateContent`, {
				method: "POST",
				headers: { "x-goog-api-key": "bench", "content-type": "application/json" },
				// Exactly the body the gateway sends for this request.
				body: JSON.stringify({
					contents: [{ role: "user", parts: [{ text: prompt }] }],
					generationConfig: { responseModalities: ["TEXT", "IMAGE"], imageConfig: { aspectRatio: "1:1" } },
				}),
			});
			await res.arrayBuffer();
		};
		const viaGateway = async () => {
			const status = await generate(gw, key, { model: "nano-banana-2", prompt, aspect_ratio: "1:1" });
			if (status !== 200) throw new Error(`gateway answered ${status}`);
		};
		await load(20, 4, direct); // warm both paths (emulator image cache, workerd JIT, DO)
		await load(20, 4, viaGateway);
		const imageBytes = emulator.emulator.calls.at(-1)?.outputs[0]?.bytes ?? 0;
		const health = await load(100, 1, async () => {
			await (await fetch(`${gw.url}/health`)).arrayBuffer();
		});
		const puts: number[] = [];
		const probe = await startWrangler({ config: "bench/wrangler.bench.toml", port: 8932, ready: "/r2put?size=1" });
		try {
			for (let i = 0; i < 30; i++) puts.push(((await (await fetch(`${probe.url}/r2put?size=${imageBytes}`)).json()) as { ms: number }).ms);
		} finally {
			await probe.stop();
		}
		puts.sort((a, b) => a - b);
		const rows: LatencyRow[] = [];
		for (const [concurrency, requests] of [
			[1, 150],
			[16, 320],
		]) {
			const d = await load(requests, concurrency, direct);
			const g = await load(requests, concurrency, viaGateway);
			rows.push({
				concurrency,
				requests,
				direct_p50_ms: percentile(d.latencies, 0.5),
				direct_p99_ms: percentile(d.latencies, 0.99),
				gateway_p50_ms: percentile(g.latencies, 0.5),
				gateway_p99_ms: percentile(g.latencies, 0.99),
				added_p50_ms: percentile(g.latencies, 0.5) - percentile(d.latencies, 0.5),
				floor_health_p50_ms: percentile(health.latencies, 0.5),
				floor_r2_put_p50_ms: percentile(puts, 0.5),
				direct_rps: requests / d.seconds,
				gateway_rps: requests / g.seconds,
				image_bytes: imageBytes,
			});
		}
		return rows;
	} finally {
		await gw.stop();
	}
}

// ---- 2. memory -------------------------------------------------------------------------

interface MemoryRow {
	mode: "streaming" | "buffered";
	in_flight: number;
	image_bytes: number;
	baseline_mb: number;
	peak_growth_mb: number;
	growth_per_image_mb: number;
	succeeded: number;
}

async function memory(): Promise<MemoryRow[]> {
	const rows: MemoryRow[] = [];
	const prompt = "a very detailed 4K poster [emu:format=png,noise=1]";
	const body = { model: "nano-banana-pro", prompt, aspect_ratio: "16:9", image_size: "4K" };
	let port = 8940;
	for (const mode of ["streaming", "buffered"] as const) {
		for (const inFlight of [1, 4, 9]) {
			const { gw, key } = await gateway(port++, mode);
			try {
				const pid = workerdPid(gw.proc.pid as number);
				await generate(gw, key, { model: "nano-banana-2", prompt: "warm-up" }); // load code, DO, R2
				await new Promise((r) => setTimeout(r, 500));
				const baseline = rssBytes(pid);
				const { peak, result } = await peakRssDuring(pid, () =>
					Promise.all(Array.from({ length: inFlight }, () => generate(gw, key, body).catch(() => 0))),
				);
				const growth = (peak - baseline) / MB;
				rows.push({
					mode,
					in_flight: inFlight,
					image_bytes: emulator.emulator.calls.at(-1)?.outputs[0]?.bytes ?? 0,
					baseline_mb: baseline / MB,
					peak_growth_mb: growth,
					growth_per_image_mb: growth / inFlight,
					succeeded: result.filter((s) => s === 200).length,
				});
			} finally {
				await gw.stop();
			}
		}
	}
	return rows;
}

// ---- 3. admissions ---------------------------------------------------------------------

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
	const w = await startWrangler({ config: "bench/wrangler.bench.toml", port: 8911, ready: "/?keys=1&count=1" });
	try {
		await fetch(`${w.url}/?keys=1&count=500&concurrency=16`); // warm-up
		const out: AdmissionResult[] = [];
		const runs: Array<[string, number, number]> = [
			["authorize", 1, 64], // read-only RPC: the floor the harness itself costs
			["pair", 1, 8],
			["pair", 1, 64],
			["pair", 100, 64],
		];
		for (const [op, keys, concurrency] of runs) {
			const res = await fetch(`${w.url}/?op=${op}&keys=${keys}&count=5000&concurrency=${concurrency}`);
			out.push({ op, ...((await res.json()) as Omit<AdmissionResult, "op">) });
		}
		return out;
	} finally {
		await w.stop();
	}
}

// ---- 4. upstream pool -------------------------------------------------------------------

interface UpstreamBench {
	/** One routing decision (choose of three, record the call), in µs: sharing off, on, and the difference. */
	route_local_us: number;
	route_shared_us: number;
	shared_added_us: number;
	/** One background sync with the UpstreamHealth object, publishing a change (ms, p50 of batches). */
	sync_ms: number;
	/** Two gateways, pool of three keys, 512 px images, concurrency 1, one request to each in turn. */
	e2e_requests: number;
	e2e_shared_p50_ms: number;
	e2e_local_p50_ms: number;
	e2e_shared_p99_ms: number;
	e2e_local_p99_ms: number;
}

async function upstreamPool(): Promise<UpstreamBench> {
	const median = (xs: number[]) =>
		percentile(
			[...xs].sort((a, b) => a - b),
			0.5,
		);
	const w = await startWrangler({ config: "bench/wrangler.bench.toml", port: 8852, ready: "/upstreams/route?n=1&shared=0" });
	let route: { local: number; shared: number; sync: number };
	try {
		const time = async (path: string) => {
			const t = performance.now();
			const res = await fetch(`${w.url}${path}`);
			await res.arrayBuffer();
			if (!res.ok) throw new Error(`${path}: ${res.status}`);
			return performance.now() - t;
		};
		const N = 200_000;
		const runs = { base: [] as number[], local: [] as number[], shared: [] as number[] };
		for (let i = 0; i < 3; i++) await time(`/upstreams/route?n=${N}&shared=1`); // warm the JIT
		for (let i = 0; i < 15; i++) {
			runs.base.push(await time("/upstreams/route?n=0&shared=0"));
			runs.local.push(await time(`/upstreams/route?n=${N}&shared=0`));
			runs.shared.push(await time(`/upstreams/route?n=${N}&shared=1`));
		}
		const perCall = (xs: number[]) => ((median(xs) - median(runs.base)) / N) * 1000;
		const syncs: number[] = [];
		await time("/upstreams/sync?n=20");
		for (let i = 0; i < 5; i++) syncs.push((await time("/upstreams/sync?n=200")) / 200);
		route = { local: perCall(runs.local), shared: perCall(runs.shared), sync: median(syncs) };
	} finally {
		await w.stop();
	}
	const pool = { GEMINI_API_KEY: "", GEMINI_API_KEYS: "bench-a,bench-b,bench-c" };
	const shared = await gateway(8850, "streaming", { ...pool, UPSTREAM_HEALTH_SYNC_MS: "5000" });
	const local = await gateway(8851, "streaming", { ...pool, UPSTREAM_HEALTH_SYNC_MS: "0" });
	try {
		const body = { model: "nano-banana-2", prompt: "a small nano banana", image_size: "512", aspect_ratio: "1:1" };
		const drive = (g: { gw: Wrangler; key: string }) => async () => {
			const status = await generate(g.gw, g.key, body);
			if (status !== 200) throw new Error(`gateway answered ${status}`);
		};
		await load(20, 1, drive(shared));
		await load(20, 1, drive(local));
		// One request to each in turn, the order swapped every pair (ABBA), so both see the
		// same machine load; the machine's other work lands on both alike.
		const lat = { shared: [] as number[], local: [] as number[] };
		for (let i = 0; i < 300; i++) {
			const order = i % 2 === 0 ? (["shared", "local"] as const) : (["local", "shared"] as const);
			for (const which of order) lat[which].push(...(await load(1, 1, drive(which === "shared" ? shared : local))).latencies);
		}
		for (const xs of Object.values(lat)) xs.sort((a, b) => a - b);
		return {
			route_local_us: route.local,
			route_shared_us: route.shared,
			shared_added_us: route.shared - route.local,
			sync_ms: route.sync,
			e2e_requests: lat.shared.length,
			e2e_shared_p50_ms: percentile(lat.shared, 0.5),
			e2e_local_p50_ms: percentile(lat.local, 0.5),
			e2e_shared_p99_ms: percentile(lat.shared, 0.99),
			e2e_local_p99_ms: percentile(lat.local, 0.99),
		};
	} finally {
		await shared.gw.stop();
		await local.gw.stop();
	}
}

const only = process.argv[2];
// A partial run (`npm run bench -- latency`) replaces only its own section of the last results.
const previous =
	only && existsSync("bench/results.json") ? (JSON.parse(readFileSync("bench/results.json", "utf8")) as Record<string, unknown>) : {};
const results: Record<string, unknown> = {
	...previous,
	machine: "2 cores, loopback, wrangler dev (workerd), emulator in the bench process",
};
results[only ? `${only}_measured_at` : "measured_at"] = new Date().toISOString();
if (!only || only === "latency") results.latency = await latency();
if (!only || only === "memory") results.memory = await memory();
if (!only || only === "admissions") results.admissions = await admissions();
if (!only || only === "upstreams") results.upstreams = await upstreamPool();
await emulator.close();

const f = (n: number) => (Number.isNaN(n) ? "-" : n >= 100 ? Math.round(n).toString() : n.toFixed(1));
if (results.latency && (!only || only === "latency")) {
	console.log("\n1K image: gateway vs Gemini emulator direct (same run)\n");
	console.log(
		"| concurrency | requests | direct p50 / p99 ms | gateway p50 / p99 ms | added p50 ms | of which: dev floor / local R2 put p50 ms | direct req/s | gateway req/s |",
	);
	console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
	for (const r of results.latency as LatencyRow[]) {
		console.log(
			`| ${r.concurrency} | ${r.requests} | ${f(r.direct_p50_ms)} / ${f(r.direct_p99_ms)} | ${f(r.gateway_p50_ms)} / ${f(r.gateway_p99_ms)} | ${f(r.added_p50_ms)} | ${f(r.floor_health_p50_ms)} / ${f(r.floor_r2_put_p50_ms)} | ${f(r.direct_rps)} | ${f(r.gateway_rps)} |`,
		);
	}
	const first = (results.latency as LatencyRow[])[0];
	console.log(`
1K image: ${(first.image_bytes / MB).toFixed(2)} MB PNG`);
}
if (results.memory && (!only || only === "memory")) {
	console.log("\n4K images in flight: peak RSS growth of the workerd process\n");
	console.log("| mode | in flight | image MB | peak growth MB | per image MB | succeeded |");
	console.log("|---|---:|---:|---:|---:|---:|");
	for (const r of results.memory as MemoryRow[]) {
		console.log(
			`| ${r.mode} | ${r.in_flight} | ${f(r.image_bytes / MB)} | ${f(r.peak_growth_mb)} | ${f(r.growth_per_image_mb)} | ${r.succeeded}/${r.in_flight} |`,
		);
	}
}
if (results.admissions && (!only || only === "admissions")) {
	console.log("\nKeyAccount admissions (real Durable Object in workerd, native RPC)\n");
	console.log("| operation | keys | calls | concurrency | per second | call p50 ms | call p99 ms |");
	console.log("|---|---:|---:|---:|---:|---:|---:|");
	for (const r of results.admissions as AdmissionResult[]) {
		const op = r.op === "pair" ? "admit + settle" : "authorize (read-only baseline)";
		console.log(
			`| ${op} | ${r.keys} | ${r.count} | ${r.concurrency} | ${f(r.requests_per_s)} | ${f(r.admit_p50_ms)} | ${f(r.admit_p99_ms)} |`,
		);
	}
}
if (results.upstreams && (!only || only === "upstreams")) {
	const u = results.upstreams as UpstreamBench;
	const us = (n: number) => (Math.abs(n) < 10 ? n.toFixed(2) : f(n));
	console.log("\nUpstream pool: what sharing health between isolates adds (same run)\n");
	console.log("| measure | sharing off | sharing on | added |");
	console.log("|---|---:|---:|---:|");
	console.log(`| routing decision per request (µs) | ${us(u.route_local_us)} | ${us(u.route_shared_us)} | ${us(u.shared_added_us)} |`);
	console.log(
		`| gateway p50 / p99, 512 px image, pool of 3 (ms, ${u.e2e_requests} requests each) | ${f(u.e2e_local_p50_ms)} / ${f(u.e2e_local_p99_ms)} | ${f(u.e2e_shared_p50_ms)} / ${f(u.e2e_shared_p99_ms)} | ${f(u.e2e_shared_p50_ms - u.e2e_local_p50_ms)} (p50) |`,
	);
	console.log(
		`\nOne background sync with the UpstreamHealth object: ${f(u.sync_ms)} ms (off every request's path; at most every 5 s per isolate, and after a change).`,
	);
}
writeFileSync("bench/results.json", `${JSON.stringify(results, null, 2)}\n`);
console.log("\nwritten to bench/results.json");
