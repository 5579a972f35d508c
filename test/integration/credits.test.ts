import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
	ADMIN,
	accountOf,
	auth,
	balanceOf,
	call,
	createKey,
	deliveredOutcome,
	expectError,
	flushUsage,
	ledgerRows,
	postJson,
	ROOMY_LIMITS,
	testDraft,
	uniquePrompt,
	usageRows,
} from "../helpers/http";

const GEN = "/v1/images/generations";
const PRICE = 5; // nano-banana, default price table

describe("credits are exact under concurrency", () => {
	it("50 concurrent requests with credits for 10 images: exactly 10 succeed, 40 get 402", async () => {
		const k = await createKey(undefined, { credits: 10 * PRICE });
		const results = await Promise.all(
			Array.from({ length: 50 }, (_, i) => postJson(GEN, { prompt: uniquePrompt(`race ${i}`, "delay=50") }, auth(k.key))),
		);
		const statuses = results.map((r) => r.status);
		expect(statuses.filter((s) => s === 200)).toHaveLength(10);
		expect(statuses.filter((s) => s === 402)).toHaveLength(40);
		for (const r of results.filter((x) => x.status === 402)) {
			const err = await expectError(r, 402, "insufficient_credits");
			expect(err.type).toBe("insufficient_quota");
		}
		expect(await balanceOf(k.key)).toBe(0);

		expect((await flushUsage(k.key)).pending).toBe(0);
		const rows = await usageRows(k.id);
		expect(rows.filter((r) => r.credits_charged > 0)).toHaveLength(10);
		expect(rows.filter((r) => r.status === 402 && r.credits_charged === 0)).toHaveLength(40);
		const ledger = await ledgerRows(k.id);
		expect(ledger.filter((l) => l.kind === "charge")).toHaveLength(10);
		expect(ledger.reduce((sum, l) => sum + l.amount, 0)).toBe(0); // the ledger sums to the balance
		expect(ledger.every((l) => l.balance_after >= 0)).toBe(true);
	});
});

describe("settlement charges only what was delivered", () => {
	it("n=4 with two failed calls: charged for 2, the other 2 released, usage says 2 delivered", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const res = await postJson(GEN, { prompt: uniquePrompt("half", "fail=400x2"), n: 4 }, auth(k.key));
		expect(res.status).toBe(200);
		expect(res.headers.get("x-credits-charged")).toBe(String(2 * PRICE));
		expect(res.headers.get("x-credits-remaining")).toBe(String(100 - 2 * PRICE));
		await flushUsage(k.key);
		const [row] = await usageRows(k.id);
		expect(row).toMatchObject({
			n_requested: 4,
			images_delivered: 2,
			credits_reserved: 4 * PRICE,
			credits_charged: 2 * PRICE,
			status: 200,
		});
		const ledger = (await ledgerRows(k.id)).filter((l) => l.request_id === row.request_id);
		expect(ledger.map((l) => [l.kind, l.amount, l.balance_after])).toEqual([
			["reserve", -20, 80],
			["release", 20, 100],
			["charge", -10, 90],
		]);
	});

	it.each([
		"block=SAFETY",
		"finish=IMAGE_SAFETY",
		"finish=NO_IMAGE",
		"text-only",
		"malformed",
		"truncate",
		"fail=400",
		"fail=403",
		"fail=429,retry=0.01s",
		"fail=500",
		"fail=503",
	])("upstream outcome %s leaves the balance exactly where it was", async (directives) => {
		const k = await createKey(undefined, { credits: 77 });
		const res = await postJson(GEN, { prompt: uniquePrompt("free failure", directives), n: 2 }, auth(k.key));
		expect(res.status).toBeGreaterThanOrEqual(400);
		expect(res.headers.get("x-credits-charged")).toBe("0");
		expect(res.headers.get("x-credits-remaining")).toBe("77");
		expect(await balanceOf(k.key)).toBe(77);
		await flushUsage(k.key);
		const [row] = await usageRows(k.id);
		expect(row.credits_charged).toBe(0);
		expect(row.error_code).not.toBeNull();
	});

	it("refuses with 402 before any upstream call when the worst case does not fit", async () => {
		const k = await createKey(undefined, { credits: 3 * PRICE });
		await expectError(await postJson(GEN, { prompt: uniquePrompt("too many"), n: 4 }, auth(k.key)), 402, "insufficient_credits");
		expect(await balanceOf(k.key)).toBe(15);
		expect((await postJson(GEN, { prompt: uniquePrompt("fits"), n: 3 }, auth(k.key))).status).toBe(200);
		expect(await balanceOf(k.key)).toBe(0);
	});

	it("prices by model and size", async () => {
		const k = await createKey(undefined, { credits: 1000 });
		const res = await postJson(
			GEN,
			{ model: "nano-banana-2", prompt: uniquePrompt("4k"), image_size: "4K", aspect_ratio: "1:1" },
			auth(k.key),
		);
		expect(res.headers.get("x-credits-charged")).toBe("16");
		const hd = await postJson(GEN, { model: "nano-banana-hd", prompt: uniquePrompt("hd") }, auth(k.key));
		expect(hd.headers.get("x-credits-charged")).toBe("24");
	});
});

describe("reservations", () => {
	it("a stale reservation is released by the alarm, with a ledger row and a usage row", async () => {
		const k = await createKey(undefined, { credits: 50 });
		const stub = await accountOf(k.key);
		const admitted = await stub.admit({
			draft: testDraft("req_died_mid_request", 2),
			credits: 10,
			images: 2,
			ttlMs: 30,
		});
		expect(admitted.ok).toBe(true);
		expect(await balanceOf(k.key)).toBe(40);
		await new Promise((r) => setTimeout(r, 60));
		await runDurableObjectAlarm(stub);
		expect(await balanceOf(k.key)).toBe(50);
		expect((await stub.describe())?.reservedCredits).toBe(0);
		await flushUsage(k.key);
		const ledger = (await ledgerRows(k.id)).filter((l) => l.request_id === "req_died_mid_request");
		expect(ledger.map((l) => [l.kind, l.amount, l.reason])).toEqual([
			["reserve", -10, null],
			["release", 10, "reservation expired"],
		]);
		const [row] = (await usageRows(k.id)).filter((r) => r.request_id === "req_died_mid_request");
		expect(row).toMatchObject({ status: 500, error_code: "reservation_expired", credits_charged: 0 });
	});
});

describe("closed holds are kept a week, then pruned oldest first", () => {
	it("maintenance forgets holds closed more than 7 days ago, keeps younger and open ones, and a settle of a kept one still returns its first result", async () => {
		const k = await createKey(undefined, {
			credits: 10_000,
			limits: { ...ROOMY_LIMITS, requests_per_minute: 10_000, images_per_day: 10_000 },
		});
		const stub = await accountOf(k.key);
		const draft = (id: string) => testDraft(id);
		const outcome = deliveredOutcome(1);
		const ids: string[] = [];
		for (let i = 0; i < 1200; i++) {
			const a = await stub.admit({ draft: draft(`req_prune_${i}`), credits: 5, images: 1, ttlMs: 600_000 });
			if (!a.ok) throw new Error(a.reason);
			ids.push(a.reservationId);
			if (i < 1199) await stub.settle({ reservationId: a.reservationId, charge: outcome.imagesDelivered, outcome });
		}
		// Hold ids carry their row id, which grows with time: rows are written at the table's end.
		const rowids = ids.map((id) => Number(/^res_(\d+)_[0-9a-f]{20}$/.exec(id)?.[1]));
		expect(rowids).toEqual(rowids.map((_, i) => rowids[0] + i));
		const eightDays = 8 * 24 * 60 * 60_000;
		await runInDurableObject(stub, (_instance, state) => {
			// The first 1100 closed holds closed eight days ago; the rest recently.
			state.storage.sql.exec(
				"UPDATE holds SET closed_at = closed_at - ? WHERE id IN (SELECT id FROM holds ORDER BY id LIMIT 1100)",
				eightDays,
			);
		});
		await stub.maintain();
		const left = await runInDurableObject(stub, (_instance, state) =>
			state.storage.sql
				.exec<{ id: number; token: string; closed_at: number | null }>("SELECT id, token, closed_at FROM holds ORDER BY id")
				.toArray(),
		);
		expect(left.map((h) => `res_${h.id}_${h.token}`)).toEqual(ids.slice(1100));
		expect(left.at(-1)?.closed_at).toBeNull();
		const balance = await balanceOf(k.key);
		expect(await stub.settle({ reservationId: ids[1100], charge: outcome.imagesDelivered, outcome })).toEqual({
			charged: 1,
			balance: expect.any(Number),
		});
		expect(await balanceOf(k.key)).toBe(balance);
		// The open hold survives a restart of the object (the checkpoint lists it as open).
		await evictDurableObject(stub);
		expect((await stub.describe())?.reservedCredits).toBe(5);
	});
});

describe("the outbox reaches D1 in multi-row statements", () => {
	it("more rows than one statement binds (usage 4, ledger 11) all arrive once and in order", async () => {
		const k = await createKey(undefined, { credits: 10_000 });
		const n = 9;
		const results = await Promise.all(
			Array.from({ length: n }, (_, i) => postJson(GEN, { prompt: uniquePrompt(`outbox ${i}`) }, auth(k.key))),
		);
		expect(results.map((r) => r.status)).toEqual(Array(n).fill(200));
		const flushed = await flushUsage(k.key);
		// The object's own alarm may have flushed some rows already (it runs 250 ms after a
		// write), so what this call flushed is not counted: what reached D1 is.
		expect(flushed.pending).toBe(0);
		const usage = await usageRows(k.id);
		expect(usage).toHaveLength(n);
		const ledger = await ledgerRows(k.id);
		expect(ledger.filter((l) => l.kind === "charge")).toHaveLength(n);
		expect(ledger.reduce((sum, l) => sum + l.amount, 0)).toBe(await balanceOf(k.key));
		// balance_after follows the ledger's order: each row explains the change from the one before.
		for (let i = 1; i < ledger.length; i++) expect(ledger[i].balance_after).toBe(ledger[i - 1].balance_after + ledger[i].amount);
	});
});

describe("admin credits", () => {
	it("grants and adjustments write ledger rows; going negative is refused and changes nothing", async () => {
		const k = await createKey(undefined, { credits: 10 });
		const grant = await postJson(`/admin/keys/${k.id}/credits`, { amount: 25, reason: "top-up" }, ADMIN);
		expect(await grant.json()).toEqual({ id: k.id, credits: 35 });
		const adjust = await postJson(`/admin/keys/${k.id}/credits`, { amount: -5, reason: "goodwill correction" }, ADMIN);
		expect(await adjust.json()).toEqual({ id: k.id, credits: 30 });
		const err = await expectError(
			await postJson(`/admin/keys/${k.id}/credits`, { amount: -31, reason: "too much" }, ADMIN),
			400,
			"balance_would_go_negative",
		);
		expect(err.param).toBe("amount");
		expect(await balanceOf(k.key)).toBe(30);
		await expectError(await postJson(`/admin/keys/${k.id}/credits`, { amount: 0, reason: "x" }, ADMIN), 400, "invalid_parameter");
		await expectError(await postJson(`/admin/keys/${k.id}/credits`, { amount: 5 }, ADMIN), 400, "invalid_parameter");
		await flushUsage(k.key);
		expect((await ledgerRows(k.id)).map((l) => [l.kind, l.amount, l.balance_after, l.reason])).toEqual([
			["grant", 10, 10, "initial grant"],
			["grant", 25, 35, "top-up"],
			["adjustment", -5, 30, "goodwill correction"],
		]);
		const view = await (await call(`/admin/keys/${k.id}`, { headers: ADMIN })).json<{ credits: number }>();
		expect(view.credits).toBe(30);
	});

	it("a grant retried with the same Idempotency-Key applies once and answers the same; another body is 422", async () => {
		const k = await createKey(undefined, { credits: 10 });
		const grant = (body: unknown, key: string) => postJson(`/admin/keys/${k.id}/credits`, body, { ...ADMIN, "idempotency-key": key });
		const first = await grant({ amount: 25, reason: "top-up" }, "grant-1");
		expect(first.status).toBe(200);
		expect(await first.json()).toEqual({ id: k.id, credits: 35 });
		// Another grant in between: the retry still answers what the first did.
		expect((await postJson(`/admin/keys/${k.id}/credits`, { amount: 1, reason: "other" }, ADMIN)).status).toBe(200);
		const again = await grant({ amount: 25, reason: "top-up" }, "grant-1");
		expect(again.status).toBe(200);
		expect(again.headers.get("idempotent-replayed")).toBe("true");
		expect(await again.json()).toEqual({ id: k.id, credits: 35 });
		expect(await balanceOf(k.key)).toBe(36);
		const err = await expectError(await grant({ amount: 50, reason: "top-up" }, "grant-1"), 422, "idempotency_key_reused");
		expect(err.param).toBe("Idempotency-Key");
		expect(await balanceOf(k.key)).toBe(36);
		// A different key is a different grant.
		expect(await (await grant({ amount: 25, reason: "top-up" }, "grant-2")).json()).toEqual({ id: k.id, credits: 61 });
		await flushUsage(k.key);
		expect((await ledgerRows(k.id)).filter((l) => l.reason === "top-up")).toHaveLength(2);
	});
});
