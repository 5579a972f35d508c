/**
 * The cron trigger's maintenance: the account sweep, retention (src/retention.ts), model
 * discovery and, every minute, the usage archive (src/storage/archive.ts: export to R2,
 * roll up, prune).
 *
 * The account sweep. Each KeyAccount keeps itself tidy with its own alarm
 * (releasing expired holds, flushing its outbox to D1); this sweep is the safety net for
 * an alarm that was lost, visiting active keys in pages and asking each to maintain itself.
 */
import { accountFor } from "./account/key-account";
import type { GatewayConfig } from "./config";
import { sweepBatches } from "./jobs/batch/sweep";
import { schedulePipelines } from "./jobs/pipelines";
import { sweepStandardJobs } from "./jobs/sweep";
import { retentionPass } from "./retention";
import { archiveUsage } from "./storage/archive";
import { discoverIfDue } from "./upstreams/discovery";

const PAGE = 100;
const MAX_KEYS_PER_RUN = 2_000;

export async function sweepAccounts(env: Env): Promise<{ visited: number; released: number; flushed: number; pending: number }> {
	const totals = { visited: 0, released: 0, flushed: 0, pending: 0 };
	let after = "";
	while (totals.visited < MAX_KEYS_PER_RUN) {
		const page = await env.DB.prepare("SELECT id, key_hash FROM api_keys WHERE status = 'active' AND id > ? ORDER BY id LIMIT ?")
			.bind(after, PAGE)
			.all<{ id: string; key_hash: string }>();
		if (page.results.length === 0) break;
		const results = await Promise.allSettled(page.results.map((k) => accountFor(env, k.key_hash).maintain()));
		for (const r of results) {
			if (r.status === "fulfilled") {
				totals.released += r.value.released;
				totals.flushed += r.value.flushed;
				totals.pending += r.value.pending;
			}
		}
		totals.visited += page.results.length;
		after = page.results[page.results.length - 1].id;
	}
	return totals;
}

/** Everything the per-minute cron trigger does. */
export async function runScheduled(env: Env, at: Date, config: GatewayConfig): Promise<Record<string, unknown>> {
	const out: Record<string, unknown> = {
		pipelines: await schedulePipelines(env, at, config.batchWindowSeconds),
		batches: await sweepBatches(env, at, config),
		jobs: await sweepStandardJobs(env, at, config),
	};
	// Bounded (a few hours of rows per table and run): D1 stays within the retention window.
	try {
		out.usage_archive = await archiveUsage(env, at, { retentionDays: config.usageRetentionDays });
	} catch (error) {
		console.error(JSON.stringify({ event: "usage_archive_failed", error: String(error) }));
		out.usage_archive = { error: String(error instanceof Error ? error.message : error) };
	}
	// The heavier sweeps run every fifth minute.
	if (at.getUTCMinutes() % 5 === 0) {
		out.accounts = await sweepAccounts(env);
		// Always: replay bodies and ended jobs' inputs expire whether or not images do.
		out.retention = await retentionPass(env, at, config);
		// Which model ids exist upstream: at most hourly, whatever the trigger's rate.
		try {
			const d = await discoverIfDue(config, env.DB, at.getTime());
			out.discovery =
				d === "not_due"
					? d
					: {
							upstreams: d.map((r) => r.upstream),
							listed: d.reduce((n, r) => n + r.listed, 0),
							missing: [...new Set(d.flatMap((r) => r.missing))],
						};
		} catch (error) {
			out.discovery = { error: String(error instanceof Error ? error.message : error) };
		}
	}
	return out;
}
