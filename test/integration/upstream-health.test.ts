// Health shared between isolates through the real UpstreamHealth Durable Object: two
// HealthBoards play two isolates. What one learns (a bench, an open breaker) reaches the
// other on its next background sync; counts and calls in flight add up; an operator's
// reset reaches everyone; and a request never waits for any of it.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HealthBoard } from "../../src/upstreams/health";
import { HealthSync, healthStub } from "../../src/upstreams/shared";

function isolate() {
	const board = new HealthBoard();
	return { board, sync: new HealthSync(board) };
}

const stub = () => {
	const s = healthStub(env);
	if (!s) throw new Error("UPSTREAM_HEALTH is not bound");
	return s;
};

const note = (at: number, status: number) => ({ at, status, kind: "x", message: "m" });

describe("health shared between isolates", () => {
	it("a bench and an open breaker found in one isolate reach another on its next sync", async () => {
		const [a, b] = [isolate(), isolate()];
		const benched = `shared-a#${crypto.randomUUID()}`;
		const broken = `shared-b#${crypto.randomUUID()}`;
		const now = Date.now();
		a.board.failed(benched, "m", false, { kind: "quota", window: "day", until: now + 3_600_000 }, note(now, 429), now);
		for (let i = 0; i < 3; i++) a.board.failed(broken, "m", false, { kind: "server" }, note(now, 503), now);
		expect(b.board.availability(benched, "m", now)).toEqual({ ok: true, probe: false });

		await a.sync.sync(stub(), [benched, broken]);
		await b.sync.sync(stub(), [benched, broken]);
		expect(b.board.availability(benched, "m", now)).toEqual({ ok: false, why: "benched", until: now + 3_600_000 });
		expect(b.board.availability(broken, "m", now)).toMatchObject({ ok: false, why: "open" });
		expect(b.board.shared(broken).lastError).toMatchObject({ status: 503 });

		// An operator reset in the object reaches both.
		await stub().reset(benched, Date.now());
		await a.sync.sync(stub(), [benched]);
		await b.sync.sync(stub(), [benched]);
		for (const i of [a, b]) expect(i.board.availability(benched, "m", Date.now())).toEqual({ ok: true, probe: false });
	});

	it("a success in one isolate ends a cooldown everywhere, and a late report of the old cooldown does not bring it back", async () => {
		const [a, b] = [isolate(), isolate()];
		const s = `shared-c#${crypto.randomUUID()}`;
		const now = Date.now();
		a.board.failed(s, "m", false, { kind: "quota", window: "minute", until: now + 60_000 }, note(now, 429), now);
		await a.sync.sync(stub(), [s]);
		await b.sync.sync(stub(), [s]);
		b.board.begin(s, false, now + 10);
		b.board.succeeded(s, "m", false, now + 10);
		await b.sync.sync(stub(), [s]);
		// Isolate a reports the scope again (another change) with its stale cooldown inside.
		a.board.failed(s, "other", false, { kind: "server" }, note(now + 20, 500), now + 20);
		await a.sync.sync(stub(), [s]);
		expect(a.board.availability(s, "m", now + 30)).toEqual({ ok: true, probe: false });
	});

	it("counts and calls in flight add up across isolates", async () => {
		const [a, b] = [isolate(), isolate()];
		const s = `shared-d#${crypto.randomUUID()}`;
		const now = Date.now();
		for (const [i, calls] of [
			[a, 2],
			[b, 3],
		] as const) {
			for (let n = 0; n < calls; n++) {
				i.board.begin(s, false, now);
				i.board.succeeded(s, "m", false, now);
			}
		}
		b.board.failed(s, "m", false, { kind: "quota", window: "minute", until: now + 1 }, note(now, 429), now);
		a.board.begin(s, false, now); // still running
		await a.sync.sync(stub(), [s]);
		await b.sync.sync(stub(), [s]);
		const view = (await stub().view([s]))[s];
		expect(view.lastHour).toEqual({ requests: 6, successes: 5, status_429: 1, status_5xx: 0, network_errors: 0 });
		expect(view.inFlight).toBe(1);
	});

	it("requests start syncs in the background: not before the interval, at once after a change, never with 0", async () => {
		const i = isolate();
		const s = `shared-e#${crypto.randomUUID()}`;
		const settle = () => new Promise((r) => setTimeout(r, 100));
		i.sync.maybeSync(env, [s], 60_000); // first: due
		await settle();
		expect(i.sync.completed).toBe(1);
		i.sync.maybeSync(env, [s], 60_000); // nothing new, not due
		await settle();
		expect(i.sync.completed).toBe(1);
		const now = Date.now();
		i.board.failed(s, "m", false, { kind: "auth" }, note(now, 403), now);
		i.sync.maybeSync(env, [s], 60_000); // a breaker opened: publish now
		await settle();
		expect(i.sync.completed).toBe(2);
		const off = isolate();
		off.board.failed(s, "m", false, { kind: "auth" }, note(now, 403), now);
		off.sync.maybeSync(env, [s], 0);
		await settle();
		expect(off.sync.completed).toBe(0);
	});
});
