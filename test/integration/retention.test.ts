// Own file: retention deletes every old object in this file's (isolated) buckets.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { type RetentionReport, retentionPass } from "../../src/retention";
import { insertJob, type JobRow, updateJob } from "../../src/storage/jobs";
import { configOf } from "../helpers/config";
import { auth, call, createKey, expectError, postJson, uniquePrompt } from "../helpers/http";

describe("retention", () => {
	it("deletes generated images older than RETENTION_DAYS; their URLs then answer 404", async () => {
		const k = await createKey();
		const res = await postJson("/v1/images/generations", { prompt: uniquePrompt("short-lived"), n: 2 }, auth(k.key));
		const urls = (await res.json<{ data: Array<{ url: string }> }>()).data.map((d) => new URL(d.url).pathname);
		for (const u of urls) expect((await call(u)).status).toBe(200);
		// A trigger at the next five-minute mark with a retention of about 0.9 s.
		const at = new Date(Math.ceil((Date.now() + 1_000) / 300_000) * 300_000);
		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "* * * * *" }), { ...env, RETENTION_DAYS: "0.00001" }, ctx);
		await waitOnExecutionContext(ctx);
		for (const u of urls) await expectError(await call(u), 404, "not_found");
	});

	it("keeps images when no retention is configured", async () => {
		const k = await createKey();
		const res = await postJson("/v1/images/generations", { prompt: uniquePrompt("kept") }, auth(k.key));
		const url = new URL((await res.json<{ data: Array<{ url: string }> }>()).data[0].url).pathname;
		const ctx = createExecutionContext();
		await worker.scheduled(
			createScheduledController({ scheduledTime: new Date(Math.ceil(Date.now() / 300_000) * 300_000 + 300_000), cron: "* * * * *" }),
			env,
			ctx,
		);
		await waitOnExecutionContext(ctx);
		expect((await call(url)).status).toBe(200);
	});
});

describe("retention covers every prefix of both buckets and resumes where it stopped", () => {
	const HOUR = 3_600_000;
	const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
	const put = (bucket: R2Bucket, key: string) => bucket.put(key, JSON.stringify({ contents: [] }));
	const hex = () => crypto.getRandomValues(new Uint8Array(16)).toHex();

	async function job(keyId: string, id: string, status: string): Promise<void> {
		const now = new Date().toISOString();
		await insertJob(env.DB, {
			id,
			key_id: keyId,
			kind: "request",
			spec: JSON.stringify({ inputs: [] }),
			reservation_id: null,
			price: 0,
			webhook_url: null,
			pipeline_run_id: null,
			created_at: now,
		});
		await updateJob(env.DB, id, { status: status as JobRow["status"] });
	}

	async function conversation(keyId: string, id: string): Promise<void> {
		const now = new Date().toISOString();
		await env.DB.prepare(
			"INSERT INTO conversations (id, key_id, model, turns, created_at, updated_at) VALUES (?, ?, 'nano-banana', 1, ?, ?)",
		)
			.bind(id, keyId, now, now)
			.run();
	}

	it("over many bounded passes deletes everything old (and ended jobs' inputs), keeps everything young, moves legacy private objects out of IMAGES", async () => {
		const k = await createKey();
		const kid = k.id;
		const oldImages: string[] = [];
		const oldPrivate: string[] = [];
		const youngImages: string[] = [];
		const youngPrivate: string[] = [];
		// Old: written before the cutoff.
		for (let i = 0; i < 14; i++) oldImages.push(`generated/nano-banana/${kid}/2026/01/01/req_old${i}-0-${hex()}.png`);
		for (let i = 0; i < 4; i++) oldPrivate.push(`turns/${kid}/req_old${i}-0-${hex()}.json`);
		for (let i = 0; i < 3; i++) oldPrivate.push(`idempotency/${kid}/old${i}.json`);
		await conversation(kid, "conv_old");
		oldPrivate.push(`conversations/${kid}/conv_old.json`, `conversations/${kid}/conv_gone.json`); // the second has no row
		await job(kid, "job_done", "SUCCEEDED");
		await job(kid, "job_live", "RUNNING");
		oldPrivate.push("jobs/job_done/input-0", "jobs/job_norow/input-0");
		const legacyOld = `turns/${kid}/legacy-old.json`;
		for (const key of oldImages) await put(env.IMAGES, key);
		for (const key of oldPrivate) await put(env.PRIVATE, key);
		await put(env.PRIVATE, "jobs/job_live/input-0");
		await put(env.IMAGES, legacyOld);
		await sleep(30);
		const cutoff = Date.now();
		await sleep(30);
		// Young: written after it.
		for (let i = 0; i < 14; i++) youngImages.push(`generated/nano-banana/${kid}/2026/01/02/req_new${i}-0-${hex()}.png`);
		for (let i = 0; i < 4; i++) youngPrivate.push(`turns/${kid}/req_new${i}-0-${hex()}.json`);
		for (let i = 0; i < 3; i++) youngPrivate.push(`idempotency/${kid}/new${i}.json`);
		await conversation(kid, "conv_new");
		youngPrivate.push(`conversations/${kid}/conv_new.json`);
		await job(kid, "job_done2", "FAILED");
		const endedYoung = "jobs/job_done2/input-0"; // young, but its job has ended
		for (const key of youngImages) await put(env.IMAGES, key);
		for (const key of youngPrivate) await put(env.PRIVATE, key);
		await put(env.PRIVATE, endedYoung);
		const legacyYoung = [`turns/${kid}/legacy-young.json`, `idempotency/${kid}/legacy-young.json`, "jobs/job_live/input-1"];
		for (const key of legacyYoung) await put(env.IMAGES, key);
		await put(env.IMAGES, "health/probe");

		// The pass runs 25 h after the cutoff with RETENTION_DAYS = 25 h: every rule's cutoff
		// (images and turns by RETENTION_DAYS, replays by 24 h + 1 h) falls between old and young.
		const at = new Date(cutoff + 25 * HOUR);
		const config = configOf({ ...env, RETENTION_DAYS: String(25 / 24) });
		const MAX = 4;
		const wrapped = { images: 0, private: 0 };
		let passes = 0;
		let first: RetentionReport | undefined;
		while ((wrapped.images < 2 || wrapped.private < 2) && passes < 60) {
			const r = await retentionPass(env, at, config, MAX);
			first ??= r;
			passes++;
			expect(r.images.scanned).toBeLessThanOrEqual(MAX);
			expect(r.private.scanned).toBeLessThanOrEqual(MAX);
			wrapped.images += r.images.wrapped ? 1 : 0;
			wrapped.private += r.private.wrapped ? 1 : 0;
			// Nothing young is ever deleted, at any point.
			for (const key of youngImages) expect(await env.IMAGES.head(key), key).not.toBeNull();
			for (const key of youngPrivate) expect(await env.PRIVATE.head(key), key).not.toBeNull();
		}
		// One pass could not do it all: the work was spread over many.
		expect(first?.images.deleted ?? 0).toBeLessThan(oldImages.length);
		expect(passes).toBeGreaterThan(8);
		for (const key of oldImages) expect(await env.IMAGES.head(key), key).toBeNull();
		for (const key of oldPrivate) expect(await env.PRIVATE.head(key), key).toBeNull();
		expect(await env.PRIVATE.head(endedYoung)).toBeNull();
		expect(await env.PRIVATE.head("jobs/job_live/input-0")).not.toBeNull(); // its job may still run
		// Legacy private objects left IMAGES: the old one expired, the young ones moved.
		expect(await env.IMAGES.head(legacyOld)).toBeNull();
		expect(await env.PRIVATE.head(legacyOld)).toBeNull();
		for (const key of legacyYoung) {
			expect(await env.IMAGES.head(key), key).toBeNull();
			expect(await env.PRIVATE.head(key), key).not.toBeNull();
		}
		expect(await env.IMAGES.head("health/probe")).not.toBeNull();
		// An expired conversation is gone for its owner too.
		await expectError(await call("/v1/conversations/conv_old", { headers: auth(k.key) }), 404, "not_found");
		expect((await call("/v1/conversations/conv_new", { headers: auth(k.key) })).status).toBe(200);
	});

	it("without RETENTION_DAYS keeps images, turns and conversations but still expires replays and ended jobs' inputs", async () => {
		const k = await createKey();
		const image = `generated/nano-banana/${k.id}/2026/01/01/req_keep-0-${hex()}.png`;
		const turn = `turns/${k.id}/req_keep-0.json`;
		const replay = `idempotency/${k.id}/gone.json`;
		await job(k.id, "job_ended", "CANCELED");
		await put(env.IMAGES, image);
		await put(env.PRIVATE, turn);
		await put(env.PRIVATE, replay);
		await put(env.PRIVATE, "jobs/job_ended/input-0");
		const at = new Date(Date.now() + 30 * 86_400_000);
		const config = configOf({ ...env, RETENTION_DAYS: undefined });
		for (let i = 0; i < 3; i++) await retentionPass(env, at, config);
		expect(await env.IMAGES.head(image)).not.toBeNull();
		expect(await env.PRIVATE.head(turn)).not.toBeNull();
		expect(await env.PRIVATE.head(replay)).toBeNull();
		expect(await env.PRIVATE.head("jobs/job_ended/input-0")).toBeNull();
	});
});
