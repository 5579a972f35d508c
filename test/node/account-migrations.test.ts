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
		expect(JSON.parse(state)).toEqual({ periods: {}, buckets: {}, cp: { rowid: 0, seq: 0, open: [] } });
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

describe("KeyAccount migration 7 (the holds journal)", () => {
	it("moves every hold over under its old id, adds open holds back to the checkpoint's balance, and continues the outbox's ledger seq", () => {
		const db = new DatabaseSync(":memory:");
		migrate(db, 0, 6);
		db.prepare(
			`INSERT INTO account (singleton, key_id, name, status, created_at, balance, limits, state)
			 VALUES (1, 'key_c', 'c', 'active', '2026-11-01T00:00:00Z', 1000, '{}', '{"periods":{"d:2026-11-21":{"requests":2,"images":1,"credits":5}},"window":[1795000000,1]}')`,
		).run();
		const hold = db.prepare(
			"INSERT INTO reservations (id, request_id, credits, images, day, month, usage, idem_key, created_at, expires_at, closed_at, charged, balance_after) VALUES (?, 'r', ?, 1, 'd', 'm', '{}', NULL, 10, 20, ?, ?, ?)",
		);
		hold.run("res_00019a0000000000000000000000a1", 5, 15, 5, 1000);
		hold.run("res_00019a0000000000000000000000b2", 30, null, null, null);
		const queue = db.prepare("INSERT INTO outbox (kind, payload, created_at) VALUES ('ledger', '{}', 1)");
		for (let i = 0; i < 7; i++) queue.run();

		migrate(db, 6, 7);

		const account = db.prepare("SELECT balance, state FROM account").get() as { balance: number; state: string };
		// The open hold's 30 are held in memory again after the migration, not in the row.
		expect(account.balance).toBe(1030);
		expect(JSON.parse(account.state)).toEqual({
			periods: { "d:2026-11-21": { requests: 2, images: 1, credits: 5 } },
			window: [1795000000, 1],
			cp: { rowid: 2, seq: 7, open: [2] },
		});
		expect(
			db.prepare("SELECT id, token, credits, reserve_seq, closed_at, settle_seq, charged, balance_after FROM holds ORDER BY id").all(),
		).toEqual([
			{
				id: 1,
				token: "res_00019a0000000000000000000000a1",
				credits: 5,
				reserve_seq: null,
				closed_at: 15,
				settle_seq: 0,
				charged: 5,
				balance_after: 1000,
			},
			{
				id: 2,
				token: "res_00019a0000000000000000000000b2",
				credits: 30,
				reserve_seq: null,
				closed_at: null,
				settle_seq: null,
				charged: null,
				balance_after: null,
			},
		]);
		const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
		expect(tables.map((t) => t.name)).not.toContain("reservations");
		// Only the primary key: an admission writes the table's last page and nothing else.
		expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'holds'").all()).toEqual([]);
	});
});

describe("KeyAccount migration 8 (spend controls, key events)", () => {
	it("gives an existing key no controls (no restriction) and an empty events table", () => {
		const db = new DatabaseSync(":memory:");
		migrate(db, 0, 7);
		db.prepare(
			"INSERT INTO account (singleton, key_id, name, status, created_at, balance, limits) VALUES (1, 'key_d', 'd', 'active', '2026-11-01T00:00:00Z', 70, '{\"images_per_day\":5}')",
		).run();

		migrate(db, 7, 8);

		expect(db.prepare("SELECT balance, limits, controls FROM account").get()).toEqual({
			balance: 70,
			limits: '{"images_per_day":5}',
			controls: "{}",
		});
		expect(db.prepare("SELECT COUNT(*) AS n FROM events").get()).toEqual({ n: 0 });
	});
});

describe("KeyAccount migration 9 (the balance may go below zero)", () => {
	it("keeps the account row whole, and a checkpoint may then save a negative balance", () => {
		const db = new DatabaseSync(":memory:");
		migrate(db, 0, 8);
		db.prepare(
			"INSERT INTO account (singleton, key_id, name, status, created_at, revoked_at, balance, limits, webhook_secret, state, controls) VALUES (1, 'key_e', 'e', 'revoked', '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', 70, '{\"images_per_day\":5}', 'whsec_x', '{\"cp\":{\"rowid\":3,\"seq\":9,\"open\":[]}}', '{\"allowed_models\":[\"nano-banana\"]}')",
		).run();
		const before = db.prepare("SELECT * FROM account").get();
		expect(() => db.prepare("UPDATE account SET balance = -1").run()).toThrow(/CHECK/);

		migrate(db, 8, 9);

		expect(db.prepare("SELECT * FROM account").get()).toEqual(before);
		db.prepare("UPDATE account SET balance = -40").run();
		expect(db.prepare("SELECT balance FROM account").get()).toEqual({ balance: -40 });
		expect(() =>
			db.prepare("INSERT INTO account (singleton, key_id, name, status, created_at) VALUES (2, 'k', 'n', 'active', 'x')").run(),
		).toThrow(/CHECK/);
		expect(MIGRATIONS).toHaveLength(9);
	});
});
