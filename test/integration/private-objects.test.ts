// Issue 25 item 13: nothing but generated images is in the image bucket (the one a
// PUBLIC_BASE_URL domain may serve whole), image names cannot be derived from one another or
// from a request or job id, and a job's uploaded images are gone once the job ends.
// Own file: it lists whole buckets (each test file's storage is isolated).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sweepStandardJobs } from "../../src/jobs/sweep";
import { loadConfig } from "../../src/load-config";
import { auth, call, createKey, postJson, postJsonWith, uniquePrompt } from "../helpers/http";
import { emulatorImage } from "../helpers/images";
import { type Job, recordingQueue, waitForJob } from "../helpers/jobs";

async function keysIn(bucket: R2Bucket, prefix = ""): Promise<string[]> {
	const out: string[] = [];
	let cursor: string | undefined;
	do {
		const page = await bucket.list({ prefix, cursor });
		out.push(...page.objects.map((o) => o.key));
		cursor = page.truncated ? page.cursor : undefined;
	} while (cursor);
	return out;
}

/** What a public bucket domain (PUBLIC_BASE_URL) would serve: every object of IMAGES. */
const publicKeys = () => keysIn(env.IMAGES);

async function settle(ms = 300): Promise<void> {
	await new Promise((r) => setTimeout(r, ms)); // saveTurn runs after the response
}

describe("the public bucket holds generated images only", () => {
	it("turns, conversations, idempotency replays and job inputs live in PRIVATE, not where the public domain serves", async () => {
		const k = await createKey(undefined, { credits: 500 });
		const source = await emulatorImage("private source");
		// A chat turn (its thought signatures are kept for the next message).
		const chat = await postJson(
			"/v1/chat/completions",
			{ model: "nano-banana-pro", messages: [{ role: "user", content: uniquePrompt("secret thoughts", "thoughts") }] },
			auth(k.key),
		);
		expect(chat.status).toBe(200);
		// A conversation message (its history carries the user's photo).
		const conv = (await (await postJson("/v1/conversations", { model: "nano-banana-pro" }, auth(k.key))).json<{ id: string }>()).id;
		const edit = await postJson(
			"/v1/images/edits",
			{ model: "nano-banana-pro", prompt: uniquePrompt("a hat"), image: source.toBase64(), conversation_id: conv },
			auth(k.key),
		);
		expect(edit.status).toBe(200);
		// A large response kept for Idempotency-Key replays.
		const big = { model: "nano-banana-2", prompt: uniquePrompt("big private", "format=png,noise=0.3"), response_format: "b64_json" };
		expect((await postJson("/v1/images/generations", big, { ...auth(k.key), "idempotency-key": "big" })).status).toBe(200);
		// An async job whose upload waits for its run (never delivered here).
		const jobs = recordingQueue();
		const queued = await postJsonWith(
			{ env: { JOBS: jobs.queue } },
			"/v1/images/edits",
			{ prompt: uniquePrompt("later"), image: source.toBase64() },
			{ ...auth(k.key), prefer: "respond-async" },
		);
		expect(queued.status).toBe(202);
		const jobId = (await queued.json<Job>()).id;
		await settle();

		const priv = await keysIn(env.PRIVATE);
		expect(priv.filter((key) => key.startsWith(`turns/${k.id}/`)).length).toBeGreaterThan(0);
		expect(priv).toContain(`conversations/${k.id}/${conv}.json`);
		expect(priv.filter((key) => key.startsWith(`idempotency/${k.id}/`))).toHaveLength(1);
		expect(priv).toContain(`jobs/${jobId}/input-0`);
		const pub = await publicKeys();
		expect(pub.length).toBeGreaterThan(0);
		expect(pub.filter((key) => !key.startsWith("generated/"))).toEqual([]);
		// ...and the gateway's own read route does not serve them either.
		for (const key of priv) expect((await call(`/images/${key}`)).status).toBe(404);
	});

	it("a conversation an older gateway kept in IMAGES is read from there and moved to PRIVATE on its next message", async () => {
		const k = await createKey();
		const conv = (await (await postJson("/v1/conversations", { model: "nano-banana-pro" }, auth(k.key))).json<{ id: string }>()).id;
		const key = `conversations/${k.id}/${conv}.json`;
		const old = { contents: [{ role: "user", parts: [{ text: "an old turn" }] }] };
		await env.IMAGES.put(key, JSON.stringify(old));
		const seen = await (await call(`/v1/conversations/${conv}`, { headers: auth(k.key) })).json<{ contents: Array<{ text: string }> }>();
		expect(seen.contents.map((c) => c.text)).toEqual(["an old turn"]);
		const res = await postJson("/v1/images/generations", { prompt: uniquePrompt("continue"), conversation_id: conv }, auth(k.key));
		expect(res.status).toBe(200);
		expect(await env.IMAGES.head(key)).toBeNull();
		const moved = await (await env.PRIVATE.get(key))?.json<{ contents: unknown[] }>();
		expect(moved?.contents).toHaveLength(3);
	});
});

describe("image names cannot be derived", () => {
	it("knowing a request id and one image URL does not give the request's other images", async () => {
		const k = await createKey();
		const res = await postJson("/v1/images/generations", { prompt: uniquePrompt("two of them"), n: 2 }, auth(k.key));
		const id = res.headers.get("x-request-id");
		const paths = (await res.json<{ data: Array<{ url: string }> }>()).data.map((d) => new URL(d.url).pathname);
		expect(paths).toHaveLength(2);
		for (const p of paths) expect(p).toMatch(new RegExp(`/${id}-[01]-[0-9a-f]{32}\\.jpg$`));
		const [a, b] = paths.map((p) => p.slice(p.lastIndexOf("/") + 1));
		// Image 1's name with image 0's random part (the old `{requestId}-{i}` scheme's guess) is nothing.
		const guess = paths[0].replace(`${id}-0-`, `${id}-1-`);
		expect(guess).not.toBe(paths[1]);
		expect((await call(guess)).status).toBe(404);
		expect((await call(paths[0].replace(/-[0-9a-f]{32}\.jpg$/, ".jpg"))).status).toBe(404);
		expect(a.slice(-36, -4)).not.toBe(b.slice(-36, -4));
	});
});

describe("job inputs end with the job", () => {
	const image = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

	it("are deleted when the job succeeds", async () => {
		const k = await createKey();
		const res = await postJson(
			"/v1/images/edits",
			{ prompt: uniquePrompt("edit then forget"), image },
			{ ...auth(k.key), prefer: "respond-async" },
		);
		const job = await waitForJob(k.key, (await res.json<Job>()).id);
		expect(job.status).toBe("SUCCEEDED");
		expect(await keysIn(env.PRIVATE, `jobs/${job.id}/`)).toEqual([]);
		expect(await keysIn(env.IMAGES, `jobs/${job.id}/`)).toEqual([]);
	});

	it("are deleted when the job fails", async () => {
		const k = await createKey();
		const res = await postJson(
			"/v1/images/edits",
			{ prompt: uniquePrompt("refused", "fail=400"), image },
			{ ...auth(k.key), prefer: "respond-async" },
		);
		const job = await waitForJob(k.key, (await res.json<Job>()).id);
		expect(job.status).toBe("FAILED");
		expect(await keysIn(env.PRIVATE, `jobs/${job.id}/`)).toEqual([]);
		expect(await keysIn(env.IMAGES, `jobs/${job.id}/`)).toEqual([]);
	});

	it("are deleted when the job is canceled", async () => {
		const k = await createKey();
		const jobs = recordingQueue();
		const res = await postJsonWith(
			{ env: { JOBS: jobs.queue } },
			"/v1/images/edits",
			{ prompt: uniquePrompt("canceled"), image },
			{ ...auth(k.key), prefer: "respond-async" },
		);
		const id = (await res.json<Job>()).id;
		expect(await keysIn(env.PRIVATE, `jobs/${id}/`)).toEqual([`jobs/${id}/input-0`]);
		expect((await call(`/v1/jobs/${id}/cancel`, { method: "POST", headers: auth(k.key) })).status).toBe(200);
		expect(await keysIn(env.PRIVATE, `jobs/${id}/`)).toEqual([]);
		expect(await keysIn(env.IMAGES, `jobs/${id}/`)).toEqual([]);
	});

	it("are deleted when the job expires (its message lost, the sweep fails it)", async () => {
		const k = await createKey();
		const jobs = recordingQueue();
		const res = await postJsonWith(
			{ env: { JOBS: jobs.queue } },
			"/v1/images/edits",
			{ prompt: uniquePrompt("lost"), image },
			{ ...auth(k.key), prefer: "respond-async" },
		);
		const id = (await res.json<Job>()).id;
		expect(await keysIn(env.PRIVATE, `jobs/${id}/`)).toEqual([`jobs/${id}/input-0`]);
		const swept = await sweepStandardJobs(env, new Date(Date.now() + 23 * 3_600_000), loadConfig(env));
		expect(swept.expired).toBeGreaterThanOrEqual(1);
		expect((await waitForJob(k.key, id)).error?.code).toBe("job_expired");
		expect(await keysIn(env.PRIVATE, `jobs/${id}/`)).toEqual([]);
	});
});
