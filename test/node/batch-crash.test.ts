// SIGKILL mid-batch-settlement over real HTTP: `wrangler dev` settles a finished Gemini
// batch job by job; the runtime (wrangler and workerd, one process group) is killed after
// some jobs are settled and before the rest, then started again on the same local state.
// The sweep (the cron trigger) polls the batch again and settles what is left. Afterwards:
// every job settled exactly once (one charge each in the ledger, balance = grants -
// charges), every settled job's image served, no credits held, one usage row per job.
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningEmulator, startEmulator } from "../../emulator/server.ts";
import { ADMIN_TOKEN, freePort, newState, runWrangler, type WranglerRun } from "./gateway-process.ts";

/** Many jobs in one batch: settling them takes long enough to kill the runtime in the middle. */
const JOBS = 80;
/** Killed once this many are settled (settling takes about 50 ms a job here: 4 s for 80). */
const KILL_AFTER = 20;
const CREDITS = 100_000;
const VARS = {
	BATCH_WINDOW_SECONDS: "8",
	BATCH_POLL_SECONDS: "1",
	DEFAULT_LIMITS: JSON.stringify({ requests_per_minute: 10_000, concurrent_batch_jobs: 1_000, images_per_day: 10_000 }),
};

let emulator: RunningEmulator;
let state: string;
let run: WranglerRun | undefined;

beforeAll(async () => {
	emulator = await startEmulator({ requiredKey: "process-gemini-key", port: await freePort(), batchDelayMs: 1_000 });
	state = newState();
}, 120_000);

afterAll(async () => {
	run?.signal("SIGKILL");
	await run?.exited;
	await emulator?.close();
	if (state) rmSync(state, { recursive: true, force: true });
});

interface Job {
	id: string;
	status: string;
	credits_charged: number | null;
	result: { images: Array<{ url: string }> } | null;
}

async function api<T>(base: string, path: string, key: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
	const res = await fetch(`${base}${path}`, {
		...init,
		headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...(init.headers ?? {}) },
	});
	return { status: res.status, body: (await res.json()) as T };
}

/** The local D1 database file of the state folder (read with the runtime stopped). */
function d1(readOnly = false): DatabaseSync {
	const dir = join(state, "v3", "d1", "miniflare-D1DatabaseObject");
	const file = readdirSync(dir).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
	if (!file) throw new Error(`no D1 database under ${dir}`);
	return new DatabaseSync(join(dir, file), { readOnly, timeout: 10_000 });
}

/** Waits until no process of the run's group is left (workerd may outlive the wrangler leader by a moment). */
async function groupGone(r: WranglerRun): Promise<void> {
	for (let i = 0; i < 200; i++) {
		try {
			process.kill(-(r.child.pid ?? 0), 0);
		} catch {
			return;
		}
		await new Promise((res) => setTimeout(res, 50));
	}
	throw new Error("the runtime's processes did not exit");
}

describe("SIGKILL while a finished batch's jobs are being settled", () => {
	it("after a restart every job is settled once, paid once, its image served, nothing held", async () => {
		run = await runWrangler(emulator, state, VARS);
		const created = await api<{ key: string }>(run.url, "/admin/keys", ADMIN_TOKEN, {
			method: "POST",
			body: JSON.stringify({ name: "batch crash", credits: CREDITS }),
		});
		expect(created.status).toBe(201);
		const key = created.body.key;

		// Submit every job inside one batch window (8 s), a few at a time.
		const ids: string[] = [];
		for (let i = 0; i < JOBS; i += 10) {
			const answers = await Promise.all(
				Array.from({ length: Math.min(10, JOBS - i) }, (_, j) =>
					api<{ id: string }>(run?.url ?? "", "/v1/images/generations", key, {
						method: "POST",
						body: JSON.stringify({ model: "nano-banana-2", prompt: `harbour ${i + j}`, async: true, service_tier: "batch" }),
					}),
				),
			);
			for (const a of answers) {
				expect(a.status).toBe(202);
				ids.push(a.body.id);
			}
		}

		// Wait for the settlement to start (watched in the D1 file itself: an HTTP poll can
		// queue behind the settling runtime for seconds), then kill the runtime in the middle of it.
		let before = 0;
		const watch = d1(true);
		const count = watch.prepare("SELECT count(*) AS n FROM jobs WHERE status = 'SUCCEEDED'");
		for (const end = Date.now() + 120_000; before < KILL_AFTER && Date.now() < end; ) {
			try {
				before = (count.get() as { n: number }).n;
			} catch {
				// the runtime holds a write lock for a moment
			}
			if (before < KILL_AFTER) await new Promise((r) => setTimeout(r, 5));
		}
		run.signal("SIGKILL");
		await run.exited;
		await groupGone(run);
		watch.close();
		expect(before, "the kill must land mid-settlement").toBeGreaterThanOrEqual(KILL_AFTER);

		// What the crash left in D1; then the poll lease's 10 minutes are made to pass (the
		// test cannot wait them out): the batch is free to be polled again and overdue.
		let db = d1();
		const settledAtKill = (db.prepare("SELECT count(*) AS n FROM jobs WHERE status = 'SUCCEEDED'").get() as { n: number }).n;
		const open = db.prepare("SELECT id FROM batches WHERE settled = 0").all() as Array<{ id: string }>;
		console.log(`SIGKILL after ${before} jobs seen settled; ${settledAtKill} of ${JOBS} SUCCEEDED in D1; unsettled batches ${open.length}`);
		expect(settledAtKill).toBeLessThan(JOBS);
		db.prepare("UPDATE batches SET lease_until = NULL, next_poll_at = '2000-01-01T00:00:00.000Z' WHERE settled = 0").run();
		db.close();

		// Restart on the same state; the cron trigger's sweep polls the batch again.
		run = await runWrangler(emulator, state, VARS);
		const base = run.url;
		expect((await fetch(`${base}/__scheduled?cron=*+*+*+*+*`)).status).toBe(200);
		let jobs: Job[] = [];
		for (const end = Date.now() + 120_000; Date.now() < end; ) {
			jobs = (await api<{ data: Job[] }>(base, "/v1/jobs?limit=100", key)).body.data;
			if (jobs.length === JOBS && jobs.every((j) => j.status === "SUCCEEDED" || j.status === "FAILED")) break;
			await new Promise((r) => setTimeout(r, 500));
		}
		expect(jobs.map((j) => j.status)).toEqual(ids.map(() => "SUCCEEDED"));

		// Every settled job's image is there (by path: the URLs carry the first run's origin).
		for (const job of jobs) {
			expect(job.result?.images).toHaveLength(1);
			const path = new URL(job.result?.images[0].url ?? "").pathname;
			const res = await fetch(`${base}${path}`);
			expect(res.status, `${job.id} ${path}`).toBe(200);
			await res.arrayBuffer();
		}

		// Nothing held; the balance is the grant less what the jobs say they were charged.
		const charged = jobs.reduce((sum, j) => sum + (j.credits_charged ?? 0), 0);
		expect(charged).toBeGreaterThan(0);
		const account = (await api<{ credits: number; reserved_credits: number }>(base, "/v1/account", key)).body;
		expect(account).toMatchObject({ credits: CREDITS - charged, reserved_credits: 0 });

		// The outbox reaches D1: one usage row per job.
		let usage: Array<{ request_id: string; credits_charged: number }> = [];
		for (const end = Date.now() + 60_000; Date.now() < end; ) {
			usage = (await api<{ data: typeof usage }>(base, "/v1/usage?limit=200", key)).body.data;
			if (usage.length >= JOBS) break;
			await new Promise((r) => setTimeout(r, 500));
		}
		expect(usage.map((u) => u.request_id).sort()).toEqual([...ids].sort());

		// The ledger, read from D1 with the runtime stopped: one charge per job, balance = grants - charges.
		run.signal("SIGTERM");
		await run.exited;
		await groupGone(run);
		run = undefined;
		db = d1();
		const charges = db
			.prepare("SELECT request_id, count(*) AS n, sum(amount) AS amount FROM credit_ledger WHERE kind = 'charge' GROUP BY request_id")
			.all() as Array<{ request_id: string; n: number; amount: number }>;
		const totals = db.prepare("SELECT kind, sum(amount) AS amount FROM credit_ledger GROUP BY kind").all() as Array<{
			kind: string;
			amount: number;
		}>;
		db.close();
		console.log(JSON.stringify(totals));
		expect(charges.map((c) => c.request_id).sort()).toEqual([...ids].sort());
		expect(charges.filter((c) => c.n !== 1)).toEqual([]);
		const sum = (kind: string) => totals.find((t) => t.kind === kind)?.amount ?? 0;
		expect(sum("grant")).toBe(CREDITS);
		expect(-sum("charge")).toBe(charged);
		expect(totals.reduce((s, t) => s + t.amount, 0)).toBe(CREDITS - charged);
	}, 400_000);
});
