// Browser access over HTTP: CORS preflights answered before authentication on every API
// route family, the gateway's headers exposed, CORS_ORIGINS as a list (a disallowed
// origin gets no CORS header at all), public images drawable on a canvas, the public
// model and price reads, and the pages served from static assets.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { auth, call, createKey, expectError, postJson } from "../helpers/http";

const ORIGIN = "https://app.example";
const app = buildApp();
const listed = { ...env, CORS_ORIGINS: "https://app.example, http://localhost:3000" } as Env;

function preflight(path: string, method = "POST", origin = ORIGIN, e?: Env): Promise<Response> {
	const req = new Request(`https://gateway.test${path}`, {
		method: "OPTIONS",
		headers: {
			origin,
			"access-control-request-method": method,
			"access-control-request-headers": "authorization, content-type, idempotency-key",
		},
	});
	return e
		? Promise.resolve(app.fetch(req, e, createExecutionContext()))
		: call(path, { method: "OPTIONS", headers: Object.fromEntries(req.headers) });
}

const CORS_HEADERS = [
	"access-control-allow-origin",
	"access-control-allow-methods",
	"access-control-allow-headers",
	"access-control-expose-headers",
	"access-control-max-age",
];

describe("CORS preflight", () => {
	it.each([
		["/v1/images/generations", "POST"],
		["/v1/images/edits", "POST"],
		["/v1/images/generate", "POST"],
		["/api/v1/models/nano-banana/edit", "POST"],
		["/v1beta/models/nano-banana:generateContent", "POST"],
		["/v1/models/nano-banana-2:streamGenerateContent", "POST"],
		["/v1/account", "GET"],
		["/v1/jobs/job_x/cancel", "POST"],
		["/v1/pipelines/pipe_x", "PATCH"],
		["/v1/conversations/conv_x", "DELETE"],
		["/admin/keys", "POST"],
		["/admin/keys/key_x/credits", "POST"],
		["/openapi.json", "GET"],
	])("%s (%s) answers 204 without a key", async (path, method) => {
		const res = await preflight(path, method);
		expect(res.status).toBe(204);
		expect(res.headers.get("access-control-allow-origin")).toBe("*");
		expect(res.headers.get("access-control-allow-methods")).toContain(method);
		expect(res.headers.get("access-control-allow-headers")).toBe("authorization,content-type,idempotency-key");
		expect(res.headers.get("access-control-max-age")).toBe("7200");
		expect(res.headers.get("access-control-allow-credentials")).toBeNull();
	});
});

describe("CORS on answers", () => {
	it("exposes the gateway's headers on a billed answer, and errors are readable cross-origin too", async () => {
		const k = await createKey();
		const res = await postJson("/v1/images/generations", { prompt: "a banana for the browser" }, { ...auth(k.key), origin: ORIGIN });
		expect(res.status).toBe(200);
		expect(res.headers.get("access-control-allow-origin")).toBe("*");
		const exposed = res.headers.get("access-control-expose-headers")?.split(",") ?? [];
		for (const h of [
			"x-request-id",
			"x-credits-charged",
			"x-credits-remaining",
			"ratelimit-limit",
			"ratelimit-remaining",
			"ratelimit-reset",
			"ratelimit-policy",
			"retry-after",
			"location",
			"idempotent-replayed",
			"server-timing",
		]) {
			expect(exposed).toContain(h);
		}
		const denied = await call("/v1/account", { headers: { origin: ORIGIN, authorization: "Bearer nbk_wrong" } });
		await expectError(denied, 401, "invalid_api_key");
		expect(denied.headers.get("access-control-allow-origin")).toBe("*");
	});

	it("images allow every origin and carry Cross-Origin-Resource-Policy: cross-origin", async () => {
		const k = await createKey();
		const gen = await postJson("/v1/images/generations", { prompt: "a banana for a canvas" }, auth(k.key));
		const url = new URL((await gen.json<{ data: Array<{ url: string }> }>()).data[0].url);
		const res = await call(url.pathname, { headers: { origin: ORIGIN } });
		expect(res.status).toBe(200);
		expect(res.headers.get("access-control-allow-origin")).toBe("*");
		expect(res.headers.get("cross-origin-resource-policy")).toBe("cross-origin");
		await res.arrayBuffer();
		const missing = await call("/images/generated/none.png", { headers: { origin: ORIGIN } });
		expect(missing.status).toBe(404);
		expect(missing.headers.get("access-control-allow-origin")).toBe("*");
		const pre = await call(url.pathname, { method: "OPTIONS", headers: { origin: ORIGIN, "access-control-request-method": "GET" } });
		expect(pre.status).toBe(204);
		expect(pre.headers.get("access-control-allow-origin")).toBe("*");
	});
});

describe("CORS_ORIGINS as a list", () => {
	it("a listed origin is echoed, with Vary: Origin", async () => {
		const res = await preflight("/v1/images/generations", "POST", "http://localhost:3000", listed);
		expect(res.status).toBe(204);
		expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
		expect(res.headers.get("vary")).toContain("Origin");
	});

	it("a disallowed origin gets no CORS header at all, on the preflight and on the answer", async () => {
		const pre = await preflight("/v1/images/generations", "POST", "https://evil.example", listed);
		for (const h of CORS_HEADERS) expect(pre.headers.get(h), h).toBeNull();
		expect(pre.headers.get("vary")).toContain("Origin");
		const res = await app.fetch(
			new Request("https://gateway.test/v1/pricing", { headers: { origin: "https://evil.example" } }),
			listed,
			createExecutionContext(),
		);
		expect(res.status).toBe(200);
		for (const h of CORS_HEADERS) expect(res.headers.get(h), h).toBeNull();
	});

	it("a bad CORS_ORIGINS is a configuration_error naming it", async () => {
		for (const bad of ["https://app.example/path", "app.example", "https://app.example/", ","]) {
			const res = await app.fetch(
				new Request("https://gateway.test/v1/pricing"),
				{ ...env, CORS_ORIGINS: bad } as Env,
				createExecutionContext(),
			);
			const err = await expectError(res, 500, "configuration_error");
			expect(err.message).toContain("CORS_ORIGINS");
		}
	});
});

describe("public reads", () => {
	it("GET /v1/models, /v1/models/{id}, /v1beta/models and /v1/pricing answer without a key", async () => {
		const list = await (await call("/v1/models")).json<{ data: Array<{ id: string }> }>();
		expect(list.data.map((m) => m.id)).toEqual(
			expect.arrayContaining(["nano-banana", "nano-banana-2", "nano-banana-2.1", "nano-banana-2-lite", "nano-banana-pro"]),
		);
		expect((await call("/v1/models/nano-banana-2")).status).toBe(200);
		expect((await call("/v1beta/models")).status).toBe(200);
		const pricing = await (await call("/v1/pricing")).json<{ data: Array<{ model: string }> }>();
		expect(pricing.data.length).toBeGreaterThan(0);
	});

	it("a key that is sent is still checked, and everything else still needs one", async () => {
		await expectError(await call("/v1/models", { headers: auth("nbk_wrong") }), 401, "invalid_api_key");
		await expectError(await call("/v1/pricing", { headers: { "x-goog-api-key": "nbk_wrong" } }), 401, "invalid_api_key");
		await expectError(await call("/v1/account"), 401, "invalid_api_key");
		await expectError(await call("/v1/models", { method: "POST" }), 401, "invalid_api_key");
	});
});

describe("pages from static assets", () => {
	it("/docs serves the API reference, whose scripts are served here, not from a CDN", async () => {
		const res = await call("/docs");
		expect(res.status).toBe(200);
		const html = await res.text();
		expect(html).toContain('src="/docs/swagger-ui-bundle.js"');
		expect(html).not.toMatch(/src="https?:/);
		const bundle = await env.ASSETS.fetch("https://gateway.test/docs/swagger-ui-bundle.js");
		expect(bundle.status).toBe(200);
		expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(500_000);
		expect(await (await env.ASSETS.fetch("https://gateway.test/docs/init.js")).text()).toContain('url: "/openapi.json"');
	});

	it("/console and its deep links serve the console's page; its files are served as they are", async () => {
		for (const path of ["/console", "/console/", "/console/keys", "/console/gallery"]) {
			const res = await call(path);
			expect(res.status, path).toBe(200);
			expect(await res.text()).toContain('<script type="module" src="/console/app.js">');
			expect(res.headers.get("x-request-id")).toMatch(/^req_/);
		}
		const script = await call("/console/app.js");
		expect(script.headers.get("content-type")).toContain("javascript");
		expect((await script.text()).length).toBeGreaterThan(10_000);
	});
});
