/**
 * The DevTools inspector of `wrangler dev`, for measuring the Worker's own isolate the way
 * production limits it (heap per isolate, CPU per request), not the workerd process,
 * which also holds the local R2, D1 and Durable Object simulators.
 *
 * wrangler runs two workerd processes (a proxy and the runtime); its inspector proxy at
 * `--inspector-port` speaks for the runtime's user isolate. It wants an `Origin` header.
 */
import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { fileURLToPath } from "node:url";

interface CdpMessage {
	id?: number;
	method?: string;
	params?: Record<string, unknown>;
	result?: Record<string, unknown>;
	error?: { message: string };
}

export interface HeapUsage {
	usedSize: number;
	totalSize: number;
	backingStorageSize: number;
	/** What the isolate holds: the JS heap in use plus array buffers' backing stores. */
	held: number;
}

interface ProfileNode {
	id: number;
	callFrame: { url: string; scriptId: string; lineNumber: number; columnNumber: number; functionName: string };
	hitCount?: number;
	children?: number[];
}

interface Profile {
	nodes: ProfileNode[];
	startTime: number;
	endTime: number;
	samples: number[];
	timeDeltas: number[];
}

export class Inspector {
	private id = 0;
	private readonly pending = new Map<number, (m: CdpMessage) => void>();
	private readonly scripts = new Map<string, { url: string; sourceMapURL?: string }>();
	/** When the last heap snapshot chunk arrived (see gc()). */
	private lastChunk = 0;

	private readonly ws: WebSocket;

	private constructor(ws: WebSocket) {
		this.ws = ws;
		ws.addEventListener("message", (e) => {
			const m = JSON.parse(String(e.data)) as CdpMessage;
			if (m.id !== undefined && this.pending.has(m.id) && (m.result !== undefined || m.error !== undefined)) {
				this.pending.get(m.id)?.(m);
				this.pending.delete(m.id);
			} else if (m.method === "HeapProfiler.addHeapSnapshotChunk") {
				this.lastChunk = Date.now();
			} else if (m.method === "Debugger.scriptParsed" && m.params) {
				const p = m.params as { scriptId: string; url: string; sourceMapURL?: string };
				this.scripts.set(p.scriptId, { url: p.url, sourceMapURL: p.sourceMapURL });
			}
		});
	}

	static async connect(port: number): Promise<Inspector> {
		// Node's WebSocket takes headers in its init (undici); the DOM typing does not know it.
		const init = { headers: { origin: "http://localhost" } } as unknown as string[];
		const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, init);
		await new Promise<void>((resolve, reject) => {
			ws.addEventListener("open", () => resolve());
			ws.addEventListener("error", () => reject(new Error(`inspector on port ${port} refused the connection`)));
		});
		const inspector = new Inspector(ws);
		await inspector.send("Debugger.enable");
		await inspector.send("HeapProfiler.enable");
		await inspector.send("Profiler.enable");
		return inspector;
	}

	/** One CDP call; undefined when the runtime does not answer within `timeoutMs`. */
	send(method: string, params: Record<string, unknown> = {}, timeoutMs = 5_000): Promise<CdpMessage | undefined> {
		const id = ++this.id;
		return new Promise((resolve) => {
			const timer = setTimeout(() => {
				this.pending.delete(id);
				resolve(undefined);
			}, timeoutMs);
			this.pending.set(id, (m) => {
				clearTimeout(timer);
				resolve(m);
			});
			this.ws.send(JSON.stringify({ id, method, params }));
		});
	}

	async heap(): Promise<HeapUsage> {
		const r = (await this.send("Runtime.getHeapUsage"))?.result as { usedSize: number; totalSize: number; backingStorageSize?: number };
		const backing = r.backingStorageSize ?? 0;
		return { usedSize: r.usedSize, totalSize: r.totalSize, backingStorageSize: backing, held: r.usedSize + backing };
	}

	/**
	 * A full GC. workerd ignores `HeapProfiler.collectGarbage`, but a heap snapshot collects
	 * garbage first; it streams the snapshot in chunks and does not always answer the call,
	 * so this waits until the chunks stop.
	 */
	async gc(): Promise<void> {
		this.lastChunk = 0;
		const answered = this.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false }, 60_000);
		const started = Date.now();
		for (;;) {
			const done = await Promise.race([answered.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 100))]);
			if (done) return;
			const quiet = this.lastChunk > 0 && Date.now() - this.lastChunk > 500;
			if (quiet || Date.now() - started > 60_000) return;
		}
	}

	/**
	 * Samples the isolate's heap every `intervalMs` while `work` runs; the peak and the
	 * baseline before it.
	 */
	async peakDuring(work: () => Promise<void>, intervalMs = 5): Promise<{ base: number; peak: number; after: number }> {
		const base = (await this.heap()).held;
		let peak = base;
		let running = true;
		const sampler = (async () => {
			while (running) {
				peak = Math.max(peak, (await this.heap()).held);
				await new Promise((r) => setTimeout(r, intervalMs));
			}
		})();
		try {
			await work();
		} finally {
			running = false;
			await sampler;
		}
		peak = Math.max(peak, (await this.heap()).held);
		return { base, peak, after: (await this.heap()).held };
	}

	/** CPU profile of `work`, with self time grouped by source file through the bundle's source map. */
	async cpu(work: () => Promise<void>, opts: { intervalUs?: number; objectFile?: string } = {}): Promise<CpuProfile> {
		const intervalUs = opts.intervalUs ?? 100;
		await this.send("Profiler.setSamplingInterval", { interval: intervalUs });
		await this.send("Profiler.start");
		await work();
		const stopped = await this.send("Profiler.stop", {}, 30_000);
		const profile = stopped?.result?.profile as Profile | undefined;
		if (!profile) throw new Error("the inspector returned no profile");
		return attribute(profile, (scriptId) => this.sourceMapFor(scriptId), opts.objectFile);
	}

	private readonly maps = new Map<string, SourceMap | null>();

	private sourceMapFor(scriptId: string): SourceMap | null {
		if (this.maps.has(scriptId)) return this.maps.get(scriptId) ?? null;
		let map: SourceMap | null = null;
		const script = this.scripts.get(scriptId);
		if (script?.sourceMapURL && script.url.startsWith("file://")) {
			try {
				const path = new URL(script.sourceMapURL, script.url);
				map = new SourceMap(JSON.parse(readFileSync(fileURLToPath(path), "utf8")));
			} catch {
				map = null;
			}
		}
		this.maps.set(scriptId, map);
		return map;
	}

	close(): void {
		this.ws.close();
	}
}

/**
 * Self time per source file (ms). workerd samples only while the isolate runs, so the
 * first sample after a pause carries the whole pause in its delta; each sample is
 * credited at most `MAX_TICKS` sampling ticks (the tick: the profile's 10th-percentile
 * delta, what a busy isolate shows), so waiting is not counted as CPU.
 */
const MAX_TICKS = 3;

/** Isolate CPU of a profile: total, by source file, and by function (a builtin under its JS caller). */
export interface CpuProfile {
	totalMs: number;
	/**
	 * Of the total, samples with a frame of `objectFile` on their stack: the Durable Object's
	 * work (locally in the same isolate; in production its own isolate, elsewhere).
	 */
	objectMs: number;
	byFile: Record<string, number>;
	byFunction: Record<string, number>;
}

function attribute(profile: Profile, mapFor: (scriptId: string) => SourceMap | null, objectFile?: string): CpuProfile {
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const parent = new Map<number, number>();
	for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
	const byFunction: Record<string, number> = {};
	const inObject = new Map<number, boolean>();
	const underObject = (id: number): boolean => {
		const known = inObject.get(id);
		if (known !== undefined) return known;
		const node = byId.get(id);
		const up = parent.get(id);
		const yes =
			objectFile !== undefined &&
			((node?.callFrame.url !== undefined && node.callFrame.url !== "" && fileOf(node, mapFor) === objectFile) ||
				(up !== undefined && underObject(up)));
		inObject.set(id, yes);
		return yes;
	};
	let objectMs = 0;
	// "name (file)" for JS; a builtin or API call is named under the nearest JS frame above it.
	const functionOf = (node: ProfileNode): string => {
		const own = node.callFrame.functionName || "(anonymous)";
		if (node.callFrame.url) return `${own} (${fileOf(node, mapFor)}${lineOf(node, mapFor)})`;
		for (let up = parent.get(node.id); up !== undefined; up = parent.get(up)) {
			const caller = byId.get(up);
			if (caller?.callFrame.url) return `${own} <- ${functionOf(caller)}`;
		}
		return own;
	};
	const deltas = [...profile.timeDeltas].sort((a, b) => a - b);
	const tick = deltas[Math.floor(deltas.length * 0.1)] ?? 0;
	const byFile: Record<string, number> = {};
	let total = 0;
	profile.samples.forEach((nodeId, i) => {
		const ms = Math.min(profile.timeDeltas[i] ?? 0, MAX_TICKS * tick) / 1000;
		const node = byId.get(nodeId);
		if (!node) return;
		const name = node.callFrame.functionName;
		if (name === "(idle)" || name === "(program)") return;
		total += ms;
		if (underObject(nodeId)) objectMs += ms;
		const file = fileOf(node, mapFor);
		byFile[file] = (byFile[file] ?? 0) + ms;
		const fn = functionOf(node);
		byFunction[fn] = (byFunction[fn] ?? 0) + ms;
	});
	return { totalMs: total, objectMs, byFile, byFunction };
}

/** ":line" of a frame's function in its original source, when the source map knows it. */
function lineOf(node: ProfileNode, mapFor: (scriptId: string) => SourceMap | null): string {
	const entry = mapFor(node.callFrame.scriptId)?.findEntry(node.callFrame.lineNumber, node.callFrame.columnNumber) as
		| { originalLine?: number }
		| undefined;
	return entry?.originalLine === undefined ? "" : `:${entry.originalLine + 1}`;
}

function fileOf(node: ProfileNode, mapFor: (scriptId: string) => SourceMap | null): string {
	const { url, scriptId, lineNumber, columnNumber, functionName } = node.callFrame;
	if (!url) return functionName === "(garbage collector)" ? "(gc)" : "(runtime)";
	const map = mapFor(scriptId);
	if (!map) return url.replace(/^.*\//, "");
	const entry = map.findEntry(lineNumber, columnNumber) as { originalSource?: string };
	const source = entry.originalSource ?? "(bundle)";
	const at = source.indexOf("/src/");
	if (at !== -1) return source.slice(at + 1);
	// node_modules/pkg or node_modules/@scope/pkg
	const pkg = source.match(/node_modules\/(@[^/]+\/)?[^/]+/);
	return pkg ? pkg[0] : source;
}
