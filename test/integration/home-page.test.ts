// GET / is a page a person can use: what the gateway is and links to the console, the API
// reference and the OpenAPI document, each of which answers. Every other unknown path is
// still the API's JSON 404.
import { describe, expect, it } from "vitest";
import { call } from "../helpers/http";

describe("GET /", () => {
	it("answers a small HTML page linking to /console, /docs and /openapi.json", async () => {
		const res = await call("/");
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toMatch(/^text\/html/);
		expect(res.headers.get("x-request-id")).toMatch(/^req_/);
		const html = await res.text();
		expect(html).toContain("<title>Nano Banana Gateway</title>");
		const links = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
		expect(links).toEqual(["/console", "/docs", "/openapi.json"]);
		// Nothing is loaded from elsewhere.
		expect(html).not.toMatch(/<script|<link|src="/);
		for (const link of links) expect((await call(link)).status, link).toBe(200);
	});

	it("HEAD / answers like GET, without a body", async () => {
		const res = await call("/", { method: "HEAD" });
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toMatch(/^text\/html/);
		expect(await res.text()).toBe("");
	});
});

describe("other unknown paths", () => {
	it.each([
		["GET", "/index.html"],
		["GET", "/nope"],
		["GET", "/v2/images/generations"],
		["POST", "/"],
	])("%s %s is still the JSON 404", async (method, path) => {
		const res = await call(path, { method });
		expect(res.status).toBe(404);
		expect(res.headers.get("content-type")).toMatch(/^application\/json/);
		const body = await res.json<{ error: { message: string; type: string; code: string; param: string | null } }>();
		expect(body.error).toMatchObject({ code: "not_found", param: null });
		expect(body.error.message).toBe(`No route for ${method} ${path}`);
		expect(typeof body.error.type).toBe("string");
	});
});
