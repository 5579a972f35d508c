// The official `@google/genai` SDK, unchanged, with httpOptions.baseUrl at the gateway.
// Its requests to that base URL are routed into the Worker under test (no network here).

import { exports } from "cloudflare:workers";
import { ApiError, GoogleGenAI } from "@google/genai";
import { describe, expect, it, onTestFinished } from "vitest";
import { balanceOf, createKey, emulatorCalls, flushUsage, uniquePrompt, usageRows } from "../helpers/http";
import { emulatorImage } from "../helpers/images";

/** Whether the current test already routes the SDK's fetches (the routing ends with the test). */
let routed = false;

/**
 * The SDK as a user configures it. It takes no fetch of its own, so for the rest of the
 * test the global fetch sends the gateway's host into the Worker (other URLs go out as before).
 */
function genai(apiKey: string): GoogleGenAI {
	if (!routed) {
		const outside = globalThis.fetch;
		routed = true;
		globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
			const req = new Request(input, init);
			return new URL(req.url).host === "gateway.test" ? exports.default.fetch(req) : outside(req);
		}) as typeof fetch;
		onTestFinished(() => {
			globalThis.fetch = outside;
			routed = false;
		});
	}
	return new GoogleGenAI({ apiKey, httpOptions: { baseUrl: "https://gateway.test" } });
}

describe("@google/genai SDK", () => {
	it("generateContent with a text prompt returns image parts and is metered", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const prompt = uniquePrompt("genai text");
		const res = await genai(k.key).models.generateContent({
			model: "gemini-2.5-flash-image",
			contents: prompt,
			config: { responseModalities: ["IMAGE"], imageConfig: { aspectRatio: "16:9" } },
		});
		const images = res.candidates?.[0]?.content?.parts?.filter((p) => p.inlineData) ?? [];
		expect(images).toHaveLength(1);
		// gemini-2.5-flash-image is gone upstream; the raw id is served by its successor.
		expect(images[0].inlineData?.mimeType).toBe("image/jpeg");
		expect(await balanceOf(k.key)).toBe(95);
		await flushUsage(k.key);
		const [row] = await usageRows(k.id);
		expect(row).toMatchObject({
			endpoint: "gemini.generateContent",
			mode: "generate",
			images_delivered: 1,
			credits_charged: 5,
			// One call held at its bound: the 20,480 output tokens it may use (NATIVE_MAX_OUTPUT_TOKENS)
			// at 3.1 Flash Image's image rate, at the tests' rates (Google's / 1,000), plus its prompt.
			credits_reserved: Math.ceil((20_480 * 60) / 1000 / 1e6 / 1e-4),
		});
		const [sent] = await emulatorCalls(prompt);
		expect(sent.body.generationConfig).toMatchObject({ responseModalities: ["IMAGE"], imageConfig: { aspectRatio: "16:9" } });
	});

	it("generateContent with an inline image (an edit), through an alias", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const jpeg = await emulatorImage("genai source");
		const prompt = uniquePrompt("genai edit");
		const res = await genai(k.key).models.generateContent({
			model: "nano-banana-pro",
			contents: [{ role: "user", parts: [{ text: prompt }, { inlineData: { mimeType: "image/jpeg", data: jpeg.toBase64() } }] }],
		});
		const parts = res.candidates?.[0]?.content?.parts ?? [];
		expect(parts.some((p) => p.inlineData?.data)).toBe(true);
		expect(parts.find((p) => p.inlineData)?.thoughtSignature).toBeTruthy();
		expect(await balanceOf(k.key)).toBe(86);
		const [sent] = await emulatorCalls(prompt);
		expect(sent.model).toBe("gemini-3-pro-image");
		const inline = (sent.body.contents[0] as { parts: Array<{ inlineData?: { data: string } }> }).parts[1].inlineData?.data ?? "";
		expect(Uint8Array.fromBase64(inline)).toEqual(jpeg);
	});

	it("a blocked prompt comes back as Gemini's 200 with promptFeedback and costs nothing", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const res = await genai(k.key).models.generateContent({
			model: "gemini-2.5-flash-image",
			contents: uniquePrompt("blocked", "block=SAFETY"),
		});
		expect(res.promptFeedback?.blockReason).toBe("SAFETY");
		expect(await balanceOf(k.key)).toBe(100);
	});

	it("generateContentStream yields the image through server-sent events", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const stream = await genai(k.key).models.generateContentStream({
			model: "gemini-2.5-flash-image",
			contents: uniquePrompt("genai stream"),
		});
		let images = 0;
		for await (const chunk of stream) images += chunk.candidates?.[0]?.content?.parts?.filter((p) => p.inlineData).length ?? 0;
		expect(images).toBe(1);
		expect(await balanceOf(k.key)).toBe(95);
	});

	it("a wrong key is refused with Google's UNAUTHENTICATED status", async () => {
		const error = await genai("nbk_wrong")
			.models.generateContent({ model: "nano-banana-2", contents: "x" })
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ApiError);
		expect((error as ApiError).status).toBe(401);
		expect(JSON.parse((error as ApiError).message)).toMatchObject({ error: { code: 401, status: "UNAUTHENTICATED" } });
	});

	it("errors carry Google's status names: an unknown model is NOT_FOUND, an unaffordable call RESOURCE_EXHAUSTED", async () => {
		const k = await createKey(undefined, { credits: 1 });
		const missing = (await genai(k.key)
			.models.generateContent({ model: "gemini-9-image", contents: "x" })
			.catch((e: unknown) => e)) as ApiError;
		expect(missing.status).toBe(404);
		expect(JSON.parse(missing.message).error).toMatchObject({ code: 404, status: "NOT_FOUND" });
		const poor = (await genai(k.key)
			.models.generateContent({ model: "nano-banana-2", contents: "x" })
			.catch((e: unknown) => e)) as ApiError;
		expect(poor.status).toBe(402);
		const body = JSON.parse(poor.message) as { error: { status: string; details: Array<{ reason?: string }> } };
		expect(body.error.status).toBe("RESOURCE_EXHAUSTED");
		expect(body.error.details.map((d) => d.reason)).toContain("INSUFFICIENT_CREDITS");
	});

	it("models.list pages through the catalog in Google's shape, and models.get reads one model", async () => {
		const k = await createKey();
		const ai = genai(k.key);
		const names: string[] = [];
		const pager = await ai.models.list({ config: { pageSize: 2 } });
		for await (const m of pager) names.push(m.name ?? "");
		expect(names).toEqual(expect.arrayContaining(["models/nano-banana", "models/nano-banana-2", "models/gemini-3-pro-image"]));
		expect(names).not.toContain("models/gemini-3-pro-image-preview"); // retired: still served, not listed
		expect(new Set(names).size).toBe(names.length);
		const pro = await ai.models.get({ model: "nano-banana-pro" });
		expect(pro).toMatchObject({ name: "models/nano-banana-pro", supportedActions: ["generateContent", "countTokens"] });
		expect(pro.inputTokenLimit).toBeGreaterThan(0);
		const gone = (await ai.models.get({ model: "dall-e-3" }).catch((e: unknown) => e)) as ApiError;
		expect(gone.status).toBe(404);
	});

	it("countTokens is passed through and costs nothing", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const res = await genai(k.key).models.countTokens({ model: "nano-banana-2", contents: "a banana in twelve words or so" });
		expect(res.totalTokens).toBeGreaterThan(0);
		expect(await balanceOf(k.key)).toBe(100);
	});
});
