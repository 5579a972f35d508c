/**
 * `npm run bench -- startup`: what a cold start costs. The Worker is bundled as deploy
 * bundles it (`wrangler deploy --dry-run`: size raw and gzip, and esbuild's metafile for
 * what takes the room), then `wrangler check startup` runs its startup phase under the
 * profiler several times: the CPU it reports (module evaluation plus GC) moves a lot on a
 * shared machine, so the lowest and the median are kept, and the lowest run's samples are
 * attributed to source files through the bundle's source map.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { SourceMap } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export interface StartupResult {
	bundle_kib: number;
	bundle_gzip_kib: number;
	/** What takes the bundle's room (esbuild's bytes in output, KiB), largest first. */
	bundle_by_source_kib: Record<string, number>;
	runs: number;
	/** `wrangler check startup`'s "Active" CPU (GC included), lowest and median of the runs. */
	startup_cpu_ms_min: number;
	startup_cpu_ms_median: number;
	/** Of the lowest run: garbage collection, and CPU by source file (ms). */
	startup_gc_ms: number;
	startup_by_file_ms: Record<string, number>;
}

interface Profile {
	nodes: Array<{
		id: number;
		children?: number[];
		callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
	}>;
	samples: number[];
	timeDeltas: number[];
}

/** `src/x.ts`, `node_modules/pkg`, or the bundle's own glue. */
function sourceOf(path: string): string {
	const at = path.indexOf("src/");
	if (at !== -1 && !path.includes("node_modules/")) return path.slice(at);
	const pkg = path.match(/node_modules\/(@[^/]+\/)?[^/]+/);
	return pkg ? pkg[0] : "(bundle)";
}

/**
 * CPU by the source file that caused it: a sample inside zod or hono is credited to the
 * innermost src/ frame above it (the module whose schemas or routes were being built).
 */
function byFile(profile: Profile, map: SourceMap): Record<string, number> {
	const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
	const parent = new Map<number, number>();
	for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
	const fileOf = (id: number): string | undefined => {
		const frame = nodes.get(id)?.callFrame;
		if (!frame?.url || frame.lineNumber < 0) return undefined;
		const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string };
		return entry.originalSource ? sourceOf(entry.originalSource) : "(bundle)";
	};
	const out: Record<string, number> = {};
	profile.samples.forEach((id, i) => {
		const frame = nodes.get(id)?.callFrame;
		if (!frame || frame.functionName === "(idle)" || frame.functionName === "(program)") return;
		const ms = (profile.timeDeltas[i] ?? 0) / 1000;
		let file = frame.functionName === "(garbage collector)" ? "(gc)" : (fileOf(id) ?? "(runtime)");
		for (let up = parent.get(id); up !== undefined && !file.startsWith("src/"); up = parent.get(up)) {
			const f = fileOf(up);
			if (f?.startsWith("src/")) file = `${f} (via ${file})`;
		}
		out[file] = (out[file] ?? 0) + ms;
	});
	return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

export function startup(runs = 7): StartupResult {
	const dir = mkdtempSync(join(tmpdir(), "nbg-startup-"));
	try {
		const meta = join(dir, "meta.json");
		execFileSync("wrangler", ["deploy", "--dry-run", "--outdir", join(dir, "out"), "--metafile", meta], { stdio: "pipe" });
		const bundle = join(dir, "out", "index.js");
		const bytes = readFileSync(bundle);
		const metafile = JSON.parse(readFileSync(meta, "utf8")) as {
			outputs: Record<string, { inputs?: Record<string, { bytesInOutput: number }> }>;
		};
		const inputs = Object.entries(metafile.outputs).find(([name]) => name.endsWith("index.js"))?.[1].inputs ?? {};
		const room: Record<string, number> = {};
		for (const [path, { bytesInOutput }] of Object.entries(inputs)) {
			const key = path.includes("node_modules/") ? sourceOf(path) : path.split("/").slice(0, 2).join("/");
			room[key] = (room[key] ?? 0) + bytesInOutput / 1024;
		}
		// `wrangler check startup` bundles the same way; its profile's positions are this bundle's.
		const map = new SourceMap(JSON.parse(readFileSync(`${bundle}.map`, "utf8")));
		const tries: Array<{ active: number; gc: number; files: Record<string, number> }> = [];
		for (let i = 0; i < runs; i++) {
			const outfile = join(dir, `startup-${i}.cpuprofile`);
			const text = execFileSync("wrangler", ["check", "startup", "--outfile", outfile], { encoding: "utf8", stdio: "pipe" });
			const m = text.match(/Active: ([\d.]+) ms \(including ([\d.]+) ms garbage collection\)/);
			if (!m) throw new Error(`wrangler check startup printed no Active line:\n${text}`);
			tries.push({ active: Number(m[1]), gc: Number(m[2]), files: byFile(JSON.parse(readFileSync(outfile, "utf8")) as Profile, map) });
		}
		tries.sort((a, b) => a.active - b.active);
		const round = (n: number) => Math.round(n * 10) / 10;
		return {
			bundle_kib: round(statSync(bundle).size / 1024),
			bundle_gzip_kib: round(gzipSync(bytes).length / 1024),
			bundle_by_source_kib: Object.fromEntries(
				Object.entries(room)
					.sort((a, b) => b[1] - a[1])
					.slice(0, 15)
					.map(([k, v]) => [k, round(v)]),
			),
			runs,
			startup_cpu_ms_min: tries[0].active,
			startup_cpu_ms_median: tries[Math.floor(tries.length / 2)].active,
			startup_gc_ms: tries[0].gc,
			startup_by_file_ms: Object.fromEntries(
				Object.entries(tries[0].files)
					.slice(0, 15)
					.map(([k, v]) => [k, round(v)]),
			),
		};
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}
