import { describe, expect, it, onTestFinished } from "vitest";
import { auth, balanceOf, call, createKey, emulatorCalls, expectError, postJson, uniquePrompt } from "../helpers/http";
import { emulatorImage, imageResponse, interceptHosts } from "../helpers/images";

describe("Vydra style: POST /api/v1/models/{model}/edit", () => {
	it("generate mode: {imageUrl, mimeType, mode, creditsCharged, durationMs}, credits charged", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const prompt = uniquePrompt("aurora");
		const res = await postJson("/api/v1/models/nano-banana/edit", { prompt, aspectRatio: "21:9" }, auth(k.key));
		expect(res.status).toBe(200);
		const body = await res.json<Record<string, unknown>>();
		expect(Object.keys(body).sort()).toEqual(["creditsCharged", "durationMs", "imageUrl", "mimeType", "mode"]);
		expect(body).toMatchObject({ mimeType: "image/jpeg", mode: "generate", creditsCharged: 5 });
		expect(body.durationMs).toBeGreaterThanOrEqual(0);
		expect((await call(new URL(body.imageUrl as string).pathname)).status).toBe(200);
		expect(await balanceOf(k.key)).toBe(95);
		const [sent] = await emulatorCalls(prompt);
		expect(sent.body.generationConfig?.imageConfig).toEqual({ aspectRatio: "21:9" });
	});

	it("edit mode when imageUrl is given; aspectRatio defaults to 1:1", async () => {
		const k = await createKey();
		const jpeg = await emulatorImage("vydra source");
		const fake = interceptHosts({ "pub-xxx.r2.dev": () => imageResponse(jpeg, "image/jpeg") });
		onTestFinished(fake.restore);
		const prompt = uniquePrompt("cyberpunk");
		const res = await postJson(
			"/api/v1/models/nano-banana-2/edit",
			{ prompt, imageUrl: "https://pub-xxx.r2.dev/uploads/photo.jpg" },
			auth(k.key),
		);
		const body = await res.json<{ mode: string; mimeType: string; creditsCharged: number }>();
		expect(body).toMatchObject({ mode: "edit", mimeType: "image/jpeg", creditsCharged: 7 });
		const [sent] = await emulatorCalls(prompt);
		expect(sent.body.generationConfig?.imageConfig).toEqual({ aspectRatio: "1:1" });
	});

	it("errors in the one shape, naming the dialect's parameter", async () => {
		const k = await createKey();
		expect(
			(
				await expectError(
					await postJson("/api/v1/models/nano-banana/edit", { prompt: "x", aspectRatio: "8:1" }, auth(k.key)),
					400,
					"invalid_parameter",
				)
			).param,
		).toBe("aspectRatio");
		expect(
			(await expectError(await postJson("/api/v1/models/flux/edit", { prompt: "x" }, auth(k.key)), 400, "model_not_found")).param,
		).toBe("model");
		await expectError(await postJson("/api/v1/models/nano-banana/edit", { prompt: "x" }), 401, "invalid_api_key");
	});
});

describe("NanoBananaAPI style: POST /v1/images/generate", () => {
	it("{prompt, num, model, image_size (a ratio)} -> data.url and data.urls, credits charged", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const prompt = uniquePrompt("cat on windowsill");
		const res = await postJson("/v1/images/generate", { prompt, num: 3, model: "gemini-2.5-flash-image", image_size: "4:3" }, auth(k.key));
		expect(res.status).toBe(200);
		const body = await res.json<{ data: { url: string; urls: string[]; mime_type: string; mode: string }; credits_charged: number }>();
		expect(body.data.urls).toHaveLength(3);
		expect(body.data.url).toBe(body.data.urls[0]);
		expect(body.data).toMatchObject({ mime_type: "image/jpeg", mode: "generate" });
		expect(body.credits_charged).toBe(15);
		expect(await balanceOf(k.key)).toBe(85);
		const calls = await emulatorCalls(prompt);
		expect(calls).toHaveLength(3);
		expect(calls[0].body.generationConfig?.imageConfig).toEqual({ aspectRatio: "4:3" });
	});

	it("ref_images make it an edit, capped at the model's input limit", async () => {
		const k = await createKey();
		const jpeg = await emulatorImage("ref");
		const ok = await postJson(
			"/v1/images/generate",
			{ prompt: uniquePrompt("refs"), model: "gemini-2.5-flash-image", ref_images: [jpeg.toBase64()] },
			auth(k.key),
		);
		expect((await ok.json<{ data: { mode: string } }>()).data.mode).toBe("edit");
		const tooMany = await postJson(
			"/v1/images/generate",
			{ prompt: "x", model: "gemini-2.5-flash-image", ref_images: Array(4).fill(jpeg.toBase64()) },
			auth(k.key),
		);
		expect((await expectError(tooMany, 400, "too_many_images")).param).toBe("ref_images");
		const badNum = await postJson("/v1/images/generate", { prompt: "x", model: "gemini-2.5-flash-image", num: 10 }, auth(k.key));
		expect((await expectError(badNum, 400, "invalid_parameter")).param).toBe("num");
		const badRatio = await postJson("/v1/images/generate", { prompt: "x", model: "gemini-2.5-flash-image", image_size: "2K" }, auth(k.key));
		expect((await expectError(badRatio, 400, "invalid_parameter")).param).toBe("image_size");
	});
});
