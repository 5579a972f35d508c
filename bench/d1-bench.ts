/**
 * `npm run bench -- d1`: a day of reseller traffic through the real outbox path into local
 * D1 (bench/d1-worker.ts under `wrangler dev`), then the usage archive over it: bytes per
 * request, database size, insert throughput, and the time of each prune pass (one cron
 * run: export to R2, roll up, delete). docs/operating.md explains the figures.
 */
import { startWrangler } from "./lib.ts";

export interface D1Bench {
	requests: number;
	usage_rows: number;
	ledger_rows: number;
	insert_seconds: number;
	rows_per_s: number;
	requests_per_s: number;
	db_bytes: number;
	bytes_per_request: number;
	bytes_per_row: number;
	/** Each cron run of the archive (1 hour per table, the default bound), until the day was gone. */
	prune_passes: Array<{ ms: number; usage_rows: number; ledger_rows: number }>;
	prune_pass_median_ms: number;
	prune_rows_per_s: number;
	db_bytes_after_prune: number;
	free_bytes_after_prune: number | null;
	export_bytes_per_request: number;
	usage_daily_rows: number;
}

interface Fill {
	requests: number;
	rows: number;
	ms: number;
	bytes: number;
	usage: number;
	ledger: number;
}

export async function d1Bench(requests = 256_000, step = 16_000): Promise<D1Bench> {
	const w = await startWrangler({ config: "bench/wrangler.d1.toml", port: 8941, inspectorPort: 9941, ready: "/size" });
	try {
		let insertMs = 0;
		let last: Fill | undefined;
		for (let from = 0; from < requests; from += step) {
			const res = await fetch(`${w.url}/fill?requests=${step}&total=${requests}&from=${from}&keys=8&chunk=250&day=2026-09-01`);
			if (!res.ok) throw new Error(`fill failed: ${res.status} ${await res.text()}`);
			last = (await res.json()) as Fill;
			insertMs += last.ms;
			console.log(
				`  d1: ${last.usage} usage + ${last.ledger} ledger rows, ${(last.bytes / 2 ** 20).toFixed(1)} MiB, ${Math.round(last.rows / (last.ms / 1000))} rows/s`,
			);
		}
		if (!last) throw new Error("nothing inserted");
		const rows = last.usage + last.ledger;
		const passes: D1Bench["prune_passes"] = [];
		let after = { bytes: 0, free_bytes: null as number | null, usage: last.usage, ledger: last.ledger };
		while (after.usage + after.ledger > 0) {
			const res = await fetch(`${w.url}/prune?hours=1`);
			if (!res.ok) throw new Error(`prune failed: ${res.status} ${await res.text()}`);
			const p = (await res.json()) as { ms: number; result: Record<string, { deleted: number }> } & typeof after;
			passes.push({ ms: p.ms, usage_rows: p.result.usage.deleted, ledger_rows: p.result.credit_ledger.deleted });
			after = p;
			console.log(
				`  d1: prune pass ${passes.length}: ${Math.round(p.ms)} ms, ${p.result.usage.deleted} + ${p.result.credit_ledger.deleted} rows`,
			);
			if (passes.length > 60) throw new Error("the day did not go away");
		}
		const exp = (await (await fetch(`${w.url}/exports`)).json()) as { exports: Array<{ bytes: number }>; usage_daily_rows: number };
		const ms = passes.map((p) => p.ms).sort((a, b) => a - b);
		return {
			requests: last.usage,
			usage_rows: last.usage,
			ledger_rows: last.ledger,
			insert_seconds: insertMs / 1000,
			rows_per_s: rows / (insertMs / 1000),
			requests_per_s: last.usage / (insertMs / 1000),
			db_bytes: last.bytes,
			bytes_per_request: last.bytes / last.usage,
			bytes_per_row: last.bytes / rows,
			prune_passes: passes,
			prune_pass_median_ms: ms[Math.floor(ms.length / 2)],
			prune_rows_per_s: rows / (passes.reduce((n, p) => n + p.ms, 0) / 1000),
			db_bytes_after_prune: after.bytes,
			free_bytes_after_prune: after.free_bytes,
			export_bytes_per_request: exp.exports.reduce((n, e) => n + e.bytes, 0) / last.usage,
			usage_daily_rows: exp.usage_daily_rows,
		};
	} finally {
		await w.stop();
	}
}

/** The section's table, for the console. */
export function printD1(d: D1Bench): void {
	const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
	console.log("\nA day of usage + ledger rows through the outbox into local D1, then pruned (usage archive)\n");
	console.log("| figure | value |");
	console.log("|---|---:|");
	console.log(`| requests (usage rows) / ledger rows | ${d.usage_rows} / ${d.ledger_rows} |`);
	console.log(`| insert throughput | ${Math.round(d.rows_per_s)} rows/s (${Math.round(d.requests_per_s)} requests/s) |`);
	console.log(
		`| database size / bytes per request / per row | ${mib(d.db_bytes)} / ${Math.round(d.bytes_per_request)} / ${Math.round(d.bytes_per_row)} |`,
	);
	console.log(
		`| prune pass (one cron run: 1 hour of both tables), median | ${Math.round(d.prune_pass_median_ms)} ms (${d.prune_passes.length} passes, ${Math.round(d.prune_rows_per_s)} rows/s) |`,
	);
	console.log(
		`| after the prune: file / free pages | ${mib(d.db_bytes_after_prune)} / ${d.free_bytes_after_prune === null ? "-" : mib(d.free_bytes_after_prune)} |`,
	);
	console.log(
		`| R2 export (gzip NDJSON) per request / rollup rows | ${Math.round(d.export_bytes_per_request)} B / ${d.usage_daily_rows} |`,
	);
}
