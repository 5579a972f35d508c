// Each sub-app's route facts (src/route-facts.ts) as a client and an operator see them: the
// dialect of the log line and the shape of the error, the same whether the request fails
// before its sub-app runs (no key, a wrong key, no such route) or goes all the way through.
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { ADMIN, auth, call, createKey, postJson, uniquePrompt } from "../helpers/http";

let logSpy: MockInstance<typeof console.log>;
beforeEach(() => {
	logSpy = vi.spyOn(console, "log");
});
afterEach(() => {
	logSpy.mockRestore();
});

interface LogLine {
	event: string;
	request_id: string;
	status: number;
	dialect: string | null;
	error_code: string | null;
}

/** The request log line of the response (exactly one). */
function lineOf(res: Response): LogLine {
	const id = res.headers.get("x-request-id");
	const lines = logSpy.mock.calls
		.map((args) => args.map(String).join(" "))
		.filter((l) => l.startsWith("{"))
		.map((l) => JSON.parse(l) as LogLine)
		.filter((l) => l.event === "request" && l.request_id === id);
	expect(lines).toHaveLength(1);
	return lines[0];
}

type Style = "openai" | "google";

/** The error's shape: OpenAI's `{message, type, code, param}` or Google's `{code, message, status}`. */
async function styleOf(res: Response): Promise<Style> {
	const { error } = await res.json<{ error: Record<string, unknown> }>();
	if (typeof error.code === "number" && typeof error.status === "string") return "google";
	expect(Object.keys(error).sort()).toEqual(["code", "message", "param", "type"]);
	return "openai";
}

const contents = (prompt: string) => ({ contents: [{ role: "user", parts: [{ text: prompt }] }] });

/** Every generation dialect: its path, a body that makes one image, and its facts. */
const FAMILIES = [
	{ name: "OpenAI images", path: "/v1/images/generations", body: (p: string) => ({ prompt: p }), dialect: "openai", style: "openai" },
	{
		name: "chat completions on /v1",
		path: "/v1/chat/completions",
		body: (p: string) => ({ messages: [{ role: "user", content: p }] }),
		dialect: "openai",
		style: "openai",
	},
	{
		name: "chat completions on /api/v1",
		path: "/api/v1/chat/completions",
		body: (p: string) => ({ messages: [{ role: "user", content: p }] }),
		dialect: "openai",
		style: "openai",
	},
	{ name: "OpenRouter images", path: "/api/v1/images", body: (p: string) => ({ prompt: p }), dialect: "openrouter", style: "openai" },
	{ name: "Vydra", path: "/api/v1/models/nano-banana/edit", body: (p: string) => ({ prompt: p }), dialect: "vydra", style: "openai" },
	{
		name: "NanoBananaAPI",
		path: "/v1/images/generate",
		body: (p: string) => ({ prompt: p, model: "nano-banana" }),
		dialect: "nanobananaapi",
		style: "openai",
	},
	{ name: "Gemini on /v1beta", path: "/v1beta/models/nano-banana:generateContent", body: contents, dialect: "gemini", style: "google" },
	{ name: "Gemini on /v1", path: "/v1/models/nano-banana:generateContent", body: contents, dialect: "gemini", style: "google" },
] as const;

describe("a generation dialect", () => {
	it.each(FAMILIES)("$name: without a key, a 401 in its error shape, logged under its dialect", async (f) => {
		const res = await postJson(f.path, f.body("no key"));
		expect(res.status).toBe(401);
		expect(await styleOf(res)).toBe(f.style);
		expect(lineOf(res)).toMatchObject({ status: 401, dialect: f.dialect, error_code: "invalid_api_key" });
	});

	it.each(FAMILIES)("$name: with a wrong key, the same (checked by admission: no auth phase)", async (f) => {
		const res = await postJson(f.path, f.body("wrong key"), f.style === "google" ? { "x-goog-api-key": "nbk_wrong" } : auth("nbk_wrong"));
		expect(res.status).toBe(401);
		expect(await styleOf(res)).toBe(f.style);
		expect(lineOf(res)).toMatchObject({ dialect: f.dialect });
		expect(res.headers.get("server-timing")).not.toMatch(/\bauth;/);
	});

	it.each(FAMILIES)("$name: a delivered image is logged under the same dialect", async (f) => {
		const k = await createKey();
		const headers = f.style === "google" ? { "x-goog-api-key": k.key } : auth(k.key);
		const res = await postJson(f.path, f.body(uniquePrompt(`facts ${f.name}`)), headers);
		expect(res.status).toBe(200);
		await res.arrayBuffer();
		expect(lineOf(res)).toMatchObject({ status: 200, dialect: f.dialect });
	});
});

describe("errors before any sub-app runs", () => {
	it.each([
		["an unknown path under /v1", "/v1/nowhere", "openai", "openai"],
		["an unknown path under /v1beta", "/v1beta/nowhere", "google", "gemini"],
		["an unknown path under /api/v1", "/api/v1/nowhere", "openai", "openrouter"],
	] as const)("%s: 404 in the root's shape and dialect", async (_what, path, style, dialect) => {
		const k = await createKey();
		const res = await call(path, { headers: style === "google" ? { "x-goog-api-key": k.key } : auth(k.key) });
		expect(res.status).toBe(404);
		expect(await styleOf(res)).toBe(style);
		expect(lineOf(res)).toMatchObject({ dialect, error_code: "not_found" });
		expect(res.headers.get("server-timing")).toMatch(/total;dur=/);
	});

	it("the catalog answers a wrong key in the shape the client asked for", async () => {
		const google = await call("/v1/models?pageSize=2", { headers: { "x-goog-api-key": "nbk_wrong" } });
		expect(google.status).toBe(401);
		expect(await styleOf(google)).toBe("google");
		expect(lineOf(google)).toMatchObject({ dialect: "gemini" });

		const sdk = await call("/v1/models", { headers: { authorization: "Bearer nbk_wrong", "x-goog-api-client": "google-genai-sdk/1" } });
		expect(await styleOf(sdk)).toBe("google");

		const openai = await call("/v1/models", { headers: auth("nbk_wrong") });
		expect(openai.status).toBe(401);
		expect(await styleOf(openai)).toBe("openai");
		expect(lineOf(openai)).toMatchObject({ dialect: "openai" });

		const beta = await call("/v1beta/models/nano-banana", { headers: auth("nbk_wrong") });
		expect(await styleOf(beta)).toBe("google");
	});

	it("countTokens is not admitted: its key is checked up front, in Google's shape", async () => {
		const res = await postJson("/v1beta/models/nano-banana:countTokens", contents("count"), { "x-goog-api-key": "nbk_wrong" });
		expect(res.status).toBe(401);
		expect(await styleOf(res)).toBe("google");
		expect(res.headers.get("server-timing")).toMatch(/^auth;dur=/);
		expect(lineOf(res)).toMatchObject({ dialect: "gemini" });
	});

	it("the admin API and the image URLs log their own dialect, without Server-Timing", async () => {
		const denied = await call("/admin/keys");
		expect(denied.status).toBe(401);
		expect(await styleOf(denied)).toBe("openai");
		expect(lineOf(denied)).toMatchObject({ dialect: "admin" });
		expect(denied.headers.get("server-timing")).toBeNull();

		const lost = await call("/admin/nowhere", { headers: ADMIN });
		expect(lost.status).toBe(404);
		expect(lineOf(lost)).toMatchObject({ dialect: "admin" });

		const image = await call("/images/generated/nope.jpg");
		expect(image.status).toBe(404);
		expect(lineOf(image)).toMatchObject({ dialect: "images" });
		expect(image.headers.get("server-timing")).toBeNull();
	});
});
