import { env } from "cloudflare:workers";
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
	uniquePrompt,
	usageRows,
} from "../helpers/http";

interface Job {
	id: string;
	status: string;
	created_at: string;
	started_at: string | null;
	storing_at: string | null;
	finished_at: string | null;
	attempts: number;
	poll_url: string;
	credits_charged: number;
	result: { images: Array<{ url: string; mime_type: string }>; credits_charged: number } | null;
	error: { code: string; message: string } | null;
}

/** Polls a job until it reaches a final state (the local queue delivers within ~1 s). */
export async function waitForJob(key: string, id: string, timeoutMs = 20_000): Promise<Job> {
	const until = Date.now() + timeoutMs;
	for (;;) {
		const job = await (await call(`/v1/jobs/${id}`, { headers: auth(key) })).json<Job>();
		if (["SUCCEEDED", "FAILED", "CANCELED"].includes(job.status)) return job;
		if (Date.now() > until) throw new Error(`job ${id} still ${job.status}`);
		await new Promise((r) => setTimeout(r, 150));
	}
}

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
