import { createExecutionContext, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
	ADMIN,
	accountOf,
	auth,
	balanceOf,
	call,
	createKey,
	emulatorCalls,
	expectError,
	postJson,
	postJsonWith,
	ROOMY_LIMITS,
	uniquePrompt,
} from "../helpers/http";
import { recordingQueue } from "../helpers/jobs";

const GEN = "/v1/images/generations";

async function keyWith(limits: Partial<typeof ROOMY_LIMITS>) {
	return createKey(undefined, { credits: 10_000, limits: { ...ROOMY_LIMITS, ...limits } });
}

interface AccountState {
	periods: Record<string, unknown>;
	/** `[first second, count, count of the next second, ...]` */
	window?: number[];
	/** The form written before KeyAccount migration 6: `{second: count}`. */
	buckets?: Record<string, number>;
}

/** Moves the key's clock-dependent state (counters, per-minute window) into the past. */
async function timePasses(key: string, change: (s: AccountState) => AccountState) {
	const stub = await accountOf(key);
	// The account row is a checkpoint of the object's memory: bring it up to date first.
	await stub.maintain();
	await runInDurableObject(stub, (_instance, state) => {
		const row = state.storage.sql.exec<{ state: string }>("SELECT state FROM account").one();
		state.storage.sql.exec("UPDATE account SET state = ?", JSON.stringify(change(JSON.parse(row.state) as AccountState)));
	});
	// The object keeps a copy of its state in memory: restart it, so that it reads it again.
	await evictDurableObject(stub);
}

/** Renames the periods whose key starts with `prefix` to `to`. */
const periodsBecome = (prefix: string, to: string) => (s: AccountState) => ({
	...s,
	periods: Object.fromEntries(Object.entries(s.periods).map(([k, v]) => [k.startsWith(prefix) ? to : k, v])),
});

describe("requests per minute", () => {
	it("trips at the boundary with Retry-After and RateLimit headers, reserves nothing, and recovers", async () => {
		const k = await keyWith({ requests_per_minute: 3 });
		for (let i = 0; i < 3; i++) {
			const ok = await postJson(GEN, { prompt: uniquePrompt(`rpm ${i}`) }, auth(k.key));
			expect(ok.status).toBe(200);
			expect(ok.headers.get("ratelimit-limit")).toBe("3");
			expect(ok.headers.get("ratelimit-remaining")).toBe(String(2 - i));
		}
		const before = await balanceOf(k.key);
		const prompt = uniquePrompt("rpm over");
		const res = await postJson(GEN, { prompt }, auth(k.key));
		const retryAfter = Number(res.headers.get("retry-after"));
		expect(retryAfter).toBeGreaterThan(0);
		expect(retryAfter).toBeLessThanOrEqual(60);
		expect(res.headers.get("ratelimit-limit")).toBe("3");
		expect(res.headers.get("ratelimit-remaining")).toBe("0");
		expect(res.headers.get("ratelimit-reset")).toBe(String(retryAfter));
		expect(res.headers.get("ratelimit-policy")).toBe('"requests_per_minute";q=3');
		const err = await expectError(res, 429, "rate_limit_exceeded");
		expect(err.param).toBe("requests_per_minute");
		expect(err.type).toBe("rate_limit_error");
		expect(await emulatorCalls(prompt)).toEqual([]);
		expect(await balanceOf(k.key)).toBe(before);

		await timePasses(k.key, (s) => {
			const [first, ...counts] = s.window ?? [];
			expect(counts.reduce((a, b) => a + b, 0)).toBe(3);
			return { ...s, window: [first - 60, ...counts] };
		});
		expect((await postJson(GEN, { prompt: uniquePrompt("rpm again") }, auth(k.key))).status).toBe(200);
	});

	it("reads a window saved in the older {second: count} form", async () => {
		const k = await keyWith({ requests_per_minute: 2 });
		const now = Math.floor(Date.now() / 1000);
		await timePasses(k.key, ({ window: _, ...s }) => ({
			...s,
			buckets: { [String(now)]: 1, [String(now - 30)]: 1, [String(now - 61)]: 5 },
		}));
		const err = await expectError(await postJson(GEN, { prompt: uniquePrompt("rpm legacy") }, auth(k.key)), 429, "rate_limit_exceeded");
		expect(err.param).toBe("requests_per_minute");
		await timePasses(k.key, (s) => ({ ...s, buckets: { [String(now - 61)]: 5 } }));
		expect((await postJson(GEN, { prompt: uniquePrompt("rpm legacy ok") }, auth(k.key))).status).toBe(200);
	});
});

describe("concurrent requests", () => {
	it("with slow upstream calls, the request over the limit is refused and later ones pass", async () => {
		const k = await keyWith({ concurrent_requests: 2 });
		const results = await Promise.all(
			Array.from({ length: 3 }, (_, i) => postJson(GEN, { prompt: uniquePrompt(`slow ${i}`, "delay=400") }, auth(k.key))),
		);
		const statuses = results.map((r) => r.status).sort();
		expect(statuses).toEqual([200, 200, 429]);
		const refused = results.find((r) => r.status === 429) as Response;
		expect((await expectError(refused, 429, "rate_limit_exceeded")).param).toBe("concurrent_requests");
		expect((await postJson(GEN, { prompt: uniquePrompt("after") }, auth(k.key))).status).toBe(200);
	});
});

describe("batch-tier jobs have their own concurrency limit", () => {
	it("8 batch jobs in flight leave every concurrent_requests slot to sync calls; the 9th batch job is refused by concurrent_batch_jobs", async () => {
		const k = await keyWith({ concurrent_requests: 8, concurrent_batch_jobs: 8 });
		// The window message is recorded, never delivered: the 8 jobs stay waiting, their holds open.
		const { queue } = recordingQueue();
		const batchJob = (i: number) =>
			postJsonWith(
				{ env: { JOBS: queue }, ctx: createExecutionContext() },
				GEN,
				{ model: "nano-banana", prompt: uniquePrompt(`waiting batch ${i}`), async: true, service_tier: "batch" },
				auth(k.key),
			);
		for (let i = 0; i < 8; i++) expect((await batchJob(i)).status).toBe(202);
		expect((await postJson(GEN, { prompt: uniquePrompt("sync beside batches") }, auth(k.key))).status).toBe(200);
		const e = await expectError(await batchJob(8), 429, "rate_limit_exceeded");
		expect(e.param).toBe("concurrent_batch_jobs");
		expect(e.message).toContain("standard tier");
		const acct = await (await call("/v1/account", { headers: auth(k.key) })).json<{ limits: Record<string, number> }>();
		expect(acct.limits.concurrent_batch_jobs).toBe(8);
	});
});

describe("image quotas", () => {
	it("images per day counts n, trips at the boundary and resets the next day", async () => {
		const k = await keyWith({ images_per_day: 5 });
		expect((await postJson(GEN, { prompt: uniquePrompt("d1"), n: 4 }, auth(k.key))).status).toBe(200);
		const err = await expectError(await postJson(GEN, { prompt: uniquePrompt("d2"), n: 2 }, auth(k.key)), 429, "rate_limit_exceeded");
		expect(err.param).toBe("images_per_day");
		expect((await postJson(GEN, { prompt: uniquePrompt("d3"), n: 1 }, auth(k.key))).status).toBe(200);
		await expectError(await postJson(GEN, { prompt: uniquePrompt("d4") }, auth(k.key)), 429, "rate_limit_exceeded");
		await timePasses(k.key, periodsBecome("d:", "d:2000-01-01"));
		expect((await postJson(GEN, { prompt: uniquePrompt("d5"), n: 4 }, auth(k.key))).status).toBe(200);
	});

	it("failed images do not count against the quota", async () => {
		const k = await keyWith({ images_per_day: 2 });
		expect((await postJson(GEN, { prompt: uniquePrompt("blocked", "block=SAFETY"), n: 2 }, auth(k.key))).status).toBe(422);
		expect((await postJson(GEN, { prompt: uniquePrompt("ok"), n: 2 }, auth(k.key))).status).toBe(200);
	});

	it("images per month trips and resets the next month", async () => {
		const k = await keyWith({ images_per_month: 3 });
		expect((await postJson(GEN, { prompt: uniquePrompt("m1"), n: 3 }, auth(k.key))).status).toBe(200);
		const res = await postJson(GEN, { prompt: uniquePrompt("m2") }, auth(k.key));
		expect((await expectError(res, 429, "rate_limit_exceeded")).param).toBe("images_per_month");
		expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
		await timePasses(k.key, periodsBecome("m:", "m:2000-01"));
		expect((await postJson(GEN, { prompt: uniquePrompt("m3") }, auth(k.key))).status).toBe(200);
	});
});

describe("limits are per key and editable", () => {
	it("PATCH changes limits, name and status; null returns a limit to its default", async () => {
		const k = await keyWith({ requests_per_minute: 1 });
		expect((await postJson(GEN, { prompt: uniquePrompt("p1") }, auth(k.key))).status).toBe(200);
		await expectError(await postJson(GEN, { prompt: uniquePrompt("p2") }, auth(k.key)), 429, "rate_limit_exceeded");
		const patched = await call(`/admin/keys/${k.id}`, {
			method: "PATCH",
			headers: { ...ADMIN, "content-type": "application/json" },
			body: JSON.stringify({ name: "renamed", limits: { requests_per_minute: null } }),
		});
		const view = await patched.json<{ name: string; limits: { requests_per_minute: number } }>();
		expect(view.name).toBe("renamed");
		expect(view.limits.requests_per_minute).toBe(60);
		expect((await postJson(GEN, { prompt: uniquePrompt("p3") }, auth(k.key))).status).toBe(200);

		const revoke = await call(`/admin/keys/${k.id}`, {
			method: "PATCH",
			headers: { ...ADMIN, "content-type": "application/json" },
			body: '{"status":"revoked"}',
		});
		expect(revoke.status).toBe(200);
		await expectError(await postJson(GEN, { prompt: "x" }, auth(k.key)), 403, "key_revoked");
		await call(`/admin/keys/${k.id}`, {
			method: "PATCH",
			headers: { ...ADMIN, "content-type": "application/json" },
			body: '{"status":"active"}',
		});
		expect((await postJson(GEN, { prompt: uniquePrompt("p4") }, auth(k.key))).status).toBe(200);
		await expectError(
			await call(`/admin/keys/${k.id}`, {
				method: "PATCH",
				headers: { ...ADMIN, "content-type": "application/json" },
				body: '{"limits":{"images_per_day":-1}}',
			}),
			400,
			"invalid_parameter",
		);
	});
});
