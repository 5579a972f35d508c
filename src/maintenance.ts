/**
 * The cron trigger's sweep. Each KeyAccount keeps itself tidy with its own alarm
 * (releasing expired holds, flushing its outbox to D1); this sweep is the safety net for
 * an alarm that was lost, visiting active keys in pages and asking each to maintain itself.
 */
import { accountFor } from "./account/key-account";

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
