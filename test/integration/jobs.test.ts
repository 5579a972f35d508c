import { describe, expect, it } from "vitest";
import {
	auth,
	balanceOf,
	call,
	createKey,
	emulatorCalls,
	expectError,
	flushUsage,
	postJson,
	postJsonWith,
	uniquePrompt,
	usageRows,
} from "../helpers/http";
import { deliver, type Job, recordingQueue, waitForJob } from "../helpers/jobs";

describe("async jobs through the queue", () => {
	it("answers 202 at once with the credits held, then runs CREATED -> RUNNING -> STORING -> SUCCEEDED", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const prompt = uniquePrompt("async", "delay=300");
		const res = await postJson("/v1/images/generations", { prompt, n: 2, async: true }, auth(k.key));
		expect(res.status).toBe(202);
		const accepted = await res.json<Job>();
		expect(accepted).toMatchObject({ status: "CREATED", poll_url: `https://gateway.test/v1/jobs/${accepted.id}` });
		expect(res.headers.get("location")).toBe(accepted.poll_url);
		expect(await balanceOf(k.key)).toBe(90); // held
		const job = await waitForJob(k.key, accepted.id);
		expect(job.status).toBe("SUCCEEDED");
		expect(job.result?.images).toHaveLength(2);
		expect(job.credits_charged).toBe(10);
		for (const t of [job.created_at, job.started_at, job.storing_at, job.finished_at]) expect(t).toBeTruthy();
		expect(Date.parse(job.created_at)).toBeLessThanOrEqual(Date.parse(job.started_at ?? ""));
		expect(Date.parse(job.started_at ?? "")).toBeLessThanOrEqual(Date.parse(job.storing_at ?? ""));
		expect(Date.parse(job.storing_at ?? "")).toBeLessThanOrEqual(Date.parse(job.finished_at ?? ""));
		expect((await call(new URL(job.result?.images[0].url ?? "").pathname)).status).toBe(200);
		expect(await balanceOf(k.key)).toBe(90);
		await flushUsage(k.key);
		const [row] = await usageRows(k.id);
		expect(row).toMatchObject({ request_id: accepted.id, credits_charged: 10, images_delivered: 2 });
		expect(await emulatorCalls(prompt)).toHaveLength(2);
	});

	it("Prefer: respond-async works on edits too", async () => {
		const k = await createKey();
		const res = await postJson(
			"/v1/images/edits",
			{
				prompt: uniquePrompt("async edit"),
				image: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
			},
			{ ...auth(k.key), prefer: "respond-async" },
		);
		expect(res.status).toBe(202);
		const job = await waitForJob(k.key, (await res.json<Job>()).id);
		expect(job.status).toBe("SUCCEEDED");
	});

	it("refuses like a sync request when credits are short: 402 and no job", async () => {
		const k = await createKey(undefined, { credits: 4 });
		await expectError(await postJson("/v1/images/generations", { prompt: "x", async: true }, auth(k.key)), 402, "insufficient_credits");
		const list = await (await call("/v1/jobs", { headers: auth(k.key) })).json<{ data: Job[] }>();
		expect(list.data).toEqual([]);
	});
});

describe("retries, dead letters and duplicates", () => {
	it("a transient upstream failure goes back on the queue and then succeeds", async () => {
		const k = await createKey(undefined, { credits: 100 });
		// 1 try + 3 client retries fail, so the first job attempt fails; the second succeeds.
		const res = await postJson("/v1/images/generations", { prompt: uniquePrompt("flaky", "fail=503x4"), async: true }, auth(k.key));
		const job = await waitForJob(k.key, (await res.json<Job>()).id);
		expect(job).toMatchObject({ status: "SUCCEEDED", attempts: 2, credits_charged: 5 });
		expect(await balanceOf(k.key)).toBe(95);
	});

	it("after the last attempt: FAILED, hold released, message dead-lettered", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const jobs = recordingQueue();
		const dlq = recordingQueue();
		const res = await postJsonWith(
			{ env: { JOBS: jobs.queue } },
			"/v1/images/generations",
			{ prompt: uniquePrompt("always down", "fail=503"), n: 2, async: true },
			auth(k.key),
		);
		const id = (await res.json<Job>()).id;
		expect(await balanceOf(k.key)).toBe(90);
		const overrides = { JOBS: jobs.queue, JOBS_DLQ: dlq.queue };
		for (let attempt = 1; attempt <= 4; attempt++) {
			const r = await deliver(jobs.sent[0], attempt, overrides);
			expect(r.retryMessages).toHaveLength(1);
			expect((await (await call(`/v1/jobs/${id}`, { headers: auth(k.key) })).json<Job>()).status).toBe("CREATED");
		}
		const last = await deliver(jobs.sent[0], 5, overrides);
		expect(last.explicitAcks).toHaveLength(1);
		expect(dlq.sent).toEqual([{ type: "job", jobId: id }]);
		const job = await (await call(`/v1/jobs/${id}`, { headers: auth(k.key) })).json<Job>();
		expect(job).toMatchObject({ status: "FAILED", attempts: 5, credits_charged: 0 });
		expect(job.error?.code).toBe("upstream_error");
		expect(await balanceOf(k.key)).toBe(100);
	});

	it("the same message delivered twice runs and charges once", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const prompt = uniquePrompt("once only");
		const res = await postJson("/v1/images/generations", { prompt, async: true }, auth(k.key));
		const id = (await res.json<Job>()).id;
		await waitForJob(k.key, id);
		const again = await deliver({ type: "job", jobId: id }, 1);
		const thrice = await deliver({ type: "job", jobId: id }, 1);
		expect([...again.explicitAcks, ...thrice.explicitAcks]).toHaveLength(2);
		expect(await emulatorCalls(prompt)).toHaveLength(1);
		expect(await balanceOf(k.key)).toBe(95);
	});
});

describe("ownership and cancel", () => {
	it("cancels a job that has not started, releasing its credits; it then never runs", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const jobs = recordingQueue();
		const prompt = uniquePrompt("never");
		const res = await postJsonWith({ env: { JOBS: jobs.queue } }, "/v1/images/generations", { prompt, n: 3, async: true }, auth(k.key));
		const id = (await res.json<Job>()).id;
		expect(await balanceOf(k.key)).toBe(85);
		const other = await createKey();
		await expectError(await call(`/v1/jobs/${id}`, { headers: auth(other.key) }), 404, "not_found");
		await expectError(await call(`/v1/jobs/${id}/cancel`, { method: "POST", headers: auth(other.key) }), 404, "not_found");
		const canceled = await (await call(`/v1/jobs/${id}/cancel`, { method: "POST", headers: auth(k.key) })).json<Job>();
		expect(canceled.status).toBe("CANCELED");
		expect(await balanceOf(k.key)).toBe(100);
		await expectError(await call(`/v1/jobs/${id}/cancel`, { method: "POST", headers: auth(k.key) }), 400, "job_not_cancelable");
		const r = await deliver(jobs.sent[0], 1, { JOBS: jobs.queue });
		expect(r.explicitAcks).toHaveLength(1);
		expect(await emulatorCalls(prompt)).toEqual([]);
		expect(await balanceOf(k.key)).toBe(100);
	});

	it("lists the key's jobs, newest first, filtered by status", async () => {
		const k = await createKey();
		const ids: string[] = [];
		for (let i = 0; i < 3; i++)
			ids.push(
				(await (await postJson("/v1/images/generations", { prompt: uniquePrompt(`list ${i}`), async: true }, auth(k.key))).json<Job>()).id,
			);
		for (const id of ids) await waitForJob(k.key, id);
		const page = await (await call("/v1/jobs?limit=2&status=SUCCEEDED", { headers: auth(k.key) })).json<{
			data: Job[];
			has_more: boolean;
			next_cursor: string;
		}>();
		expect(page.data.map((j) => j.id)).toEqual([ids[2], ids[1]]);
		expect(page.has_more).toBe(true);
		const rest = await (
			await call(`/v1/jobs?limit=2&status=SUCCEEDED&cursor=${encodeURIComponent(page.next_cursor)}`, { headers: auth(k.key) })
		).json<{ data: Job[] }>();
		expect(rest.data.map((j) => j.id)).toEqual([ids[0]]);
		expect((await (await call("/v1/jobs?status=FAILED", { headers: auth(k.key) })).json<{ data: Job[] }>()).data).toEqual([]);
		await expectError(await call("/v1/jobs?status=DONE", { headers: auth(k.key) }), 400, "invalid_parameter");
	});
});
