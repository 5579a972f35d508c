import { describe, expect, it } from "vitest";
import { auth, call, createKey, postJson } from "../helpers/http";

describe("smoke", () => {
	it("generates an image end to end", async () => {
		const k = await createKey();
		const res = await postJson("/v1/images/generations", { model: "nano-banana", prompt: "a banana" }, auth(k.key));
		const body = await res.json<{ data: Array<{ url: string }> }>();
		expect(res.status, JSON.stringify(body)).toBe(200);
		const img = await call(new URL(body.data[0].url).pathname);
		expect(img.status).toBe(200);
		expect(img.headers.get("content-type")).toBe("image/png");
	});
});
