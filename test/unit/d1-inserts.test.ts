/**
 * The outbox's multi-row D1 statements: D1 binds at most 100 parameters per statement, so
 * rows are split into as few statements as fit, every row bound once, in order.
 */
import { describe, expect, it } from "vitest";
import type { LedgerRow, UsageRow } from "../../src/account/records";
import { ledgerInserts, usageUpserts } from "../../src/storage/db";

interface Recorded {
	sql: string;
	params: unknown[];
}

function recordingDb(): { db: D1Database; statements: Recorded[] } {
	const statements: Recorded[] = [];
	const db = {
		prepare(sql: string) {
			return {
				bind(...params: unknown[]) {
					statements.push({ sql, params });
					return {} as D1PreparedStatement;
				},
			};
		},
	} as unknown as D1Database;
	return { db, statements };
}

const ledger = (i: number): LedgerRow => ({
	id: `led_${i}`,
	key_id: "key_x",
	request_id: `req_${i}`,
	kind: "charge",
	amount: -i,
	balance_after: 1000 - i,
	reason: null,
	created_at: "2026-11-22T00:00:00.000Z",
});

describe("multi-row D1 inserts", () => {
	it("ledger rows: 11 to a statement (9 columns), every row once and in order", () => {
		const { db, statements } = recordingDb();
		const rows = Array.from({ length: 25 }, (_, i) => ({ ...ledger(i), seq: 100 + i }));
		expect(ledgerInserts(db, rows)).toHaveLength(3);
		expect(statements.map((s) => s.params.length)).toEqual([99, 99, 27]);
		for (const s of statements) {
			expect(s.params.length).toBeLessThanOrEqual(100);
			expect(s.sql.match(/\(\?/g)?.length).toBe(s.params.length / 9);
		}
		const ids = statements.flatMap((s) => s.params.filter((_p, i) => i % 9 === 0));
		expect(ids).toEqual(rows.map((r) => r.id));
		expect(statements[0].params.slice(0, 9)).toEqual([
			"led_0",
			100,
			"key_x",
			"req_0",
			"charge",
			-0,
			1000,
			null,
			"2026-11-22T00:00:00.000Z",
		]);
	});

	it("usage rows: 3 to a statement (27 columns); a missing newer column gets its default, never undefined", () => {
		const { db, statements } = recordingDb();
		const row = { request_id: "req_u", key_id: "key_x", day: "2026-11-22" } as unknown as UsageRow;
		expect(
			usageUpserts(
				db,
				Array.from({ length: 9 }, () => row),
			),
		).toHaveLength(3);
		expect(statements.map((s) => s.params.length / 27)).toEqual([3, 3, 3]);
		expect(statements.every((s) => s.sql.startsWith("INSERT INTO usage") && s.sql.includes("ON CONFLICT (request_id) DO UPDATE"))).toBe(
			true,
		);
		expect(statements.flatMap((s) => s.params)).not.toContain(undefined);
		expect(statements[0].params).toContain("[]");
		expect(statements[0].params).toContain("{}");
	});

	it("no rows, no statements", () => {
		const { db, statements } = recordingDb();
		expect([...usageUpserts(db, []), ...ledgerInserts(db, [])]).toEqual([]);
		expect(statements).toEqual([]);
	});
});
