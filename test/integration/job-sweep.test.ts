// Hold lifetimes cover the work they guard, and every admitted standard-tier job is
// eventually run or released: the cron sweep re-sends a job whose queue message was lost,
// and fails (releasing its hold) one too old to finish within its hold's life.
import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LEASE_MS, runHoldMs } from "../../src/jobs/consumer";
import { backoff } from "../../src/jobs/settle";
import { sweepStandardJobs } from "../../src/jobs/sweep";
import { loadConfig } from "../../src/load-config";
import { accountOf, auth, balanceOf, createKey, postJsonWith, uniquePrompt } from "../helpers/http";
import { deliver, type Job, recordingQueue, waitForJob } from "../helpers/jobs";

/** An async standard-tier job whose queue message is recorded and never delivered (lost). */
async function lostJob(key: string, prompt: string): Promise<string> {
	const { queue } = recordingQueue();
	const res = await postJsonWith(
		{ env: { JOBS: queue }, ctx: createExecutionContext() },
		"/v1/images/generations",
		{ model: "nano-banana", prompt, async: true },
		auth(key),
	);
	expect(res.status).toBe(202);
	return (await res.json<Job>()).id;
}

/** The worst case a job's run can take: every attempt its whole lease, plus the backoff between attempts. */
function worstCaseMs(config: ReturnType<typeof loadConfig>): number {
	let ms = config.jobMaxAttempts * LEASE_MS;
	for (let a = 1; a < config.jobMaxAttempts; a++) ms += backoff(config, a) * 1000;
	return ms;
}

describe("hold lifetimes", () => {
	it("a hold made when a job runs (a pipeline run's) outlives its lease and every retry", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const id = await lostJob(k.key, uniquePrompt("run-time hold"));
		// A pipeline run is paid for when it runs: give this job's hold back and let the consumer make one.
		const row = await env.DB.prepare("SELECT reservation_id FROM jobs WHERE id = ?").bind(id).first<{ reservation_id: string }>();
		const account = await accountOf(k.key);
		await account.settle({
			reservationId: row?.reservation_id as string,
			charge: 0,
			outcome: {
				imagesDelivered: 0,
				promptTokens: 0,
				outputTokens: 0,
				totalTokens: 0,
				upstreamMs: null,
				status: 500,
				errorCode: "test",
				finishReason: null,
				r2Keys: [],
			},
		});
		await env.DB.prepare("UPDATE jobs SET reservation_id = NULL WHERE id = ?").bind(id).run();
		await deliver({ type: "job", jobId: id }, 1);
		const ttl = await runInDurableObject(account, (_i, state) =>
			state.storage.sql.exec<{ ttl: number }>("SELECT expires_at - created_at AS ttl FROM holds ORDER BY id DESC LIMIT 1").one(),
		);
		for (const vars of [{}, { JOB_MAX_ATTEMPTS: "10", JOB_RETRY_BASE_SECONDS: "30" }, { GEMINI_DEADLINE_MS: "900000" }]) {
			const config = loadConfig({ ...env, ...vars });
			expect(runHoldMs(config)).toBeGreaterThan(worstCaseMs(config));
		}
		expect(ttl.ttl).toBe(runHoldMs(loadConfig(env)));
		expect(ttl.ttl).toBeGreaterThan(worstCaseMs(loadConfig(env)));
	});
});

describe("standard-tier jobs whose queue message was lost", () => {
	it("the cron sweep sends it again and it runs, charged once", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const id = await lostJob(k.key, uniquePrompt("lost message"));
		expect(await balanceOf(k.key)).toBe(95);
		const config = loadConfig(env);
		expect(await sweepStandardJobs(env, new Date(), config)).toMatchObject({ requeued: 0 }); // not late yet
		const swept = await sweepStandardJobs(env, new Date(Date.now() + 30 * 60_000), config);
		expect(swept.requeued).toBeGreaterThanOrEqual(1);
		expect((await waitForJob(k.key, id)).status).toBe("SUCCEEDED");
		expect(await balanceOf(k.key)).toBe(95);
		expect((await (await accountOf(k.key)).describe())?.reservedCredits).toBe(0);
	});

	it("one too old to finish within its hold's life is failed and its hold released", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const id = await lostJob(k.key, uniquePrompt("lost for a day"));
		const swept = await sweepStandardJobs(env, new Date(Date.now() + 23 * 60 * 60_000), loadConfig(env));
		expect(swept.expired).toBeGreaterThanOrEqual(1);
		const done = await waitForJob(k.key, id);
		expect([done.status, done.error?.code]).toEqual(["FAILED", "job_expired"]);
		expect(await balanceOf(k.key)).toBe(100);
		expect((await (await accountOf(k.key)).describe())?.reservedCredits).toBe(0);
	});
});
