/**
 * Moves a KeyAccount's outbox rows to D1. Rows leave the outbox only after D1 has
 * committed them; inserts are idempotent by primary key, so a flush that dies between
 * the D1 commit and the local delete re-sends rows D1 already has and nothing doubles.
 */
import { ledgerInsert, usageUpsert } from "../storage/db";
import type { LedgerRow, UsageRow } from "./records";

const BATCH = 50;

export async function flushOutbox(sql: SqlStorage, db: D1Database): Promise<{ flushed: number; pending: number }> {
	let flushed = 0;
	for (;;) {
		const rows = sql
			.exec<{ seq: number; kind: string; payload: string }>("SELECT seq, kind, payload FROM outbox ORDER BY seq LIMIT ?", BATCH)
			.toArray();
		if (rows.length === 0) break;
		const statements = rows.map((row) =>
			row.kind === "usage"
				? usageUpsert(db, JSON.parse(row.payload) as UsageRow)
				: ledgerInsert(db, JSON.parse(row.payload) as LedgerRow, row.seq),
		);
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
