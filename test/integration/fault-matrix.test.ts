// Every kind of upstream failure on every dialect, sync and async: a clear status and
// code, nothing charged, nothing left held, and a usage row that records the error.
// (The 404 kind runs against the lifecycle emulator: were it ever taken for a missing
// model it would mark ids gone there, which a discovery refresh undoes.)
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { ADMIN, accountOf, auth, balanceOf, createKey, flushUsage, uniquePrompt, usageRows } from "../helpers/http";
import { type Job, waitForJob } from "../helpers/jobs";

/** What a failure kind becomes: for the image dialects, and for Gemini's own route. */
interface Kind {
	directive: string;
	status: number;
	code: string;
	/** Gemini-native: a 200 passed through as Gemini sent it (free), or an error. */
	native: { status: number; code?: string };
}

const upstream = (directive: string, status: number, code: string): Kind => ({ directive, status, code, native: { status, code } });
const noImage = (directive: string, code: string): Kind => ({ directive, status: 422, code, native: { status: 200 } });

const POLICY = [
	"IMAGE_SAFETY",
	"IMAGE_PROHIBITED_CONTENT",
	"IMAGE_RECITATION",
	"SAFETY",
	"PROHIBITED_CONTENT",
	"RECITATION",
	"BLOCKLIST",
	"SPII",
];
const EMPTY = ["NO_IMAGE", "IMAGE_OTHER", "OTHER"];

const KINDS: Kind[] = [
	upstream("fail=400", 400, "upstream_rejected_request"),
	upstream("fail=401", 502, "upstream_auth_error"),
	upstream("fail=403", 502, "upstream_auth_error"),
	upstream("fail=429,retry=0.01s", 429, "upstream_rate_limited"),
	upstream("fail=500", 502, "upstream_error"),
	upstream("fail=503", 502, "upstream_error"),
	upstream("fail=504", 502, "upstream_error"),
	upstream("truncate", 502, "upstream_error"),
	upstream("drop", 502, "upstream_error"),
	upstream("malformed", 502, "upstream_bad_response"),
	upstream("bad-base64", 502, "upstream_bad_response"),
	upstream("not-image", 502, "upstream_bad_response"),
	upstream("error200", 502, "upstream_error"),
	noImage("text-only", "no_image_generated"),
	noImage("empty-candidates", "no_image_generated"),
	noImage("block=SAFETY", "content_policy_violation"),
	noImage("block=PROHIBITED_CONTENT", "content_policy_violation"),
	...POLICY.map((r) => noImage(`finish=${r}`, "content_policy_violation")),
	...EMPTY.map((r) => noImage(`finish=${r}`, "no_image_generated")),
];

/** Google's generic 404 (not its model-not-found words): about the request, passed back, no failover. */
const NOT_FOUND = upstream("fail=404", 404, "upstream_not_found");

const app = buildApp();
const lifecycleEnv = { ...env, GEMINI_BASE_URL: env.LIFECYCLE_EMULATOR_URL };

function send(e: Env, path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
	return Promise.resolve(
		app.fetch(
			new Request(`https://gateway.test${path}`, {
				method: "POST",
				headers: { "content-type": "application/json", ...headers },
				body: JSON.stringify(body),
			}),
			e,
			createExecutionContext(),
		),
	);
}

interface Dialect {
	name: string;
	path: string;
	body: (prompt: string) => Record<string, unknown>;
	native?: boolean;
	async?: boolean;
}

const DIALECTS: Dialect[] = [
	{ name: "openai generations", path: "/v1/images/generations", body: (prompt) => ({ model: "nano-banana-2", prompt }), async: true },
	{ name: "vydra", path: "/api/v1/models/nano-banana-2/edit", body: (prompt) => ({ prompt }), async: true },
	{ name: "nanobananaapi", path: "/v1/images/generate", body: (prompt) => ({ model: "nano-banana-2", prompt }), async: true },
	{
		name: "chat completions",
		path: "/v1/chat/completions",
		body: (prompt) => ({ model: "nano-banana-2", messages: [{ role: "user", content: prompt }] }),
	},
	{ name: "openrouter images", path: "/api/v1/images", body: (prompt) => ({ model: "nano-banana-2", prompt }), async: true },
	{
		name: "gemini generateContent",
		path: "/v1beta/models/nano-banana-2:generateContent",
		body: (prompt) => ({ contents: [{ parts: [{ text: prompt }] }] }),
		native: true,
	},
	{
		name: "gemini streamGenerateContent",
		path: "/v1beta/models/nano-banana-2:streamGenerateContent?alt=sse",
		body: (prompt) => ({ contents: [{ parts: [{ text: prompt }] }] }),
		native: true,
	},
];

/** Runs `fn` over `items` with at most `limit` at a time. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
	const out: R[] = new Array(items.length);
	let next = 0;
	await Promise.all(
		Array.from({ length: limit }, async () => {
			for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]);
		}),
	);
	return out;
}

/** What a sync answer said, in either error shape. */
async function outcome(res: Response, native: boolean): Promise<{ status: number; code: string | undefined; requestId: string }> {
	const text = await res.text();
	let code: string | undefined;
	if (res.status >= 400) {
		const body = JSON.parse(text) as { error: { code: string | number; details?: Array<{ reason?: string }> } };
		code = native ? body.error.details?.find((d) => d.reason)?.reason?.toLowerCase() : String(body.error.code);
	}
	return { status: res.status, code, requestId: res.headers.get("x-request-id") ?? "" };
}

async function expectNothingHeld(key: string, credits: number): Promise<void> {
	expect(await balanceOf(key)).toBe(credits);
	expect((await (await accountOf(key)).describe())?.reservedCredits).toBe(0);
}

describe.each(DIALECTS)("$name, sync", (dialect) => {
	it("every upstream failure: its status and code, charged 0, nothing held, a usage row with the error", async () => {
		const k = await createKey(undefined, { credits: 1_000 });
		const headers = dialect.native ? { "x-goog-api-key": k.key } : auth(k.key);
		const results = await pool(KINDS, 6, async (kind) => {
			const res = await send(env, dialect.path, dialect.body(uniquePrompt(`matrix ${dialect.name}`, kind.directive)), headers);
			expect(res.headers.get("x-credits-charged"), kind.directive).toBe("0");
			return { kind, ...(await outcome(res, dialect.native === true)) };
		});
		for (const r of results) {
			const want = dialect.native ? r.kind.native : r.kind;
			expect({ directive: r.kind.directive, status: r.status, code: r.code }).toEqual({
				directive: r.kind.directive,
				status: want.status,
				code: want.code,
			});
		}
		await expectNothingHeld(k.key, 1_000);
		await flushUsage(k.key);
		const rows = new Map((await usageRows(k.id)).map((row) => [row.request_id, row]));
		for (const r of results) {
			const row = rows.get(r.requestId);
			expect(row, r.kind.directive).toBeDefined();
			expect({ directive: r.kind.directive, charged: row?.credits_charged, status: row?.status }).toEqual({
				directive: r.kind.directive,
				charged: 0,
				status: r.status,
			});
			if (r.status >= 400) expect(row?.error_code, r.kind.directive).toBe(r.code);
		}
	}, 120_000);
});

describe.each(DIALECTS.filter((d) => d.async))("$name, async", (dialect) => {
	it("every upstream failure: the job FAILED with the sync code, charged 0, nothing held, a usage row", async () => {
		const k = await createKey(undefined, { credits: 1_000 });
		const jobs = await pool(KINDS, 6, async (kind) => {
			const res = await send(
				env,
				dialect.path,
				{ ...dialect.body(uniquePrompt(`async ${dialect.name}`, kind.directive)), async: true },
				auth(k.key),
			);
			expect(res.status, kind.directive).toBe(202);
			return { kind, id: (await res.json<Job>()).id };
		});
		const finished = await pool(jobs, 8, async (j) => ({ ...j, job: await waitForJob(k.key, j.id, undefined, 90_000) }));
		for (const f of finished) {
			expect({ directive: f.kind.directive, status: f.job.status, code: f.job.error?.code, charged: f.job.credits_charged }).toEqual({
				directive: f.kind.directive,
				status: "FAILED",
				code: f.kind.code,
				charged: 0,
			});
		}
		await expectNothingHeld(k.key, 1_000);
		await flushUsage(k.key);
		const rows = new Map((await usageRows(k.id)).map((row) => [row.request_id, row]));
		for (const f of finished) {
			expect({ directive: f.kind.directive, code: rows.get(f.id)?.error_code, charged: rows.get(f.id)?.credits_charged }).toEqual({
				directive: f.kind.directive,
				code: f.kind.code,
				charged: 0,
			});
		}
	}, 180_000);
});

describe("chat completions streamed: every upstream failure is an error event after the 200", () => {
	it("its code, charged 0, nothing held, a usage row with the error", async () => {
		const k = await createKey(undefined, { credits: 1_000 });
		const results = await pool(KINDS, 6, async (kind) => {
			const body = {
				model: "nano-banana-2",
				stream: true,
				messages: [{ role: "user", content: uniquePrompt("matrix stream", kind.directive) }],
			};
			const res = await send(env, "/v1/chat/completions", body, auth(k.key));
			expect(res.status, kind.directive).toBe(200);
			const events = (await res.text()).split("\n\n").filter((e) => e.startsWith("data: "));
			const first = JSON.parse(events[0].slice(6)) as { error?: { code: string } };
			return { kind, code: first.error?.code, requestId: res.headers.get("x-request-id") ?? "" };
		});
		for (const r of results)
			expect({ directive: r.kind.directive, code: r.code }).toEqual({ directive: r.kind.directive, code: r.kind.code });
		await expectNothingHeld(k.key, 1_000);
		await flushUsage(k.key);
		const rows = new Map((await usageRows(k.id)).map((row) => [row.request_id, row]));
		for (const r of results) {
			expect({ directive: r.kind.directive, code: rows.get(r.requestId)?.error_code, status: rows.get(r.requestId)?.status }).toEqual({
				directive: r.kind.directive,
				code: r.kind.code,
				status: r.kind.status,
			});
		}
	}, 120_000);
});

describe("Batch lane: every failure Gemini can put in a batch answer", () => {
	// A batch answer is JSON Gemini wrote, so a malformed body or a cut connection reaches
	// the gateway as that request's INTERNAL error: 502 upstream_error.
	const batchCode = (kind: Kind) => (kind.directive === "malformed" ? "upstream_error" : kind.code);

	it("the job FAILED with the sync code, charged 0, nothing held, a usage row", async () => {
		const k = await createKey(undefined, { credits: 1_000 });
		const jobs = await pool(KINDS, 6, async (kind) => {
			const body = { model: "nano-banana-2", prompt: uniquePrompt("batch matrix", kind.directive), async: true, service_tier: "batch" };
			const res = await send(env, "/v1/images/generations", body, auth(k.key));
			expect(res.status, kind.directive).toBe(202);
			return { kind, id: (await res.json<Job>()).id };
		});
		const finished = await pool(jobs, 8, async (j) => ({ ...j, job: await waitForJob(k.key, j.id, undefined, 90_000) }));
		for (const f of finished) {
			expect({ directive: f.kind.directive, status: f.job.status, code: f.job.error?.code, charged: f.job.credits_charged }).toEqual({
				directive: f.kind.directive,
				status: "FAILED",
				code: batchCode(f.kind),
				charged: 0,
			});
		}
		await expectNothingHeld(k.key, 1_000);
		await flushUsage(k.key);
		const rows = new Map((await usageRows(k.id)).map((row) => [row.request_id, row]));
		for (const f of finished)
			expect({ directive: f.kind.directive, code: rows.get(f.id)?.error_code }).toEqual({
				directive: f.kind.directive,
				code: batchCode(f.kind),
			});
	}, 180_000);
});

describe("404 NOT_FOUND about the request", () => {
	afterAll(async () => {
		// Had a 404 been taken for a missing model, ids would be marked gone; a listing clears them.
		await send(lifecycleEnv, "/admin/catalog/refresh", {}, ADMIN);
	});

	it.each(DIALECTS)("$name: 404 upstream_not_found, charged 0, a usage row", async (dialect) => {
		const k = await createKey(undefined, { credits: 1_000 });
		const headers = dialect.native ? { "x-goog-api-key": k.key } : auth(k.key);
		const res = await send(lifecycleEnv, dialect.path, dialect.body(uniquePrompt("gone", NOT_FOUND.directive)), headers);
		const r = await outcome(res, dialect.native === true);
		expect([r.status, r.code]).toEqual([404, "upstream_not_found"]);
		await expectNothingHeld(k.key, 1_000);
		await flushUsage(k.key);
		const [row] = await usageRows(k.id);
		expect(row).toMatchObject({ request_id: r.requestId, error_code: "upstream_not_found", credits_charged: 0 });
	});
});
