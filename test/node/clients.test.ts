// The client libraries people already use, unchanged, against `wrangler dev`: only the base
// URL and the key differ from what their own documentation shows (issue 26). Each case reads
// back real image bytes (PNG or JPEG magic) and sees the key's credits go down.
// Versions driven (devDependencies, checked 2026-12-03): ai 7.0, @ai-sdk/openai 4.0,
// @ai-sdk/openai-compatible 3.0, @ai-sdk/google 4.0, @openrouter/ai-sdk-provider 3.1,
// openai 7.57, @google/genai 3.3 (API version v1 by default), @langchain/google-genai 2.3.
import { createGoogleGenerativeAI } from "@ai-sdk/google";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { GoogleGenAI } from "@google/genai";
import { ChatGoogleGenerativeAI } from "@langchain/google-genai";
import { createOpenRouter } from "@openrouter/ai-sdk-provider";
import { generateImage, generateText, streamText } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, type GatewayProcess, startGateway } from "./gateway-process.ts";

let gw: GatewayProcess;
let key: string;

beforeAll(async () => {
	gw = await startGateway();
	key = await createApiKey(gw, "client libraries", 10_000_000);
}, 120_000);

afterAll(async () => {
	await gw?.stop();
});

/** A tiny real PNG (1x1), the reference image of every edit. */
const PNG_1PX = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");

/** PNG or JPEG, by the first bytes. */
function isImage(bytes: Uint8Array): boolean {
	const png = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
	const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
	return bytes.length > 100 && (png || jpeg);
}

async function credits(): Promise<number> {
	const res = await fetch(`${gw.url}/v1/account`, { headers: { authorization: `Bearer ${key}` } });
	return ((await res.json()) as { credits: number }).credits;
}

/** Runs `work` and expects the key to have been charged for it. */
async function charged<T>(work: () => Promise<T>): Promise<T> {
	const before = await credits();
	const out = await work();
	expect(await credits()).toBeLessThan(before);
	return out;
}

const fromDataUrl = (url: string): Uint8Array => {
	const m = url.match(/^data:image\/(png|jpeg);base64,(.+)$/);
	expect(m, `a data URL, got ${url.slice(0, 60)}`).not.toBeNull();
	return Buffer.from(m?.[2] ?? "", "base64");
};

describe("Vercel AI SDK generateImage", () => {
	it("the OpenAI provider generates and edits", async () => {
		const openai = createOpenAI({ apiKey: key, baseURL: `${gw.url}/v1` });
		const made = await charged(() => generateImage({ model: openai.image("nano-banana-2"), prompt: "a lighthouse", maxRetries: 0 }));
		expect(isImage(made.images[0].uint8Array)).toBe(true);
		const edited = await charged(() =>
			generateImage({ model: openai.image("nano-banana-2"), prompt: { text: "make it blue", images: [PNG_1PX] }, maxRetries: 0 }),
		);
		expect(isImage(edited.images[0].uint8Array)).toBe(true);
	});

	it("the OpenAI-compatible provider generates and edits", async () => {
		const gateway = createOpenAICompatible({ name: "gateway", apiKey: key, baseURL: `${gw.url}/v1` });
		const made = await charged(() => generateImage({ model: gateway.imageModel("nano-banana-2"), prompt: "a windmill", maxRetries: 0 }));
		expect(isImage(made.images[0].uint8Array)).toBe(true);
		const edited = await charged(() =>
			generateImage({ model: gateway.imageModel("nano-banana-2"), prompt: { text: "add snow", images: [PNG_1PX] }, maxRetries: 0 }),
		);
		expect(isImage(edited.images[0].uint8Array)).toBe(true);
	});

	it("the OpenRouter provider generates and edits with an OpenRouter model name", async () => {
		const openrouter = createOpenRouter({ apiKey: key, baseURL: `${gw.url}/api/v1` });
		const model = openrouter.imageModel("google/gemini-3.1-flash-image");
		const made = await charged(() => generateImage({ model, prompt: "a red kite", aspectRatio: "16:9", maxRetries: 0 }));
		expect(isImage(made.images[0].uint8Array)).toBe(true);
		expect(made.usage.inputTokens).toBeGreaterThan(0);
		const edited = await charged(() => generateImage({ model, prompt: { text: "make it green", images: [PNG_1PX] }, maxRetries: 0 }));
		expect(isImage(edited.images[0].uint8Array)).toBe(true);
	});
});

describe("Vercel AI SDK generateText and streamText", () => {
	it("the OpenRouter provider reads the chat's images, whole and streamed", async () => {
		const openrouter = createOpenRouter({ apiKey: key, baseURL: `${gw.url}/api/v1` });
		const model = openrouter.chat("google/gemini-3.1-flash-image");
		const whole = await charged(() => generateText({ model, prompt: "a paper boat", maxRetries: 0 }));
		expect(whole.files.length).toBeGreaterThan(0);
		expect(isImage(whole.files[0].uint8Array)).toBe(true);
		const streamed = await charged(async () => {
			const run = streamText({ model, prompt: "a paper plane", maxRetries: 0 });
			return run.files;
		});
		expect(streamed.length).toBeGreaterThan(0);
		expect(isImage(streamed[0].uint8Array)).toBe(true);
	});

	it("the Google provider (generateContent on /v1beta) reads the images, whole and streamed", async () => {
		const google = createGoogleGenerativeAI({ apiKey: key, baseURL: `${gw.url}/v1beta` });
		const model = google("gemini-3.1-flash-image");
		const providerOptions = { google: { responseModalities: ["TEXT", "IMAGE"] } };
		const whole = await charged(() => generateText({ model, prompt: "a teapot", providerOptions, maxRetries: 0 }));
		expect(whole.files.length).toBeGreaterThan(0);
		expect(isImage(whole.files[0].uint8Array)).toBe(true);
		const streamed = await charged(async () => streamText({ model, prompt: "a kettle", providerOptions, maxRetries: 0 }).files);
		expect(streamed.length).toBeGreaterThan(0);
		expect(isImage(streamed[0].uint8Array)).toBe(true);
	});
});

interface ChatImage {
	image_url: { url: string };
}

describe("openai chat completions with images", () => {
	it("on /v1: image URLs, whole and streamed", async () => {
		const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
		const whole = await charged(() =>
			client.chat.completions.create({ model: "nano-banana-2", messages: [{ role: "user", content: "a cactus" }] }),
		);
		const message = whole.choices[0].message as unknown as { images: ChatImage[] };
		const url = message.images[0].image_url.url;
		expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/images\//);
		expect(isImage(new Uint8Array(await (await fetch(url)).arrayBuffer()))).toBe(true);

		const images = await charged(async () => {
			const stream = await client.chat.completions.create({
				model: "nano-banana-2",
				messages: [{ role: "user", content: "a cactus at night" }],
				stream: true,
			});
			const seen: ChatImage[] = [];
			for await (const chunk of stream) seen.push(...((chunk.choices[0]?.delta as { images?: ChatImage[] } | undefined)?.images ?? []));
			return seen;
		});
		expect(images).toHaveLength(1);
		expect(isImage(new Uint8Array(await (await fetch(images[0].image_url.url)).arrayBuffer()))).toBe(true);
	});

	it("on /api/v1 (OpenRouter's base URL): data URLs by default, URLs when asked for", async () => {
		const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/api/v1`, maxRetries: 0 });
		const whole = await charged(() =>
			client.chat.completions.create({ model: "google/gemini-3.1-flash-image", messages: [{ role: "user", content: "a fern" }] }),
		);
		expect(whole.model).toBe("gemini-3.1-flash-image");
		const message = whole.choices[0].message as unknown as { images: ChatImage[] };
		expect(isImage(fromDataUrl(message.images[0].image_url.url))).toBe(true);

		const images = await charged(async () => {
			const stream = await client.chat.completions.create({
				model: "google/gemini-3.1-flash-image",
				messages: [{ role: "user", content: "a fern at dusk" }],
				stream: true,
			});
			const seen: ChatImage[] = [];
			for await (const chunk of stream) seen.push(...((chunk.choices[0]?.delta as { images?: ChatImage[] } | undefined)?.images ?? []));
			return seen;
		});
		expect(images).toHaveLength(1);
		expect(isImage(fromDataUrl(images[0].image_url.url))).toBe(true);

		const asked = await client.chat.completions.create({
			model: "nano-banana-2",
			messages: [{ role: "user", content: "a fern by day" }],
			// @ts-expect-error the gateway's own field, not in the SDK's types
			image_output: "url",
		});
		expect((asked.choices[0].message as unknown as { images: ChatImage[] }).images[0].image_url.url).toMatch(/^http:/);
	});
});

describe("LangChain", () => {
	it("ChatGoogleGenerativeAI produces an image", async () => {
		const chat = new ChatGoogleGenerativeAI({ model: "gemini-3.1-flash-image", apiKey: key, baseUrl: gw.url, maxRetries: 0 });
		const answer = await charged(() => chat.invoke("a snail on a leaf"));
		const parts = Array.isArray(answer.content) ? answer.content : [];
		const image = parts.find((p) => p.type === "inlineData") as { inlineData?: { data: string } } | undefined;
		expect(image?.inlineData?.data, JSON.stringify(answer.content).slice(0, 200)).toBeDefined();
		expect(isImage(Buffer.from(image?.inlineData?.data ?? "", "base64"))).toBe(true);
	});
});

describe("@google/genai with its default API version (v1)", () => {
	const genai = () => new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: gw.url } });
	const imageOf = (parts: Array<{ inlineData?: { data?: string } }> | undefined) =>
		Buffer.from(parts?.find((p) => p.inlineData)?.inlineData?.data ?? "", "base64");

	it("generateContent", async () => {
		const res = await charged(() => genai().models.generateContent({ model: "gemini-3.1-flash-image", contents: "a tulip" }));
		expect(isImage(imageOf(res.candidates?.[0]?.content?.parts))).toBe(true);
	});

	it("chats", async () => {
		const chat = genai().chats.create({ model: "gemini-3.1-flash-image", config: { responseModalities: ["TEXT", "IMAGE"] } });
		const first = await charged(() => chat.sendMessage({ message: "a rose" }));
		expect(isImage(imageOf(first.candidates?.[0]?.content?.parts))).toBe(true);
		const second = await charged(() => chat.sendMessage({ message: "now make it yellow" }));
		expect(isImage(imageOf(second.candidates?.[0]?.content?.parts))).toBe(true);
		expect(chat.getHistory()).toHaveLength(4);
	});

	it("models.list", async () => {
		const names: string[] = [];
		for await (const m of await genai().models.list()) names.push(m.name ?? "");
		expect(names).toContain("models/gemini-3.1-flash-image");
		expect(names).toContain("models/nano-banana-2");
	});
});
