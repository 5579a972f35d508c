// GET /admin/health checks every dependency for real and names the one that is broken;
// GET /health stays a constant answer that touches nothing.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { ADMIN, BASE, call, expectError } from "../helpers/http";

interface Health {
	ok: boolean;
	checked_at: string;
	checks: Record<"d1" | "r2" | "key_account" | "queue" | "upstream", { ok: boolean; ms: number; error?: string } & Record<string, unknown>>;
}

/** The app with some bindings or settings replaced, as a broken deployment would have them. */
async function healthWith(overrides: Partial<Env>): Promise<{ status: number; body: Health }> {
	const ctx = createExecutionContext();
	const res = await buildApp().fetch(new Request(`${BASE}/admin/health`, { headers: ADMIN }), { ...env, ...overrides }, ctx);
	await waitOnExecutionContext(ctx);
	return { status: res.status, body: await res.json<Health>() };
}

const down = (what: string) => () => {
	throw new Error(`${what} is down`);
};

describe("GET /admin/health", () => {
	it("reports every dependency healthy, each with its latency", async () => {
		const res = await call("/admin/health", { headers: ADMIN });
		expect(res.status).toBe(200);
		const body = await res.json<Health>();
		expect(body.ok).toBe(true);
		expect(Object.keys(body.checks)).toEqual(["d1", "r2", "key_account", "queue", "upstream"]);
		for (const check of Object.values(body.checks)) {
			expect(check.ok).toBe(true);
			expect(check.ms).toBeGreaterThanOrEqual(0);
		}
		expect(body.checks.d1.migration).toBe(env.TEST_MIGRATIONS.at(-1)?.name);
		expect(body.checks.queue).toMatchObject({ backlog: expect.any(Number), dead_letter_backlog: expect.any(Number) });
		expect(body.checks.upstream).toMatchObject({ url: env.EMULATOR_URL, models: expect.any(Number) });
		expect(body.checks.upstream.models as number).toBeGreaterThan(0);
	});

	it.each([
		["d1", { DB: { prepare: down("D1") } as unknown as D1Database }, "D1 is down"],
		["r2", { IMAGES: { head: down("R2") } as unknown as R2Bucket }, "R2 is down"],
		["r2", { PRIVATE: { head: down("the private R2 bucket") } as unknown as R2Bucket }, "private R2 bucket is down"],
		["key_account", { KEY_ACCOUNT: { idFromName: down("the Durable Object namespace") } as unknown as Env["KEY_ACCOUNT"] }, "is down"],
		["queue", { JOBS_DLQ: { metrics: down("the dead-letter queue") } as unknown as Env["JOBS_DLQ"] }, "dead-letter queue is down"],
		// A base URL where something answers, but not Gemini.
		["upstream", { GEMINI_BASE_URL: `${env.EMULATOR_URL}/not-gemini` }, "404"],
	] as const)("with %s broken: 503 naming it, the others still healthy", async (name, overrides, error) => {
		const { status, body } = await healthWith(overrides);
		expect(status).toBe(503);
		expect(body.ok).toBe(false);
		expect(body.checks[name]).toMatchObject({ ok: false, error: expect.stringContaining(error) });
		for (const [other, check] of Object.entries(body.checks)) if (other !== name) expect(check.ok, other).toBe(true);
	});

	it("says which upstream answered what when Gemini refuses the gateway's key", async () => {
		const { status, body } = await healthWith({ GEMINI_API_KEY: "not-the-emulators-key" });
		expect(status).toBe(503);
		expect(body.checks.upstream).toMatchObject({ ok: false });
		expect(body.checks.upstream.error).not.toContain("not-the-emulators-key");
	});

	it("needs the admin token", async () => {
		await expectError(await call("/admin/health"), 401, "invalid_api_key");
	});
});

describe("GET /health", () => {
	it("answers without touching any binding", async () => {
		const ctx = createExecutionContext();
		const broken = {
			...env,
			DB: undefined,
			IMAGES: undefined,
			PRIVATE: undefined,
			KEY_ACCOUNT: undefined,
			JOBS: undefined,
			GEMINI_BASE_URL: "http://127.0.0.1:9",
		};
		const res = await buildApp().fetch(new Request(`${BASE}/health`), broken, ctx);
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ ok: true });
	});
});
