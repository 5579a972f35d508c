// Chat completions with image output, driven by the official `openai` SDK (unchanged, extra
// body fields as a user passes them) and by plain fetch: images arrive whole, streamed or
// not, billed like every other dialect.
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import {
	accountOf,
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
import { openaiClient } from "../helpers/sdk";

interface ImageMessage {
	content: string | null;
	images?: Array<{ type: string; image_url: { url: string } }>;
}

interface Chunk {
	choices: Array<{
		index: number;
		delta: { role?: string; content?: string; images?: Array<{ image_url: { url: string } }> };
		finish_reason: string | null;
	}>;
	usage?: { prompt_tokens: number; completion_tokens: number; credits_charged: number } | null;
}

const sha256 = async (bytes: Uint8Array) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).toHex();
const dataUrlBytes = (url: string) => Uint8Array.fromBase64(url.slice(url.indexOf(",") + 1));

describe("chat completions, openai SDK", () => {
	it("create with modalities and image_config: the stored image's URL in message.images, billed once", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const prompt = uniquePrompt("chat sdk");
		const res = await openaiClient(k.key).chat.completions.create({
			model: "nano-banana-2",
			messages: [{ role: "user", content: prompt }],
			...({ modalities: ["image", "text"], image_config: { aspect_ratio: "16:9", image_size: "2K" } } as object),
		});
		const message = res.choices[0].message as unknown as ImageMessage;
		expect(res).toMatchObject({ object: "chat.completion", model: "nano-banana-2" });
		expect(res.choices).toHaveLength(1);
		expect(res.choices[0].finish_reason).toBe("stop");
		// Gemini 3 answers with the image part alone, no text (the recorded 3.1 Flash Image answer, 2026-12-03).
		expect(message.content).toBe("");
		const url = message.images?.[0].image_url.url ?? "";
		expect(url).toMatch(/^https:\/\/gateway\.test\/images\/generated\/nano-banana-2\//);
		const img = await call(new URL(url).pathname);
		expect(img.status).toBe(200);
		const [sent] = await emulatorCalls(prompt);
		expect(sent.body.generationConfig?.imageConfig).toEqual({ aspectRatio: "16:9", imageSize: "2K" });
		expect(await sha256(new Uint8Array(await img.arrayBuffer()))).toBe(sent.outputs[0].sha256);
		expect(res.usage?.completion_tokens).toBeGreaterThan(0);
		expect(await balanceOf(k.key)).toBe(90);
		await flushUsage(k.key);
		const [row] = await usageRows(k.id);
		expect(row).toMatchObject({ endpoint: "openai.chat.completions", images_delivered: 1, credits_charged: 10, aspect_ratio: "16:9" });
	});

	it("streams n = 2 large data-URL images: each on its own chunk, whole, then finish_reason, usage and [DONE]", async () => {
		const k = await createKey(undefined, { credits: 1_000 });
		const prompt = uniquePrompt("chat stream", "format=png,noise=1");
		const stream = await openaiClient(k.key).chat.completions.create({
			model: "nano-banana-pro",
			messages: [{ role: "user", content: [{ type: "text", text: prompt }] }],
			stream: true,
			n: 2,
			stream_options: { include_usage: true },
			...({ modalities: ["image", "text"], image_config: { image_size: "2K" }, image_output: "data_url" } as object),
		});
		const chunks: Chunk[] = [];
		for await (const chunk of stream) chunks.push(chunk as unknown as Chunk);
		const images = chunks.flatMap((c) =>
			c.choices.filter((ch) => ch.delta.images).map((ch) => ({ index: ch.index, url: ch.delta.images?.[0].image_url.url ?? "" })),
		);
		expect(images.map((i) => i.index).sort()).toEqual([0, 1]);
		for (const c of chunks.filter((c) => c.choices.some((ch) => ch.delta.images))) expect(c.choices[0].delta.content).toBeUndefined();
		const sent = (await emulatorCalls(prompt)).map((s) => s.outputs[0].sha256).sort();
		const got = await Promise.all(images.map((i) => sha256(dataUrlBytes(i.url))));
		expect(got.sort()).toEqual(sent);
		expect(images[0].url.length).toBeGreaterThan(2_000_000); // multi-MB data URLs, each whole in one event
		expect(images[0].url).toMatch(/^data:image\/png;base64,/);
		const finishes = chunks.flatMap((c) => c.choices.filter((ch) => ch.finish_reason === "stop").map((ch) => ch.index));
		expect(finishes.sort()).toEqual([0, 1]);
		const last = chunks[chunks.length - 1];
		expect(last.choices).toEqual([]);
		expect(last.usage).toMatchObject({ credits_charged: 28 });
		expect(await balanceOf(k.key)).toBe(972);
	});

	it("a reference image in a user message (data URL and https URL) reaches Gemini in order", async () => {
		const k = await createKey();
		const jpeg = await emulatorImage("chat reference source");
		const fake = interceptHosts({ "cdn.example.com": () => imageResponse(TINY_PNG) });
		try {
			const prompt = uniquePrompt("chat edit");
			const res = await openaiClient(k.key).chat.completions.create({
				model: "nano-banana-pro",
				messages: [
					{ role: "system", content: "You are a product photographer." },
					{
						role: "user",
						content: [
							{ type: "text", text: prompt },
							{ type: "image_url", image_url: { url: `data:image/jpeg;base64,${jpeg.toBase64()}` } },
							{ type: "image_url", image_url: { url: "https://cdn.example.com/logo.png" } },
						],
					},
				],
			});
			expect((res.choices[0].message as unknown as ImageMessage).images).toHaveLength(1);
			const [sent] = await emulatorCalls(prompt);
			const body = sent.body as {
				contents: Array<{ role: string; parts: Array<{ text?: string; inlineData?: { data: string } }> }>;
				systemInstruction?: unknown;
			};
			expect(body.systemInstruction).toEqual({ parts: [{ text: "You are a product photographer." }] });
			expect(body.contents).toHaveLength(1);
			const inline = body.contents[0].parts.filter((p) => p.inlineData).map((p) => Uint8Array.fromBase64(p.inlineData?.data ?? ""));
			expect(inline).toEqual([jpeg, TINY_PNG]);
			expect(fake.seen).toEqual(["https://cdn.example.com/logo.png"]);
		} finally {
			fake.restore();
		}
		await flushUsage(k.key);
		expect((await usageRows(k.id))[0]).toMatchObject({ mode: "edit" });
	});
});

describe("chat completions, plain fetch", () => {
	it("every SSE event is one whole JSON line; keep-alive comments come first; OpenRouter's path works too", async () => {
		const k = await createKey();
		const prompt = uniquePrompt("chat raw stream");
		const res = await postJson(
			"/api/v1/chat/completions",
			{ model: "nano-banana", messages: [{ role: "user", content: prompt }], stream: true },
			auth(k.key),
		);
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toContain("text/event-stream");
		const text = await res.text();
		expect(text.startsWith(": keep-alive\n\n")).toBe(true);
		const events = text.split("\n\n").filter((e) => e.startsWith("data: "));
		expect(events[events.length - 1]).toBe("data: [DONE]");
		const payloads = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)) as Chunk);
		expect(payloads.every((p) => (p as unknown as { object: string }).object === "chat.completion.chunk")).toBe(true);
		expect(payloads.filter((p) => p.usage)).toHaveLength(0); // no usage chunk unless include_usage
		expect(payloads.flatMap((p) => p.choices.map((c) => c.delta.images?.length ?? 0)).reduce((a, b) => a + b)).toBe(1);
		// On OpenRouter's path images are data URLs unless asked otherwise, as OpenRouter answers.
		const url = payloads.flatMap((p) => p.choices.flatMap((c) => c.delta.images ?? []))[0].image_url.url;
		expect(url).toMatch(/^data:image\/jpeg;base64,\/9j\//);
	});

	it("image_output unset: data URLs on /api/v1, the stored URL on /v1; either path takes either when asked", async () => {
		const k = await createKey();
		const urlOf = async (path: string, extra: object = {}) => {
			const body = { model: "nano-banana", messages: [{ role: "user", content: uniquePrompt("chat default output") }], ...extra };
			const res = await postJson(path, body, auth(k.key));
			expect(res.status).toBe(200);
			return (await res.json<{ choices: Array<{ message: { images: Array<{ image_url: { url: string } }> } }> }>()).choices[0].message
				.images[0].image_url.url;
		};
		expect(await urlOf("/api/v1/chat/completions")).toMatch(/^data:image\/jpeg;base64,/);
		expect(await urlOf("/v1/chat/completions")).toMatch(/^https?:\/\/.*\/images\/generated\//);
		expect(await urlOf("/api/v1/chat/completions", { image_output: "url" })).toMatch(/^https?:\/\//);
		expect(await urlOf("/v1/chat/completions", { image_output: "data_url" })).toMatch(/^data:image\/jpeg;base64,/);
	});

	it("a repeated Idempotency-Key replays the whole stream and charges once", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const body = { model: "nano-banana-2", messages: [{ role: "user", content: uniquePrompt("chat idem") }], stream: true };
		const headers = { ...auth(k.key), "idempotency-key": `idem-${crypto.randomUUID()}` };
		const first = await (await postJson("/v1/chat/completions", body, headers)).text();
		const again = await postJson("/v1/chat/completions", body, headers);
		expect(again.headers.get("idempotent-replayed")).toBe("true");
		expect(again.headers.get("content-type")).toContain("text/event-stream");
		// The replay is the stream's events (heartbeat comments aside), byte for byte.
		expect(await again.text()).toBe(first.replaceAll(": keep-alive\n\n", ""));
		expect(await balanceOf(k.key)).toBe(93);
	});

	it("a client that does not read the stream is charged when generation ends, before it reads anything", async () => {
		const k = await createKey(undefined, { credits: 1_000 });
		const prompt = uniquePrompt("chat unread stream", "format=png,noise=1");
		const res = await postJson(
			"/v1/chat/completions",
			{
				model: "nano-banana-pro",
				messages: [{ role: "user", content: prompt }],
				n: 2,
				stream: true,
				stream_options: { include_usage: true },
				image_size: "2K",
				image_output: "data_url",
			},
			auth(k.key),
		);
		expect(res.status).toBe(200);
		// Nothing of the body is read: the account settles anyway (multi-MB events wait unsent).
		const account = await accountOf(k.key);
		let view = await account.describe();
		for (let i = 0; i < 100 && (view?.reservedCredits ?? 0) > 0; i++) {
			await new Promise((r) => setTimeout(r, 50));
			view = await account.describe();
		}
		expect(view).toMatchObject({ credits: 972, reservedCredits: 0 });
		await flushUsage(k.key);
		expect((await usageRows(k.id))[0]).toMatchObject({ images_delivered: 2, credits_charged: 28, status: 200 });
		// The client reads late and gets both images and the charge the account recorded.
		const text = await res.text();
		const events = text.split("\n\n").filter((e) => e.startsWith("data: {"));
		const chunks = events.map((e) => JSON.parse(e.slice(6)) as Chunk);
		expect(chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.images ?? []))).toHaveLength(2);
		expect(text).toContain('"credits_charged":28');
	});

	it("an upstream failure after admission is an error event in the stream, charged 0", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const res = await postJson(
			"/v1/chat/completions",
			{ model: "nano-banana-2", messages: [{ role: "user", content: uniquePrompt("chat stream fails", "block=SAFETY") }], stream: true },
			auth(k.key),
		);
		expect(res.status).toBe(200);
		const events = (await res.text()).split("\n\n").filter((e) => e.startsWith("data: "));
		expect(JSON.parse(events[0].slice(6)).error).toMatchObject({ code: "content_policy_violation", type: "invalid_request_error" });
		await flushUsage(k.key);
		expect((await usageRows(k.id))[0]).toMatchObject({ status: 422, error_code: "content_policy_violation", credits_charged: 0 });
		expect(await balanceOf(k.key)).toBe(100);
	});

	it("the SDK raises an error event as an APIError", async () => {
		const k = await createKey();
		const stream = await openaiClient(k.key).chat.completions.create({
			model: "nano-banana-2",
			messages: [{ role: "user", content: uniquePrompt("sdk stream fails", "finish=NO_IMAGE") }],
			stream: true,
		});
		const failure = await (async () => {
			for await (const _ of stream) {
				// no chunk before the error
			}
		})().catch((e: unknown) => e);
		expect(failure).toBeInstanceOf(OpenAI.APIError);
		expect((failure as InstanceType<typeof OpenAI.APIError>).message).toMatch(/without an image/);
	});
});

describe("chat completions, bad input: 400 before anything is held", () => {
	const send = (key: string, body: Record<string, unknown>) =>
		postJson("/v1/chat/completions", { model: "nano-banana-2", ...body }, auth(key));

	it("no text in the last user message, no user message last, a tool role, text-only modalities", async () => {
		const k = await createKey(undefined, { credits: 50 });
		const png = `data:image/png;base64,${TINY_PNG.toBase64()}`;
		expect(
			(
				await expectError(
					await send(k.key, { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: png } }] }] }),
					400,
					"invalid_parameter",
				)
			).param,
		).toBe("messages[0].content");
		expect((await expectError(await send(k.key, { messages: [{ role: "user", content: "  " }] }), 400, "invalid_parameter")).param).toBe(
			"messages[0].content",
		);
		expect(
			(
				await expectError(
					await send(k.key, {
						messages: [
							{ role: "user", content: "x" },
							{ role: "assistant", content: "y" },
						],
					}),
					400,
					"invalid_parameter",
				)
			).param,
		).toBe("messages");
		expect((await expectError(await send(k.key, { messages: [{ role: "tool", content: "x" }] }), 400, "invalid_parameter")).param).toBe(
			"messages[0].role",
		);
		expect(
			(await expectError(await send(k.key, { messages: [{ role: "user", content: "x" }], modalities: ["text"] }), 400, "invalid_parameter"))
				.param,
		).toBe("modalities");
		expect((await expectError(await send(k.key, { messages: [] }), 400, "invalid_parameter")).param).toBe("messages");
		expect(
			(
				await expectError(
					await send(k.key, { messages: [{ role: "user", content: "x" }], image_config: { aspect_ratio: "7:3" } }),
					400,
					"invalid_parameter",
				)
			).param,
		).toBe("image_config.aspect_ratio");
		expect(await balanceOf(k.key)).toBe(50);
	});

	it("an image_url part that fails the SSRF rules names the message and part index", async () => {
		const k = await createKey();
		for (const url of ["http://example.com/a.png", "https://127.0.0.1/a.png", "https://metadata.google.internal/x"]) {
			const err = await expectError(
				await send(k.key, {
					messages: [
						{ role: "user", content: "first" },
						{ role: "assistant", content: "ok" },
						{
							role: "user",
							content: [
								{ type: "text", text: "edit it" },
								{ type: "image_url", image_url: { url } },
							],
						},
					],
				}),
				400,
				"invalid_url",
			);
			expect(err.param).toBe("messages[2].content[1].image_url");
			expect(err.message).toContain("messages[2].content[1].image_url");
		}
	});

	it("service_tier other than standard or batch lists them; batch needs async, which chat is not", async () => {
		const k = await createKey();
		const flex = await expectError(
			await send(k.key, { messages: [{ role: "user", content: "x" }], service_tier: "flex" }),
			400,
			"invalid_parameter",
		);
		expect(flex.param).toBe("service_tier");
		expect(flex.message).toContain("standard, batch");
		const batch = await expectError(
			await send(k.key, { messages: [{ role: "user", content: "x" }], service_tier: "batch" }),
			400,
			"invalid_parameter",
		);
		expect(batch.param).toBe("service_tier");
		expect(batch.message).toMatch(/async/);
		expect(
			(await expectError(await send(k.key, { messages: [{ role: "user", content: "x" }], async: true }), 400, "invalid_parameter")).param,
		).toBe("async");
	});
});
