/**
 * KeyAccount's SQLite migrations on a key that already has history: the counters, the
 * per-minute window and the closed holds of an account made before migration 5 arrive in
 * the shapes the store reads (src/account/store.ts), and no open hold is lost. The
 * Durable Object's SQLite is SQLite; node:sqlite runs the same statements.
 */
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../src/account/schema.ts";

function migrate(db: DatabaseSync, from: number, to: number): void {
	for (let v = from; v < to; v++) {
		db.exec("BEGIN");
		for (const stmt of MIGRATIONS[v]) db.exec(stmt);
		db.exec("COMMIT");
	}
}

describe("KeyAccount migration 5 (state column, holds closed in place)", () => {
	it("carries an existing key's counters, rate window and closed holds over, and keeps open holds open", () => {
		const db = new DatabaseSync(":memory:");
		migrate(db, 0, 4);
		db.prepare(
			"INSERT INTO account (singleton, key_id, name, status, created_at, balance, limits) VALUES (1, 'key_a', 'a', 'active', '2026-11-01T00:00:00Z', 4200, '{}')",
		).run();
		const period = db.prepare("INSERT INTO counters (period, requests, images, credits) VALUES (?, ?, ?, ?)");
		period.run("d:2026-11-21", 7, 9, 3510);
		period.run("m:2026-11", 40, 52, 20280);
		const bucket = db.prepare("INSERT INTO rate_buckets (second, n) VALUES (?, ?)");
		bucket.run(1_795_000_000, 3);
		bucket.run(1_795_000_030, 1);
		db.prepare("INSERT INTO closed_reservations (id, charged, balance, at) VALUES ('res_closed', 390, 4200, 1795000001000)").run();
		db.prepare(
			"INSERT INTO reservations (id, request_id, credits, images, day, month, usage, idem_key, created_at, expires_at) VALUES ('res_open', 'req_1', 780, 2, '2026-11-21', '2026-11', '{}', NULL, 1, 2)",
		).run();

		migrate(db, 4, 5);

		const account = db.prepare("SELECT balance, state FROM account").get() as { balance: number; state: string };
		expect(account.balance).toBe(4200);
		expect(JSON.parse(account.state)).toEqual({
			periods: {
				"d:2026-11-21": { requests: 7, images: 9, credits: 3510 },
				"m:2026-11": { requests: 40, images: 52, credits: 20280 },
			},
			buckets: { "1795000000": 3, "1795000030": 1 },
		});
		const holds = db.prepare("SELECT id, credits, closed_at, charged, balance_after FROM reservations ORDER BY id").all();
		expect(holds).toEqual([
			{ id: "res_closed", credits: 0, closed_at: 1795000001000, charged: 390, balance_after: 4200 },
			{ id: "res_open", credits: 780, closed_at: null, charged: null, balance_after: null },
		]);
		const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
		expect(tables.map((t) => t.name)).not.toContain("counters");
		expect(tables.map((t) => t.name)).not.toContain("rate_buckets");
		expect(tables.map((t) => t.name)).not.toContain("closed_reservations");
	});

	it("gives a key with no history an empty state", () => {
		const db = new DatabaseSync(":memory:");
		migrate(db, 0, 4);
		db.prepare(
			"INSERT INTO account (singleton, key_id, name, status, created_at, balance, limits) VALUES (1, 'key_b', 'b', 'active', '2026-11-01T00:00:00Z', 0, '{}')",
		).run();
		migrate(db, 4, MIGRATIONS.length);
		const { state } = db.prepare("SELECT state FROM account").get() as { state: string };
		expect(JSON.parse(state)).toEqual({ periods: {}, buckets: {} });
	});
});

describe("KeyAccount migration 6 (fewer indexes written per call)", () => {
	it("drops the expiry and closed-at indexes, and loads open holds through a partial index of open rows only", () => {
		const db = new DatabaseSync(":memory:");
		migrate(db, 0, 5);
		const hold = db.prepare(
			"INSERT INTO reservations (id, request_id, credits, images, day, month, usage, idem_key, created_at, expires_at, closed_at) VALUES (?, 'r', 5, 1, 'd', 'm', '{}', NULL, 1, 2, ?)",
		);
		hold.run("res_open", null);
		hold.run("res_closed", 3);
		migrate(db, 5, 6);
		const indexes = db
			.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'reservations' AND sql IS NOT NULL")
			.all();
		expect(indexes).toEqual([{ name: "reservations_open", sql: expect.stringContaining("WHERE closed_at IS NULL") }]);
		const plan = db.prepare("EXPLAIN QUERY PLAN SELECT id FROM reservations WHERE closed_at IS NULL").all() as { detail: string }[];
		expect(plan.map((p) => p.detail).join(" ")).toContain("reservations_open");
		expect(db.prepare("SELECT id FROM reservations WHERE closed_at IS NULL").all()).toEqual([{ id: "res_open" }]);
	});
});
