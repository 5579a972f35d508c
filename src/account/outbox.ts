/**
 * Moves a KeyAccount's outbox rows to D1. Rows leave the outbox only after D1 has
 * committed them; inserts are idempotent by primary key, so a flush that dies between
 * the D1 commit and the local delete re-sends rows D1 already has and nothing doubles.
 */
import { ledgerInserts, usageUpserts } from "../storage/db";
import type { LedgerRow, UsageRow } from "./records";

const BATCH = 200;

export async function flushOutbox(sql: SqlStorage, db: D1Database): Promise<{ flushed: number; pending: number }> {
	let flushed = 0;
	for (;;) {
		const rows = sql
			.exec<{ seq: number; kind: string; payload: string }>("SELECT seq, kind, payload FROM outbox ORDER BY seq LIMIT ?", BATCH)
			.toArray();
		if (rows.length === 0) break;
		// One multi-row statement per table and parameter limit, not one per row.
		const usage: UsageRow[] = [];
		const ledger: (LedgerRow & { seq: number })[] = [];
		for (const row of rows) {
			if (row.kind === "usage") usage.push(JSON.parse(row.payload) as UsageRow);
			else {
				// Rows queued before ledger rows carried their seq take the outbox's, which it continues.
				const entry = JSON.parse(row.payload) as LedgerRow;
				ledger.push({ ...entry, seq: entry.seq ?? row.seq });
			}
		}
		const statements = [...usageUpserts(db, usage), ...ledgerInserts(db, ledger)];
		try {
			await db.batch(statements);
		} catch (error) {
			console.error(JSON.stringify({ event: "outbox_flush_failed", rows: rows.length, error: String(error) }));
			break;
		}
		sql.exec("DELETE FROM outbox WHERE seq <= ?", rows[rows.length - 1].seq);
		flushed += rows.length;
	}
	const pending = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one().n;
	return { flushed, pending };
}
