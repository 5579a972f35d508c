// The upstream pool through the HTTP surface: failover across keys within one request,
// charged once; quota triage (per-minute cools briefly, per-day benches until midnight
// Pacific); 503 when every upstream is cooling; models no upstream serves; unusable
// credentials; the credential never leaving the gateway; what operators see.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildApp } from "../../src/app";
import { nextPacificMidnight } from "../../src/upstreams/triage";
import {
	ADMIN,
	auth,
	balanceOf,
	createKey,
	emulatorCalls,
	expectError,
	flushUsage,
	ledgerRows,
	uniquePrompt,
	usageRows,
} from "../helpers/http";

const app = buildApp();

/** A key the emulator plays as its own project (see emulator/keys.ts). */
async function googleKey(profile: Record<string, unknown> = {}): Promise<string> {
	const key = `AIzaPool${crypto.randomUUID().replaceAll("-", "")}`;
	const res = await fetch(`${env.EMULATOR_URL}/__emulator/keys`, { method: "POST", body: JSON.stringify({ key, ...profile }) });
	expect(res.status).toBe(200);
	return key;
}

/** The Worker's env with a pool of these keys instead of the test key (one object: configuration is parsed once). */
function poolEnv(keys: string[], extra: Record<string, string> = {}): Env {
	return { ...env, GEMINI_API_KEY: "", GEMINI_API_KEYS: keys.join(","), ...extra } as Env;
}

function send(e: Env, path: string, init: RequestInit = {}): Promise<Response> {
	return Promise.resolve(app.fetch(new Request(`https://gateway.test${path}`, init), e, createExecutionContext()));
}

function generate(e: Env, key: string, prompt: string, extra: Record<string, unknown> = {}): Promise<Response> {
	return send(e, "/v1/images/generations", {
		method: "POST",
		headers: { ...auth(key), "content-type": "application/json" },
		body: JSON.stringify({ model: "nano-banana-2", prompt, ...extra }),
	});
}

/** Which pool key served (or failed) each call for this prompt, in order. */
async function trail(prompt: string, keys: string[]): Promise<string[]> {
	return (await emulatorCalls(prompt, { all: true })).map(
		(c) => `${keys.indexOf((c as unknown as { apiKey: string }).apiKey) + 1}:${c.status}`,
	);
}

afterEach(() => {
	vi.restoreAllMocks();
});

describe("failover across keys", () => {
	it("three keys, one answering 429 and one down: every request succeeds on the third, charged once", async () => {
		vi.spyOn(Math, "random").mockReturnValue(0); // try the keys in the order configured
		const keys = [await googleKey({ perMinute: 0 }), await googleKey({ down: 503 }), await googleKey()];
		const e = poolEnv(keys);
		const k = await createKey(undefined, { credits: 100 });
		const trails: string[][] = [];
		for (let i = 0; i < 5; i++) {
			const prompt = uniquePrompt(`pool ${i}`);
			const res = await generate(e, k.key, prompt);
			expect(res.status).toBe(200);
			expect(res.headers.get("x-credits-charged")).toBe("7");
			trails.push(await trail(prompt, keys));
		}
		expect(trails).toEqual([
			["1:429", "2:503", "3:200"], // the 429 cools key 1 for the rest of its minute
			["2:503", "3:200"],
			["2:503", "3:200"], // third failure in a row: key 2's breaker opens
			["3:200"],
			["3:200"],
		]);
		expect(await balanceOf(k.key)).toBe(100 - 5 * 7);
		await flushUsage(k.key);
		expect((await ledgerRows(k.id)).filter((r) => r.kind === "charge").map((r) => r.amount)).toEqual([-7, -7, -7, -7, -7]);
		const rows = await usageRows(k.id);
		expect(rows.map((r) => JSON.parse(r.upstreams))).toEqual(Array(5).fill(["gemini-3"]));

		// What the operator sees: each key's state, counts, cooldowns, never the key.
		const view = await (await send(e, "/admin/upstreams", { headers: ADMIN })).json<{ upstreams: UpstreamView[] }>();
		const [one, two, three] = view.upstreams;
		expect(one).toMatchObject({
			id: "gemini-1",
			kind: "gemini",
			state: "limited",
			credential: { source: "GEMINI_API_KEYS[0]", fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{12}$/) },
			last_hour: { requests: 1, successes: 0, status_429: 1, status_5xx: 0 },
			quota_cooldowns: [
				{ model: "gemini-3.1-flash-image", window: "minute", quota_id: "GenerateRequestsPerMinutePerProjectPerModel-PaidTier" },
			],
			last_error: { status: 429, kind: "quota" },
		});
		expect(two).toMatchObject({ id: "gemini-2", state: "open", last_hour: { requests: 3, status_5xx: 3 }, last_error: { status: 503 } });
		expect(Date.parse(two.cooldown_until ?? "")).toBeGreaterThan(Date.now());
		expect(three).toMatchObject({
			id: "gemini-3",
			state: "healthy",
			in_flight: 0,
			last_hour: { requests: 5, successes: 5 },
			last_error: null,
		});
		expect(JSON.stringify(view)).not.toMatch(new RegExp(keys.join("|")));

		// Usage grouped by the upstream that made each image.
		const usage = await (await send(e, `/admin/usage?key_id=${k.id}`, { headers: ADMIN })).json<{ by_upstream: unknown[] }>();
		expect(usage.by_upstream).toEqual([{ upstream: "gemini-3", requests: 5, images: 5, credits: 35 }]);
		const none = await (await send(e, `/admin/usage?key_id=${k.id}&upstream=gemini-1`, { headers: ADMIN })).json<{
			total: { requests: number };
		}>();
		expect(none.total.requests).toBe(0);
	});

	it("n=2 with a key that drops connections: both images delivered, each recorded with the key that made it", async () => {
		vi.spyOn(Math, "random").mockReturnValue(0);
		const keys = [await googleKey({ down: "drop" }), await googleKey()];
		const e = poolEnv(keys);
		const k = await createKey(undefined, { credits: 100 });
		const res = await generate(e, k.key, uniquePrompt("pair"), { n: 2 });
		expect(res.status).toBe(200);
		expect(res.headers.get("x-credits-charged")).toBe("14");
		await flushUsage(k.key);
		const [row] = await usageRows(k.id);
		expect(JSON.parse(row.upstreams)).toEqual(["gemini-2", "gemini-2"]);
	});

	it("a key that never answers is abandoned after GEMINI_ATTEMPT_TIMEOUT_MS, inside the request's deadline", async () => {
		vi.spyOn(Math, "random").mockReturnValue(0);
		const keys = [await googleKey({ down: "hang" }), await googleKey()];
		const e = poolEnv(keys, { GEMINI_ATTEMPT_TIMEOUT_MS: "300", GEMINI_DEADLINE_MS: "5000" });
		const k = await createKey();
		const prompt = uniquePrompt("hang");
		const started = Date.now();
		const res = await generate(e, k.key, prompt);
		expect(res.status).toBe(200);
		expect(Date.now() - started).toBeLessThan(3000);
		// The emulator logs the 504 it would have sent ten minutes later; the gateway left after 300 ms.
		expect(await trail(prompt, keys)).toEqual(["1:504", "2:200"]);
	});

	it("a lone key keeps the old behaviour: its 429 passes through with Google's delay, nothing is refused locally", async () => {
		const keys = [await googleKey({ perMinute: 0, retryDelay: "45s" })];
		const e = poolEnv(keys);
		const k = await createKey();
		for (let i = 0; i < 2; i++) {
			const prompt = uniquePrompt(`lone ${i}`);
			const res = await generate(e, k.key, prompt);
			await expectError(res, 429, "upstream_rate_limited");
			expect(res.headers.get("retry-after")).toBe("45");
			expect(await emulatorCalls(prompt, { all: true })).toHaveLength(1); // asked each time
		}
	});
});

describe("quota triage", () => {
	it("a per-day quota benches the key until midnight Pacific; a per-minute one cools it briefly", async () => {
		vi.spyOn(Math, "random").mockReturnValue(0);
		const keys = [await googleKey({ perDay: 1 }), await googleKey({ perMinute: 1, windowMs: 1500 }), await googleKey()];
		const e = poolEnv(keys);
		const k = await createKey();
		const served: string[][] = [];
		const run = async (label: string) => {
			const prompt = uniquePrompt(label);
			expect((await generate(e, k.key, prompt)).status).toBe(200);
			served.push(await trail(prompt, keys));
		};
		await run("first");
		await run("day quota hit");
		const benchedAt = Date.now();
		await run("minute quota hit");
		const view = await (await send(e, "/admin/upstreams", { headers: ADMIN })).json<{ upstreams: UpstreamView[] }>();
		const day = view.upstreams[0].quota_cooldowns[0];
		const minute = view.upstreams[1].quota_cooldowns[0];
		expect(day).toMatchObject({ window: "day", quota_id: "GenerateRequestsPerDayPerProjectPerModel-PaidTier" });
		// Google said "retry in 59s"; the quota only resets at midnight Pacific.
		expect(Date.parse(day.until)).toBe(nextPacificMidnight(benchedAt));
		expect(minute.window).toBe("minute");
		expect(Date.parse(minute.until) - Date.now()).toBeLessThanOrEqual(1500);

		await new Promise((r) => setTimeout(r, 1600));
		const later = await (await send(e, "/admin/upstreams", { headers: ADMIN })).json<{ upstreams: UpstreamView[] }>();
		expect(later.upstreams.map((u) => u.state)).toEqual(["limited", "healthy", "healthy"]);
		await run("minute passed");
		// Key 3 goes down: key 2 (cooled, so asked last) serves again; key 1 stays benched.
		await fetch(`${env.EMULATOR_URL}/__emulator/keys`, { method: "POST", body: JSON.stringify({ key: keys[2], down: 503 }) });
		await run("key 3 down");
		expect(served).toEqual([
			["1:200"],
			["1:429", "2:200"],
			["2:429", "3:200"], // key 1 is benched: not even asked
			["3:200"], // key 2 could serve again, but the least recently rate limited is preferred
			["3:503", "2:200"],
		]);
	});
});

describe("nothing to route to", () => {
	it("every upstream cooling: 503 upstreams_unavailable with Retry-After at the earliest end, charged nothing", async () => {
		vi.spyOn(Math, "random").mockReturnValue(0);
		const keys = [await googleKey({ perMinute: 0, retryDelay: "40s" }), await googleKey({ perMinute: 0, retryDelay: "30s" })];
		const e = poolEnv(keys);
		const k = await createKey(undefined, { credits: 100 });
		const first = uniquePrompt("all cooling");
		const res = await generate(e, k.key, first);
		const err = await expectError(res, 503, "upstreams_unavailable");
		expect(err.message).toContain("gemini-3.1-flash-image");
		expect(res.headers.get("retry-after")).toBe("30");
		expect(res.headers.get("x-credits-charged")).toBe("0");
		expect(await trail(first, keys)).toEqual(["1:429", "2:429"]);

		const second = uniquePrompt("still cooling");
		const again = await generate(e, k.key, second);
		await expectError(again, 503, "upstreams_unavailable");
		expect(Number(again.headers.get("retry-after"))).toBeLessThanOrEqual(30);
		expect(await emulatorCalls(second, { all: true })).toEqual([]); // nothing was called
		expect(await balanceOf(k.key)).toBe(100);

		// Google's own dialect says UNAVAILABLE, with the delay as RetryInfo.
		const native = await send(e, "/v1beta/models/nano-banana-2:generateContent", {
			method: "POST",
			headers: { "x-goog-api-key": k.key, "content-type": "application/json" },
			body: JSON.stringify({ contents: [{ parts: [{ text: uniquePrompt("native cooling") }] }] }),
		});
		const body = await native.json<{ error: { status: string; details: Array<{ "@type": string; retryDelay?: string }> } }>();
		expect([native.status, body.error.status]).toEqual([503, "UNAVAILABLE"]);
		expect(body.error.details.find((d) => d["@type"].endsWith("RetryInfo"))?.retryDelay).toMatch(/^\d+s$/);
	});

	it("a model no upstream serves is a 400 naming it, before anything is held", async () => {
		const proOnly = {
			...env,
			GEMINI_API_KEY: "",
			UPSTREAMS: JSON.stringify({ pro: { kind: "gemini", secret: "PRO_KEY", base_url: env.EMULATOR_URL, models: ["gemini-3-pro-image"] } }),
			PRO_KEY: await googleKey(),
		} as Env;
		const k = await createKey(undefined, { credits: 100 });
		const err = await expectError(await generate(proOnly, k.key, uniquePrompt("unserved")), 400, "model_not_served");
		expect(err.param).toBe("model");
		expect(err.message).toContain("nano-banana-2");
		expect((await generate(proOnly, k.key, uniquePrompt("served"), { model: "nano-banana-pro" })).status).toBe(200);
		await flushUsage(k.key);
		expect((await usageRows(k.id)).map((r) => r.model)).toEqual(["nano-banana-pro"]); // the refusal left no row
	});
});

interface UpstreamView {
	id: string;
	state: string;
	cooldown_until: string | null;
	quota_cooldowns: Array<{ model: string; window: string; quota_id: string | null; until: string }>;
}

describe("the credential never leaves the gateway", () => {
	it("not in a response, a log line, a usage row or the operator's view, even when Google quotes it", async () => {
		const logged: string[] = [];
		for (const level of ["log", "info", "warn", "error", "debug"] as const) {
			vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
				logged.push(args.map(String).join(" "));
			});
		}
		vi.spyOn(Math, "random").mockReturnValue(0);
		// Google's 403 for a suspended project quotes the key: "Consumer 'api_key:AIza...' has been suspended."
		const suspended = await googleKey({ suspended: true });
		const pool = poolEnv([suspended, await googleKey()]);
		const alone = poolEnv([suspended]);
		const k = await createKey();
		const seen: string[] = [];
		const keep = async (res: Response) => {
			seen.push(await res.text(), JSON.stringify([...res.headers]));
			return res.status;
		};
		expect(await keep(await generate(pool, k.key, uniquePrompt("leak failover")))).toBe(200);
		expect(await keep(await generate(alone, k.key, uniquePrompt("leak alone")))).toBe(502);
		const native = await send(alone, "/v1beta/models/nano-banana-2:generateContent", {
			method: "POST",
			headers: { "x-goog-api-key": k.key, "content-type": "application/json" },
			body: JSON.stringify({ contents: [{ parts: [{ text: uniquePrompt("leak native") }] }] }),
		});
		expect(await keep(native)).toBe(502);
		for (const e of [pool, alone]) {
			const view = await send(e, "/admin/upstreams", { headers: ADMIN });
			const text = await view.clone().text();
			expect(text).toContain("[redacted]"); // Google did quote it; the gateway scrubbed it
			await keep(view);
			await keep(await send(e, "/admin/catalog", { headers: ADMIN }));
		}
		// /admin/health probes every upstream: the suspended one fails, named by id, its key scrubbed.
		const health = await send(pool, "/admin/health", { headers: ADMIN });
		const checks = await health.clone().json<{ checks: { upstream: { ok: boolean; error: string } } }>();
		expect(checks.checks.upstream).toMatchObject({ ok: false, error: expect.stringContaining("gemini-1: Gemini 403") });
		expect(await keep(health)).toBe(503);
		await flushUsage(k.key);
		seen.push(JSON.stringify(await usageRows(k.id)));
		expect(logged.some((l) => l.includes("upstream_attempt_failed"))).toBe(true); // the spy saw the failures
		for (const text of [...seen, ...logged]) expect(text).not.toContain(suspended);
	});
});

describe("broken credentials", () => {
	const badVertex = { "vertex-bad": { kind: "vertex", secret: "BAD_SA", project: "my-project-1", base_url: env.EMULATOR_URL } };

	it("a malformed service-account key marks only its upstream unusable; alone, it is a configuration error naming it", async () => {
		vi.spyOn(Math, "random").mockReturnValue(0);
		const broken = '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE';
		const mixed = { ...poolEnv([await googleKey()]), UPSTREAMS: JSON.stringify(badVertex), BAD_SA: broken } as Env;
		const k = await createKey(undefined, { credits: 100 });
		expect((await generate(mixed, k.key, uniquePrompt("bad sa, good key"))).status).toBe(200);
		const view = await (await send(mixed, "/admin/upstreams", { headers: ADMIN })).json<{
			upstreams: Array<{ id: string; state: string; problem: string | null }>;
		}>();
		expect(view.upstreams.map((u) => [u.id, u.state])).toEqual([
			["gemini-1", "healthy"],
			["vertex-bad", "unusable"],
		]);
		expect(view.upstreams[1].problem).toBe("vertex-bad: the service account key in BAD_SA is not valid JSON");

		const only = { ...env, GEMINI_API_KEY: "", UPSTREAMS: JSON.stringify(badVertex), BAD_SA: broken } as Env;
		const err = await expectError(await generate(only, k.key, uniquePrompt("bad sa alone")), 500, "configuration_error");
		expect(err.message).toContain("vertex-bad");
		expect(err.message).not.toContain("MIIE");
		expect(await balanceOf(k.key)).toBe(100 - 7);
	});

	it("a key file whose private key WebCrypto refuses is found at the first call, and the request fails over", async () => {
		vi.spyOn(Math, "random").mockReturnValue(0);
		const garbage = new Uint8Array(300).fill(7).toBase64();
		const file = JSON.stringify({
			type: "service_account",
			client_email: "x@my-project-1.iam.gserviceaccount.com",
			private_key: `-----BEGIN PRIVATE KEY-----\n${garbage}\n-----END PRIVATE KEY-----\n`,
			token_uri: `${env.EMULATOR_URL}/token`,
		});
		// Both named in UPSTREAMS, Vertex first, so it is asked first.
		const vertexFirst = {
			...env,
			GEMINI_API_KEY: "",
			UPSTREAMS: JSON.stringify({ ...badVertex, studio: { kind: "gemini", secret: "STUDIO", base_url: env.EMULATOR_URL } }),
			BAD_SA: file,
			STUDIO: await googleKey(),
		} as Env;
		const k = await createKey();
		const prompt = uniquePrompt("unimportable key");
		expect((await generate(vertexFirst, k.key, prompt)).status).toBe(200);
		expect((await emulatorCalls(prompt, { all: true })).length).toBe(1);
		const view = await (await send(vertexFirst, "/admin/upstreams", { headers: ADMIN })).json<{
			upstreams: Array<{ state: string; problem: string | null }>;
		}>();
		expect(view.upstreams[0]).toMatchObject({ state: "unusable", problem: expect.stringContaining("cannot be imported") });
	});
});
