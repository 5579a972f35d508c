// The official `@google/genai` SDK, unchanged, with httpOptions.baseUrl at the gateway.
// Its requests to that base URL are routed into the Worker under test (no network here).

import { exports } from "cloudflare:workers";
import { GoogleGenAI } from "@google/genai";
import { afterEach, describe, expect, it } from "vitest";
import { balanceOf, createKey, emulatorCalls, flushUsage, uniquePrompt, usageRows } from "../helpers/http";
import { emulatorImage } from "../helpers/images";

let restore: (() => void) | undefined;
afterEach(() => {
	restore?.();
	restore = undefined;
});

/** The SDK as a user configures it; its traffic to the gateway host enters the Worker. */
function genai(apiKey: string): GoogleGenAI {
	const real = globalThis.fetch;
	globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
		const req = new Request(input, init);
		return new URL(req.url).host === "gateway.test" ? exports.default.fetch(req) : real(req);
	}) as typeof fetch;
	restore = () => {
		globalThis.fetch = real;
	};
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
		expect(images[0].inlineData?.mimeType).toBe("image/png");
		expect(await balanceOf(k.key)).toBe(95);
		await flushUsage(k.key);
		const [row] = await usageRows(k.id);
		expect(row).toMatchObject({
			endpoint: "gemini.generateContent",
			mode: "generate",
			images_delivered: 1,
			credits_charged: 5,
			credits_reserved: 20,
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
		expect(sent.model).toBe("gemini-3-pro-image-preview");
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

	it("a wrong key is refused", async () => {
		await expect(genai("nbk_wrong").models.generateContent({ model: "gemini-2.5-flash-image", contents: "x" })).rejects.toThrow(
			/401|Invalid API key/,
		);
	});
});
