// The official `openai` SDK, unchanged, pointed at the gateway. Its `fetch` option routes
// requests into the Worker under test (there is no network here); nothing else differs.
import OpenAI, { toFile } from "openai";
import { describe, expect, it } from "vitest";
import { createKey, emulatorCalls, uniquePrompt } from "../helpers/http";
import { emulatorImage, TINY_PNG } from "../helpers/images";
import { openaiClient } from "../helpers/sdk";

describe("openai SDK", () => {
	it("images.generate returns URLs, n > 1, with extra body fields", async () => {
		const k = await createKey();
		const prompt = uniquePrompt("sdk generate");
		const res = await openaiClient(k.key).images.generate({
			model: "nano-banana-2",
			prompt,
			n: 3,
			size: "1024x1024",
			...({ aspect_ratio: "16:9", image_size: "2K" } as object),
		});
		expect(res.data).toHaveLength(3);
		for (const d of res.data ?? []) expect(d.url).toMatch(/^https:\/\/gateway\.test\/images\/generated\/nano-banana-2\//);
		expect(res.usage?.output_tokens).toBeGreaterThan(0);
		const [sent] = await emulatorCalls(prompt);
		expect(sent.body.generationConfig?.imageConfig).toEqual({ aspectRatio: "16:9", imageSize: "2K" });
	});

	it("images.generate with b64_json", async () => {
		const k = await createKey();
		const res = await openaiClient(k.key).images.generate({
			model: "nano-banana",
			prompt: uniquePrompt("sdk b64"),
			response_format: "b64_json",
		});
		const bytes = Uint8Array.fromBase64(res.data?.[0]?.b64_json ?? "");
		expect(Array.from(bytes.subarray(0, 3))).toEqual([0xff, 0xd8, 0xff]); // JPEG: nano-banana's upstream today
	});

	it("images.edit with one file and with several (toFile)", async () => {
		const k = await createKey();
		const jpeg = await emulatorImage("sdk source");
		const one = uniquePrompt("sdk edit one");
		const r1 = await openaiClient(k.key).images.edit({
			model: "nano-banana-pro",
			prompt: one,
			image: await toFile(jpeg, "photo.jpg", { type: "image/jpeg" }),
		});
		expect(r1.data).toHaveLength(1);
		const [sent1] = await emulatorCalls(one);
		expect((sent1.body.contents[0] as { parts: unknown[] }).parts).toHaveLength(2);

		const many = uniquePrompt("sdk edit many");
		const r2 = await openaiClient(k.key).images.edit({
			model: "nano-banana-2",
			prompt: many,
			n: 2,
			image: [await toFile(jpeg, "a.jpg", { type: "image/jpeg" }), await toFile(TINY_PNG, "b.png", { type: "image/png" })],
		});
		expect(r2.data).toHaveLength(2);
		const [sent2] = await emulatorCalls(many);
		const parts = (sent2.body.contents[0] as { parts: Array<{ inlineData?: { mimeType: string; data: string } }> }).parts.filter(
			(p) => p.inlineData,
		);
		expect(parts.map((p) => p.inlineData?.mimeType)).toEqual(["image/jpeg", "image/png"]);
		expect(parts.map((p) => Uint8Array.fromBase64(p.inlineData?.data ?? ""))).toEqual([jpeg, TINY_PNG]);
	});

	it("errors surface as the SDK's typed errors: 401, 402, 429", async () => {
		await expect(openaiClient("nbk_wrong").images.generate({ prompt: "x" })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);

		const poor = await createKey(undefined, { credits: 0 });
		const e402 = await openaiClient(poor.key)
			.images.generate({ prompt: "x" })
			.catch((e: unknown) => e);
		expect(e402).toBeInstanceOf(OpenAI.APIError);
		expect((e402 as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
		expect((e402 as InstanceType<typeof OpenAI.APIError>).code).toBe("insufficient_credits");

		const limited = await createKey(undefined, { limits: { requests_per_minute: 1 } });
		await openaiClient(limited.key).images.generate({ prompt: uniquePrompt("first") });
		const e429 = await openaiClient(limited.key)
			.images.generate({ prompt: uniquePrompt("second") })
			.catch((e: unknown) => e);
		expect(e429).toBeInstanceOf(OpenAI.RateLimitError);
		expect((e429 as InstanceType<typeof OpenAI.RateLimitError>).param).toBe("requests_per_minute");
		expect((e429 as InstanceType<typeof OpenAI.RateLimitError>).requestID).toMatch(/^req_/);
	});
});
