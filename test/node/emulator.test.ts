// The emulator itself, driven in Node: it must answer like Google, or the gateway's tests
// prove nothing. Bodies checked against Google's (see emulator/models.ts for the dates).
import { describe, expect, it } from "vitest";
import { GeminiEmulator } from "../../emulator/gemini.ts";

const KEY = "k";
const body = JSON.stringify({ contents: [{ parts: [{ text: "a banana" }] }] });

describe("Gemini emulator", () => {
	it("answers Google's exact 404 NOT_FOUND for a shut-down or unknown id", () => {
		const emu = new GeminiEmulator({ requiredKey: KEY });
		for (const id of ["gemini-3-pro-image-preview", "gemini-2.5-flash-image", "dall-e-3"]) {
			const reply = emu.handle(id, "generateContent", KEY, body);
			expect(reply.status).toBe(404);
			expect(JSON.parse(reply.body)).toEqual({
				error: {
					code: 404,
					message: `models/${id} is not found for API version v1beta, or is not supported for generateContent. Call ModelService.ListModels to see the list of available models and their supported methods.`,
					status: "NOT_FOUND",
				},
			});
		}
		expect(emu.handle("gemini-3-pro-image", "generateContent", KEY, body).status).toBe(200);
	});

	it("makes both kinds of 404: the model missing (models.get 404 too) and one about the request (models.get 200)", () => {
		const emu = new GeminiEmulator({ requiredKey: KEY });
		const ask = (text: string) =>
			emu.handle("gemini-3-pro-image", "generateContent", KEY, JSON.stringify({ contents: [{ parts: [{ text }] }] }));
		const generic = JSON.parse(ask("a cat [emu:fail=404]").body).error;
		expect(generic).toEqual({ code: 404, message: "Requested entity was not found.", status: "NOT_FOUND" });
		const worded = JSON.parse(ask("a dog [emu:notfound=modelx1]").body).error;
		expect(worded.message).toMatch(
			/^models\/gemini-3-pro-image is not found for API version v1beta, or is not supported for generateContent\./,
		);
		expect(ask("a dog [emu:notfound=modelx1]").status).toBe(200); // only the first time
		expect(emu.getModel(KEY, "gemini-3-pro-image").status).toBe(200);
		emu.retire("gemini-3-pro-image");
		expect(JSON.parse(ask("a bird").body).error.message).toMatch(/^models\/gemini-3-pro-image is not found/);
		expect(emu.getModel(KEY, "gemini-3-pro-image").status).toBe(404);
		expect(emu.modelGets.map((g) => [g.model, g.status])).toEqual([
			["gemini-3-pro-image", 200],
			["gemini-3-pro-image", 404],
		]);
	});

	it("retires and restores a model, and can play a project that still has 2.5", () => {
		const emu = new GeminiEmulator({ requiredKey: KEY, live: ["gemini-2.5-flash-image"] });
		expect(emu.handle("gemini-2.5-flash-image", "generateContent", KEY, body).status).toBe(200);
		emu.retire("gemini-3-pro-image");
		expect(emu.handle("gemini-3-pro-image", "generateContent", KEY, body).status).toBe(404);
		expect(emu.live().map((m) => m.id)).not.toContain("gemini-3-pro-image");
		emu.restore("gemini-3-pro-image");
		expect(emu.handle("gemini-3-pro-image", "generateContent", KEY, body).status).toBe(200);
	});

	it("refuses a missing key (403) and a wrong key (400 API_KEY_INVALID) with Google's bodies", () => {
		const emu = new GeminiEmulator({ requiredKey: KEY });
		const missing = JSON.parse(emu.handle("gemini-3-pro-image", "generateContent", null, body).body);
		expect(missing.error).toMatchObject({ code: 403, status: "PERMISSION_DENIED" });
		const wrong = JSON.parse(emu.handle("gemini-3-pro-image", "generateContent", "nope", body).body);
		expect(wrong.error).toMatchObject({
			code: 400,
			status: "INVALID_ARGUMENT",
			message: "API key not valid. Please pass a valid API key.",
		});
		expect(wrong.error.details[0]).toMatchObject({ reason: "API_KEY_INVALID", domain: "googleapis.com" });
	});

	it("pages models.list (pageSize, pageToken) and answers models.get", () => {
		const emu = new GeminiEmulator({ requiredKey: KEY });
		const names: string[] = [];
		let token: string | undefined;
		do {
			const q = new URLSearchParams({ pageSize: "3", ...(token ? { pageToken: token } : {}) });
			const page = JSON.parse(emu.listModels(KEY, q).body) as { models: Array<{ name: string }>; nextPageToken?: string };
			expect(page.models.length).toBeLessThanOrEqual(3);
			names.push(...page.models.map((m) => m.name));
			token = page.nextPageToken;
		} while (token);
		expect(names).toEqual(emu.live().map((m) => `models/${m.id}`));
		expect(JSON.parse(emu.getModel(KEY, "gemini-nano-banana-2.1").body)).toMatchObject({ displayName: "Nano Banana 2.1" });
		expect(JSON.parse(emu.getModel(KEY, "nope").body).error.message).toBe("Model is not found: models/nope for api version v1beta");
	});

	it("refuses what a model cannot do: 512 on Nano Banana 2.1, a size on 2.5, too many references", () => {
		const emu = new GeminiEmulator({ requiredKey: KEY, live: ["gemini-2.5-flash-image"] });
		const ask = (model: string, generationConfig: object, images = 0) =>
			emu.handle(
				model,
				"generateContent",
				KEY,
				JSON.stringify({
					contents: [
						{
							parts: [
								{ text: "x" },
								...Array.from({ length: images }, () => ({ inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } })),
							],
						},
					],
					generationConfig,
				}),
			).status;
		expect(ask("gemini-nano-banana-2.1", { imageConfig: { imageSize: "512" } })).toBe(400);
		expect(ask("gemini-2.5-flash-image", { imageConfig: { imageSize: "2K" } })).toBe(400);
		expect(ask("gemini-3-pro-image", { imageConfig: { aspectRatio: "8:1" } })).toBe(400);
		expect(ask("gemini-3.1-flash-lite-image", {}, 4)).toBe(400);
		expect(ask("gemini-3.1-flash-lite-image", {}, 3)).toBe(200);
	});

	it("counts tokens", () => {
		const emu = new GeminiEmulator({ requiredKey: KEY });
		const reply = JSON.parse(emu.handle("gemini-3-pro-image", "countTokens", KEY, body).body);
		expect(reply.totalTokens).toBeGreaterThan(0);
		expect(reply.promptTokensDetails[0].modality).toBe("TEXT");
	});
});
