/**
 * `npm run bench`: every figure measured in one run on this machine, printed as tables
 * and written to bench/results.json with the machine and the date. Everything talks over
 * loopback; the gateway is `wrangler dev` (workerd, local bindings), the Gemini emulator
 * runs in this process. `npm run bench -- <section>` reruns one section.
 *
 * path        A 1K JPEG with its 0.6 MB signature (and a 1.8 MB PNG) through the gateway vs the same
 *             generateContent call straight to the emulator, c=1 and c=16, beside two
 *             floors measured in the same run: wrangler dev's own (GET /health) and one
 *             local R2 put of the image's size. Phases from Server-Timing; isolate CPU
 *             per request from the DevTools inspector's CPU profile, grouped by file.
 * memory      What the Worker's isolate holds (inspector: JS heap in use + array buffers'
 *             backing stores, after a forced GC) at its peak with 1/4/9 images of 2K and
 *             4K in flight, streaming vs buffered, and 16 small images; the runtime
 *             process's RSS beside it (it also holds the local R2, D1 and DO simulators).
 * admissions  The real KeyAccount over native RPC: admit + settle pairs vs the floor of two
 *             calls of one SQLite write each, 1 and 100 keys, interleaved rounds.
 * upstreams   What sharing upstream health between isolates adds (see upstreamPool).
 * d1          A day of usage + ledger rows (over 1 million) through the outbox into local D1,
 *             then the usage archive's prune passes (bench/d1-bench.ts).
 * startup     A cold start: the deploy bundle's size (raw, gzip, by source) and
 *             `wrangler check startup`'s CPU, lowest and median of 7 (bench/startup.ts).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { startEmulator } from "../emulator/server.ts";
import { type D1Bench, d1Bench, printD1 } from "./d1-bench.ts";
import { Inspector } from "./inspector.ts";
import { cpuMs, load, peakRssDuring, percentile, rssBytes, startWrangler, type Wrangler, workerdPid } from "./lib.ts";
import { type StartupResult, startup } from "./startup.ts";

const ADMIN = "bench-admin-token";
const MB = 1024 * 1024;
const emulator = await startEmulator();

interface Gateway {
	gw: Wrangler;
	key: string;
	inspectorPort: number;
}

async function gateway(port: number, mode: "streaming" | "buffered", vars: Record<string, string> = {}): Promise<Gateway> {
	const inspectorPort = port + 1000;
	const gw = await startWrangler({
		port,
		inspectorPort,
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
	return { gw, key: ((await res.json()) as { key: string }).key, inspectorPort };
}

/** One generation through the gateway; its status and Server-Timing phases (ms). */
async function generate(
	g: Gateway,
	body: object,
	path = "/v1/images/generations",
): Promise<{ status: number; phases: Record<string, number> }> {
	const res = await fetch(`${g.gw.url}${path}`, {
		method: "POST",
		headers: { authorization: `Bearer ${g.key}`, "content-type": "application/json" },
		body: JSON.stringify(body),
	});
	await res.arrayBuffer();
	const phases: Record<string, number> = {};
	for (const m of (res.headers.get("server-timing") ?? "").matchAll(/([a-z]+);dur=([\d.]+)/g)) phases[m[1]] = Number(m[2]);
	return { status: res.status, phases };
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => percentile(sorted(xs), 0.5);
const lastImageBytes = () => emulator.emulator.calls.at(-1)?.outputs[0]?.bytes ?? 0;

// ---- path: latency, phases, CPU ---------------------------------------------------------

const SMALL = { model: "nano-banana-2", prompt: "a nano banana on a plate", aspect_ratio: "1:1" };
const MEDIUM = { model: "nano-banana-2", prompt: "a nano banana on a plate [emu:noise=0.5,format=png]", aspect_ratio: "1:1" };

interface PathRow {
	image: string;
	image_bytes: number;
	concurrency: number;
	requests: number;
	direct_p50_ms: number;
	direct_p99_ms: number;
	gateway_p50_ms: number;
	gateway_p99_ms: number;
	/** Same run: wrangler dev's own floor (GET /health through its proxy). */
	floor_dev_p50_ms: number;
	/** Same run: one local R2 put of this image's size. */
	floor_r2_put_p50_ms: number;
	/** gateway p50 - direct p50 - both floors: what the gateway's own work adds. */
	added_net_p50_ms: number;
	direct_rps: number;
	gateway_rps: number;
	floor_dev_rps: number;
	/** Server-Timing phases, p50 over the gateway's requests. */
	phases_p50_ms: Record<string, number>;
	phases_p99_ms: Record<string, number>;
}

interface CpuResult {
	image_bytes: number;
	requests: number;
	/** Isolate CPU per request (profile samples, idle excluded), everything in the isolate. */
	per_request_ms: number;
	/**
	 * Of which the KeyAccount Durable Object's work (every sample with a KeyAccount frame on
	 * its stack: its code, its SQL, its RPC handling), its own isolate in production.
	 */
	durable_object_ms: number;
	/** The rest: what the Worker's own isolate spends per request in production. */
	worker_per_request_ms?: number;
	/**
	 * The runtime workerd process's CPU per request, all threads, without the profiler: an
	 * upper bound, as it also runs the local R2, D1 and Durable Object storage simulators
	 * and the HTTP plumbing.
	 */
	process_per_request_ms: number;
	/** Per source file, ms per request, largest first. */
	by_file_ms: Record<string, number>;
	/** The 25 costliest functions, ms per request (a builtin named under its JS caller). */
	by_function_ms?: Record<string, number>;
}

async function directCall(prompt: string): Promise<void> {
	const res = await fetch(`${emulator.url}/v1beta/models/gemini-3.1-flash-image:generateContent`, {
		method: "POST",
		// Exactly the headers (uncompressed: Node's fetch would ask for gzip) and body the gateway sends.
		headers: { "x-goog-api-key": "bench", "content-type": "application/json", "accept-encoding": "identity" },
		body: JSON.stringify({
			contents: [{ role: "user", parts: [{ text: prompt }] }],
			generationConfig: { responseModalities: ["TEXT", "IMAGE"], imageConfig: { aspectRatio: "1:1" } },
		}),
	});
	await res.arrayBuffer();
	if (res.status !== 200) throw new Error(`emulator answered ${res.status}`);
}

async function r2PutFloor(bytes: number[]): Promise<Record<number, number>> {
	const probe = await startWrangler({ config: "bench/wrangler.bench.toml", port: 8932, inspectorPort: 9932, ready: "/r2put?size=1" });
	try {
		const out: Record<number, number> = {};
		for (const size of bytes) {
			const ms: number[] = [];
			for (let i = 0; i < 40; i++) ms.push(((await (await fetch(`${probe.url}/r2put?size=${size}`)).json()) as { ms: number }).ms);
			out[size] = median(ms.slice(5));
		}
		return out;
	} finally {
		await probe.stop();
	}
}

async function path(): Promise<{ rows: PathRow[]; cpu: CpuResult }> {
	const g = await gateway(8931, "streaming");
	try {
		const viaGateway = (body: object, phases: Array<Record<string, number>>) => async () => {
			const r = await generate(g, body);
			if (r.status !== 200) throw new Error(`gateway answered ${r.status}`);
			phases.push(r.phases);
		};
		const health = async () => {
			await (await fetch(`${g.gw.url}/health`)).arrayBuffer();
		};
		// Warm both paths (emulator image cache, workerd JIT, the key's Durable Object).
		for (const body of [SMALL, MEDIUM]) {
			await load(30, 4, () => directCall(body.prompt));
			await load(30, 4, viaGateway(body, []));
		}
		await load(50, 4, health);
		const sizes: Record<string, number> = {};
		for (const body of [SMALL, MEDIUM]) {
			await directCall(body.prompt);
			sizes[body.prompt] = lastImageBytes();
		}
		const puts = await r2PutFloor(Object.values(sizes));
		const rows: PathRow[] = [];
		const runs: Array<[string, typeof SMALL, number, number]> = [
			["1K JPEG + 0.6 MB signature", SMALL, 1, 300],
			["1K JPEG + 0.6 MB signature", SMALL, 16, 640],
			["1.8 MB PNG (1K)", MEDIUM, 1, 100],
		];
		for (const [image, body, concurrency, requests] of runs) {
			const phases: Array<Record<string, number>> = [];
			const d = await load(requests, concurrency, () => directCall(body.prompt));
			const gw = await load(requests, concurrency, viaGateway(body, phases));
			const h = await load(requests, concurrency, health);
			const names = [...new Set(phases.flatMap((p) => Object.keys(p)))];
			const phase = (q: number) => Object.fromEntries(names.map((n) => [n, percentile(sorted(phases.map((p) => p[n] ?? 0)), q)]));
			const put = puts[sizes[body.prompt]];
			const p50 = (xs: number[]) => percentile(xs, 0.5);
			rows.push({
				image,
				image_bytes: sizes[body.prompt],
				concurrency,
				requests,
				direct_p50_ms: p50(d.latencies),
				direct_p99_ms: percentile(d.latencies, 0.99),
				gateway_p50_ms: p50(gw.latencies),
				gateway_p99_ms: percentile(gw.latencies, 0.99),
				floor_dev_p50_ms: p50(h.latencies),
				floor_r2_put_p50_ms: put,
				added_net_p50_ms: p50(gw.latencies) - p50(d.latencies) - p50(h.latencies) - put,
				direct_rps: requests / d.seconds,
				gateway_rps: requests / gw.seconds,
				floor_dev_rps: requests / h.seconds,
				phases_p50_ms: phase(0.5),
				phases_p99_ms: phase(0.99),
			});
		}
		return { rows, cpu: await cpuPerRequest(g) };
	} finally {
		await g.gw.stop();
	}
}

/**
 * CPU of sequential small requests, first timed from /proc, then under the inspector's
 * sampling profiler (by file, and by function with builtins under their JS caller).
 */
async function cpuPerRequest(g: Gateway): Promise<CpuResult> {
	const N = 300;
	const viaGateway = async () => {
		const r = await generate(g, SMALL);
		if (r.status !== 200) throw new Error(`gateway answered ${r.status}`);
	};
	const pid = workerdPid(g.gw.proc.pid as number);
	const cpuBefore = cpuMs(pid);
	await load(N, 1, viaGateway);
	const processPerRequest = (cpuMs(pid) - cpuBefore) / N;
	const inspector = await Inspector.connect(g.inspectorPort);
	try {
		const profile = await inspector.cpu(() => load(N, 1, viaGateway).then(() => undefined), {
			objectFile: "src/account/key-account.ts",
		});
		const perRequest = (table: Record<string, number>, top = Number.POSITIVE_INFINITY) =>
			Object.fromEntries(
				Object.entries(table)
					.map(([name, ms]) => [name, ms / N] as const)
					.sort((a, b) => b[1] - a[1])
					.slice(0, top),
			);
		const byFile = perRequest(profile.byFile);
		return {
			image_bytes: lastImageBytes(),
			requests: N,
			per_request_ms: profile.totalMs / N,
			worker_per_request_ms: (profile.totalMs - profile.objectMs) / N,
			process_per_request_ms: processPerRequest,
			durable_object_ms: profile.objectMs / N,
			by_file_ms: byFile,
			by_function_ms: perRequest(profile.byFunction, 25),
		};
	} finally {
		inspector.close();
	}
}

/** The CPU measure alone (`npm run bench -- cpu`): a warmed gateway, then cpuPerRequest. */
async function cpuOnly(): Promise<CpuResult> {
	const g = await gateway(8931, "streaming");
	try {
		for (let i = 0; i < 60; i++) if ((await generate(g, SMALL)).status !== 200) throw new Error("warm-up failed");
		return await cpuPerRequest(g);
	} finally {
		await g.gw.stop();
	}
}

// ---- memory: the isolate's own heap ------------------------------------------------------

interface MemoryRow {
	mode: "streaming" | "buffered";
	image: string;
	in_flight: number;
	image_bytes: number;
	/** Times measured; the row is the one with the median peak. */
	repeats: number;
	/** Isolate: held (heap in use + array buffers) at the peak, above the post-GC baseline. */
	peak_mb: number;
	peak_per_image_mb: number;
	/** The lowest and highest per-image peak of the repeats. */
	peak_per_image_range_mb: [number, number];
	/** Isolate: held right after the last response, before any GC, above the baseline. */
	after_mb: number;
	/** Isolate: still held after a forced GC (a leak would show here). */
	retained_mb: number;
	/** The runtime workerd process's RSS growth (context: it also holds the simulators). */
	process_rss_growth_mb: number;
	succeeded: number;
}

async function memory(): Promise<MemoryRow[]> {
	const rows: MemoryRow[] = [];
	const big = (size: "2K" | "4K") => ({
		model: "nano-banana-pro",
		prompt: `a very detailed poster [emu:format=png,noise=0.3]`,
		aspect_ratio: "16:9",
		image_size: size,
	});
	// As Google answers (emulator, 2026-12-03): JPEG, the signature after the image in the
	// same part (0.6 MB at 1K, 1.1 MB at 4K for 3 Pro), chunked, gzip. Chat keeps the
	// signature (the turn goes to R2); the images routes skip it. The PNG row is the large
	// lossless image the emulator used to send (16.7 MB at 4K with noise=0.3).
	const jpeg4k = { ...big("4K"), prompt: "a very detailed poster" };
	const chat4k = {
		model: "nano-banana-pro",
		messages: [{ role: "user", content: "a very detailed poster for a chat" }],
		modalities: ["image", "text"],
		image_config: { aspect_ratio: "16:9", image_size: "4K" },
	};
	const plan: Array<["streaming" | "buffered", string, object, number[]]> = [
		["streaming", "1K JPEG", SMALL, [1, 16]],
		["streaming", "4K JPEG", jpeg4k, [1, 4, 9]],
		["streaming", "4K JPEG, chat (signature kept)", chat4k, [1, 4]],
		["streaming", "4K PNG (noise 0.3)", big("4K"), [4]],
		["buffered", "1K JPEG", SMALL, [1, 16]],
		["buffered", "4K JPEG", jpeg4k, [1, 4]],
	];
	let port = 8940;
	for (const mode of ["streaming", "buffered"] as const) {
		const g = await gateway(port, mode);
		port += 2;
		const inspector = await Inspector.connect(g.inspectorPort);
		const pid = workerdPid(g.gw.proc.pid as number);
		try {
			for (const [m, image, body, inFlights] of plan) {
				if (m !== mode) continue;
				const path = "messages" in body ? "/v1/chat/completions" : "/v1/images/generations";
				await generate(g, body, path); // the emulator renders (and caches) this image; the Worker's paths warm up
				await generate(g, body, path);
				const bytes = lastImageBytes();
				for (const inFlight of inFlights) {
					// GC timing moves a small image's figure by more than the image itself, and the
					// 4K x 4 row carries a target: those are measured several times, the median kept.
					const repeats = bytes < MB ? 5 : image === "4K JPEG" && inFlight === 4 ? 3 : 1;
					const tries: Omit<MemoryRow, "peak_per_image_range_mb">[] = [];
					for (let t = 0; t < repeats; t++) {
						await inspector.gc();
						const rssBase = rssBytes(pid);
						let statuses: number[] = [];
						let rssPeak = rssBase;
						const heap = await inspector.peakDuring(async () => {
							const r = await peakRssDuring(pid, () => Promise.all(Array.from({ length: inFlight }, () => generate(g, body, path))));
							statuses = r.result.map((x) => x.status);
							rssPeak = r.peak;
						});
						await inspector.gc();
						const retained = (await inspector.heap()).held;
						tries.push({
							mode,
							image,
							in_flight: inFlight,
							image_bytes: bytes,
							repeats,
							peak_mb: (heap.peak - heap.base) / MB,
							peak_per_image_mb: (heap.peak - heap.base) / MB / inFlight,
							after_mb: (heap.after - heap.base) / MB,
							retained_mb: (retained - heap.base) / MB,
							process_rss_growth_mb: (rssPeak - rssBase) / MB,
							succeeded: statuses.filter((s) => s === 200).length,
						});
					}
					tries.sort((a, b) => a.peak_mb - b.peak_mb);
					rows.push({
						...tries[Math.floor(tries.length / 2)],
						peak_per_image_range_mb: [tries[0].peak_per_image_mb, tries[tries.length - 1].peak_per_image_mb],
					});
				}
			}
		} finally {
			inspector.close();
			await g.gw.stop();
		}
	}
	return rows;
}

// ---- admissions --------------------------------------------------------------------------

interface AdmissionRun {
	requests_per_s: number;
	admit_p50_ms: number;
	admit_p99_ms: number;
}

interface AdmissionRow {
	op: "floor" | "pair" | "pair_unflushed" | "floor_3x1KB";
	keys: number;
	rounds: number;
	calls_per_round: number;
	concurrency: number;
	/** Median of the rounds. */
	per_s: number;
	call_p50_ms: number;
	call_p99_ms: number;
	/** This rate over the one-write floor's run beside it in the same round: the median of the rounds. */
	of_floor: number;
	/** The lowest and highest of those rounds' ratios. */
	of_floor_range: [number, number];
	/** The runtime workerd process's CPU (all threads: the objects, their SQLite, the D1 simulator) per task. */
	cpu_ms_per_task: number;
	/** The floor's CPU per task over this one's, round by round: the median, and the range. */
	of_floor_cpu: number;
	of_floor_cpu_range: [number, number];
}

async function admissions(): Promise<AdmissionRow[]> {
	const w = await startWrangler({ config: "bench/wrangler.bench.toml", port: 8911, inspectorPort: 9911, ready: "/?keys=1&count=1" });
	try {
		await fetch(`${w.url}/?keys=1&count=500&concurrency=16`); // warm-up: code, schema, one account
		await fetch(`${w.url}/?op=floor&keys=1&count=500&concurrency=16`);
		const ops: Record<AdmissionRow["op"], string> = {
			floor: "op=floor",
			pair: "op=pair",
			// The same with the outbox's flush to D1 held back: the local D1 simulator shares
			// the one workerd thread here; in production it runs elsewhere.
			pair_unflushed: "op=pair&flush=0",
			// Three writes of 1 KB in one transaction per call: about what an admit or settle
			// writes (the hold, the account's state, ledger and usage rows).
			floor_3x1KB: "op=floor&statements=3&tx=1&bytes=1000",
		};
		// This machine's disk (every call commits, with an fsync) drifts from minute to minute,
		// so each round compares the operations run back to back, in an order that rotates
		// from round to round, and the ratio reported is the median of the rounds' ratios.
		const count = 2000;
		const concurrency = 64;
		const rounds = 7;
		const names = Object.keys(ops) as AdmissionRow["op"][];
		const pid = workerdPid(w.proc.pid as number);
		const runs = new Map<string, (AdmissionRun & { cpu_ms: number })[]>();
		for (let round = 0; round < rounds; round++) {
			for (const keys of [1, 100]) {
				const order = names.map((_, i) => names[(i + round) % names.length]);
				for (const op of order) {
					const cpu0 = cpuMs(pid);
					const res = await fetch(`${w.url}/?${ops[op]}&keys=${keys}&count=${count}&concurrency=${concurrency}`);
					const r = (await res.json()) as AdmissionRun & { admitted: number };
					const cpu = (cpuMs(pid) - cpu0) / count;
					if (r.admitted !== count) throw new Error(`${op}: ${r.admitted} of ${count} admitted`);
					runs.set(`${op}:${keys}`, [...(runs.get(`${op}:${keys}`) ?? []), { ...r, cpu_ms: cpu }]);
				}
			}
		}
		const rows: AdmissionRow[] = [];
		for (const keys of [1, 100]) {
			const floor = runs.get(`floor:${keys}`) ?? [];
			for (const op of names) {
				const rs = runs.get(`${op}:${keys}`) ?? [];
				const ratios = sorted(rs.map((r, i) => r.requests_per_s / floor[i].requests_per_s));
				const cpuRatios = sorted(rs.map((r, i) => floor[i].cpu_ms / r.cpu_ms));
				rows.push({
					op,
					keys,
					rounds,
					calls_per_round: count,
					concurrency,
					per_s: median(rs.map((r) => r.requests_per_s)),
					call_p50_ms: median(rs.map((r) => r.admit_p50_ms)),
					call_p99_ms: median(rs.map((r) => r.admit_p99_ms)),
					of_floor: median(ratios),
					of_floor_range: [ratios[0], ratios[ratios.length - 1]],
					cpu_ms_per_task: median(rs.map((r) => r.cpu_ms)),
					of_floor_cpu: median(cpuRatios),
					of_floor_cpu_range: [cpuRatios[0], cpuRatios[cpuRatios.length - 1]],
				});
			}
		}
		return rows;
	} finally {
		await w.stop();
	}
}

// ---- upstream pool -----------------------------------------------------------------------

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
	const w = await startWrangler({
		config: "bench/wrangler.bench.toml",
		port: 8852,
		inspectorPort: 9852,
		ready: "/upstreams/route?n=1&shared=0",
	});
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
	const local = await gateway(8854, "streaming", { ...pool, UPSTREAM_HEALTH_SYNC_MS: "0" });
	try {
		const body = { model: "nano-banana-2", prompt: "a small nano banana", image_size: "512", aspect_ratio: "1:1" };
		const drive = (g: Gateway) => async () => {
			const { status } = await generate(g, body);
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

// ---- targets -----------------------------------------------------------------------------

interface Target {
	target: string;
	measured: string;
	met: boolean;
}

function targets(r: Results): Target[] {
	const out: Target[] = [];
	const f1 = (n: number) => n.toFixed(1);
	const mem = (mode: string, image: string, n: number) => r.memory?.find((m) => m.mode === mode && m.image === image && m.in_flight === n);
	const four = mem("streaming", "4K JPEG", 4);
	if (four)
		out.push({
			target: "isolate peak per 4K image (JPEG + 1.1 MB signature) at 4 in flight <= 6 MiB",
			measured: `${f1(four.peak_per_image_mb)} MiB`,
			met: four.peak_per_image_mb <= 6,
		});
	const nine = mem("streaming", "4K JPEG", 9);
	if (nine) out.push({ target: "9 x 4K in flight < 64 MiB", measured: `${f1(nine.peak_mb)} MiB`, met: nine.peak_mb < 64 });
	const small = mem("streaming", "1K JPEG", 16);
	if (small)
		out.push({
			target: "a 1K image with its 0.6 MB signature <= 2 MiB (per request, 16 in flight, median of 5)",
			measured: `${small.peak_per_image_mb.toFixed(2)} MiB`,
			met: small.peak_per_image_mb <= 2,
		});
	if (r.cpu) {
		// The Worker's isolate is the one a request's CPU limit applies to; the KeyAccount object
		// runs in its own isolate in production (locally both share one, so both are shown).
		const worker = r.cpu.worker_per_request_ms ?? r.cpu.per_request_ms;
		out.push({
			target: "isolate CPU per 1K request (signature included) <= 5 ms",
			measured: `${f1(worker)} ms the Worker's isolate (+ ${f1(r.cpu.durable_object_ms)} the KeyAccount object's: ${f1(r.cpu.per_request_ms)} in one)`,
			met: worker <= 5,
		});
	}
	const c1 = r.path?.find((p) => p.concurrency === 1 && p.image.startsWith("1K JPEG"));
	if (c1)
		out.push({
			target: "added latency at c=1 excl. R2 put and dev floor <= 10 ms p50",
			measured: `${f1(c1.added_net_p50_ms)} ms`,
			met: c1.added_net_p50_ms <= 10,
		});
	const s = r.startup;
	if (s) {
		out.push({
			target: "startup CPU (wrangler check startup) <= 25 ms",
			measured: `${f1(s.startup_cpu_ms_min)} ms lowest of ${s.runs} (median ${f1(s.startup_cpu_ms_median)})`,
			met: s.startup_cpu_ms_min <= 25,
		});
		out.push({
			target: "bundle <= 600 KiB raw",
			measured: `${Math.round(s.bundle_kib)} KiB (${Math.round(s.bundle_gzip_kib)} KiB gzip)`,
			met: s.bundle_kib <= 600,
		});
	}
	for (const keys of [1, 100]) {
		const pair = r.admissions?.find((a) => a.op === "pair" && a.keys === keys);
		if (pair && typeof pair.of_floor === "number")
			out.push({
				target: `admit+settle pairs >= 90% of the two-write floor, ${keys} key(s)`,
				measured: `${Math.round(pair.of_floor * 100)}%`,
				met: pair.of_floor >= 0.9,
			});
	}
	return out;
}

// ---- run, print, write -------------------------------------------------------------------

interface Results {
	machine?: Record<string, unknown>;
	measured_at?: string;
	path?: PathRow[];
	cpu?: CpuResult;
	memory?: MemoryRow[];
	admissions?: AdmissionRow[];
	upstreams?: UpstreamBench;
	d1?: D1Bench;
	startup?: StartupResult;
	targets?: Target[];
	[section: string]: unknown;
}

const only = process.argv[2];
const sections = ["path", "cpu", "memory", "admissions", "upstreams", "d1", "startup"];
if (only && !sections.includes(only)) throw new Error(`unknown section ${only}; one of ${sections.join(", ")}`);
// A partial run replaces only its own section of the last results.
const previous: Results =
	only && existsSync("bench/results.json") ? (JSON.parse(readFileSync("bench/results.json", "utf8")) as Results) : {};
const wranglerVersion = execFileSync("wrangler", ["--version"], { encoding: "utf8" }).trim().split("\n").at(-1);
const results: Results = {
	...previous,
	machine: {
		cpus: cpus().length,
		cpu_model: cpus()[0]?.model,
		memory_gib: Math.round(totalmem() / 2 ** 30),
		node: process.version,
		wrangler: wranglerVersion,
		setup: "loopback; gateway in wrangler dev (workerd, local R2/D1/DO); Gemini emulator in the bench process",
	},
};
results[only ? `${only}_measured_at` : "measured_at"] = new Date().toISOString();
const run = (s: string) => !only || only === s;
if (run("path")) {
	const p = await path();
	results.path = p.rows;
	results.cpu = p.cpu;
}
if (only === "cpu") results.cpu = await cpuOnly();
if (run("memory")) results.memory = await memory();
if (run("admissions")) results.admissions = await admissions();
if (run("upstreams")) results.upstreams = await upstreamPool();
if (run("d1")) results.d1 = await d1Bench();
if (run("startup")) results.startup = startup();
await emulator.close();
results.targets = targets(results);

const f = (n: number) => (Number.isNaN(n) ? "-" : Math.abs(n) >= 100 ? Math.round(n).toString() : n.toFixed(1));
if ((run("path") || only === "cpu") && results.path && results.cpu) {
	console.log("\nGateway vs Gemini emulator direct, with the floors under it (same run)\n");
	console.log(
		"| image | c | requests | direct p50 / p99 ms | gateway p50 / p99 ms | dev floor p50 ms | R2 put p50 ms | added, net of floors, p50 ms | direct / gateway / dev floor req/s |",
	);
	console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
	for (const r of results.path) {
		console.log(
			`| ${r.image} | ${r.concurrency} | ${r.requests} | ${f(r.direct_p50_ms)} / ${f(r.direct_p99_ms)} | ${f(r.gateway_p50_ms)} / ${f(r.gateway_p99_ms)} | ${f(r.floor_dev_p50_ms)} | ${f(r.floor_r2_put_p50_ms)} | ${f(r.added_net_p50_ms)} | ${f(r.direct_rps)} / ${f(r.gateway_rps)} / ${f(r.floor_dev_rps)} |`,
		);
	}
	console.log("\nPhases from Server-Timing, p50 / p99 ms\n");
	const names = [...new Set(results.path.flatMap((r) => Object.keys(r.phases_p50_ms)))];
	console.log(`| image | c | ${names.join(" | ")} |`);
	console.log(`|---|---:|${names.map(() => "---:").join("|")}|`);
	for (const r of results.path)
		console.log(
			`| ${r.image} | ${r.concurrency} | ${names.map((n) => `${f(r.phases_p50_ms[n] ?? 0)} / ${f(r.phases_p99_ms[n] ?? 0)}`).join(" | ")} |`,
		);
	const c = results.cpu;
	console.log(
		`\nIsolate CPU per small request (${c.requests} requests, ${(c.image_bytes / 1024).toFixed(0)} KB image): ${f(c.per_request_ms)} ms: the Worker ${f(c.worker_per_request_ms ?? Number.NaN)} ms and the KeyAccount object (its own isolate in production) ${f(c.durable_object_ms)} ms; the runtime process (all threads, simulators included, no profiler): ${f(c.process_per_request_ms)} ms\n`,
	);
	console.log("| file | ms per request |");
	console.log("|---|---:|");
	for (const [file, ms] of Object.entries(c.by_file_ms).slice(0, 15)) console.log(`| ${file} | ${ms.toFixed(2)} |`);
	console.log("\n| function (a builtin under its caller) | ms per request |");
	console.log("|---|---:|");
	for (const [fn, ms] of Object.entries(c.by_function_ms ?? {})) console.log(`| ${fn} | ${ms.toFixed(2)} |`);
}
if (run("memory") && results.memory) {
	console.log("\nImages in flight: what the Worker's isolate holds (inspector), process RSS beside it\n");
	console.log(
		"| mode | image | in flight | image MB | isolate peak MiB | per image MiB (range of repeats) | after / retained after GC MiB | process RSS growth MiB | ok |",
	);
	console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|");
	for (const r of results.memory) {
		console.log(
			`| ${r.mode} | ${r.image} | ${r.in_flight} | ${(r.image_bytes / 1e6).toFixed(r.image_bytes < 1e6 ? 3 : 1)} | ${f(r.peak_mb)} | ${r.peak_per_image_mb.toFixed(2)}${r.repeats > 1 ? ` (${r.peak_per_image_range_mb.map((x) => x.toFixed(2)).join(" to ")}, ${r.repeats} runs)` : ""} | ${f(r.after_mb)} / ${f(r.retained_mb)} | ${f(r.process_rss_growth_mb)} | ${r.succeeded}/${r.in_flight} |`,
		);
	}
}
if (run("admissions") && results.admissions) {
	console.log("\nKeyAccount admissions vs the write floor (real Durable Objects in workerd, native RPC, interleaved rounds)\n");
	console.log(
		"| operation | keys | per second (median of rounds) | of floor (median; range of rounds) | process CPU ms per task | of floor by CPU (median; range) | call p50 / p99 ms |",
	);
	console.log("|---|---:|---:|---:|---:|---:|---:|");
	const pct = (x: number) => `${Math.round(x * 100)}%`;
	const label = {
		floor: "floor: two calls of one write",
		pair: "admit + settle",
		pair_unflushed: "admit + settle, outbox flush held back",
		floor_3x1KB: "floor: two calls of 3 x 1 KB writes",
	};
	for (const r of results.admissions)
		console.log(
			`| ${label[r.op]} | ${r.keys} | ${f(r.per_s)} | ${pct(r.of_floor)}${r.of_floor_range ? `; ${pct(r.of_floor_range[0])} to ${pct(r.of_floor_range[1])}` : ""} | ${r.cpu_ms_per_task?.toFixed(2) ?? "-"} | ${r.of_floor_cpu ? `${pct(r.of_floor_cpu)}; ${pct(r.of_floor_cpu_range[0])} to ${pct(r.of_floor_cpu_range[1])}` : "-"} | ${f(r.call_p50_ms)} / ${f(r.call_p99_ms)} |`,
		);
}
if (run("upstreams") && results.upstreams) {
	const u = results.upstreams;
	const us = (n: number) => (Math.abs(n) < 10 ? n.toFixed(2) : f(n));
	console.log("\nUpstream pool: what sharing health between isolates adds (same run)\n");
	console.log("| measure | sharing off | sharing on | added |");
	console.log("|---|---:|---:|---:|");
	console.log(`| routing decision per request (µs) | ${us(u.route_local_us)} | ${us(u.route_shared_us)} | ${us(u.shared_added_us)} |`);
	console.log(
		`| gateway p50 / p99, 512 px image, pool of 3 (ms, ${u.e2e_requests} requests each) | ${f(u.e2e_local_p50_ms)} / ${f(u.e2e_local_p99_ms)} | ${f(u.e2e_shared_p50_ms)} / ${f(u.e2e_shared_p99_ms)} | ${f(u.e2e_shared_p50_ms - u.e2e_local_p50_ms)} (p50) |`,
	);
	console.log(`\nOne background sync with the UpstreamHealth object: ${f(u.sync_ms)} ms (off every request's path).`);
}
if (run("d1") && results.d1) printD1(results.d1);
if (run("startup") && results.startup) {
	const s = results.startup;
	console.log(
		`\nCold start: bundle ${f(s.bundle_kib)} KiB (${f(s.bundle_gzip_kib)} KiB gzip); startup CPU ${f(s.startup_cpu_ms_min)} ms lowest of ${s.runs}, median ${f(s.startup_cpu_ms_median)} (GC ${f(s.startup_gc_ms)} ms in the lowest)\n`,
	);
	console.log("| startup CPU by file (lowest run) | ms |");
	console.log("|---|---:|");
	for (const [file, ms] of Object.entries(s.startup_by_file_ms)) console.log(`| ${file} | ${ms.toFixed(1)} |`);
	console.log("\n| bundle by source | KiB |");
	console.log("|---|---:|");
	for (const [src, kib] of Object.entries(s.bundle_by_source_kib)) console.log(`| ${src} | ${kib.toFixed(1)} |`);
}
console.log("\nTargets\n");
console.log("| target | measured | met |");
console.log("|---|---:|---|");
for (const t of results.targets) console.log(`| ${t.target} | ${t.measured} | ${t.met ? "yes" : "no"} |`);
writeFileSync("bench/results.json", `${JSON.stringify(results, null, 2)}\n`);
console.log("\nwritten to bench/results.json");
