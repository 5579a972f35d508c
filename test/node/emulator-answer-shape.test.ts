// The emulator's 200 answer must be shaped and sent like Google's, or the gateway's memory
// and CPU figures are measured against something kinder: the recorded 3.1 Flash Image
// answer (vercel/ai fixture google-image-gemini-3.1-flash-image.json, checked 2026-12-03)
// is ONE part {inlineData (JPEG), thoughtSignature} with a signature of ~533 characters per
// image token, no text part; Google's frontend answers chunked and gzip-encoded when asked.
import { request } from "node:http";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningEmulator, startEmulator } from "../../emulator/server.ts";
import { missingSignature } from "../../emulator/signatures.ts";

let emu: RunningEmulator;
beforeAll(async () => {
	emu = await startEmulator();
});
afterAll(() => emu.close());

/** A raw HTTP call, so the headers are what went over the wire (fetch would decode gzip). */
function post(model: string, body: object, headers: Record<string, string>): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
	return new Promise((resolve, reject) => {
		const req = request(
			`${emu.url}/v1beta/models/${model}:generateContent`,
			{ method: "POST", headers: { "x-goog-api-key": "k", ...headers } },
			(res) => {
				const chunks: Buffer[] = [];
				res.on("data", (c: Buffer) => chunks.push(c));
				res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
				res.on("error", reject);
			},
		);
		req.on("error", reject);
		req.end(JSON.stringify(body));
	});
}

/** Width and height from a JPEG's SOF0 segment. */
function jpegSize(bytes: Buffer): { width: number; height: number } {
	let at = 2;
	while (at < bytes.length) {
		const marker = bytes[at + 1];
		const len = bytes.readUInt16BE(at + 2);
		if (marker === 0xc0) return { height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
		at += 2 + len;
	}
	throw new Error("no SOF0");
}

const ask = (size: string, prompt = "a lighthouse at dusk") => ({
	contents: [{ role: "user", parts: [{ text: prompt }] }],
	generationConfig: { responseModalities: ["TEXT", "IMAGE"], imageConfig: { aspectRatio: "1:1", imageSize: size } },
});

describe("the emulator's answer, as Google sends it", () => {
	it("Gemini 3: one part {inlineData JPEG, thoughtSignature}, no text, a signature of ~533 characters per image token", async () => {
		const res = await post("gemini-3.1-flash-image", ask("1K"), { "accept-encoding": "identity" });
		const answer = JSON.parse(res.body.toString("utf8"));
		const parts = answer.candidates[0].content.parts;
		expect(parts).toHaveLength(1);
		expect(Object.keys(parts[0])).toEqual(["inlineData", "thoughtSignature"]);
		expect(parts[0].inlineData.mimeType).toBe("image/jpeg");
		const jpeg = Buffer.from(parts[0].inlineData.data, "base64");
		expect([jpeg[0], jpeg[1], jpeg.at(-2), jpeg.at(-1)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
		expect(jpegSize(jpeg)).toEqual({ width: 1024, height: 1024 });
		// The recorded 1K JPEG: 439,196 base64 characters (329 KB).
		expect(parts[0].inlineData.data.length).toBeGreaterThan(350_000);
		expect(parts[0].inlineData.data.length).toBeLessThan(550_000);
		// The recorded signature: 597,616 characters for 1,120 image tokens.
		const tokens = answer.usageMetadata.candidatesTokensDetails.find((d: { modality: string }) => d.modality === "IMAGE").tokenCount;
		expect(tokens).toBe(1120);
		expect(Math.abs(parts[0].thoughtSignature.length - 533 * tokens)).toBeLessThan(1000);
		// Still one the emulator accepts back in a history.
		expect(missingSignature([{ role: "model", parts }])).toBeUndefined();
		expect(answer).toMatchObject({ modelVersion: "gemini-3.1-flash-image", responseId: expect.any(String) });
		expect(answer.usageMetadata).toMatchObject({
			promptTokenCount: expect.any(Number),
			totalTokenCount: expect.any(Number),
			serviceTier: "standard",
		});
	});

	it("a 4K JPEG weighs what a 4K photo does (about 0.3 bytes per pixel), its signature over 1 MB", async () => {
		const res = await post("gemini-3-pro-image", ask("4K", "a harbour, 4K"), {});
		const part = JSON.parse(res.body.toString("utf8")).candidates[0].content.parts[0];
		const jpeg = Buffer.from(part.inlineData.data, "base64");
		expect(jpegSize(jpeg)).toEqual({ width: 4096, height: 4096 });
		expect(jpeg.length / (4096 * 4096)).toBeGreaterThan(0.25);
		expect(part.thoughtSignature.length).toBeGreaterThan(1_000_000);
	});

	it("a 200 is chunked without Content-Length, and gzip-encoded when the client accepts gzip", async () => {
		const plain = await post("gemini-3.1-flash-image", ask("512"), { "accept-encoding": "identity" });
		expect(plain.headers["content-length"]).toBeUndefined();
		expect(plain.headers["transfer-encoding"]).toBe("chunked");
		expect(plain.headers["content-encoding"]).toBeUndefined();
		const zipped = await post("gemini-3.1-flash-image", ask("512"), { "accept-encoding": "gzip, deflate" });
		expect(zipped.headers["content-length"]).toBeUndefined();
		expect(zipped.headers["content-encoding"]).toBe("gzip");
		const a = JSON.parse(gunzipSync(zipped.body).toString("utf8"));
		const b = JSON.parse(plain.body.toString("utf8"));
		// The second identical call draws another picture (Google samples afresh), so the two
		// answers agree in everything but the image and its signature.
		const shape = (r: typeof a) => {
			const [part] = r.candidates[0].content.parts;
			const jpeg = Buffer.from(part.inlineData.data, "base64");
			return {
				parts: r.candidates[0].content.parts.length,
				mime: part.inlineData.mimeType,
				soi: [...jpeg.subarray(0, 3)],
				usage: r.usageMetadata,
			};
		};
		expect(shape(a)).toEqual(shape(b));
		expect(shape(a).soi).toEqual([0xff, 0xd8, 0xff]);
		expect(a.candidates[0].content.parts[0].inlineData.data).not.toBe(b.candidates[0].content.parts[0].inlineData.data);
		expect(zipped.body.length).toBeLessThan(plain.body.length);
	});

	it("errors keep their Content-Length and are not compressed", async () => {
		const res = await post("gemini-3.1-flash-image", ask("1K", "no [emu:fail=503]"), { "accept-encoding": "gzip" });
		expect(res.headers["content-length"]).toBe(String(res.body.length));
		expect(res.headers["content-encoding"]).toBeUndefined();
		expect(JSON.parse(res.body.toString("utf8")).error.status).toBe("UNAVAILABLE");
	});
});
