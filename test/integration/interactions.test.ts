// Google's Interactions API for image models (POST/GET/DELETE /{v1,v1beta}/interactions),
// driven by the real `@google/genai` client (`ai.interactions`) and the AI SDK's Google
// provider, with only the base URL and key changed, plus the HTTP surface for bad input,
// charging and limits. The SDKs' fetches to the gateway's host are routed into the Worker.

import { exports } from "cloudflare:workers";
import { createGoogle } from "@ai-sdk/google";
import { GoogleGenAI } from "@google/genai";
import { generateText, streamText } from "ai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
	auth,
	balanceOf,
	call,
	createKey,
	emulatorCalls,
	flushUsage,
	ledgerRows,
	postJson,
	uniquePrompt,
	usageRows,
} from "../helpers/http";
import { emulatorImage } from "../helpers/images";

const outside = globalThis.fetch;
beforeEach(() => {
	globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
		const req = new Request(input, init);
		return new URL(req.url).host === "gateway.test" ? exports.default.fetch(req) : outside(req);
	}) as typeof fetch;
});
afterEach(() => {
	globalThis.fetch = outside;
});

const genai = (apiKey: string) => new GoogleGenAI({ apiKey, httpOptions: { baseUrl: "https://gateway.test" } });
const IMAGE = { type: "image", aspect_ratio: "16:9", image_size: "1K", mime_type: "image/jpeg" } as const;

interface GoogleError {
	error: { code: number; message: string; status: string; details?: Array<Record<string, unknown>> };
}

async function expectGoogleError(res: Response, code: number, status: string, message: RegExp): Promise<void> {
	const body = await res.json<GoogleError>();
	expect({ code: res.status, status: body.error.status }).toEqual({ code, status });
	expect(body.error.message).toMatch(message);
}

describe("@google/genai ai.interactions", () => {
	it("create (sync) answers the image inline, metered like every dialect, and get/delete find it", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const prompt = uniquePrompt("interactions sync");
		const ai = genai(k.key);
		const interaction = await ai.interactions.create({ model: "gemini-3.1-flash-image", input: prompt, response_format: IMAGE });
		expect(interaction.status).toBe("completed");
		expect(interaction.id).toMatch(/^v1_/);
		expect(interaction.output_image?.mime_type).toBe("image/jpeg");
		const bytes = Uint8Array.fromBase64(interaction.output_image?.data ?? "");
		expect([...bytes.slice(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
		expect(interaction.usage?.total_output_tokens).toBeGreaterThan(0);
		const [sent] = await emulatorCalls(prompt);
		expect(sent.body.generationConfig).toMatchObject({ imageConfig: { aspectRatio: "16:9", imageSize: "1K" } });

		await flushUsage(k.key);
		const [row] = await usageRows(k.id);
		expect(row).toMatchObject({ endpoint: "interactions.create", images_delivered: 1 });
		expect(await balanceOf(k.key)).toBe(100 - row.credits_charged);

		const again = await ai.interactions.get(interaction.id);
		expect(again.output_image?.data).toBe(interaction.output_image?.data);
		await ai.interactions.delete(interaction.id);
		await expect(ai.interactions.get(interaction.id)).rejects.toMatchObject({ status: 404 });
	});

	it("create with delivery: uri answers the stored image's URL", async () => {
		const k = await createKey();
		const interaction = await genai(k.key).interactions.create({
			model: "nano-banana-2",
			input: [{ type: "text", text: uniquePrompt("interactions uri") }],
			response_format: [{ ...IMAGE, delivery: "uri" }],
		});
		const uri = interaction.output_image?.uri ?? "";
		expect(interaction.output_image?.data).toBeUndefined();
		const img = await call(new URL(uri).pathname);
		expect(img.status).toBe(200);
		expect(img.headers.get("content-type")).toBe("image/jpeg");
	});

	it("an edit: an input image in a user_input step reaches Gemini as inline data", async () => {
		const k = await createKey();
		const jpeg = await emulatorImage("interaction source");
		const prompt = uniquePrompt("interactions edit");
		const interaction = await genai(k.key).interactions.create({
			model: "nano-banana-2",
			input: [
				{
					type: "user_input",
					content: [
						{ type: "text", text: prompt },
						{ type: "image", data: jpeg.toBase64(), mime_type: "image/jpeg" },
					],
				},
			],
		});
		expect(interaction.output_image?.data).toBeTruthy();
		const [sent] = await emulatorCalls(prompt);
		const parts = (sent.body.contents[0] as { parts: Array<{ inlineData?: { data: string } }> }).parts;
		expect(Uint8Array.fromBase64(parts[1].inlineData?.data ?? "")).toEqual(jpeg);
	});

	it("create streamed: interaction.created, step.start, step.delta (the image), step.stop, interaction.completed; resumable by get", async () => {
		const k = await createKey();
		const ai = genai(k.key);
		const stream = await ai.interactions.create({
			model: "nano-banana-2",
			input: uniquePrompt("interactions stream"),
			response_format: IMAGE,
			stream: true,
		});
		const events: Array<Record<string, unknown>> = [];
		for await (const e of stream) events.push(e as unknown as Record<string, unknown>);
		// The model's text (if any) comes first in the step, then the image in a delta of its own.
		const types = events.map((e) => e.event_type);
		expect(types.slice(0, 3)).toEqual(["interaction.created", "interaction.status_update", "step.start"]);
		expect(types.slice(-2)).toEqual(["step.stop", "interaction.completed"]);
		const deltas = events.filter((e) => e.event_type === "step.delta").map((e) => e.delta as { type: string });
		expect(deltas.map((d) => d.type).filter((t) => t === "image")).toHaveLength(1);
		const at = events.findIndex((e) => (e.delta as { type?: string } | undefined)?.type === "image");
		const delta = events[at].delta as { type: string; mime_type: string; data: string };
		expect(delta).toMatchObject({ type: "image", mime_type: "image/jpeg" });
		expect([...Uint8Array.fromBase64(delta.data).slice(0, 2)]).toEqual([0xff, 0xd8]);
		const done = events[events.length - 1].interaction as { id: string; status: string; usage: { total_tokens: number } };
		expect(done.status).toBe("completed");
		expect(done.usage.total_tokens).toBeGreaterThan(0);

		// Resumed after the image's delta: only what followed it.
		const resumed = await ai.interactions.get(done.id, { stream: true, last_event_id: String(events[at].event_id) });
		const rest: string[] = [];
		for await (const e of resumed) rest.push(String((e as unknown as Record<string, unknown>).event_type));
		expect(rest).toEqual(["step.stop", "interaction.completed"]);
	});

	it("a refused prompt: the stream ends with an error event and a failed interaction; sync, Google's error; nothing charged", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const ai = genai(k.key);
		const events: Array<Record<string, unknown>> = [];
		for await (const e of await ai.interactions.create({
			model: "nano-banana-2",
			input: uniquePrompt("blocked", "block=SAFETY"),
			stream: true,
		})) {
			events.push(e as unknown as Record<string, unknown>);
		}
		expect(events.slice(-2).map((e) => e.event_type)).toEqual(["error", "interaction.completed"]);
		expect(events.at(-1)?.interaction).toMatchObject({ status: "failed", errors: [expect.objectContaining({ code: expect.any(String) })] });
		const res = await postJson(
			"/v1/interactions",
			{ model: "nano-banana-2", input: uniquePrompt("blocked", "block=SAFETY") },
			{ "x-goog-api-key": k.key },
		);
		expect(res.status).toBeGreaterThanOrEqual(400);
		expect((await res.json<GoogleError>()).error.status).toMatch(/^[A-Z_]+$/);
		expect(res.headers.get("x-credits-charged")).toBe("0");
		expect(await balanceOf(k.key)).toBe(100);
	});

	it("background: answers in_progress at once, get polls to completed; charged once", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const ai = genai(k.key);
		const first = await ai.interactions.create({
			model: "nano-banana-2",
			input: uniquePrompt("interactions background"),
			background: true,
		});
		expect(first.status).toBe("in_progress");
		let polled = first;
		for (let i = 0; i < 100 && polled.status === "in_progress"; i++) {
			await new Promise((r) => setTimeout(r, 150));
			polled = await ai.interactions.get(first.id);
		}
		expect(polled.status).toBe("completed");
		expect(polled.output_image?.data).toBeTruthy();
		await flushUsage(k.key);
		const rows = await usageRows(k.id);
		expect(rows).toHaveLength(1);
		expect(await balanceOf(k.key)).toBe(100 - rows[0].credits_charged);
	});

	it("a streamed get of a running background interaction follows it to interaction.completed", async () => {
		const k = await createKey();
		const ai = genai(k.key);
		const bg = await ai.interactions.create({ model: "nano-banana-2", input: uniquePrompt("interactions follow"), background: true });
		const types: string[] = [];
		for await (const e of await ai.interactions.get(bg.id, { stream: true }))
			types.push(String((e as unknown as Record<string, unknown>).event_type));
		expect(types.slice(0, 3)).toEqual(["interaction.created", "interaction.status_update", "step.start"]);
		expect(types).toContain("step.delta");
		expect(types.at(-1)).toBe("interaction.completed");
	});

	it("cancel: a queued background interaction is cancelled and its hold released; a finished one is FAILED_PRECONDITION", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const ai = genai(k.key);
		// The queue runs jobs within about a second: cancel at once.
		const bg = await ai.interactions.create({
			model: "nano-banana-2",
			input: uniquePrompt("interactions cancel"),
			background: true,
		});
		const cancelled = await ai.interactions.cancel(bg.id);
		expect(cancelled.status).toBe("cancelled");
		expect((await ai.interactions.get(bg.id)).status).toBe("cancelled");
		expect(await balanceOf(k.key)).toBe(100);

		const sync = await ai.interactions.create({ model: "nano-banana-2", input: uniquePrompt("interactions done") });
		const res = await call(`/v1beta/interactions/${sync.id}/cancel`, { method: "POST", headers: auth(k.key) });
		await expectGoogleError(res, 400, "FAILED_PRECONDITION", /not a background interaction/);
	});
});

describe("the AI SDK's Google provider, interactions mode", () => {
	it("generateText with an image response_format returns the image as a file (POST /v1beta/interactions)", async () => {
		const k = await createKey();
		const google = createGoogle({ apiKey: k.key, baseURL: "https://gateway.test/v1beta" });
		const result = await generateText({
			model: google.interactions("gemini-3.1-flash-image"),
			prompt: uniquePrompt("ai sdk interactions"),
			providerOptions: { google: { responseFormat: [{ type: "image", aspectRatio: "1:1", imageSize: "1K" }] } },
		});
		expect(result.files).toHaveLength(1);
		expect(result.files[0].mediaType).toBe("image/jpeg");
		expect(result.files[0].uint8Array[0]).toBe(0xff);
	});
});

describe("the AI SDK's Google provider, interactions mode, streamed", () => {
	it("streamText reads the streamed image as a file", async () => {
		const k = await createKey();
		const google = createGoogle({ apiKey: k.key, baseURL: "https://gateway.test/v1beta" });
		const result = streamText({
			model: google.interactions("nano-banana-2"),
			prompt: uniquePrompt("ai sdk interactions stream"),
			providerOptions: { google: { responseFormat: [{ type: "image" }] } },
		});
		const files = await result.files;
		expect(files).toHaveLength(1);
		expect(files[0].mediaType).toBe("image/jpeg");
		expect(await result.finishReason).toBe("stop");
	});
});

describe("the HTTP surface", () => {
	const create = (key: string, body: unknown, version = "v1beta") => postJson(`/${version}/interactions`, body, { "x-goog-api-key": key });

	it.each([
		["a text model", { model: "gemini-3-flash", input: "x" }, /image models only/],
		["no input", { model: "nano-banana-2" }, /input is required/],
		["an agent", { agent: "deep-research", input: "x" }, /agent is not supported/],
		[
			"a ratio the model lacks",
			{ model: "nano-banana-pro", input: "x", response_format: { type: "image", aspect_ratio: "8:1" } },
			/response_format\.aspect_ratio/,
		],
		["an audio output", { model: "nano-banana-2", input: "x", response_format: [{ type: "audio" }] }, /response_format\[0\]\.type/],
		["a delivery Google lacks", { model: "nano-banana-2", input: "x", response_format: { type: "image", delivery: "email" } }, /delivery/],
		[
			"generation settings",
			{ model: "nano-banana-2", input: "x", generation_config: { temperature: 1 } },
			/generation_config\.temperature is not supported/,
		],
		[
			"a thinking level Gemini lacks",
			{ model: "nano-banana-2", input: "x", generation_config: { thinking_level: "xhigh" } },
			/generation_config\.thinking_level: must be one of minimal, low, medium, high/,
		],
		[
			"a thinking level that is no string",
			{ model: "nano-banana-2", input: "x", generation_config: { thinking_level: 3 } },
			/generation_config\.thinking_level: must be one of minimal, low, medium, high/,
		],
		[
			"generation settings that are no object",
			{ model: "nano-banana-2", input: "x", generation_config: "high" },
			/generation_config: must be an object/,
		],
		["an earlier turn", { model: "nano-banana-2", input: "x", previous_interaction_id: "v1_abc" }, /previous_interaction_id/],
		["stream and background", { model: "nano-banana-2", input: "x", stream: true, background: true }, /stream and background/],
	])("%s is a 400 INVALID_ARGUMENT naming the field; nothing held or sent", async (_what, body, message) => {
		const k = await createKey(undefined, { credits: 100 });
		await expectGoogleError(await create(k.key, body), 400, "INVALID_ARGUMENT", message);
		expect(await balanceOf(k.key)).toBe(100);
		await flushUsage(k.key);
		expect(await usageRows(k.id)).toHaveLength(0);
	});

	it("generation_config.thinking_level reaches Gemini's thinkingConfig; a level the model does not take is a 400 naming it, nothing sent", async () => {
		const k = await createKey(undefined, { credits: 1000 });
		const prompt = uniquePrompt("interactions thinking");
		const res = await create(k.key, { model: "nano-banana-2", input: prompt, generation_config: { thinking_level: "high" } });
		expect(res.status, await res.clone().text()).toBe(200);
		const [sent] = await emulatorCalls(prompt);
		expect(sent.body.generationConfig).toMatchObject({ thinkingConfig: { thinkingLevel: "HIGH" } });
		const low = uniquePrompt("interactions thinking low");
		await expectGoogleError(
			await create(k.key, { model: "nano-banana-2", input: low, generation_config: { thinking_level: "low" } }),
			400,
			"INVALID_ARGUMENT",
			/generation_config\.thinking_level.*minimal, high/,
		);
		expect(await emulatorCalls(low)).toEqual([]);
	});

	it("no key is 401 UNAUTHENTICATED in Google's shape; another key's interaction is 404", async () => {
		await expectGoogleError(await postJson("/v1/interactions", { model: "nano-banana-2", input: "x" }), 401, "UNAUTHENTICATED", /API key/);
		const a = await createKey();
		const b = await createKey();
		const made = await (await create(a.key, { model: "nano-banana-2", input: uniquePrompt("owned") })).json<{ id: string }>();
		await expectGoogleError(
			await call(`/v1/interactions/${made.id}`, { headers: { "x-goog-api-key": b.key } }),
			404,
			"NOT_FOUND",
			/not found/,
		);
		const del = await call(`/v1/interactions/${made.id}`, { method: "DELETE", headers: { "x-goog-api-key": b.key } });
		expect(del.status).toBe(404);
	});

	it("charges what the meter says, as the other dialects do: x-credits-charged = the ledger's debit = OpenRouter's charge", async () => {
		const k = await createKey(undefined, { credits: 1000 });
		const res = await create(
			k.key,
			{ model: "nano-banana-2", input: uniquePrompt("charge"), response_format: { type: "image", image_size: "2K" } },
			"v1",
		);
		expect(res.status).toBe(200);
		const charged = Number(res.headers.get("x-credits-charged"));
		expect(charged).toBeGreaterThan(0);
		const body = await res.json<{ credits_charged: number }>();
		expect(body.credits_charged).toBe(charged);
		const other = await postJson(
			"/api/v1/images",
			{ model: "nano-banana-2", prompt: uniquePrompt("charge"), resolution: "2K" },
			auth(k.key),
		);
		expect(Number(other.headers.get("x-credits-charged"))).toBe(charged);
		await flushUsage(k.key);
		const debits = (await ledgerRows(k.id)).filter((r) => r.kind === "charge").map((r) => -r.amount);
		expect(debits).toEqual([charged, charged]);
		expect(await balanceOf(k.key)).toBe(1000 - 2 * charged);
	});

	it("a repeated Idempotency-Key replays the interaction and charges once", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const body = { model: "nano-banana-2", input: uniquePrompt("idempotent") };
		const headers = { "x-goog-api-key": k.key, "idempotency-key": crypto.randomUUID() };
		const first = await postJson("/v1/interactions", body, headers);
		const again = await postJson("/v1/interactions", body, headers);
		expect(again.headers.get("idempotent-replayed")).toBe("true");
		expect(await again.text()).toBe(await first.text());
		expect(await balanceOf(k.key)).toBe(100 - Number(first.headers.get("x-credits-charged")));
	});

	it("rate limits hold: the second call in the minute is 429 RESOURCE_EXHAUSTED", async () => {
		const k = await createKey(undefined, {
			limits: { requests_per_minute: 1, concurrent_requests: 10, images_per_day: 100, images_per_month: 1000 },
		});
		expect((await create(k.key, { model: "nano-banana-2", input: uniquePrompt("limit 1") })).status).toBe(200);
		const res = await create(k.key, { model: "nano-banana-2", input: uniquePrompt("limit 2") });
		await expectGoogleError(res, 429, "RESOURCE_EXHAUSTED", /.+/);
		expect(res.headers.get("retry-after")).toBeTruthy();
	});
});
