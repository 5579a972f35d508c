// The native route forwards only what the gateway understands: over HTTP, each field it
// does not take is a 400 in Google's shape naming the field as written, before any call
// and without a credit held; snake_case is read as Google reads it (a 4K size priced as
// 4K); text-only output and search wait for the operator's settings; the output cap is sent.
import { describe, expect, it } from "vitest";
import { balanceOf, call, createKey, emulatorCalls, flushUsage, postJsonWith, uniquePrompt, usageRows } from "../helpers/http";
import { TEST_PRICES } from "../node/prices";

interface GoogleError {
	error: {
		code: number;
		message: string;
		status: string;
		details: Array<{ "@type": string; reason?: string; metadata?: Record<string, string> }>;
	};
}

const GENERATE = "/v1beta/models/nano-banana-2:generateContent";

function native(path: string, key: string, body: unknown): Promise<Response> {
	return call(path, {
		method: "POST",
		headers: { "content-type": "application/json", "x-goog-api-key": key },
		body: JSON.stringify(body),
	});
}

/** The same request to an app whose settings differ from the test Worker's. */
function nativeWith(settings: Record<string, string>, path: string, key: string, body: unknown): Promise<Response> {
	return postJsonWith({ env: settings as Partial<Env> }, path, body, { "x-goog-api-key": key });
}

const text = (prompt: string) => ({ contents: [{ role: "user", parts: [{ text: prompt }] }] });

/** Asserts Google's 400 naming `param` with the gateway's `reason`, and returns the error. */
async function expectRefused(res: Response, reason: string, param: string): Promise<GoogleError["error"]> {
	expect(res.status).toBe(400);
	const err = (await res.json<GoogleError>()).error;
	expect(err).toMatchObject({ code: 400, status: "INVALID_ARGUMENT" });
	const info = err.details.find((d) => d["@type"] === "type.googleapis.com/google.rpc.ErrorInfo");
	expect(info).toMatchObject({ reason, metadata: { param } });
	expect(err.message).toContain(param);
	return err;
}

describe("fields the gateway does not forward", () => {
	it.each([
		["cachedContent", { cachedContent: "cachedContents/abc" }, "UNSUPPORTED_PARAMETER", "cachedContent"],
		["cached_content", { cached_content: "cachedContents/abc" }, "UNSUPPORTED_PARAMETER", "cached_content"],
		["service_tier", { service_tier: "priority" }, "UNSUPPORTED_PARAMETER", "service_tier"],
		["serviceTier", { serviceTier: "SERVICE_TIER_PRIORITY" }, "UNSUPPORTED_PARAMETER", "serviceTier"],
		["a model in the body", { model: "models/gemini-3-pro-image" }, "UNSUPPORTED_PARAMETER", "model"],
		["toolConfig", { toolConfig: { functionCallingConfig: { mode: "ANY" } } }, "UNSUPPORTED_PARAMETER", "toolConfig"],
		["labels", { labels: { team: "x" } }, "UNSUPPORTED_PARAMETER", "labels"],
		[
			"an unknown field",
			{ generation_config: { response_mime_type: "text/plain" } },
			"UNSUPPORTED_PARAMETER",
			"generation_config.response_mime_type",
		],
		["candidateCount 2", { generationConfig: { candidateCount: 2 } }, "INVALID_PARAMETER", "generationConfig.candidateCount"],
		[
			"text-only output",
			{ generationConfig: { responseModalities: ["TEXT"] } },
			"FEATURE_NOT_ALLOWED",
			"generationConfig.responseModalities",
		],
		[
			"text-only, snake_case",
			{ generation_config: { response_modalities: ["TEXT"], max_output_tokens: 30000 } },
			"FEATURE_NOT_ALLOWED",
			"generation_config.response_modalities",
		],
		["Google Search", { tools: [{ googleSearch: {} }] }, "FEATURE_NOT_ALLOWED", "tools[0].googleSearch"],
		["google_search", { tools: [{ google_search: {} }] }, "FEATURE_NOT_ALLOWED", "tools[0].google_search"],
		[
			"BLOCK_NONE",
			{ safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }] },
			"FEATURE_NOT_ALLOWED",
			"safetySettings[0].threshold",
		],
		[
			"two spellings that disagree",
			{ generationConfig: { imageConfig: { imageSize: "1K" } }, generation_config: { image_config: { image_size: "4K" } } },
			"INVALID_PARAMETER",
			"generation_config",
		],
	])("%s: 400 naming the field, no upstream call, nothing held or charged", async (_what, extra, reason, param) => {
		const k = await createKey(undefined, { credits: 100 });
		const prompt = uniquePrompt("refused");
		for (const path of [GENERATE, "/v1beta/models/nano-banana-2:streamGenerateContent?alt=sse"]) {
			await expectRefused(await native(path, k.key, { ...text(prompt), ...extra }), reason, param);
		}
		expect(await emulatorCalls(prompt)).toEqual([]);
		expect(await balanceOf(k.key)).toBe(100);
		await flushUsage(k.key);
		expect(await usageRows(k.id)).toEqual([]);
	});

	it("countTokens is checked with the same schema (the wrapped request too)", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const path = "/v1beta/models/nano-banana-2:countTokens";
		await expectRefused(await native(path, k.key, { ...text("x"), service_tier: "flex" }), "UNSUPPORTED_PARAMETER", "service_tier");
		await expectRefused(
			await native(path, k.key, { generateContentRequest: { model: "models/x", ...text("x"), cachedContent: "c" } }),
			"UNSUPPORTED_PARAMETER",
			"generateContentRequest.cachedContent",
		);
		const ok = await native(path, k.key, { generate_content_request: { model: "models/x", ...text("twelve words or so") } });
		expect(ok.status).toBe(200);
		expect((await ok.json<{ totalTokens: number }>()).totalTokens).toBeGreaterThan(0);
		expect(await balanceOf(k.key)).toBe(100);
	});
});

describe("snake_case is read as Google reads it", () => {
	it("generation_config.image_config.image_size 4K is sent as imageSize 4K and charged at 4K", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const prompt = uniquePrompt("snake 4K");
		const res = await native(GENERATE, k.key, {
			contents: [{ role: "user", parts: [{ text: prompt }] }],
			generation_config: { response_modalities: ["IMAGE"], image_config: { aspect_ratio: "16:9", image_size: "4K" } },
		});
		expect(res.status).toBe(200);
		const [sent] = await emulatorCalls(prompt);
		expect(sent.body).not.toHaveProperty("generation_config");
		expect(sent.body.generationConfig).toMatchObject({
			responseModalities: ["IMAGE"],
			imageConfig: { aspectRatio: "16:9", imageSize: "4K" },
		});
		const price = TEST_PRICES["nano-banana-2"]["4K"];
		expect(res.headers.get("x-credits-charged")).toBe(String(price));
		expect(await balanceOf(k.key)).toBe(100 - price);
		await flushUsage(k.key);
		const [row] = await usageRows(k.id);
		expect(row).toMatchObject({ image_size: "4K", aspect_ratio: "16:9", images_delivered: 1, credits_charged: price });
	});
});

describe("the operator's settings", () => {
	it("text-only output is refused by default and sent with NATIVE_ALLOW_TEXT_OUTPUT", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const prompt = uniquePrompt("text only");
		const body = { ...text(prompt), generationConfig: { responseModalities: ["TEXT"] } };
		await expectRefused(await native(GENERATE, k.key, body), "FEATURE_NOT_ALLOWED", "generationConfig.responseModalities");
		expect(await emulatorCalls(prompt)).toEqual([]);
		const res = await nativeWith({ NATIVE_ALLOW_TEXT_OUTPUT: "true" }, GENERATE, k.key, body);
		expect(res.status).toBe(200);
		const [sent] = await emulatorCalls(prompt);
		expect(sent.body.generationConfig).toMatchObject({ responseModalities: ["TEXT"] });
	});

	it("Google Search is refused by default and sent with NATIVE_ALLOW_SEARCH", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const prompt = uniquePrompt("search");
		const body = { ...text(prompt), tools: [{ google_search: {} }] };
		const res = await nativeWith({ NATIVE_ALLOW_SEARCH: "true" }, GENERATE, k.key, body);
		expect(res.status).toBe(200);
		const [sent] = await emulatorCalls(prompt);
		expect((sent.body as { tools?: unknown }).tools).toEqual([{ googleSearch: {} }]);
	});

	it("thinking levels outside NATIVE_THINKING_LEVELS are refused; allowed ones are sent", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const prompt = uniquePrompt("thinking");
		const high = { ...text(prompt), generationConfig: { thinkingConfig: { thinkingLevel: "HIGH" } } };
		const refused = await nativeWith({ NATIVE_THINKING_LEVELS: "minimal" }, GENERATE, k.key, high);
		await expectRefused(refused, "FEATURE_NOT_ALLOWED", "generationConfig.thinkingConfig.thinkingLevel");
		expect(await emulatorCalls(prompt)).toEqual([]);
		expect((await native(GENERATE, k.key, high)).status).toBe(200);
		const [sent] = await emulatorCalls(prompt);
		expect(sent.body.generationConfig).toMatchObject({ thinkingConfig: { thinkingLevel: "HIGH" } });
	});

	it("the gateway's maxOutputTokens cap is always sent: the setting, the caller's if lower, never above the model's limit", async () => {
		const k = await createKey(undefined, { credits: 1_000 });
		const sentCap = async (path: string, extra: object, settings?: Record<string, string>) => {
			const prompt = uniquePrompt("cap");
			const body = { ...text(prompt), ...extra };
			const res = settings ? await nativeWith(settings, path, k.key, body) : await native(path, k.key, body);
			expect(res.status).toBe(200);
			return (await emulatorCalls(prompt))[0].body.generationConfig?.maxOutputTokens;
		};
		expect(await sentCap(GENERATE, {})).toBe(20_480);
		expect(await sentCap(GENERATE, { generationConfig: { maxOutputTokens: 30_000 } })).toBe(20_480);
		expect(await sentCap(GENERATE, { generation_config: { max_output_tokens: 6_000 } })).toBe(6_000);
		expect(await sentCap(GENERATE, {}, { NATIVE_MAX_OUTPUT_TOKENS: "8000" })).toBe(8_000);
		// Nano Banana 2 Lite's limit is 4,096 output tokens.
		expect(await sentCap("/v1beta/models/nano-banana-2-lite:generateContent", {})).toBe(4_096);
	});
	it("stopSequences: LangChain's empty list is accepted and not sent; a list is forwarded (snake_case too)", async () => {
		const k = await createKey(undefined, { credits: 1_000 });
		const sent = async (config: object) => {
			const prompt = uniquePrompt("stops");
			expect((await native(GENERATE, k.key, { ...text(prompt), ...config })).status).toBe(200);
			return (await emulatorCalls(prompt))[0].body.generationConfig as Record<string, unknown> | undefined;
		};
		expect(await sent({ generationConfig: { stopSequences: [] } })).not.toHaveProperty("stopSequences");
		expect((await sent({ generationConfig: { stopSequences: ["END"] } }))?.stopSequences).toEqual(["END"]);
		expect((await sent({ generation_config: { stop_sequences: ["###"] } }))?.stopSequences).toEqual(["###"]);
	});
	it("the default cap never cuts an image: four 4K images of Nano Banana 2.1 with high thinking all arrive", async () => {
		const k = await createKey(undefined, { credits: 1_000 });
		const prompt = uniquePrompt("four 4K", "images=4");
		const res = await native("/v1beta/models/nano-banana-2.1:generateContent", k.key, {
			...text(prompt),
			generationConfig: { imageConfig: { imageSize: "4K" }, thinkingConfig: { thinkingLevel: "high" } },
		});
		expect(res.status).toBe(200);
		const body = await res.json<{
			candidates: Array<{ finishReason: string; content: { parts: Array<{ inlineData?: unknown; thought?: boolean }> } }>;
		}>();
		expect(body.candidates[0].content.parts.filter((p) => p.inlineData && !p.thought)).toHaveLength(4);
		expect(body.candidates[0].finishReason).toBe("STOP");
		expect((await emulatorCalls(prompt))[0].body.generationConfig).toMatchObject({
			maxOutputTokens: 20_480,
			thinkingConfig: { thinkingLevel: "HIGH" },
		});
	});
});
