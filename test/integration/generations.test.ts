import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MODELS as GOOGLE, outputDimensions, SHUT_DOWN_BY_DEFAULT } from "../../emulator/models";
import { DEFAULT_ALIASES } from "../../src/catalog/data";
import { imageDimensions, sniffImage } from "../../src/lib/image-bytes";
import { auth, call, createKey, emulatorCalls, flushUsage, postJson, postJsonWith, uniquePrompt, usageRows } from "../helpers/http";

interface ImagesResponse {
	created: number;
	data: Array<{ url?: string; b64_json?: string }>;
	usage: { input_tokens: number; output_tokens: number; total_tokens: number };
}

async function bytesAt(url: string): Promise<{ bytes: Uint8Array; type: string | null }> {
	const res = await call(new URL(url).pathname);
	expect(res.status).toBe(200);
	return { bytes: new Uint8Array(await res.arrayBuffer()), type: res.headers.get("content-type") };
}

describe("POST /v1/images/generations", () => {
	it("n=1: stores the emulator's exact bytes in R2 and serves them with the sniffed type", async () => {
		const k = await createKey();
		const prompt = uniquePrompt("a banana boat");
		const res = await postJson("/v1/images/generations", { model: "nano-banana", prompt, aspect_ratio: "16:9" }, auth(k.key));
		expect(res.status).toBe(200);
		const body = await res.json<ImagesResponse>();
		expect(body.data).toHaveLength(1);
		expect(body.created).toBeGreaterThan(1_700_000_000);
		expect(body.usage.output_tokens).toBeGreaterThanOrEqual(1120);

		const url = body.data[0].url as string;
		const requestId = res.headers.get("x-request-id");
		expect(new URL(url).pathname).toMatch(
			new RegExp(`^/images/generated/nano-banana/${k.id}/\\d{4}/\\d{2}/\\d{2}/${requestId}-0-[0-9a-f]{32}\\.jpg$`),
		);
		const served = await bytesAt(url);
		expect(served.type).toBe("image/jpeg");
		expect(imageDimensions(served.bytes)).toEqual({ width: 1376, height: 768 });

		// gemini-2.5-flash-image is shut down for new projects: the alias carries on with its successor.
		const sent = (await emulatorCalls(prompt)).find((c) => c.status === 200);
		if (!sent) throw new Error("no successful upstream call");
		expect(sent.model).toBe("gemini-3.1-flash-image");
		// maxOutputTokens bounds the call: the largest image of the chain (2.5's 1,290 tokens) plus
		// OUTPUT_ALLOWANCE_TOKENS (1,536) for thinking and text.
		expect(sent.body.generationConfig).toEqual({
			responseModalities: ["TEXT", "IMAGE"],
			maxOutputTokens: 1290 + 1536,
			imageConfig: { aspectRatio: "16:9" },
		});
		// The bytes served are the bytes Google (the emulator) sent: it recorded their digest.
		const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", served.bytes)).toHex();
		expect(digest).toBe(sent.outputs[0].sha256);

		const key = new URL(url).pathname.replace("/images/", "");
		const obj = await env.IMAGES.head(key);
		expect(obj?.customMetadata).toEqual({ requestId, model: "nano-banana", keyId: k.id });
	});

	it("n=4 fans out four parallel Gemini calls and returns four stored images", async () => {
		const k = await createKey();
		const prompt = uniquePrompt("four bananas", "delay=300");
		const started = Date.now();
		const res = await postJson("/v1/images/generations", { model: "nano-banana-2", prompt, n: 4 }, auth(k.key));
		const elapsed = Date.now() - started;
		expect(res.status).toBe(200);
		const body = await res.json<ImagesResponse>();
		expect(body.data).toHaveLength(4);
		expect(new Set(body.data.map((d) => d.url)).size).toBe(4);
		const calls = await emulatorCalls(prompt);
		expect(calls).toHaveLength(4);
		for (const c of calls) expect(c.body.generationConfig).not.toHaveProperty("candidateCount");
		expect(elapsed).toBeLessThan(4 * 300); // parallel, not sequential
		for (const d of body.data) expect((await bytesAt(d.url as string)).type).toBe("image/jpeg");
	});

	it("b64_json returns the image bytes inline and still stores them", async () => {
		const k = await createKey();
		const prompt = uniquePrompt("inline banana");
		const res = await postJson("/v1/images/generations", { prompt, n: 2, response_format: "b64_json" }, auth(k.key));
		expect(res.status).toBe(200);
		const body = await res.json<ImagesResponse>();
		expect(body.data).toHaveLength(2);
		for (const d of body.data) {
			expect(d.url).toBeUndefined();
			const bytes = Uint8Array.fromBase64(d.b64_json as string);
			expect(sniffImage(bytes)?.mimeType).toBe("image/jpeg");
		}
		// Two calls with the same body, as Google samples afresh each time: two different pictures.
		expect(body.data[0].b64_json).not.toBe(body.data[1].b64_json);
		const stored = await env.IMAGES.list({ prefix: `generated/nano-banana/${k.id}/` });
		expect(stored.objects).toHaveLength(2);
	});

	it.each(DEFAULT_ALIASES.map((m) => m.id))("%s reaches a live upstream id and gets its documented dimensions", async (id) => {
		const k = await createKey();
		const spec = DEFAULT_ALIASES.find((m) => m.id === id);
		if (!spec) throw new Error(id);
		const ratio = spec.aspectRatios.includes("8:1") ? "8:1" : "3:4";
		const size = spec.imageSizes.includes("2K") && id !== "nano-banana-hd" ? "2K" : undefined;
		const prompt = uniquePrompt(`model ${id}`);
		const res = await postJson(
			"/v1/images/generations",
			{ model: id, prompt, aspect_ratio: ratio, ...(size ? { image_size: size } : {}) },
			auth(k.key),
		);
		expect(res.status).toBe(200);
		const body = await res.json<ImagesResponse>();
		// The id that answered is the first of the alias's chain Google still serves.
		const chain = [spec.upstream, ...spec.successors, "gemini-3.1-flash-image"];
		const served = chain.find((m) => !SHUT_DOWN_BY_DEFAULT.includes(m));
		const sent = (await emulatorCalls(prompt)).filter((c) => c.status === 200);
		expect(sent.map((c) => c.model)).toEqual([served]);
		const google = GOOGLE.find((m) => m.id === served);
		if (!google) throw new Error(`${served} is not a model Google serves`);
		const image = await bytesAt(body.data[0].url as string);
		expect(imageDimensions(image.bytes)).toEqual(outputDimensions(google, ratio, size ?? spec.defaultImageSize));
	});

	it("accepts a raw Gemini model id", async () => {
		const k = await createKey();
		const prompt = uniquePrompt("raw id");
		const res = await postJson("/v1/images/generations", { model: "gemini-3-pro-image", prompt }, auth(k.key));
		expect(res.status).toBe(200);
		expect(res.headers.get("deprecation")).toBeNull();
		const [sent] = await emulatorCalls(prompt);
		expect(sent.model).toBe("gemini-3-pro-image");
		expect(sent.body.generationConfig).not.toHaveProperty("imageConfig");
	});

	it("maps an OpenAI size to the nearest ratio and tier", async () => {
		const k = await createKey();
		const prompt = uniquePrompt("sized");
		const res = await postJson("/v1/images/generations", { model: "nano-banana-pro", prompt, size: "1536x1024" }, auth(k.key));
		expect(res.status).toBe(200);
		const [sent] = await emulatorCalls(prompt);
		expect(sent.body.generationConfig?.imageConfig).toEqual({ aspectRatio: "3:2", imageSize: "2K" });
	});

	it("uses PUBLIC_BASE_URL for image URLs when it is set", async () => {
		const k = await createKey();
		const res = await postJsonWith(
			{ env: { PUBLIC_BASE_URL: "https://img.example.com/" } },
			"/v1/images/generations",
			{ prompt: uniquePrompt("public") },
			auth(k.key),
		);
		const body = await res.json<ImagesResponse>();
		expect(body.data[0].url).toMatch(new RegExp(`^https://img\\.example\\.com/generated/nano-banana/${k.id}/`));
	});

	it("stores the sniffed type even when Gemini mislabels the bytes", async () => {
		const k = await createKey();
		const res = await postJson("/v1/images/generations", { prompt: uniquePrompt("mislabelled", "mislabel,format=png") }, auth(k.key));
		const body = await res.json<ImagesResponse>();
		const url = body.data[0].url as string;
		expect(url).toMatch(/\.png$/);
		expect((await bytesAt(url)).type).toBe("image/png");
	});

	it("returns the final image, not the thought drafts", async () => {
		const k = await createKey();
		const res = await postJson(
			"/v1/images/generations",
			{ model: "nano-banana-pro", prompt: uniquePrompt("thinking", "thoughts") },
			auth(k.key),
		);
		const body = await res.json<ImagesResponse>();
		expect(body.data).toHaveLength(1);
		const served = await bytesAt(body.data[0].url as string);
		expect(served.type).toBe("image/jpeg"); // the thought draft is a 256px PNG
		expect(imageDimensions(served.bytes)).toEqual({ width: 1024, height: 1024 });
		// The final image keeps the call's own name, though a draft came first in the answer.
		expect(new URL(body.data[0].url as string).pathname).toMatch(new RegExp(`/${res.headers.get("x-request-id")}-0-[0-9a-f]{32}\\.jpg$`));
	});

	it("delivers every final image of an answer that carries several (Google bills them all), charged through its tokens", async () => {
		const k = await createKey();
		const prompt = uniquePrompt("several in one", "images=3");
		const res = await postJson("/v1/images/generations", { model: "nano-banana-2", prompt }, auth(k.key));
		expect(res.status).toBe(200);
		const body = await res.json<ImagesResponse>();
		// maxOutputTokens (1,120 + 1,536) leaves room for two 1K images of the three asked.
		const [sent] = await emulatorCalls(prompt);
		expect(sent.outputs).toHaveLength(2);
		expect(body.data).toHaveLength(2);
		const id = res.headers.get("x-request-id");
		// Each image has its own random part: one URL does not lead to its sibling's.
		const names = body.data.map((d) => new URL(d.url as string).pathname.split("/").at(-1) ?? "");
		expect(names[0]).toMatch(new RegExp(`^${id}-0-[0-9a-f]{32}\\.jpg$`));
		expect(names[1]).toMatch(new RegExp(`^${id}-0-1-[0-9a-f]{32}\\.jpg$`));
		expect(names[1].slice(-36)).not.toBe(names[0].slice(-36));
		for (const d of body.data) expect((await bytesAt(d.url as string)).type).toBe("image/jpeg");
		// One image asked: priced at one image (7), the second through the answer's tokens.
		expect(Number(res.headers.get("x-credits-charged"))).toBeGreaterThanOrEqual(7);
		await flushUsage(k.key);
		const [row] = await usageRows(k.id);
		expect(row.images_delivered).toBe(2);
		expect(JSON.parse(row.r2_keys)).toHaveLength(2);
	});
});
