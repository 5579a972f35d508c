// The Batch lane: async jobs with "service_tier": "batch" grouped per model into one Gemini
// batch (the emulator answers in shuffled order), each settled by key at the batch price.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { formBatch } from "../../src/jobs/batch/form";
import { pollBatch } from "../../src/jobs/batch/poll";
import { sweepBatches } from "../../src/jobs/batch/sweep";
import { loadConfig } from "../../src/load-config";
import { claimWaitingJobs, insertBatch } from "../../src/storage/batches";
import {
	accountOf,
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
import { type Job, recordingQueue, waitForJob } from "../helpers/jobs";

interface BatchJob extends Job {
	service_tier: string;
	batch: { id: string; state: string } | null;
}

const sha256 = async (bytes: Uint8Array) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).toHex();

/** Submits one batch-tier generation and returns its job id (202, the batch price held). */
async function submit(key: string, body: Record<string, unknown>, path = "/v1/images/generations"): Promise<string> {
	const res = await postJson(path, { async: true, service_tier: "batch", ...body }, auth(key));
	expect(res.status).toBe(202);
	return (await res.json<Job>()).id;
}

const job = async (key: string, id: string) => (await call(`/v1/jobs/${id}`, { headers: auth(key) })).json<BatchJob>();

async function upstreamName(batchId: string): Promise<string> {
	const row = await env.DB.prepare("SELECT upstream_name FROM batches WHERE id = ?").bind(batchId).first<{ upstream_name: string }>();
	return row?.upstream_name ?? "";
}

async function expectNothingHeld(key: string, credits: number): Promise<void> {
	expect(await balanceOf(key)).toBe(credits);
	expect((await (await accountOf(key)).describe())?.reservedCredits).toBe(0);
}

describe("Batch lane", () => {
	it("a batch of 5 jobs with shuffled results settles each job with its own image at half price", async () => {
		const k = await createKey(undefined, { credits: 1_000 });
		const prompts = Array.from({ length: 5 }, (_, i) => uniquePrompt(`batch picture ${i}`));
		const ids = await Promise.all(prompts.map((prompt) => submit(k.key, { model: "nano-banana-pro", prompt })));
		expect(await balanceOf(k.key)).toBe(1_000 - 5 * 7); // nano-banana-pro 1K: 14 standard, 7 batch
		const jobs = await Promise.all(ids.map((id) => waitForJob(k.key, id).then(() => job(k.key, id))));
		expect(new Set(jobs.map((j) => j.batch?.id)).size).toBe(1); // one Gemini batch for the five
		for (const [i, j] of jobs.entries()) {
			expect(j).toMatchObject({
				status: "SUCCEEDED",
				service_tier: "batch",
				credits_charged: 7,
				batch: { state: "BATCH_STATE_SUCCEEDED" },
			});
			const img = await call(new URL(j.result?.images[0].url ?? "").pathname);
			expect(img.status).toBe(200);
			const [sent] = await emulatorCalls(prompts[i]);
			expect(await sha256(new Uint8Array(await img.arrayBuffer()))).toBe(sent.outputs[0].sha256); // its own image
		}
		const view = await (
			await fetch(`${env.EMULATOR_URL}/__emulator/batches/${(await upstreamName(jobs[0].batch?.id ?? "")).slice(8)}`)
		).json<{
			requestKeys: string[];
			answerKeys: string[];
		}>();
		expect(view.requestKeys).toHaveLength(5);
		expect(view.answerKeys).not.toEqual(view.requestKeys); // answers came back shuffled
		expect([...view.answerKeys].sort()).toEqual([...view.requestKeys].sort());
		await expectNothingHeld(k.key, 1_000 - 35);
		await flushUsage(k.key);
		const rows = await usageRows(k.id);
		expect(rows.map((r) => [r.endpoint, r.credits_charged, r.images_delivered])).toEqual(
			ids.map(() => ["openai.images.generations:batch", 7, 1]),
		);
		// The upstream that accepted the batch is kept with it (polls go there) and on each image.
		const batchRow = await env.DB.prepare("SELECT upstream FROM batches WHERE id = ?")
			.bind(jobs[0].batch?.id)
			.first<{ upstream: string }>();
		expect(batchRow?.upstream).toBe("gemini-1");
		expect(rows.map((r) => JSON.parse(r.upstreams))).toEqual(ids.map(() => ["gemini-1"]));
	});

	it("output_format on the Batch lane: the settled image is converted (webp), at the batch price", async () => {
		const k = await createKey(undefined, { credits: 1_000 });
		const id = await submit(k.key, { model: "nano-banana-pro", prompt: uniquePrompt("batch webp"), output_format: "webp" });
		await waitForJob(k.key, id);
		const j = await job(k.key, id);
		expect(j).toMatchObject({ status: "SUCCEEDED", credits_charged: 7 });
		const url = j.result?.images[0].url ?? "";
		expect(url.endsWith(".webp")).toBe(true);
		const bytes = new Uint8Array(await (await call(new URL(url).pathname)).arrayBuffer());
		expect(String.fromCharCode(...bytes.subarray(8, 12))).toBe("WEBP");
	});

	it("batch expiry fails every job in it and releases every hold", async () => {
		const k = await createKey(undefined, { credits: 1_000 });
		const ids = await Promise.all([
			submit(k.key, { model: "nano-banana-2", prompt: uniquePrompt("expiring", "batch-end=EXPIRED"), n: 2 }),
			submit(k.key, { model: "nano-banana-2", prompt: uniquePrompt("expiring too") }),
			submit(k.key, { model: "nano-banana-2", prompt: uniquePrompt("expiring three") }, "/v1/images/generate"),
		]);
		expect(await balanceOf(k.key)).toBe(1_000 - 4 * 4);
		for (const id of ids) {
			const j = await waitForJob(k.key, id);
			expect({ status: j.status, code: j.error?.code, charged: j.credits_charged }).toEqual({
				status: "FAILED",
				code: "batch_expired",
				charged: 0,
			});
		}
		await expectNothingHeld(k.key, 1_000);
		await flushUsage(k.key);
		expect((await usageRows(k.id)).map((r) => [r.error_code, r.credits_charged])).toEqual(ids.map(() => ["batch_expired", 0]));
	});

	it("a partial batch charges only delivered images: per-request failures, a job's failed copy, an answer without its key", async () => {
		const k = await createKey(undefined, { credits: 1_000 });
		const good = await submit(k.key, { model: "nano-banana-2.1", prompt: uniquePrompt("fine"), n: 2 });
		const halfway = await submit(k.key, { model: "nano-banana-2.1", prompt: uniquePrompt("one of two", "fail=400x1"), n: 2 });
		const blocked = await submit(k.key, { model: "nano-banana-2.1", prompt: uniquePrompt("blocked", "block=SAFETY") });
		const lost = await submit(k.key, { model: "nano-banana-2.1", prompt: uniquePrompt("keyless", "batch-no-key") });
		const [g, h, b, l] = await Promise.all([good, halfway, blocked, lost].map((id) => waitForJob(k.key, id)));
		expect([g.status, g.credits_charged, g.result?.images.length]).toEqual(["SUCCEEDED", 4, 2]); // 2.1 at 1K: 4 standard, 2 batch
		expect([h.status, h.credits_charged, h.result?.images.length]).toEqual(["SUCCEEDED", 2, 1]);
		expect([b.status, b.error?.code, b.credits_charged]).toEqual(["FAILED", "content_policy_violation", 0]);
		expect([l.status, l.error?.code, l.credits_charged]).toEqual(["FAILED", "batch_result_missing", 0]);
		await expectNothingHeld(k.key, 1_000 - 6);
		// Images nobody gets (the keyless answer's) leave nothing behind in R2.
		const batchId = (await job(k.key, good)).batch?.id ?? "";
		const stored = await env.IMAGES.list({ prefix: "generated/nano-banana-2.1/batch/" });
		expect(stored.objects.filter((o) => o.key.includes(batchId))).toHaveLength(3);
		// The batch id is shown to every job in it: names end in an HMAC no one else can derive.
		for (const o of stored.objects) expect(o.key).toMatch(/\/bat_[0-9a-f]+-\d+-[0-9a-f]{32}\.\w+$/);
	});

	it("cancel: a waiting job is released; one riding with others is a 409; one alone cancels its batch upstream", async () => {
		const k = await createKey(undefined, { credits: 1_000 });
		const waiting = await submit(k.key, { model: "nano-banana-2-lite", prompt: uniquePrompt("never mind") });
		const canceled = await postJson(`/v1/jobs/${waiting}/cancel`, {}, auth(k.key));
		expect((await canceled.json<Job>()).status).toBe("CANCELED");
		expect(await balanceOf(k.key)).toBe(1_000);

		const slow = [uniquePrompt("slow a", "batch-delay=60000"), uniquePrompt("slow b")];
		const [a] = await Promise.all(slow.map((prompt) => submit(k.key, { model: "nano-banana-2-lite", prompt })));
		await waitForJob(
			k.key,
			a,
			(j) => (j as BatchJob).batch?.state === "BATCH_STATE_PENDING" || (j as BatchJob).batch?.state === "BATCH_STATE_RUNNING",
		);
		const refused = await expectError(await postJson(`/v1/jobs/${a}/cancel`, {}, auth(k.key)), 409, "job_in_running_batch");
		expect(refused.message).toMatch(/1 other job/);

		const alone = await submit(k.key, { model: "nano-banana-hd", prompt: uniquePrompt("alone", "batch-delay=60000") });
		const aloneJob = await waitForJob(k.key, alone, (j) => (j as BatchJob).batch?.state?.startsWith("BATCH_STATE_") === true);
		const res = await postJson(`/v1/jobs/${alone}/cancel`, {}, auth(k.key));
		expect((await res.json<Job>()).status).toBe("CANCELED");
		const name = await upstreamName((aloneJob as BatchJob).batch?.id ?? "");
		const view = await (await fetch(`${env.EMULATOR_URL}/__emulator/batches/${name.slice(8)}`)).json<{ state: string }>();
		expect(view.state).toBe("BATCH_STATE_CANCELLED");
		// a and b still hold their credits; the canceled ones were released.
		expect(await balanceOf(k.key)).toBe(1_000 - 2 * 2);
	});

	it("a pipeline with service_tier batch runs through the lane at the batch price", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const created = await postJson(
			"/v1/pipelines",
			{
				name: "nightly",
				schedule: "0 3 * * *",
				prompt_template: `night scene ${crypto.randomUUID()}`,
				model: "nano-banana-2",
				n: 2,
				service_tier: "batch",
			},
			auth(k.key),
		);
		const p = await created.json<{ id: string; next_run_at: string; service_tier: string }>();
		expect(p.service_tier).toBe("batch");
		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController({ scheduledTime: new Date(p.next_run_at), cron: "* * * * *" }), env, ctx);
		await waitOnExecutionContext(ctx);
		const runs = await (await call(`/v1/pipelines/${p.id}/runs`, { headers: auth(k.key) })).json<{ data: Array<{ job_id: string }> }>();
		const j = await waitForJob(k.key, runs.data[0].job_id);
		expect([j.status, j.credits_charged, (j as BatchJob).service_tier]).toEqual(["SUCCEEDED", 2 * 4, "batch"]); // nano-banana-2 1K: 7 standard, 4 batch
		const after = await (await call(`/v1/pipelines/${p.id}/runs`, { headers: auth(k.key) })).json<{
			data: Array<{ status: string; credits_charged: number }>;
		}>();
		expect(after.data[0]).toMatchObject({ status: "succeeded", credits_charged: 8 });
		expect(await balanceOf(k.key)).toBe(92);
	});

	it("a lost window message is picked up by the cron sweep", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const { queue, sent } = recordingQueue();
		const res = await postJsonWith(
			{ env: { JOBS: queue }, ctx: createExecutionContext() },
			"/v1/images/generations",
			{ model: "nano-banana", prompt: uniquePrompt("forgotten"), async: true, service_tier: "batch" },
			auth(k.key),
		);
		expect(res.status).toBe(202);
		expect(sent).toEqual([{ type: "batch-window", model: "nano-banana" }]); // and never delivered
		const id = (await res.json<Job>()).id;
		const swept = await sweepBatches(env, new Date(Date.now() + 5 * 60_000), loadConfig(env));
		expect(swept.windows).toBe(1);
		expect((await waitForJob(k.key, id)).status).toBe("SUCCEEDED");
		expect(await balanceOf(k.key)).toBe(100 - 3); // nano-banana: 5 standard, 3 batch (half, rounded up)
	});
});

describe("Batch lane, when a consumer dies mid-submission", () => {
	it("the cron sweep hands its claimed jobs back, and they run in a new batch", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const { queue } = recordingQueue();
		const res = await postJsonWith(
			{ env: { JOBS: queue }, ctx: createExecutionContext() },
			"/v1/images/generations",
			{ model: "nano-banana-2", prompt: uniquePrompt("orphaned"), async: true, service_tier: "batch" },
			auth(k.key),
		);
		const id = (await res.json<Job>()).id;
		// A former that claimed the job 30 minutes ago and died before recording its batch.
		await insertBatch(env.DB, "bat_dead", "nano-banana-2", new Date(Date.now() - 30 * 60_000).toISOString());
		expect((await claimWaitingJobs(env.DB, "nano-banana-2", "bat_dead", 10)).map((j) => j.id)).toEqual([id]);
		expect((await job(k.key, id)).status).toBe("RUNNING");
		const swept = await sweepBatches(env, new Date(), loadConfig(env));
		expect(swept.abandoned).toBe(1);
		const done = (await waitForJob(k.key, id)) as BatchJob;
		expect([done.status, done.credits_charged]).toEqual(["SUCCEEDED", 4]);
		expect(done.batch?.id).not.toBe("bat_dead");
	});
});

/** Submits batch-tier jobs whose window message is only recorded, so the test forms and polls their batch by hand. */
async function submitHeld(key: string, model: string, prompts: string[]): Promise<{ ids: string[]; queue: Queue }> {
	const { queue } = recordingQueue();
	const ids: string[] = [];
	for (const prompt of prompts) {
		const res = await postJsonWith(
			{ env: { JOBS: queue }, ctx: createExecutionContext() },
			"/v1/images/generations",
			{ model, prompt, async: true, service_tier: "batch" },
			auth(key),
		);
		expect(res.status).toBe(202);
		ids.push((await res.json<Job>()).id);
	}
	return { ids, queue };
}

const batchOf = async (jobId: string) =>
	(await env.DB.prepare("SELECT batch_id FROM jobs WHERE id = ?").bind(jobId).first<{ batch_id: string }>())?.batch_id ?? "";

/** env.DB whose `failAt`-th job-finishing UPDATE throws, as a runtime killed mid-settlement would stop there. */
function dbKilledAt(failAt: number): D1Database {
	let finishes = 0;
	return new Proxy(env.DB, {
		get(target, prop) {
			if (prop === "prepare") {
				return (sql: string) => {
					if (/^UPDATE jobs SET .*finished_at/.test(sql) && ++finishes === failAt) throw new Error("killed mid-settlement");
					return target.prepare(sql);
				};
			}
			const v = Reflect.get(target, prop);
			return typeof v === "function" ? v.bind(target) : v;
		},
	});
}

describe("Batch lane, when settlement dies halfway", () => {
	it("the re-poll settles the rest and never deletes the images of jobs settled in the first pass", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const prompts = Array.from({ length: 4 }, (_, i) => uniquePrompt(`half settled ${i}`, "batch-delay=0"));
		const { ids, queue } = await submitHeld(k.key, "nano-banana", prompts);
		const config = loadConfig(env);
		await formBatch({ ...env, JOBS: queue }, config, "nano-banana");
		const batchId = await batchOf(ids[0]);
		expect(new Set(await Promise.all(ids.map(batchOf)))).toEqual(new Set([batchId]));
		// First pass: two jobs settle, the third's hold is settled but its row never written.
		await expect(pollBatch({ ...env, DB: dbKilledAt(3), JOBS: queue }, config, batchId)).rejects.toThrow("killed mid-settlement");
		const first = await Promise.all(ids.map((id) => job(k.key, id)));
		const paid = first.filter((j) => j.status === "SUCCEEDED");
		expect(paid).toHaveLength(2);
		const urls = paid.map((j) => new URL(j.result?.images[0].url ?? "").pathname);
		for (const url of urls) expect((await call(url)).status).toBe(200);
		// The sweep's re-poll reads the whole answer again and settles the rest.
		await pollBatch({ ...env, JOBS: queue }, config, batchId);
		const after = await Promise.all(ids.map((id) => job(k.key, id)));
		expect(after.map((j) => j.status)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
		for (const url of urls) expect((await call(url)).status).toBe(200); // paid for: still served
		for (const j of after) expect((await call(new URL(j.result?.images[0].url ?? "").pathname)).status).toBe(200);
		expect(await balanceOf(k.key)).toBe(100 - 4 * 3); // each job charged once, at the batch price
		// The re-poll wrote the same (HMAC-named) objects again: four images, no copies.
		const stored = await env.IMAGES.list({ prefix: "generated/nano-banana/batch/" });
		expect(stored.objects.filter((o) => o.key.includes(batchId))).toHaveLength(4);
	});
});

/** The emulator's batches (listed as Google lists them) that carry a request of job `jobId`. */
async function emulatorBatchesOf(jobId: string): Promise<Array<{ name: string; displayName: string }>> {
	const list = await (await fetch(`${env.EMULATOR_URL}/v1beta/batches?key=test-gemini-key&pageSize=1000`)).json<{
		operations: Array<{ name: string; metadata: { displayName: string } }>;
	}>();
	const out: Array<{ name: string; displayName: string }> = [];
	for (const op of list.operations) {
		const view = await (await fetch(`${env.EMULATOR_URL}/__emulator/batches/${op.name.slice(8)}`)).json<{ requestKeys: string[] }>();
		if (view.requestKeys.includes(`${jobId}:0`)) out.push({ name: op.name, displayName: op.metadata.displayName });
	}
	return out;
}

describe("Batch lane, when Gemini's answer to a submission is lost", () => {
	it("the retry finds the batch Gemini made by its display name and adopts it: Gemini saw one batch", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const prompt = uniquePrompt("accepted, answer lost", "batch-accept-delay=2500,batch-delay=0");
		const { ids, queue } = await submitHeld(k.key, "nano-banana-2", [prompt]);
		// The first submission times out after the emulator made the batch.
		const first = await formBatch({ ...env, JOBS: queue }, loadConfig({ ...env, GEMINI_DEADLINE_MS: "800" }), "nano-banana-2");
		expect(first).toHaveProperty("retryInSeconds");
		// The queue's retry of the window message.
		expect(await formBatch({ ...env, JOBS: queue }, loadConfig(env), "nano-banana-2")).toEqual({ ack: true });
		const seen = await emulatorBatchesOf(ids[0]);
		expect(seen).toHaveLength(1);
		const batchId = await batchOf(ids[0]);
		expect(seen[0].displayName).toBe(`nano-banana-gateway ${batchId}`);
		expect(await upstreamName(batchId)).toBe(seen[0].name);
		await pollBatch({ ...env, JOBS: queue }, loadConfig(env), batchId);
		expect([(await job(k.key, ids[0])).status, await balanceOf(k.key)]).toEqual(["SUCCEEDED", 100 - 4]);
	});
});

describe("Batch lane, bad input: a clear 400 and nothing held", () => {
	it("service_tier other than standard or batch lists them; batch without async; a request too large for a batch", async () => {
		const k = await createKey(undefined, { credits: 100 });
		for (const path of ["/v1/images/generations", "/v1/images/generate", "/api/v1/models/nano-banana/edit", "/api/v1/images"]) {
			const body = { prompt: "x", ...(path.includes("/models/") ? {} : { model: "nano-banana" }), async: true, service_tier: "priority" };
			const e = await expectError(await postJson(path, body, auth(k.key)), 400, "invalid_parameter");
			expect([e.param, e.message]).toEqual(["service_tier", expect.stringContaining("standard, batch")]);
			const sync = await expectError(
				await postJson(path, { ...body, async: undefined, service_tier: "batch" }, auth(k.key)),
				400,
				"invalid_parameter",
			);
			expect([sync.param, sync.message]).toEqual(["service_tier", expect.stringContaining("async")]);
		}
		const small = await postJsonWith(
			{ env: { BATCH_MAX_INLINE_BYTES: "1000" }, ctx: createExecutionContext() },
			"/v1/images/generations",
			{ prompt: "x".repeat(400), n: 3, async: true, service_tier: "batch" },
			auth(k.key),
		);
		const err = await expectError(small, 400, "batch_too_large");
		expect(err.param).toBe("service_tier");
		expect(await balanceOf(k.key)).toBe(100);
		const pipeline = await expectError(
			await postJson("/v1/pipelines", { name: "p", schedule: "0 9 * * *", prompt_template: "x", service_tier: "cheap" }, auth(k.key)),
			400,
			"invalid_parameter",
		);
		expect(pipeline.param).toBe("service_tier");
	});
});
