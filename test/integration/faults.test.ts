import { describe, expect, it } from "vitest";
import { auth, createKey, emulatorCalls, expectError, listObjects, postJson, postJsonWith, uniquePrompt } from "../helpers/http";

/** Sends one generation with emulator directives; returns response and the calls it made. */
async function generate(directives: string, extra: Record<string, unknown> = {}) {
	const k = await createKey();
	const prompt = uniquePrompt("fault", directives);
	const res = await postJson("/v1/images/generations", { prompt, ...extra }, auth(k.key));
	return { res, prompt, key: k };
}

async function objectsFor(keyId: string) {
	return (await listObjects()).filter((o) => o.key.includes(`/${keyId}/`));
}

describe("upstream failures map to clear errors and leave nothing in R2", () => {
	it.each([
		["block=SAFETY", 422, "content_policy_violation", "SAFETY"],
		["block=PROHIBITED_CONTENT", 422, "content_policy_violation", "PROHIBITED_CONTENT"],
		["finish=IMAGE_SAFETY", 422, "content_policy_violation", "IMAGE_SAFETY"],
		["finish=NO_IMAGE", 422, "no_image_generated", "NO_IMAGE"],
		["text-only", 422, "no_image_generated", "TEXT_ONLY"],
		["malformed", 502, "upstream_bad_response", ""],
		["truncate", 502, "upstream_error", ""],
		["fail=500", 502, "upstream_error", ""],
		["fail=503", 502, "upstream_error", ""],
		["fail=429,retry=0.01s", 429, "upstream_rate_limited", ""],
		["fail=403", 502, "upstream_auth_error", ""],
		["fail=400", 400, "upstream_rejected_request", ""],
	])("%s -> %i %s", async (directives, status, code, reason) => {
		const { res, key } = await generate(directives);
		const err = await expectError(res, status, code);
		if (reason) expect(err.message).toContain(reason);
		expect(err.message).not.toMatch(/at .*\.ts:\d+/); // no stack traces
		expect(await objectsFor(key.id)).toEqual([]);
	});

	it("a text-only answer carries Gemini's words", async () => {
		const { res } = await generate("text-only");
		const err = await expectError(res, 422, "no_image_generated");
		expect(err.message).toContain("I will not draw it");
	});

	it("times out slow upstream calls with 504 once the deadline passes", async () => {
		const k = await createKey();
		const res = await postJsonWith(
			{ env: { GEMINI_DEADLINE_MS: "300" } },
			"/v1/images/generations",
			{ prompt: uniquePrompt("slow", "delay=2000") },
			auth(k.key),
		);
		await expectError(res, 504, "upstream_timeout");
	});

	it("429 exhausted is a 429 to the caller with Gemini's retry hint as Retry-After", async () => {
		// 60 s is past the 20 s test deadline, so the gateway gives up at once and says so.
		const { res, prompt } = await generate("fail=429,retry-after=60");
		expect(res.headers.get("retry-after")).toBe("60");
		expect(await emulatorCalls(prompt)).toHaveLength(1);
		const err = await expectError(res, 429, "upstream_rate_limited");
		expect(err.type).toBe("rate_limit_error");
	});

	it("429 exhausted takes Retry-After from RetryInfo when Gemini sends no header", async () => {
		const { res } = await generate("fail=429,retry=45s");
		expect(res.headers.get("retry-after")).toBe("45");
		await expectError(res, 429, "upstream_rate_limited");
	});
});

describe("retries through the real HTTP path", () => {
	it("a connection that drops before any answer (workerd: 'Network connection lost.') is retried", async () => {
		const { res, prompt } = await generate("drop=x1");
		expect(res.status).toBe(200);
		expect((await emulatorCalls(prompt)).map((c) => c.status)).toEqual([0, 200]); // dropped, then answered
	});

	it("429 then success succeeds after one retry", async () => {
		const { res, prompt } = await generate("fail=429x1,retry=0.05s");
		expect(res.status).toBe(200);
		expect(await emulatorCalls(prompt)).toHaveLength(2);
	});

	it("503 twice then success succeeds", async () => {
		const { res, prompt } = await generate("fail=503x2");
		expect(res.status).toBe(200);
		expect(await emulatorCalls(prompt)).toHaveLength(3);
	});

	it("a dropped connection is retried", async () => {
		const { res, prompt } = await generate("truncate=x1");
		expect(res.status).toBe(200);
		expect(await emulatorCalls(prompt)).toHaveLength(2);
	});

	it("400 is not retried", async () => {
		const { res, prompt } = await generate("fail=400");
		await expectError(res, 400, "upstream_rejected_request");
		expect(await emulatorCalls(prompt)).toHaveLength(1);
	});

	it("gives up after GEMINI_MAX_RETRIES (default 3) retries", async () => {
		const { prompt } = await generate("fail=500");
		expect(await emulatorCalls(prompt)).toHaveLength(4);
	});
});

describe("partial results", () => {
	it("n=4 with two failing calls returns the two that worked", async () => {
		const { res, prompt, key } = await generate("fail=400x2", { n: 4 });
		expect(res.status).toBe(200);
		const body = await res.json<{ data: unknown[] }>();
		expect(body.data).toHaveLength(2);
		expect(await emulatorCalls(prompt)).toHaveLength(4);
		expect(await objectsFor(key.id)).toHaveLength(2);
	});
});
