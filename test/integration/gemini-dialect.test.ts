// Gemini's own dialect over plain HTTP, as Google answers it: stream framing with and
// without alt=sse, Google-shaped errors with the right status names, models.list/get,
// and the same paths answering in OpenAI's shape for OpenAI clients.
import { describe, expect, it } from "vitest";
import { auth, balanceOf, call, createKey, emulatorCalls, uniquePrompt } from "../helpers/http";

interface GoogleError {
	error: { code: number; message: string; status: string; details: Array<{ "@type": string; reason?: string; retryDelay?: string }> };
}

function native(path: string, key: string | undefined, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
	return call(path, {
		method: "POST",
		headers: { "content-type": "application/json", ...(key ? { "x-goog-api-key": key } : {}), ...headers },
		body: typeof body === "string" ? body : JSON.stringify(body),
	});
}

const text = (prompt: string) => ({ contents: [{ role: "user", parts: [{ text: prompt }] }] });

describe("streamGenerateContent", () => {
	it("without alt=sse answers a JSON array of responses", async () => {
		const k = await createKey();
		const res = await native("/v1beta/models/nano-banana-2:streamGenerateContent", k.key, text(uniquePrompt("array")));
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toContain("application/json");
		const body = await res.json<Array<{ candidates: Array<{ content: { parts: Array<{ inlineData?: unknown }> } }> }>>();
		expect(Array.isArray(body)).toBe(true);
		expect(body[0].candidates[0].content.parts.some((p) => p.inlineData)).toBe(true);
	});

	it("with alt=sse answers server-sent events ending in CRLF CRLF", async () => {
		const k = await createKey();
		const res = await native("/v1/models/nano-banana-2:streamGenerateContent?alt=sse", k.key, text(uniquePrompt("sse")));
		expect(res.headers.get("content-type")).toBe("text/event-stream");
		const raw = await res.text();
		expect(raw.startsWith("data: {")).toBe(true);
		expect(raw.endsWith("}\r\n\r\n")).toBe(true);
	});
});

describe("Google-shaped errors", () => {
	it.each([
		["no key", undefined, text("x"), "/v1beta/models/nano-banana:generateContent", 401, "UNAUTHENTICATED", "INVALID_API_KEY"],
		["not JSON", "KEY", "{", "/v1beta/models/nano-banana:generateContent", 400, "INVALID_ARGUMENT", "INVALID_JSON"],
		["no contents", "KEY", {}, "/v1beta/models/nano-banana:generateContent", 400, "INVALID_ARGUMENT", "INVALID_PARAMETER"],
		["an unknown model", "KEY", text("x"), "/v1beta/models/dall-e-3:generateContent", 404, "NOT_FOUND", "MODEL_NOT_FOUND"],
		["an unknown method", "KEY", text("x"), "/v1beta/models/nano-banana:embedContent", 404, "NOT_FOUND", "UNSUPPORTED_METHOD"],
		["a malformed %-escape as the model", "KEY", text("x"), "/v1beta/models/%:generateContent", 404, "NOT_FOUND", "MODEL_NOT_FOUND"],
		[
			"a ratio the model lacks",
			"KEY",
			{ ...text("x"), generationConfig: { imageConfig: { aspectRatio: "8:1" } } },
			"/v1/models/nano-banana-pro:generateContent",
			400,
			"INVALID_ARGUMENT",
			"INVALID_PARAMETER",
		],
	])("%s: %i %s with the gateway's reason in an ErrorInfo", async (_what, key, body, path, code, status, reason) => {
		const k = await createKey();
		const res = await native(path, key === "KEY" ? k.key : undefined, body);
		expect(res.status).toBe(code);
		expect(res.headers.get("x-request-id")).toMatch(/^req_/);
		const err = await res.json<GoogleError>();
		expect(err.error).toMatchObject({ code, status });
		expect(err.error.details).toContainEqual(expect.objectContaining({ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason }));
	});

	it("an upstream quota that outlasts the retries is 429 RESOURCE_EXHAUSTED with RetryInfo, charged nothing", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const res = await native("/v1beta/models/nano-banana-2:generateContent", k.key, text(uniquePrompt("quota", "fail=429,retry=40s")));
		expect(res.status).toBe(429);
		expect(res.headers.get("retry-after")).toBe("40");
		const err = await res.json<GoogleError>();
		expect(err.error.status).toBe("RESOURCE_EXHAUSTED");
		expect(err.error.details).toContainEqual({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "40s" });
		expect(await balanceOf(k.key)).toBe(100);
	});

	it("Gemini's own 400 keeps Google's status; its 503 after retries is UNAVAILABLE", async () => {
		const k = await createKey();
		const bad = await native("/v1beta/models/nano-banana-2:generateContent", k.key, text(uniquePrompt("bad", "fail=400")));
		expect(bad.status).toBe(400);
		expect((await bad.json<GoogleError>()).error.status).toBe("INVALID_ARGUMENT");
		const down = await native("/v1beta/models/nano-banana-2:generateContent", k.key, text(uniquePrompt("down", "fail=503")));
		expect(down.status).toBe(502);
		expect((await down.json<GoogleError>()).error.status).toBe("UNAVAILABLE");
	});

	it("OpenAI routes keep OpenAI's shape", async () => {
		const res = await call("/v1/images/generations", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
		expect(await res.json()).toMatchObject({ error: { type: "authentication_error", code: "invalid_api_key" } });
	});
});

describe("the native route keeps the catalog's promises", () => {
	it("an alias's default size is sent when the caller names none (nano-banana-hd: 4K)", async () => {
		const k = await createKey();
		const prompt = uniquePrompt("hd native");
		const res = await native("/v1beta/models/nano-banana-hd:generateContent", k.key, text(prompt));
		expect(res.status).toBe(200);
		const [sent] = await emulatorCalls(prompt);
		expect(sent.model).toBe("gemini-3-pro-image");
		expect(sent.body.generationConfig).toMatchObject({ imageConfig: { imageSize: "4K" } });
		expect(res.headers.get("x-credits-charged")).toBe("24");
	});
});

describe("models in two shapes", () => {
	it("GET /v1/models answers OpenAI's list for OpenAI clients and Google's for Gemini clients", async () => {
		const k = await createKey();
		const openai = await (await call("/v1/models", { headers: auth(k.key) })).json<{ object: string; data: Array<{ id: string }> }>();
		expect(openai.object).toBe("list");
		const google = await (await call("/v1/models?pageSize=3", { headers: { "x-goog-api-key": k.key } })).json<{
			models: Array<{ name: string; supportedGenerationMethods: string[] }>;
			nextPageToken?: string;
		}>();
		expect(google.models).toHaveLength(3);
		expect(google.models[0]).toMatchObject({ name: "models/nano-banana", supportedGenerationMethods: ["generateContent", "countTokens"] });
		const next = await (
			await call(`/v1beta/models?pageSize=3&pageToken=${google.nextPageToken}`, { headers: { "x-goog-api-key": k.key } })
		).json<{ models: Array<{ name: string }> }>();
		expect(next.models[0].name).toBe("models/nano-banana-2-lite");
		const bad = await call("/v1beta/models?pageToken=nope", { headers: { "x-goog-api-key": k.key } });
		expect(bad.status).toBe(400);
		expect((await bad.json<GoogleError>()).error.status).toBe("INVALID_ARGUMENT");
		const missing = await call("/v1beta/models/dall-e-3", { headers: { "x-goog-api-key": k.key } });
		expect(await missing.json()).toMatchObject({
			error: { code: 404, status: "NOT_FOUND", message: "Model is not found: models/dall-e-3 for api version v1beta" },
		});
	});
});
