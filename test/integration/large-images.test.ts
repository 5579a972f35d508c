// A real 4K image (>= 15 MB decoded, ~67 MB of JSON from the emulator) through the whole
// HTTP path inside the test isolate, whose heap limit the buffered path (body text +
// parsed string + decoded bytes) cannot fit. It gets through because nothing holds it.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { imageDimensions } from "../../src/lib/image-bytes";
import { auth, call, createKey, emulatorCalls, postJson, uniquePrompt } from "../helpers/http";

async function sha256OfObject(key: string): Promise<string> {
	const obj = await env.IMAGES.get(key);
	if (!obj) throw new Error(`missing ${key}`);
	const digest = new crypto.DigestStream("SHA-256");
	await obj.body.pipeTo(digest);
	return new Uint8Array(await digest.digest).toHex();
}

describe("large images stream from Gemini into R2", () => {
	it("a 4K 16:9 PNG of over 15 MB arrives byte for byte", async () => {
		const k = await createKey();
		const prompt = uniquePrompt("huge", "format=png,noise=1");
		const res = await postJson(
			"/v1/images/generations",
			{ model: "nano-banana-pro", prompt, aspect_ratio: "16:9", image_size: "4K" },
			auth(k.key),
		);
		expect(res.status).toBe(200);
		const url = (await res.json<{ data: Array<{ url: string }> }>()).data[0].url;
		const key = new URL(url).pathname.replace("/images/", "");
		const [sent] = await emulatorCalls(prompt);
		expect(sent.outputs[0].bytes).toBeGreaterThan(15_000_000);
		const head = await env.IMAGES.head(key);
		expect(head?.size).toBe(sent.outputs[0].bytes);
		expect(head?.httpMetadata?.contentType).toBe("image/png");
		expect(await sha256OfObject(key)).toBe(sent.outputs[0].sha256);
		const first = await call(new URL(url).pathname, { headers: { range: "bytes=0-63" } });
		expect(imageDimensions(new Uint8Array(await first.arrayBuffer()))).toEqual({ width: 5504, height: 3072 });
	});

	it("b64_json of a large image streams from R2 with a correct Content-Length", async () => {
		const k = await createKey();
		const prompt = uniquePrompt("big b64", "format=png,noise=0.5");
		const res = await postJson(
			"/v1/images/generations",
			{ model: "nano-banana-2", prompt, aspect_ratio: "1:1", image_size: "2K", response_format: "b64_json" },
			auth(k.key),
		);
		expect(res.status).toBe(200);
		const length = Number(res.headers.get("content-length"));
		const text = await res.text();
		expect(text.length).toBe(length);
		const b64 = (JSON.parse(text) as { data: Array<{ b64_json: string }> }).data[0].b64_json;
		const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", Uint8Array.fromBase64(b64))).toHex();
		const [sent] = await emulatorCalls(prompt);
		expect(digest).toBe(sent.outputs[0].sha256);
	});
});
