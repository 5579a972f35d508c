import { describe, expect, it } from "vitest";
import { auth, call, createKey, expectError, postJson, uniquePrompt } from "../helpers/http";

async function oneImagePath(): Promise<string> {
	const k = await createKey();
	const res = await postJson("/v1/images/generations", { prompt: uniquePrompt("served") }, auth(k.key));
	const body = await res.json<{ data: Array<{ url: string }> }>();
	return new URL(body.data[0].url).pathname;
}

describe("GET /images/{key}", () => {
	it("serves with immutable caching, an ETag, and 304 on revalidation", async () => {
		const path = await oneImagePath();
		const res = await call(path);
		expect(res.status).toBe(200);
		expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
		const etag = res.headers.get("etag");
		expect(etag).toMatch(/^"[0-9a-f]+"$/);
		const size = (await res.arrayBuffer()).byteLength;
		expect(res.headers.get("content-length")).toBe(String(size));
		const again = await call(path, { headers: { "if-none-match": etag ?? "" } });
		expect(again.status).toBe(304);
		expect(again.headers.get("etag")).toBe(etag);
	});

	it("answers HEAD with headers only", async () => {
		const path = await oneImagePath();
		const full = await call(path);
		const bytes = (await full.arrayBuffer()).byteLength;
		const head = await call(path, { method: "HEAD" });
		expect(head.status).toBe(200);
		expect(head.headers.get("content-length")).toBe(String(bytes));
		expect(head.headers.get("content-type")).toBe("image/jpeg");
		expect(await head.text()).toBe("");
	});

	it("serves byte ranges", async () => {
		const path = await oneImagePath();
		const whole = new Uint8Array(await (await call(path)).arrayBuffer());
		const res = await call(path, { headers: { range: "bytes=0-7" } });
		expect(res.status).toBe(206);
		expect(res.headers.get("content-range")).toBe(`bytes 0-7/${whole.byteLength}`);
		expect(new Uint8Array(await res.arrayBuffer())).toEqual(whole.subarray(0, 8));
	});

	it("404 in the error shape for a missing or foreign key", async () => {
		await expectError(await call("/images/generated/nano-banana/key_x/2026/01/01/req_x-0.png"), 404, "not_found");
		await expectError(await call("/images/secrets/thing"), 404, "not_found");
	});

	it.each([
		"/images/%",
		"/images/generated/%E0%A4%A",
		"/images/generated/a%zz.png",
		"/images/generated/%2e%2e/x",
		`/images/generated/${"x".repeat(1100)}`,
	])("a malformed or escaping path %s is a 404 in the error shape, not a 500", async (path) => {
		await expectError(await call(path), 404, "not_found");
		expect((await call(path, { method: "HEAD" })).status).toBe(404);
	});
});
