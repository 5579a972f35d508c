// OpenRouter's Images API shapes: a client built for OpenRouter works with only its base
// URL changed (https://gw/api/v1), billed like every other dialect.
import { describe, expect, it } from "vitest";
import {
	auth,
	balanceOf,
	call,
	createKey,
	emulatorCalls,
	expectError,
	flushUsage,
	postJson,
	uniquePrompt,
	usageRows,
} from "../helpers/http";
import { emulatorImage, imageResponse, interceptHosts, TINY_PNG } from "../helpers/images";
import { type Job, waitForJob } from "../helpers/jobs";

interface ImagesResponse {
	created: number;
	data: Array<{ b64_json?: string; url?: string; media_type: string }>;
	usage: {
		prompt_tokens: number;
		completion_tokens: number;
		total_tokens: number;
		cost: number;
		images: number;
		credits_charged: number;
	};
}

interface ModelEntry {
	id: string;
	supported_parameters: string[];
	parameters: {
		aspect_ratio: { values: string[] };
		resolution?: { values: string[] };
		n: { min: number; max: number };
		input_references: { max: number };
	};
	pricing: { standard: Record<string, number>; batch: Record<string, number> };
}

const sha256 = async (bytes: Uint8Array) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).toHex();

describe("OpenRouter Images API", () => {
	it("POST /api/v1/images: b64_json by default, with media_type and usage; n fans out", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const prompt = uniquePrompt("openrouter b64");
		const res = await postJson(
			"/api/v1/images",
			{ model: "nano-banana-2", prompt, n: 2, aspect_ratio: "4:1", resolution: "512" },
			auth(k.key),
		);
		expect(res.status).toBe(200);
		const body = await res.json<ImagesResponse>();
		expect(Object.keys(body).sort()).toEqual(["created", "data", "usage"]);
		expect(body.data).toHaveLength(2);
		const sent = (await emulatorCalls(prompt)).map((c) => c.outputs[0].sha256).sort();
		const got = await Promise.all(body.data.map((d) => sha256(Uint8Array.fromBase64(d.b64_json ?? ""))));
		expect(got.sort()).toEqual(sent);
		for (const d of body.data) expect(d).toEqual({ b64_json: expect.any(String), media_type: "image/jpeg" });
		// OpenRouter's usage shape (what @openrouter/ai-sdk-provider requires), cost in dollars:
		// 10 credits x $0.0001.
		expect(Object.keys(body.usage).sort()).toEqual(
			["completion_tokens", "cost", "credits_charged", "images", "prompt_tokens", "total_tokens"].sort(),
		);
		expect(body.usage).toMatchObject({ images: 2, credits_charged: 10, cost: 0.001 });
		expect(body.usage.completion_tokens).toBeGreaterThan(0);
		expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
		const [call1] = await emulatorCalls(prompt);
		expect(call1.body.generationConfig?.imageConfig).toEqual({ aspectRatio: "4:1", imageSize: "512" });
		expect(await balanceOf(k.key)).toBe(90);
		await flushUsage(k.key);
		expect((await usageRows(k.id))[0]).toMatchObject({ endpoint: "openrouter.images", images_delivered: 2, credits_charged: 10 });
	});

	it("response_format url, and input_references (objects, strings, https) as the edit's images", async () => {
		const k = await createKey();
		const jpeg = await emulatorImage("openrouter reference");
		const fake = interceptHosts({ "img.example.org": () => imageResponse(TINY_PNG) });
		try {
			const prompt = uniquePrompt("openrouter edit");
			const res = await postJson(
				"/api/v1/images",
				{
					model: "nano-banana-pro",
					prompt,
					response_format: "url",
					input_references: [
						{ type: "image_url", image_url: { url: `data:image/jpeg;base64,${jpeg.toBase64()}` } },
						"https://img.example.org/a.png",
					],
				},
				auth(k.key),
			);
			const body = await res.json<ImagesResponse>();
			expect(body.data[0].url).toMatch(/^https:\/\/gateway\.test\/images\/generated\/nano-banana-pro\//);
			expect(body.data[0].media_type).toBe("image/jpeg");
			expect((await call(new URL(body.data[0].url ?? "").pathname)).status).toBe(200);
			const [sent] = await emulatorCalls(prompt);
			const parts = (sent.body.contents[0] as { parts: Array<{ inlineData?: { data: string } }> }).parts.filter((p) => p.inlineData);
			expect(parts.map((p) => Uint8Array.fromBase64(p.inlineData?.data ?? ""))).toEqual([jpeg, TINY_PNG]);
		} finally {
			fake.restore();
		}
	});

	it("GET /api/v1/images/models lists each model's parameters, their values and prices (standard and batch)", async () => {
		const k = await createKey();
		const res = await call("/api/v1/images/models", { headers: auth(k.key) });
		const { data } = await res.json<{ data: ModelEntry[] }>();
		const nb2 = data.find((m) => m.id === "nano-banana-2");
		expect(nb2?.supported_parameters).toEqual([
			"prompt",
			"n",
			"aspect_ratio",
			"resolution",
			"input_references",
			"response_format",
			"output_format",
			"output_compression",
		]);
		expect(nb2?.parameters.resolution?.values).toEqual(["512", "1K", "2K", "4K"]);
		expect(nb2?.parameters.aspect_ratio.values).toContain("8:1");
		expect(nb2?.parameters.n).toEqual({ min: 1, max: 9 });
		expect(nb2?.pricing).toEqual({
			unit: expect.any(String),
			standard: { "512": 5, "1K": 7, "2K": 10, "4K": 16 },
			batch: { "512": 3, "1K": 4, "2K": 5, "4K": 8 },
		});
		const fixed = data.find((m) => m.id === "nano-banana");
		expect(fixed?.supported_parameters).not.toContain("resolution");
		expect(fixed?.parameters.resolution).toBeUndefined();
		expect(data.map((m) => m.id)).not.toContain("gemini-3-pro-image-preview"); // retired ids still work, but are not listed
		// Each live Gemini id also under OpenRouter's name; aliases are the gateway's, never google/.
		const google = data.filter((m) => m.id.startsWith("google/")).map((m) => m.id);
		expect(google).toContain("google/gemini-3.1-flash-image");
		expect(google).not.toContain("google/gemini-3-pro-image-preview");
		expect(google).not.toContain("google/nano-banana-2");
		expect(data.find((m) => m.id === "google/gemini-3.1-flash-image")?.parameters).toEqual(
			data.find((m) => m.id === "gemini-3.1-flash-image")?.parameters,
		);
		// OpenRouter's models path lists the same.
		const listed = await (await call("/api/v1/models", { headers: auth(k.key) })).json<{ data: ModelEntry[] }>();
		expect(listed.data.map((m) => m.id)).toEqual(data.map((m) => m.id));
	});

	it("google/<gemini id> names every model Google serves, on every /api/v1 route and /v1; google/<alias> is unknown", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const prompt = uniquePrompt("openrouter google name");
		const images = await postJson("/api/v1/images", { model: "google/gemini-3-pro-image", prompt }, auth(k.key));
		expect(images.status).toBe(200);
		expect((await emulatorCalls(prompt))[0].model).toBe("gemini-3-pro-image");
		// A retired preview id under OpenRouter's name reaches its successor, as the bare id does.
		const retired = uniquePrompt("openrouter google retired");
		const chat = await postJson(
			"/api/v1/chat/completions",
			{ model: "google/gemini-3.1-flash-image-preview", messages: [{ role: "user", content: retired }] },
			auth(k.key),
		);
		expect(chat.status).toBe(200);
		expect((await chat.json<{ model: string }>()).model).toBe("gemini-3.1-flash-image-preview");
		const vydra = await postJson("/api/v1/models/google/gemini-3.1-flash-image/edit", { prompt: "x" }, auth(k.key));
		expect(vydra.status).toBe(200);
		const v1 = await postJson("/v1/images/generations", { model: "google/gemini-3.1-flash-image", prompt: "x" }, auth(k.key));
		expect(v1.status).toBe(200);
		const alias = await postJson("/api/v1/images", { model: "google/nano-banana-2", prompt: "x" }, auth(k.key));
		expect((await expectError(alias, 400, "model_not_found")).param).toBe("model");
	});

	it("a parameter the model does not take is a 400 naming it; bad references name their index", async () => {
		const k = await createKey(undefined, { credits: 50 });
		const send = (body: object) => postJson("/api/v1/images", { prompt: "x", ...body }, auth(k.key));
		expect((await expectError(await send({ model: "nano-banana", resolution: "2K" }), 400, "invalid_parameter")).param).toBe("resolution");
		expect((await expectError(await send({ model: "nano-banana-2.1", resolution: "512" }), 400, "invalid_parameter")).param).toBe(
			"resolution",
		);
		expect((await expectError(await send({ model: "nano-banana-pro", aspect_ratio: "8:1" }), 400, "invalid_parameter")).param).toBe(
			"aspect_ratio",
		);
		expect((await expectError(await send({ input_references: ["https://10.0.0.1/a.png"] }), 400, "invalid_url")).param).toBe(
			"input_references[0]",
		);
		expect((await expectError(await send({ response_format: "png" }), 400, "invalid_parameter")).param).toBe("response_format");
		expect((await expectError(await send({ n: 10 }), 400, "invalid_parameter")).param).toBe("n");
		expect(await balanceOf(k.key)).toBe(50);
	});

	it("async works here too", async () => {
		const k = await createKey();
		const res = await postJson("/api/v1/images", { prompt: uniquePrompt("openrouter async"), async: true }, auth(k.key));
		expect(res.status).toBe(202);
		const job = await waitForJob(k.key, (await res.json<Job>()).id);
		expect(job.status).toBe("SUCCEEDED");
	});
});
