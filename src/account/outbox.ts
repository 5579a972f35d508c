/**
 * The outbox: usage and ledger rows waiting for D1, in the object's SQLite. Rows leave it
 * only after D1 has committed them; inserts are idempotent by primary key, so a flush that
 * dies between the D1 commit and the local delete re-sends rows D1 already has and nothing
 * doubles.
 */
import { ledgerInserts, usageUpserts } from "../storage/db";
import type { LedgerRow, UsageRow } from "./records";
import { type Sql, valueRows } from "./sql";

export type OutboxRow = ["usage", UsageRow] | ["ledger", LedgerRow];

/** Rows sent to D1 per batch. */
const BATCH = 200;
/** Outbox rows per INSERT: 3 parameters each, and workerd's SQLite binds at most 100 a statement. */
const OUTBOX_CHUNK = 33;

export class Outbox {
	constructor(private readonly sql: Sql) {}

	/** Queues rows for D1, as few INSERTs as the parameter limit allows. */
	enqueue(rows: OutboxRow[]): void {
		const now = Date.now();
		for (let i = 0; i < rows.length; i += OUTBOX_CHUNK) {
			const chunk = rows.slice(i, i + OUTBOX_CHUNK);
			this
				.sql`INSERT INTO outbox (kind, payload, created_at) VALUES ${valueRows(chunk.map(([kind, payload]) => [kind, JSON.stringify(payload), now]))}`;
		}
	}

	/** Moves the queued rows to D1, oldest first, until none are left or D1 fails. */
	async flush(db: D1Database): Promise<{ flushed: number; pending: number }> {
		let flushed = 0;
		for (;;) {
			const rows = this.sql<{
				seq: number;
				kind: string;
				payload: string;
			}>`SELECT seq, kind, payload FROM outbox ORDER BY seq LIMIT ${BATCH}`.toArray();
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
			this.sql`DELETE FROM outbox WHERE seq <= ${rows[rows.length - 1].seq}`;
			flushed += rows.length;
		}
		const pending = this.sql<{ n: number }>`SELECT COUNT(*) AS n FROM outbox`.one().n;
		return { flushed, pending };
	}
}
