/**
 * KeyAccount's journal (src/account/store.ts): admissions and settlements write only their
 * hold row, the account row is a checkpoint, and the memory every call reads is rebuilt
 * from the two after a restart. These tests restart the object (the test pool evicts it:
 * the next call meets a new instance, which rebuilds its memory from storage) after every
 * step, and check that it answers as before and that the memory it rebuilt is the expected.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { KeyAccount } from "../../src/account/key-account";
import { AccountStore, dayOf, monthOf } from "../../src/account/store";
import { accountOf, createKey, deliveredOutcome, flushUsage, ledgerRows, ROOMY_LIMITS, testDraft, usageRows } from "../helpers/http";

const draft = (requestId: string) => testDraft(requestId, 2);
const delivered = deliveredOutcome;

/** What every call reads from memory. */
function memoryOf(s: AccountStore, now = Date.now()) {
	return {
		balance: s.balance(),
		held: s.heldCredits(),
		open: s.openHolds(),
		today: { ...s.period(`d:${dayOf(now)}`) },
		month: { ...s.period(`m:${monthOf(now)}`) },
		window: s.recentRequests(Math.floor(now / 1000)).n,
		earliest: s.earliestExpiry(),
	};
}

/**
 * Restarts the object and checks that it reports what it did before. Returns the memory a
 * start builds from its storage (a store opened on it, as the new instance's is), which
 * must agree with what the object reports.
 */
async function restarted(stub: DurableObjectStub<KeyAccount>) {
	const before = await stub.describe();
	await evictDurableObject(stub);
	const after = await stub.describe();
	expect(after).toEqual(before);
	const memory = await runInDurableObject(stub, (_instance, state) => {
		const store = new AccountStore(state.storage);
		store.reload();
		return memoryOf(store);
	});
	expect(memory.earliest === null).toBe(memory.open === 0);
	expect(memory).toMatchObject({
		balance: after?.credits,
		held: after?.reservedCredits,
		today: after?.usage.today,
		month: after?.usage.this_month,
	});
	return memory;
}

describe("the journal: a restart at any point rebuilds the same memory", () => {
	it("after grants, admissions (with and without idempotency), settlements, expiry and checkpoints", async () => {
		const k = await createKey(undefined, { credits: 1000, limits: ROOMY_LIMITS });
		const stub = await accountOf(k.key);
		const same = () => restarted(stub);
		expect((await same()).balance).toBe(1000);

		const a = await stub.admit({ draft: draft("req_j1"), credits: 10, images: 2, ttlMs: 600_000 });
		const b = await stub.admit({
			draft: draft("req_j2"),
			credits: 10,
			images: 2,
			ttlMs: 600_000,
			idempotency: { key: "idem_j2", bodyHash: "h" },
		});
		// c outlives the restarts below (each a new instance), then expires unsettled.
		const cTtl = 4_000;
		const cExpires = Date.now() + cTtl;
		const c = await stub.admit({ draft: draft("req_j3"), credits: 10, images: 2, ttlMs: cTtl });
		if (!a.ok || !b.ok || !c.ok) throw new Error("not admitted");
		expect(await same()).toMatchObject({ balance: 970, held: 30, open: 3, window: 3 });

		await stub.settle({ reservationId: a.reservationId, charge: 5, outcome: delivered(1) });
		expect(await same()).toMatchObject({ balance: 975, held: 20, open: 2 });
		await stub.flush(); // a checkpoint: b and c are open in it
		expect(await same()).toMatchObject({ balance: 975, held: 20, open: 2 });

		await stub.settle({
			reservationId: b.reservationId,
			charge: 10,
			outcome: delivered(2),
			response: { status: 200, headers: {}, body: "{}" },
		});
		await new Promise((r) => setTimeout(r, Math.max(0, cExpires - Date.now()) + 20));
		await stub.maintain(); // c expired: released; a checkpoint
		expect(await same()).toMatchObject({ balance: 985, held: 0, open: 0, today: { requests: 3, images: 3, credits: 15 } });
		expect(await stub.adjustCredits(15, "top-up", "grant")).toEqual({ ok: true, balance: 1000 });
		const d = await stub.admit({ draft: draft("req_j4"), credits: 10, images: 2, ttlMs: 600_000 });
		if (!d.ok) throw new Error("not admitted");
		// The restarted object counts the three admissions of the last minute before this one.
		expect(d.rateLimit.remaining).toBe(ROOMY_LIMITS.requests_per_minute - 4);
		expect(await same()).toMatchObject({ balance: 990, held: 10, open: 1, window: 4 });

		// Settling twice returns the first result, also after a restart of the object.
		const first = await stub.settle({ reservationId: d.reservationId, charge: 10, outcome: delivered(2) });
		expect(first).toEqual({ charged: 10, balance: 990 });
		await evictDurableObject(stub);
		expect(await stub.settle({ reservationId: d.reservationId, charge: 0, outcome: delivered(0) })).toEqual(first);
		expect(await same()).toMatchObject({ balance: 990, held: 0 });

		// D1 gets every row once; in seq order each balance_after follows from the one before.
		await flushUsage(k.key);
		const ledger = await ledgerRows(k.id);
		// c is released by the alarm or by maintain(): the rows are compared as a set, and
		// their order through the balance chain below.
		const byKey = (x: unknown[], y: unknown[]) => JSON.stringify(x).localeCompare(JSON.stringify(y));
		expect(ledger.map((l) => [l.kind, l.amount, l.request_id]).sort(byKey)).toEqual(
			[
				["grant", 1000, null],
				["reserve", -10, "req_j1"],
				["reserve", -10, "req_j2"],
				["reserve", -10, "req_j3"],
				["release", 10, "req_j1"],
				["charge", -5, "req_j1"],
				["release", 10, "req_j2"],
				["charge", -10, "req_j2"],
				["release", 10, "req_j3"],
				["grant", 15, null],
				["reserve", -10, "req_j4"],
				["release", 10, "req_j4"],
				["charge", -10, "req_j4"],
			].sort(byKey),
		);
		// Each request's rows in the order they happened.
		for (const rid of ["req_j1", "req_j2", "req_j4"])
			expect(ledger.filter((l) => l.request_id === rid).map((l) => l.kind)).toEqual(["reserve", "release", "charge"]);
		expect(ledger.filter((l) => l.request_id === "req_j3").map((l) => [l.kind, l.reason])).toEqual([
			["reserve", null],
			["release", "reservation expired"],
		]);
		for (let i = 1; i < ledger.length; i++) {
			expect(ledger[i].seq).toBeGreaterThan(ledger[i - 1].seq);
			expect(ledger[i].balance_after).toBe(ledger[i - 1].balance_after + ledger[i].amount);
		}
		expect(ledger.at(-1)?.balance_after).toBe(990);
		const usage = await usageRows(k.id);
		expect(Object.fromEntries(usage.map((u) => [u.request_id, [u.images_delivered, u.credits_charged, u.error_code]]))).toEqual({
			req_j1: [1, 5, null],
			req_j2: [2, 10, null],
			req_j3: [0, 0, "reservation_expired"],
			req_j4: [2, 10, null],
		});
	});
});

describe("KeyAccount migration 7 on a live object", () => {
	it("a hold admitted before the journal settles under its old id after the upgrade, with its ledger rows after the old ones", async () => {
		const k = await createKey(undefined, { credits: 100, limits: ROOMY_LIMITS });
		const stub = await accountOf(k.key);
		await stub.flush();
		// The grant's flush alarm runs now, not in the middle of the downgrade below.
		await runDurableObjectAlarm(stub);
		const oldId = "res_00019a00000000aaaaaaaaaaaaaaaaaaaa";
		await runInDurableObject(stub, (_instance, state) => {
			const sql = state.storage.sql;
			// Put the object back to migration 6 with one open hold of 40 (its reserve row queued).
			state.storage.transactionSync(() => {
				sql.exec("DROP TABLE holds");
				sql.exec(`CREATE TABLE reservations (id TEXT PRIMARY KEY, request_id TEXT NOT NULL, credits INTEGER NOT NULL, images INTEGER NOT NULL,
					day TEXT NOT NULL, month TEXT NOT NULL, usage TEXT NOT NULL, idem_key TEXT, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
					closed_at INTEGER, charged INTEGER, balance_after INTEGER)`);
				sql.exec(
					"INSERT INTO reservations (id, request_id, credits, images, day, month, usage, idem_key, created_at, expires_at) VALUES (?, 'req_old', 40, 2, ?, ?, ?, NULL, ?, ?)",
					oldId,
					dayOf(Date.now()),
					monthOf(Date.now()),
					JSON.stringify(draft("req_old")),
					Date.now(),
					Date.now() + 600_000,
				);
				sql.exec("UPDATE account SET balance = 60, state = '{}'");
				sql.exec(
					"INSERT INTO outbox (kind, payload, created_at) VALUES ('ledger', ?, 0)",
					JSON.stringify({
						id: "led_00019a00000000aaaaaaaaaaaaaaaaaaaa_reserve",
						key_id: k.id,
						request_id: "req_old",
						kind: "reserve",
						amount: -40,
						balance_after: 60,
						reason: null,
						created_at: new Date().toISOString(),
					}),
				);
				// ...and before migration 8 (spend controls, key events), which follows 7.
				sql.exec("DROP TABLE events");
				sql.exec("ALTER TABLE account DROP COLUMN controls");
				sql.exec("DELETE FROM _migrations WHERE version >= 7");
			});
		});
		// The next instance migrates it again.
		await evictDurableObject(stub);
		expect(await stub.describe()).toMatchObject({ credits: 60, reservedCredits: 40 });
		expect(await stub.settle({ reservationId: oldId, charge: 5, outcome: delivered(1) })).toEqual({ charged: 5, balance: 95 });
		expect(await restarted(stub)).toMatchObject({ balance: 95, held: 0, open: 0 });
		await flushUsage(k.key);
		const ledger = await ledgerRows(k.id);
		expect(ledger.map((l) => [l.id.replace(/^led_[0-9a-f]{32}$/, "led_random"), l.kind, l.amount, l.balance_after])).toEqual([
			["led_random", "grant", 100, 100],
			["led_00019a00000000aaaaaaaaaaaaaaaaaaaa_reserve", "reserve", -40, 60],
			["led_00019a00000000aaaaaaaaaaaaaaaaaaaa_release", "release", 40, 100],
			["led_00019a00000000aaaaaaaaaaaaaaaaaaaa_charge", "charge", -5, 95],
		]);
		// Settling it again (a redelivered message) finds the first result by its old id.
		expect(await stub.settle({ reservationId: oldId, charge: 0, outcome: delivered(0) })).toEqual({ charged: 5, balance: 95 });
	});
});
