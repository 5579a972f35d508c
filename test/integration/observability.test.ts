// What an operator sees of each request: the Server-Timing header on every API response
// and the one structured log line per request, with nothing secret in it.
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { ADMIN, auth, call, createKey, flushUsage, postJson, uniquePrompt, usageRows } from "../helpers/http";
import { TEST_PRICES } from "../node/prices";

interface LogLine {
	event: string;
	request_id: string;
	method: string;
	route: string | null;
	status: number;
	dialect: string | null;
	key_id: string | null;
	model: string | null;
	upstream_model: string | null;
	error_code: string | null;
	credits_charged: number;
	images: number;
	total_ms: number;
	upstream_ms: number | null;
	phases_ms: Record<string, number>;
}

let logSpy: MockInstance<typeof console.log>;
beforeEach(() => {
	logSpy = vi.spyOn(console, "log");
});
afterEach(() => {
	logSpy.mockRestore();
});

/** Every line logged so far, as text. */
const logged = () => logSpy.mock.calls.map((args) => args.map(String).join(" "));

/** The request log line of the response, asserting there is exactly one. */
function lineOf(res: Response): LogLine {
	const id = res.headers.get("x-request-id");
	const lines = logged()
		.filter((l) => l.startsWith("{"))
		.map((l) => JSON.parse(l) as LogLine)
		.filter((l) => l.event === "request" && l.request_id === id);
	expect(lines).toHaveLength(1);
	return lines[0];
}

/** Server-Timing as phase -> milliseconds. */
function timings(res: Response): Record<string, number> {
	const header = res.headers.get("server-timing") ?? "";
	const out: Record<string, number> = {};
	for (const entry of header.split(",").map((s) => s.trim())) {
		const m = entry.match(/^([a-z]+);dur=(\d+(?:\.\d+)?)$/);
		expect(m, `malformed entry "${entry}" in "${header}"`).not.toBeNull();
		if (m) out[m[1]] = Number(m[2]);
	}
	return out;
}

describe("a generation", () => {
	it("carries Server-Timing with every phase and logs one line that matches the usage row", async () => {
		const k = await createKey();
		const prompt = uniquePrompt("observed banana");
		const res = await postJson("/v1/images/generations", { model: "nano-banana", prompt }, auth(k.key));
		expect(res.status).toBe(200);
		await res.json();

		const t = timings(res);
		// One Durable Object call enters a generation: the key is checked by admission, so there is no auth phase.
		expect(Object.keys(t)).toEqual(["admit", "upstream", "store", "settle", "total"]);
		for (const phase of ["admit", "upstream", "store", "settle"]) expect(t[phase]).toBeLessThanOrEqual(t.total);

		const line = lineOf(res);
		await flushUsage(k.key);
		const [row] = await usageRows(k.id);
		expect(line).toMatchObject({
			method: "POST",
			route: "/v1/images/generations",
			status: 200,
			dialect: "openai",
			key_id: k.id,
			model: "nano-banana",
			upstream_model: row.upstream_model,
			upstreams: JSON.parse(row.upstreams),
			error_code: null,
			credits_charged: TEST_PRICES["nano-banana"],
			images: 1,
			upstream_ms: row.upstream_ms,
		});
		expect(row.upstream_model).toMatch(/^gemini-/);
		expect(Number(res.headers.get("x-credits-charged"))).toBe(line.credits_charged);
		expect(line.total_ms).toBe(t.total);
		expect(line.phases_ms).toEqual({ admit: t.admit, upstream: t.upstream, store: t.store, settle: t.settle });
		// Nothing secret: not the key, not the prompt, not the gateway's own credentials.
		const raw = JSON.stringify(line);
		for (const secret of [k.key, prompt, "test-gemini-key", "test-admin-token"]) expect(raw).not.toContain(secret);
	});

	it("that fails upstream logs the error code and nothing charged", async () => {
		const k = await createKey();
		const res = await postJson("/v1/images/generations", { prompt: uniquePrompt("doomed", "fail=400") }, auth(k.key));
		expect(res.status).toBe(400);
		expect(lineOf(res)).toMatchObject({
			status: 400,
			error_code: "upstream_rejected_request",
			credits_charged: 0,
			images: 0,
			dialect: "openai",
			model: "nano-banana",
		});
		expect(Object.keys(timings(res))).toEqual(["admit", "upstream", "settle", "total"]);
	});

	it("in Gemini's dialect names that dialect; nothing is stored, so there is no store phase", async () => {
		const k = await createKey();
		const res = await call("/v1beta/models/nano-banana-2:generateContent", {
			method: "POST",
			headers: { "content-type": "application/json", "x-goog-api-key": k.key },
			body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: uniquePrompt("native") }] }] }),
		});
		expect(res.status).toBe(200);
		expect(Object.keys(timings(res))).toEqual(["admit", "upstream", "settle", "total"]);
		expect(lineOf(res)).toMatchObject({ dialect: "gemini", route: "/v1beta/models/:target{[^/]+}", model: "nano-banana-2", images: 1 });
	});

	it("submitted as an async job logs the submission", async () => {
		const k = await createKey();
		const res = await postJson("/v1/images/generations", { prompt: uniquePrompt("later"), async: true }, auth(k.key));
		expect(res.status).toBe(202);
		expect(Object.keys(timings(res))).toEqual(["admit", "total"]);
		expect(lineOf(res)).toMatchObject({ status: 202, dialect: "openai", model: "nano-banana", key_id: k.id, credits_charged: 0 });
	});
});

describe("every other request", () => {
	it("refused ones log their error code, and /v1 answers carry Server-Timing even then", async () => {
		const k = await createKey(undefined, { credits: 0 });
		const poor = await postJson("/v1/images/generations", { prompt: uniquePrompt("unpaid") }, auth(k.key));
		expect(poor.status).toBe(402);
		expect(lineOf(poor)).toMatchObject({ error_code: "insufficient_credits", key_id: k.id, model: "nano-banana", credits_charged: 0 });
		expect(Object.keys(timings(poor))).toEqual(["admit", "total"]);

		const stranger = await call("/v1/account", { headers: { authorization: "Bearer nbk_nope" } });
		expect(stranger.status).toBe(401);
		expect(lineOf(stranger)).toMatchObject({ status: 401, error_code: "invalid_api_key", key_id: null, route: "/v1/*" });
		expect(Object.keys(timings(stranger))).toEqual(["auth", "total"]);

		const lost = await call("/v1/nowhere", { headers: auth(k.key) });
		expect(lineOf(lost)).toMatchObject({ status: 404, error_code: "not_found" });
	});

	it("reads log a line with the route pattern; outside the API there is no Server-Timing", async () => {
		const k = await createKey();
		const models = await call("/v1/models", { headers: auth(k.key) });
		expect(Object.keys(timings(models))).toEqual(["auth", "total"]);
		expect(lineOf(models)).toMatchObject({ route: "/v1/models", status: 200, key_id: k.id, error_code: null });

		const health = await call("/health");
		expect(health.headers.get("server-timing")).toBeNull();
		expect(lineOf(health)).toMatchObject({ route: "/health", status: 200, dialect: null });

		const admin = await call("/admin/keys", { headers: ADMIN });
		expect(admin.headers.get("server-timing")).toBeNull();
		expect(lineOf(admin)).toMatchObject({ dialect: "admin", status: 200 });
		expect(logged().join("\n")).not.toContain("test-admin-token");
	});
});
