/**
 * Settlements that meet an expired hold (issue 25: item 10's second half, and "delivered after
 * its hold expired is charged 0"). A hold is released by its expiry when its request outlives
 * it; the work it guarded may still deliver. Driven through KeyAccount's RPC with hold lives of
 * milliseconds (the request path's holds live the deadline and a minute).
 */
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
	accountOf,
	createKey,
	deliveredOutcome,
	flushUsage,
	type LedgerRowView,
	ledgerRows,
	ROOMY_LIMITS,
	testDraft,
	usageRows,
} from "../helpers/http";

const rid = (name: string) => `${name}_${crypto.randomUUID().slice(0, 8)}`;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** In seq order each balance_after follows from the one before, and the last is the balance. */
function expectExactChain(ledger: LedgerRowView[], balance: number) {
	for (let i = 1; i < ledger.length; i++) {
		expect(ledger[i].seq).toBeGreaterThan(ledger[i - 1].seq);
		expect(ledger[i].balance_after).toBe(ledger[i - 1].balance_after + ledger[i].amount);
	}
	expect(ledger.at(-1)?.balance_after).toBe(balance);
	// balance = grants - charges (reserves and releases cancel out once every hold is closed).
	const sum = (kind: string) => ledger.filter((l) => l.kind === kind).reduce((s, l) => s + l.amount, 0);
	expect(sum("grant") + sum("adjustment") + sum("charge")).toBe(balance);
}

describe("a delivered image is charged even when its hold expired first", () => {
	it("the late settle charges what was delivered, once, and the ledger stays exact", async () => {
		const k = await createKey(undefined, { credits: 50, limits: ROOMY_LIMITS });
		const stub = await accountOf(k.key);
		const id = rid("req_late");
		const a = await stub.admit({ draft: testDraft(id, 1), credits: 10, images: 1, ttlMs: 30 });
		if (!a.ok) throw new Error(a.reason);
		await pause(60);
		await runDurableObjectAlarm(stub); // the expiry releases the hold: nothing charged yet
		expect((await stub.describe())?.credits).toBe(50);

		const late = await stub.settle({ reservationId: a.reservationId, charge: 10, outcome: deliveredOutcome(1) });
		expect(late).toEqual({ charged: 10, balance: 40 });
		// A repeat (a retried settle, a redelivered message) finds that result, also after a restart.
		expect(await stub.settle({ reservationId: a.reservationId, charge: 10, outcome: deliveredOutcome(1) })).toEqual(late);
		await evictDurableObject(stub);
		expect(await stub.settle({ reservationId: a.reservationId, charge: 10, outcome: deliveredOutcome(1) })).toEqual(late);
		const view = await stub.describe();
		expect(view).toMatchObject({ credits: 40, reservedCredits: 0 });
		expect(view?.usage.today).toMatchObject({ images: 1, credits: 10 });

		await flushUsage(k.key);
		const ledger = await ledgerRows(k.id);
		expect(ledger.filter((l) => l.request_id === id).map((l) => [l.kind, l.amount, l.reason])).toEqual([
			["reserve", -10, null],
			["release", 10, "reservation expired"],
			["charge", -10, "delivered after its hold expired"],
		]);
		expectExactChain(ledger, 40);
		const [row] = (await usageRows(k.id)).filter((u) => u.request_id === id);
		expect(row).toMatchObject({ images_delivered: 1, credits_charged: 10, status: 200, error_code: null });
	});

	it("may take the balance below zero: admissions refuse until grants pay it back; a cut below zero is still refused", async () => {
		const k = await createKey(undefined, { credits: 10, limits: ROOMY_LIMITS });
		const stub = await accountOf(k.key);
		const first = await stub.admit({ draft: testDraft(rid("req_neg_a"), 1), credits: 10, images: 1, ttlMs: 30 });
		if (!first.ok) throw new Error(first.reason);
		await pause(60);
		// The next admission releases the expired hold, then holds the same 10 credits again.
		const second = await stub.admit({ draft: testDraft(rid("req_neg_b"), 1), credits: 10, images: 1, ttlMs: 600_000 });
		if (!second.ok) throw new Error(second.reason);
		expect(await stub.settle({ reservationId: first.reservationId, charge: 10, outcome: deliveredOutcome(1) })).toEqual({
			charged: 10,
			balance: -10,
		});
		expect(await stub.settle({ reservationId: second.reservationId, charge: 10, outcome: deliveredOutcome(1) })).toEqual({
			charged: 10,
			balance: -10,
		});
		expect((await stub.describe())?.credits).toBe(-10);
		const refused = await stub.admit({ draft: testDraft(rid("req_neg_c"), 1), credits: 5, images: 1, ttlMs: 600_000 });
		expect(refused).toMatchObject({ ok: false, reason: "insufficient_credits", balance: -10 });
		expect(await stub.adjustCredits(-1, "cut", "adjustment")).toMatchObject({ ok: false, reason: "would_go_negative" });
		expect(await stub.adjustCredits(4, "part payment", "grant")).toEqual({ ok: true, balance: -6 });
		expect(await stub.adjustCredits(16, "top-up", "grant")).toEqual({ ok: true, balance: 10 });
		await flushUsage(k.key);
		expectExactChain(await ledgerRows(k.id), 10);
	});
});

describe("a job admitted twice keeps its real usage row (INSERT OR REPLACE no longer lets the expiry's win)", () => {
	// A pipeline job is admitted when it runs; a worker that dies between the admission and
	// recording the hold on the job leaves that hold orphaned, and the redelivered message admits
	// the job again under the same request id. The orphan is released by its expiry.
	it("the orphan expires after the real settlement (one flush, expiry row last)", async () => {
		const k = await createKey(undefined, { credits: 100, limits: ROOMY_LIMITS });
		const stub = await accountOf(k.key);
		const job = rid("job_readmit");
		const orphan = await stub.admit({ draft: testDraft(job, 1), credits: 10, images: 1, ttlMs: 50 });
		const real = await stub.admit({ draft: testDraft(job, 1), credits: 10, images: 1, ttlMs: 600_000 });
		if (!orphan.ok || !real.ok) throw new Error("not admitted");
		await stub.settle({ reservationId: real.reservationId, charge: 10, outcome: deliveredOutcome(1) });
		await pause(80);
		await stub.maintain(); // releases the orphan (a later seq than the settlement), then flushes
		await flushUsage(k.key);
		const rows = (await usageRows(k.id)).filter((u) => u.request_id === job);
		expect(rows).toHaveLength(1);
		expect(rows[0]).toMatchObject({ images_delivered: 1, credits_charged: 10, error_code: null });
		expectExactChain(await ledgerRows(k.id), 90);
	});

	it("the orphan's expiry reaches D1 first, then the real settlement", async () => {
		const k = await createKey(undefined, { credits: 100, limits: ROOMY_LIMITS });
		const stub = await accountOf(k.key);
		const job = rid("job_readmit");
		const orphan = await stub.admit({ draft: testDraft(job, 1), credits: 10, images: 1, ttlMs: 30 });
		if (!orphan.ok) throw new Error(orphan.reason);
		await pause(60);
		await stub.maintain();
		await flushUsage(k.key);
		expect((await usageRows(k.id)).find((u) => u.request_id === job)).toMatchObject({ error_code: "reservation_expired" });
		const real = await stub.admit({ draft: testDraft(job, 1), credits: 10, images: 1, ttlMs: 600_000 });
		if (!real.ok) throw new Error(real.reason);
		await stub.settle({ reservationId: real.reservationId, charge: 10, outcome: deliveredOutcome(1) });
		await flushUsage(k.key);
		expect((await usageRows(k.id)).filter((u) => u.request_id === job)).toMatchObject([{ credits_charged: 10, error_code: null }]);
	});

	it("a late charge's row replaces its own expiry's row whichever reaches D1 first", async () => {
		const k = await createKey(undefined, { credits: 100, limits: ROOMY_LIMITS });
		const stub = await accountOf(k.key);
		const id = rid("req_late_row");
		const a = await stub.admit({ draft: testDraft(id, 1), credits: 10, images: 1, ttlMs: 30 });
		if (!a.ok) throw new Error(a.reason);
		await pause(60);
		await stub.maintain();
		await flushUsage(k.key);
		await stub.settle({ reservationId: a.reservationId, charge: 10, outcome: deliveredOutcome(1) });
		await flushUsage(k.key);
		expect((await usageRows(k.id)).filter((u) => u.request_id === id)).toMatchObject([{ credits_charged: 10, error_code: null }]);
	});
});
