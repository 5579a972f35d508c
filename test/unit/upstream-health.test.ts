// Quota triage, the circuit breaker, merging what isolates know, and the choice of an
// upstream: pure logic on a given clock.
import { describe, expect, it } from "vitest";
import {
	errorFromResponse,
	GeminiAuthError,
	GeminiBadRequestError,
	GeminiConnectionError,
	type GeminiError,
	GeminiTimeoutError,
} from "../../src/gemini/errors";
import type { GoogleRpcDetail } from "../../src/gemini/types";
import { choose } from "../../src/upstreams/choose";
import { freshScope, HealthBoard, merge, prune, type SharedScope } from "../../src/upstreams/health";
import { board, type Member, scrub } from "../../src/upstreams/pool";
import { nextPacificMidnight, triage } from "../../src/upstreams/triage";

const T0 = Date.UTC(2026, 10, 22, 12, 0, 0); // 04:00 Pacific (PST)

/** A 429 as Google sends it, with a QuotaFailure naming `quotaId` and a RetryInfo. */
function quota429(quotaId: string | undefined, retryDelay?: string): GeminiError {
	const details: GoogleRpcDetail[] = [];
	if (quotaId) details.push({ "@type": "type.googleapis.com/google.rpc.QuotaFailure", violations: [{ quotaMetric: "m", quotaId }] });
	if (retryDelay) details.push({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay });
	return errorFromResponse(429, { error: { code: 429, status: "RESOURCE_EXHAUSTED", message: "quota", details } }, null);
}

describe("quota triage", () => {
	it("a per-minute quota cools for RetryInfo's delay (60 s without one)", () => {
		expect(triage(quota429("GenerateRequestsPerMinutePerProjectPerModel-PaidTier", "26s"), T0)).toEqual({
			kind: "quota",
			window: "minute",
			quotaId: "GenerateRequestsPerMinutePerProjectPerModel-PaidTier",
			until: T0 + 26_000,
		});
		expect(triage(quota429("GenerateContentInputTokensPerModelPerMinute-FreeTier"), T0)).toMatchObject({
			window: "minute",
			until: T0 + 60_000,
		});
	});

	it("a per-day quota benches until midnight Pacific, even when Google says 59s", () => {
		const v = triage(quota429("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "59s"), T0);
		expect(v).toMatchObject({ kind: "quota", window: "day", until: Date.UTC(2026, 10, 23, 8, 0, 0) });
		// Per-day wins when both windows are named; a longer RetryInfo is honoured.
		expect(triage(quota429("GenerateRequestsPerDayPerProjectPerModel-PaidTier", "172800s"), T0)).toMatchObject({ until: T0 + 172_800_000 });
	});

	it("a 429 without QuotaFailure cools for its delay, or 30 s", () => {
		expect(triage(quota429(undefined, "2s"), T0)).toMatchObject({ window: "unknown", until: T0 + 2_000 });
		expect(triage(quota429(undefined), T0)).toMatchObject({ window: "unknown", until: T0 + 30_000 });
	});

	it("other failures", () => {
		const server = errorFromResponse(503, { error: { code: 503, status: "UNAVAILABLE" } }, "7");
		expect(triage(server, T0)).toEqual({ kind: "server", retryAfterMs: 7_000 });
		expect(triage(new GeminiAuthError("no", { status: 403 }), T0)).toEqual({ kind: "auth" });
		expect(triage(errorFromResponse(400, { error: { details: [{ reason: "API_KEY_INVALID" }] } }, null), T0)).toEqual({ kind: "auth" });
		expect(triage(new GeminiConnectionError("reset"), T0)).toEqual({ kind: "network" });
		expect(triage(new GeminiTimeoutError("slow"), T0)).toEqual({ kind: "timeout" });
		// Only Google's model-not-found wording suggests a model is gone (checked 2026-12-03); any other 404 is the request's.
		const notFound = (message: string) => errorFromResponse(404, { error: { code: 404, status: "NOT_FOUND", message } }, null);
		const gemini =
			"models/gemini-x is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.";
		const vertex =
			"Publisher Model `projects/p/locations/global/publishers/google/models/gemini-x` was not found or your project does not have access to it. Please ensure you are using a valid model version.";
		expect(triage(notFound(gemini), T0)).toEqual({ kind: "gone" });
		expect(triage(notFound(gemini.replace("generateContent", "StreamGenerateContent")), T0)).toEqual({ kind: "gone" });
		expect(triage(notFound(vertex), T0)).toEqual({ kind: "gone" });
		expect(triage(notFound("Requested entity was not found."), T0)).toEqual({ kind: "request" });
		expect(triage(errorFromResponse(404, { error: { status: "NOT_FOUND" } }, null), T0)).toEqual({ kind: "request" });
		expect(triage(errorFromResponse(404, undefined, null), T0)).toEqual({ kind: "request" });
		expect(triage(new GeminiBadRequestError("bad", { status: 400 }), T0)).toEqual({ kind: "request" });
	});

	it.each([
		["PST", "2026-11-22T07:59:59Z", "2026-11-22T08:00:00Z"],
		["PST, just after midnight", "2026-11-22T08:00:01Z", "2026-11-23T08:00:00Z"],
		["PDT", "2026-07-01T12:00:00Z", "2026-07-02T07:00:00Z"],
		["the evening before DST begins", "2026-03-08T07:30:00Z", "2026-03-08T08:00:00Z"],
		["the day DST begins", "2026-03-08T09:00:00Z", "2026-03-09T07:00:00Z"],
		["the day DST ends", "2026-11-01T08:00:00Z", "2026-11-02T08:00:00Z"],
	])("next midnight Pacific (%s)", (_, now, expected) => {
		expect(new Date(nextPacificMidnight(Date.parse(now))).toISOString()).toBe(new Date(expected).toISOString());
	});
});

const note = (at: number, status = 503) => ({ at, status, kind: "server", message: "x" });
let n = 0;
const scope = () => `unit-${++n}-${crypto.randomUUID()}`;

describe("the circuit breaker", () => {
	it("opens after three failures in a row, for 10 s, then lets one probe through", () => {
		const b = new HealthBoard();
		const s = scope();
		for (let i = 0; i < 2; i++) b.failed(s, "m", false, { kind: "server" }, note(T0), T0);
		expect(b.availability(s, "m", T0)).toEqual({ ok: true, probe: false });
		b.failed(s, "m", false, { kind: "network" }, note(T0, 0), T0);
		expect(b.availability(s, "m", T0 + 9_999)).toEqual({ ok: false, why: "open", until: T0 + 10_000 });
		expect(b.availability(s, "m", T0 + 10_000)).toEqual({ ok: true, probe: true });
		b.begin(s, true, T0 + 10_000);
		expect(b.availability(s, "m", T0 + 10_001)).toMatchObject({ ok: false, why: "probing" });
		// The probe fails: open again, twice as long.
		b.failed(s, "m", true, { kind: "server" }, note(T0 + 10_100), T0 + 10_100);
		expect(b.availability(s, "m", T0 + 10_100)).toEqual({ ok: false, why: "open", until: T0 + 10_100 + 20_000 });
		// The next probe succeeds: closed, counters reset.
		b.begin(s, true, T0 + 31_000);
		b.succeeded(s, "m", true, T0 + 31_000);
		expect(b.availability(s, "m", T0 + 31_000)).toEqual({ ok: true, probe: false });
		expect(b.shared(s).breaker).toEqual({ open: false, until: 0, opens: 0, at: T0 + 31_000 });
	});

	it("honours a longer Retry-After, and a refused credential opens it at once for five minutes", () => {
		const b = new HealthBoard();
		const s = scope();
		for (let i = 0; i < 3; i++) b.failed(s, "m", false, { kind: "server", retryAfterMs: 45_000 }, note(T0), T0);
		expect(b.availability(s, "m", T0)).toMatchObject({ why: "open", until: T0 + 45_000 });
		const a = scope();
		b.failed(a, "m", false, { kind: "auth" }, note(T0, 403), T0);
		expect(b.availability(a, "m", T0)).toMatchObject({ why: "open", until: T0 + 300_000 });
	});

	it("a success between failures resets the count; 4xx about the request say nothing about the upstream", () => {
		const b = new HealthBoard();
		const s = scope();
		for (let i = 0; i < 5; i++) {
			b.failed(s, "m", false, { kind: "server" }, note(T0), T0);
			b.failed(s, "m", false, { kind: "request" }, note(T0, 400), T0);
			b.failed(s, "m", false, { kind: "server" }, note(T0), T0);
			b.succeeded(s, "m", false, T0);
		}
		expect(b.availability(s, "m", T0)).toEqual({ ok: true, probe: false });
	});
});

describe("quota cooldowns", () => {
	it("are per model: a benched model leaves the upstream's other models alone; a success ends a cooldown", () => {
		const b = new HealthBoard();
		const s = scope();
		b.failed(s, "pro", false, { kind: "quota", window: "day", until: T0 + 3_600_000 }, note(T0, 429), T0);
		b.failed(s, "flash", false, { kind: "quota", window: "minute", until: T0 + 20_000 }, note(T0, 429), T0);
		expect(b.availability(s, "pro", T0 + 1)).toEqual({ ok: false, why: "benched", until: T0 + 3_600_000 });
		expect(b.availability(s, "flash", T0 + 1)).toEqual({ ok: false, why: "cooling", until: T0 + 20_000 });
		expect(b.availability(s, "lite", T0 + 1)).toEqual({ ok: true, probe: false });
		expect(b.availability(s, "flash", T0 + 20_000)).toEqual({ ok: true, probe: false });
		b.succeeded(s, "pro", false, T0 + 5);
		expect(b.availability(s, "pro", T0 + 6)).toEqual({ ok: true, probe: false });
		expect(b.last429(s, "pro")).toBe(T0);
	});

	it("a concurrency cap counts this isolate's calls in flight", () => {
		const b = new HealthBoard();
		const s = scope();
		b.begin(s, false, T0);
		b.begin(s, false, T0);
		expect(b.availability(s, "m", T0, 2)).toMatchObject({ ok: false, why: "full" });
		b.succeeded(s, "m", false, T0);
		expect(b.availability(s, "m", T0, 2)).toEqual({ ok: true, probe: false });
	});
});

describe("merging what isolates know", () => {
	const cooling = (at: number, until: number): SharedScope => ({
		...freshScope(),
		quotas: { m: { until, window: "minute", at } },
		last429: { m: at },
	});

	it("the later fact wins, a clearing included, and a reset forgets what came before it", () => {
		const a = cooling(T0, T0 + 60_000);
		const cleared: SharedScope = { ...freshScope(), quotas: { m: { until: T0 + 60_000, window: "minute", at: T0 + 5, cleared: true } } };
		expect(merge(a, cleared).quotas.m.cleared).toBe(true);
		expect(merge(cleared, a).quotas.m.cleared).toBe(true);
		expect(merge(a, cooling(T0 + 9, T0 + 30_000)).quotas.m.until).toBe(T0 + 30_000);
		expect(merge(a, cooling(T0 + 9, T0 + 30_000)).last429.m).toBe(T0 + 9);
		const opened = { ...freshScope(), breaker: { open: true, until: T0 + 10_000, opens: 1, at: T0 } };
		const reset = { ...freshScope(), resetAt: T0 + 1 };
		expect(merge(merge(opened, a), reset)).toMatchObject({ breaker: { open: false }, quotas: {}, resetAt: T0 + 1 });
	});

	it("prune drops ended cooldowns but keeps a clearing until the cooldown would have ended", () => {
		const s: SharedScope = {
			...freshScope(),
			quotas: {
				over: { until: T0 - 1, window: "minute", at: T0 - 60_000 },
				cleared: { until: T0 + 1_000, window: "day", at: T0 - 5, cleared: true },
			},
		};
		expect(Object.keys(prune(s, T0).quotas)).toEqual(["cleared"]);
	});
});

function member(id: string, weight = 1): Member {
	return {
		spec: { id, kind: "gemini", source: "test", baseUrl: "https://x", weight, credential: { type: "api_key", apiKey: `k-${id}` } },
		scope: `${id}#${crypto.randomUUID()}`,
		fingerprint: "sha256:000000000000",
		endpoint: { url: () => "https://x", headers: () => ({}) },
		secrets: [],
	};
}

describe("choosing an upstream", () => {
	it("weighted: a member with weight 3 takes three quarters of the picks", () => {
		const [a, b] = [member("a", 3), member("b", 1)];
		const picks = Array.from({ length: 100 }, (_, i) => choose([a, b], "m", new Set(), T0, () => i / 100));
		const asked = picks.map((p) => (p.kind === "call" ? p.member.spec.id : "wait"));
		expect(asked.filter((x) => x === "a")).toHaveLength(75);
		expect(asked.filter((x) => x === "b")).toHaveLength(25);
	});

	it("prefers upstreams not rate limited lately, then the one limited longest ago; untried before tried", () => {
		const [a, b, c] = [member("a"), member("b"), member("c")];
		board.failed(a.scope, "m", false, { kind: "quota", window: "minute", until: T0 - 1 }, note(T0 - 60_000, 429), T0 - 60_000);
		const first = choose([a, b], "m", new Set(), T0, () => 0);
		expect(first).toMatchObject({ kind: "call", member: { spec: { id: "b" } }, retry: false });
		board.failed(b.scope, "m", false, { kind: "quota", window: "minute", until: T0 - 1 }, note(T0 - 1_000, 429), T0 - 1_000);
		expect(choose([a, b], "m", new Set(), T0, () => 0.99)).toMatchObject({ member: { spec: { id: "a" } } });
		expect(choose([a, b, c], "m", new Set([c.scope]), T0, () => 0.99)).toMatchObject({ member: { spec: { id: "a" } }, retry: false });
		expect(choose([c], "m", new Set([c.scope]), T0, () => 0)).toMatchObject({ member: { spec: { id: "c" } }, retry: true });
	});

	it("waits for the earliest end when every one of several is cooling; a lone upstream is always tried", () => {
		const [a, b] = [member("a"), member("b")];
		board.failed(a.scope, "m", false, { kind: "quota", window: "minute", until: T0 + 40_000 }, note(T0, 429), T0);
		board.failed(b.scope, "m", false, { kind: "quota", window: "minute", until: T0 + 30_000 }, note(T0, 429), T0);
		expect(choose([a, b], "m", new Set(), T0)).toEqual({ kind: "wait", until: T0 + 30_000 });
		expect(choose([a], "m", new Set(), T0)).toMatchObject({ kind: "call", member: { spec: { id: "a" } } });
	});
});

describe("scrubbing", () => {
	it("removes the pool's secrets and anything shaped like a Google API key", () => {
		const key = `AIza${"x".repeat(35)}`;
		expect(scrub(`Consumer 'api_key:${key}' has been suspended; token ya29.secret-token-1`, ["ya29.secret-token-1"])).toBe(
			"Consumer 'api_key:[redacted]' has been suspended; token [redacted]",
		);
	});
});
