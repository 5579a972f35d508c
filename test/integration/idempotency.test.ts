import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { accountOf, auth, balanceOf, createKey, emulatorCalls, expectError, postJson, postJsonWith, uniquePrompt } from "../helpers/http";
import { recordingQueue } from "../helpers/jobs";

const GEN = "/v1/images/generations";

describe("Idempotency-Key", () => {
	it("the same key and body replays the first response and charges once", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const body = { prompt: uniquePrompt("once"), n: 2 };
		const headers = { ...auth(k.key), "idempotency-key": "order-42" };
		const first = await postJson(GEN, body, headers);
		expect(first.status).toBe(200);
		const firstBody = await first.text();
		const second = await postJson(GEN, body, headers);
		expect(second.status).toBe(200);
		expect(second.headers.get("idempotent-replayed")).toBe("true");
		expect(second.headers.get("x-credits-charged")).toBe("10");
		expect(await second.text()).toBe(firstBody);
		expect(await emulatorCalls(body.prompt)).toHaveLength(2); // n=2, once
		expect(await balanceOf(k.key)).toBe(90);
	});

	it("the same key with a different body is a 422", async () => {
		const k = await createKey();
		const headers = { ...auth(k.key), "idempotency-key": "reused" };
		expect((await postJson(GEN, { prompt: uniquePrompt("a") }, headers)).status).toBe(200);
		const prompt = uniquePrompt("b");
		const err = await expectError(await postJson(GEN, { prompt }, headers), 422, "idempotency_key_reused");
		expect(err.param).toBe("Idempotency-Key");
		expect(await emulatorCalls(prompt)).toEqual([]);
	});

	it("a second request while the first is running is a 409", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const body = { prompt: uniquePrompt("slow", "delay=500") };
		const headers = { ...auth(k.key), "idempotency-key": "in-flight" };
		const first = postJson(GEN, body, headers);
		await new Promise((r) => setTimeout(r, 150));
		await expectError(await postJson(GEN, body, headers), 409, "idempotency_in_flight");
		expect((await first).status).toBe(200);
		expect(await balanceOf(k.key)).toBe(95);
	});

	it("keys are scoped to the API key", async () => {
		const a = await createKey();
		const b = await createKey();
		const body = { prompt: uniquePrompt("scoped") };
		expect((await postJson(GEN, body, { ...auth(a.key), "idempotency-key": "shared" })).status).toBe(200);
		const other = await postJson(GEN, body, { ...auth(b.key), "idempotency-key": "shared" });
		expect(other.status).toBe(200);
		expect(other.headers.get("idempotent-replayed")).toBeNull();
	});

	it("a 4xx outcome is replayed; a 5xx outcome is not kept, so a retry runs again", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const blocked = { prompt: uniquePrompt("blocked", "block=SAFETY") };
		const h1 = { ...auth(k.key), "idempotency-key": "blocked-1" };
		await expectError(await postJson(GEN, blocked, h1), 422, "content_policy_violation");
		const replayed = await postJson(GEN, blocked, h1);
		expect(replayed.headers.get("idempotent-replayed")).toBe("true");
		await expectError(replayed, 422, "content_policy_violation");
		expect(await emulatorCalls(blocked.prompt)).toHaveLength(1);

		const flaky = { prompt: uniquePrompt("flaky", "fail=500x4") }; // 1 try + 3 retries fail, then healthy
		const h2 = { ...auth(k.key), "idempotency-key": "flaky-1" };
		await expectError(await postJson(GEN, flaky, h2), 502, "upstream_error");
		const retried = await postJson(GEN, flaky, h2);
		expect(retried.status).toBe(200);
		expect(retried.headers.get("idempotent-replayed")).toBeNull();
		expect(await balanceOf(k.key)).toBe(95);
	});

	it("large b64_json responses replay byte for byte", async () => {
		const k = await createKey();
		const body = { model: "nano-banana-2", prompt: uniquePrompt("big inline", "format=png,noise=0.3"), response_format: "b64_json" };
		const headers = { ...auth(k.key), "idempotency-key": "big" };
		const first = await (await postJson(GEN, body, headers)).text();
		expect(first.length).toBeGreaterThan(256 * 1024);
		const second = await postJson(GEN, body, headers);
		expect(second.headers.get("idempotent-replayed")).toBe("true");
		expect(await second.text()).toBe(first);
	});

	it("two keys sent with one large body each replay their own answer", async () => {
		const k = await createKey();
		const body = { model: "nano-banana-2", prompt: uniquePrompt("two keys", "format=png,noise=0.3"), response_format: "b64_json" };
		const first = await (await postJson(GEN, body, { ...auth(k.key), "idempotency-key": "key-a" })).text();
		await new Promise((r) => setTimeout(r, 1100)); // the emulator's images are the prompt's: `created` tells the answers apart
		const second = await (await postJson(GEN, body, { ...auth(k.key), "idempotency-key": "key-b" })).text();
		expect(first.length).toBeGreaterThan(256 * 1024); // kept in R2, not inline
		expect(second).not.toBe(first);
		const a = await postJson(GEN, body, { ...auth(k.key), "idempotency-key": "key-a" });
		expect(a.headers.get("idempotent-replayed")).toBe("true");
		expect(await a.text()).toBe(first);
		const b = await postJson(GEN, body, { ...auth(k.key), "idempotency-key": "key-b" });
		expect(await b.text()).toBe(second);
	});

	it("an over-long key is a 400", async () => {
		const k = await createKey();
		const err = await expectError(
			await postJson(GEN, { prompt: "x" }, { ...auth(k.key), "idempotency-key": "k".repeat(256) }),
			400,
			"invalid_parameter",
		);
		expect(err.param).toBe("Idempotency-Key");
	});
});

describe("Idempotency-Key on async and batch submissions", () => {
	for (const tier of ["standard", "batch"] as const) {
		const extra = tier === "batch" ? { service_tier: "batch" } : {};

		it(`${tier}: a repeat replays the first 202 (one job, one hold); a different body is a 422`, async () => {
			const k = await createKey(undefined, { credits: 100 });
			const { queue, sent } = recordingQueue();
			const body = { prompt: uniquePrompt(`async once ${tier}`), n: 2, async: true, ...extra };
			const headers = { ...auth(k.key), "idempotency-key": `job-${tier}` };
			const first = await postJsonWith({ env: { JOBS: queue } }, GEN, body, headers);
			expect(first.status).toBe(202);
			const firstBody = await first.text();
			const again = await postJsonWith({ env: { JOBS: queue } }, GEN, body, headers);
			expect(again.status).toBe(202);
			expect(again.headers.get("idempotent-replayed")).toBe("true");
			expect(again.headers.get("location")).toBe(first.headers.get("location"));
			expect(await again.text()).toBe(firstBody);
			expect(sent).toHaveLength(1);
			const jobs = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE key_id = ?").bind(k.id).first<{ n: number }>();
			expect(jobs?.n).toBe(1);
			const view = await (await accountOf(k.key)).describe();
			expect(view?.reservedCredits).toBe(Number(first.headers.get("x-credits-held")));
			const other = { ...body, prompt: uniquePrompt(`async other ${tier}`) };
			await expectError(await postJsonWith({ env: { JOBS: queue } }, GEN, other, headers), 422, "idempotency_key_reused");
			expect(sent).toHaveLength(1);
		});

		it(`${tier}: a repeat while the first is still being queued is a 409`, async () => {
			const k = await createKey(undefined, { credits: 100 });
			let release = () => {};
			const gate = new Promise<void>((r) => {
				release = r;
			});
			const sent: unknown[] = [];
			const slow = {
				send: async (m: unknown) => {
					await gate;
					sent.push(m);
				},
			} as unknown as Queue;
			const body = { prompt: uniquePrompt(`async in flight ${tier}`), async: true, ...extra };
			const headers = { ...auth(k.key), "idempotency-key": `running-${tier}` };
			const first = postJsonWith({ env: { JOBS: slow } }, GEN, body, headers);
			await new Promise((r) => setTimeout(r, 200));
			try {
				await expectError(await postJsonWith({ env: { JOBS: slow } }, GEN, body, headers), 409, "idempotency_in_flight");
			} finally {
				release();
			}
			expect((await first).status).toBe(202);
			expect(sent).toHaveLength(1);
		});
	}
});
