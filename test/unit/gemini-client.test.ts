import { describe, expect, it } from "vitest";
import { GeminiClient, type GeminiClientOptions } from "../../src/gemini/client";
import {
	GeminiAuthError,
	GeminiBadRequestError,
	GeminiConnectionError,
	GeminiMalformedResponseError,
	GeminiRateLimitError,
	GeminiServerError,
	GeminiTimeoutError,
	parseDuration,
	parseRetryAfter,
} from "../../src/gemini/errors";

type Step = Response | Error | (() => Promise<Response>);

/** A fetch that plays back `steps` in order and records every call. */
function scripted(steps: Step[]) {
	const calls: Array<{ url: string; init: RequestInit; at: number }> = [];
	const fn = (async (input: RequestInfo | URL, init?: RequestInit) => {
		calls.push({ url: String(input), init: init ?? {}, at: Date.now() });
		const step = steps.shift();
		if (!step) throw new Error("no more scripted responses");
		if (step instanceof Error) throw step;
		return typeof step === "function" ? step() : step;
	}) as typeof fetch;
	return { fn, calls };
}

const OK = () => Response.json({ candidates: [{ content: { parts: [{ text: "hi" }] }, finishReason: "STOP" }] });
const rpc = (code: number, status: string, details: unknown[] = [], headers: Record<string, string> = {}) =>
	Response.json({ error: { code, message: `${status} happened`, status, details } }, { status: code, headers });

function client(fetchFn: typeof fetch, over: Partial<GeminiClientOptions> = {}) {
	return new GeminiClient({
		apiKey: "secret-key",
		baseUrl: "https://gemini.example",
		maxRetries: 3,
		retryBaseMs: 1,
		retryMaxMs: 10,
		deadlineMs: 5_000,
		fetch: fetchFn,
		...over,
	});
}

const body = { contents: [{ role: "user" as const, parts: [{ text: "x" }] }] };

describe("GeminiClient request", () => {
	it("POSTs to {base}/v1beta/models/{model}:generateContent with the key in a header, never the URL", async () => {
		const s = scripted([OK()]);
		await client(s.fn).generateContent("gemini-2.5-flash-image", body);
		expect(s.calls[0].url).toBe("https://gemini.example/v1beta/models/gemini-2.5-flash-image:generateContent");
		expect(s.calls[0].url).not.toContain("secret-key");
		expect(new Headers(s.calls[0].init.headers).get("x-goog-api-key")).toBe("secret-key");
		expect(JSON.parse(String(s.calls[0].init.body))).toEqual(body);
	});

	it("asks for the answer uncompressed (inflating gzip would cost the isolate's CPU; see bench/README.md)", async () => {
		const s = scripted([OK()]);
		await client(s.fn).generateContent("gemini-3.1-flash-image", body);
		expect(new Headers(s.calls[0].init.headers).get("accept-encoding")).toBe("identity");
	});
});

describe("GeminiClient retry policy", () => {
	it.each([408, 429, 500, 502, 503, 504])("retries %i and then succeeds", async (status) => {
		const s = scripted([rpc(status, "X"), OK()]);
		const { info } = await client(s.fn).generateContent("m", body);
		expect(info.attempts).toBe(2);
		expect(s.calls).toHaveLength(2);
	});

	it.each([
		[400, GeminiBadRequestError],
		[404, GeminiBadRequestError],
		[403, GeminiAuthError],
		[401, GeminiAuthError],
	])("never retries %i", async (status, Type) => {
		const s = scripted([rpc(status, "NOPE"), OK()]);
		await expect(client(s.fn).generateContent("m", body)).rejects.toBeInstanceOf(Type);
		expect(s.calls).toHaveLength(1);
	});

	it("treats API_KEY_INVALID (a 400) as an auth error, not retried", async () => {
		const s = scripted([
			rpc(400, "INVALID_ARGUMENT", [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" }]),
		]);
		const err = await client(s.fn)
			.generateContent("m", body)
			.catch((e: unknown) => e);
		expect(err).toBeInstanceOf(GeminiAuthError);
		expect((err as GeminiAuthError).reason).toBe("API_KEY_INVALID");
	});

	it("retries network errors", async () => {
		const s = scripted([new TypeError("fetch failed"), OK()]);
		const { info } = await client(s.fn).generateContent("m", body);
		expect(info.attempts).toBe(2);
	});

	it("retries workerd's plain Error('Network connection lost.'), then reports a connection error", async () => {
		const lost = () => new Error("Network connection lost.");
		const once = scripted([lost(), OK()]);
		expect((await client(once.fn).generateContent("m", body)).info.attempts).toBe(2);
		const always = scripted([lost(), lost(), lost()]);
		const err = await client(always.fn, { maxRetries: 2 })
			.generateContent("m", body)
			.catch((e: unknown) => e);
		expect(err).toBeInstanceOf(GeminiConnectionError);
		expect(always.calls).toHaveLength(3);
	});

	it("gives up after maxRetries with the typed error of the last attempt", async () => {
		const s = scripted([rpc(503, "UNAVAILABLE"), rpc(503, "UNAVAILABLE"), rpc(503, "UNAVAILABLE")]);
		await expect(client(s.fn, { maxRetries: 2 }).generateContent("m", body)).rejects.toBeInstanceOf(GeminiServerError);
		expect(s.calls).toHaveLength(3);
	});

	it("waits at least RetryInfo.retryDelay before retrying a 429", async () => {
		const s = scripted([
			rpc(429, "RESOURCE_EXHAUSTED", [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "0.2s" }]),
			OK(),
		]);
		await client(s.fn).generateContent("m", body);
		expect(s.calls[1].at - s.calls[0].at).toBeGreaterThanOrEqual(190);
	});

	it("waits at least Retry-After seconds", async () => {
		const s = scripted([rpc(503, "UNAVAILABLE", [], { "retry-after": "0.2" }), OK()]);
		await client(s.fn).generateContent("m", body);
		expect(s.calls[1].at - s.calls[0].at).toBeGreaterThanOrEqual(190);
	});

	it("fails at once when the server asks for a wait longer than the deadline", async () => {
		const s = scripted([
			rpc(429, "RESOURCE_EXHAUSTED", [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "51s" }]),
			OK(),
		]);
		const started = Date.now();
		const err = await client(s.fn, { deadlineMs: 2_000 })
			.generateContent("m", body)
			.catch((e: unknown) => e);
		expect(err).toBeInstanceOf(GeminiRateLimitError);
		expect((err as GeminiRateLimitError).retryAfterMs).toBe(51_000);
		expect(Date.now() - started).toBeLessThan(1_000);
		expect(s.calls).toHaveLength(1);
	});

	it("enforces one overall deadline across attempts", async () => {
		const hang = () => new Promise<Response>(() => {});
		const s = scripted([hang, hang, hang, hang]);
		const f = (async (input: RequestInfo | URL, init?: RequestInit) =>
			new Promise<Response>((_, reject) => {
				void s.fn(input, init);
				init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
			})) as typeof fetch;
		await expect(client(f, { deadlineMs: 150 }).generateContent("m", body)).rejects.toBeInstanceOf(GeminiTimeoutError);
	});

	it("does not retry a 200 whose body is not JSON", async () => {
		const s = scripted([new Response('{"candidates": [', { status: 200 }), OK()]);
		await expect(client(s.fn).generateContent("m", body)).rejects.toBeInstanceOf(GeminiMalformedResponseError);
		expect(s.calls).toHaveLength(1);
	});

	it("retries a body cut off mid-stream as a connection error", async () => {
		const cut = () => {
			const stream = new ReadableStream<Uint8Array>({
				start(c) {
					c.enqueue(new TextEncoder().encode('{"candidates":[{"content":'));
					c.error(new TypeError("terminated"));
				},
			});
			return Promise.resolve(new Response(stream, { status: 200 }));
		};
		const s = scripted([cut, cut]);
		const err = await client(s.fn, { maxRetries: 1 })
			.generateContent("m", body)
			.catch((e: unknown) => e);
		expect(err).toBeInstanceOf(GeminiConnectionError);
		expect(s.calls).toHaveLength(2);
	});
});

describe("backoff", () => {
	it("is capped exponential with jitter in [exp/2, exp]", () => {
		const jittered = (random: number) =>
			new GeminiClient({
				apiKey: "",
				baseUrl: "",
				maxRetries: 9,
				retryBaseMs: 100,
				retryMaxMs: 1_000,
				deadlineMs: 1,
				random: () => random,
			});
		const [lo, hi] = [jittered(0), jittered(1)];
		expect([0, 1, 2, 3, 4, 8].map((r) => lo.backoffMs(r, undefined))).toEqual([50, 100, 200, 400, 500, 500]);
		expect([0, 1, 2, 3, 4, 8].map((r) => hi.backoffMs(r, undefined))).toEqual([100, 200, 400, 800, 1000, 1000]);
		expect(lo.backoffMs(0, 3_000)).toBe(3_000);
	});

	it("parses durations and Retry-After", () => {
		expect(parseDuration("51s")).toBe(51_000);
		expect(parseDuration("0.25s")).toBe(250);
		expect(parseDuration("soon")).toBeUndefined();
		expect(parseRetryAfter("3")).toBe(3_000);
		expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
		expect(parseRetryAfter(null)).toBeUndefined();
	});
});
