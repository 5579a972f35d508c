import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Catalog } from "../../src/catalog/catalog";

const modelIds = () => Catalog.build().ids();

import { auth, call, createKey, emulatorCalls, expectError, listObjects, postJson, uniquePrompt } from "../helpers/http";

const GEN = "/v1/images/generations";

async function keyCount(): Promise<number> {
	return (await env.DB.prepare("SELECT COUNT(*) AS n FROM api_keys").first<{ n: number }>())?.n ?? -1;
}

/** Asserts a request was refused before any upstream call and wrote nothing. */
async function expectNoEffects(prompt: string, keyId: string) {
	expect(await emulatorCalls(prompt)).toEqual([]);
	expect((await listObjects()).filter((o) => o.key.includes(`/${keyId}/`))).toEqual([]);
}

describe("authentication", () => {
	it("401 without a key, with a malformed header and with an unknown key", async () => {
		const body = { prompt: "x" };
		await expectError(await postJson(GEN, body), 401, "invalid_api_key");
		await expectError(await postJson(GEN, body, { authorization: "Basic abc" }), 401, "invalid_api_key");
		await expectError(await postJson(GEN, body, auth("nbk_not-a-real-key")), 401, "invalid_api_key");
	});

	it("every /v1 route needs a key", async () => {
		await expectError(await call("/v1/account"), 401, "invalid_api_key");
	});
});

describe("validation before any upstream call", () => {
	const cases: Array<[string, Record<string, unknown>, string | null, string]> = [
		["unknown model", { model: "dall-e-3" }, "model", "model_not_found"],
		["ratio the model lacks", { model: "nano-banana", aspect_ratio: "8:1" }, "aspect_ratio", "invalid_parameter"],
		["image_size on a fixed-size model", { model: "nano-banana", image_size: "2K" }, "image_size", "invalid_parameter"],
		["image_size the model lacks", { model: "nano-banana-pro", image_size: "512" }, "image_size", "invalid_parameter"],
		["n = 0", { n: 0 }, "n", "invalid_parameter"],
		["n = 10", { n: 10 }, "n", "invalid_parameter"],
		["n as a string", { n: "2" }, "n", "invalid_parameter"],
		["bad size", { size: "huge" }, "size", "invalid_parameter"],
		["bad response_format", { response_format: "jpeg" }, "response_format", "invalid_parameter"],
		["prompt not a string", { prompt: 42 }, "prompt", "invalid_parameter"],
	];
	it.each(cases)("%s -> 400 naming %s", async (_label, patch, param, code) => {
		const k = await createKey();
		const prompt = uniquePrompt("valid otherwise");
		const err = await expectError(await postJson(GEN, { prompt, ...patch }, auth(k.key)), 400, code);
		expect(err.param).toBe(param);
		expect(err.type).toBe("invalid_request_error");
		await expectNoEffects(prompt, k.id);
	});

	it("names the allowed values", async () => {
		const k = await createKey();
		const err = await expectError(
			await postJson(GEN, { prompt: "x", model: "nano-banana-pro", image_size: "8K" }, auth(k.key)),
			400,
			"invalid_parameter",
		);
		expect(err.message).toContain("1K, 2K, 4K");
	});

	it("empty and over-long prompts", async () => {
		const k = await createKey();
		expect((await expectError(await postJson(GEN, { prompt: "   " }, auth(k.key)), 400, "invalid_parameter")).param).toBe("prompt");
		const long = `${"y".repeat(8_001)}`;
		expect((await expectError(await postJson(GEN, { prompt: long }, auth(k.key)), 400, "prompt_too_long")).param).toBe("prompt");
		await expectError(await postJson(GEN, {}, auth(k.key)), 400, "invalid_parameter");
	});

	it("malformed JSON is 400, a non-object 400, the wrong content type 415", async () => {
		const k = await createKey();
		const headers = { ...auth(k.key), "content-type": "application/json" };
		await expectError(await call(GEN, { method: "POST", headers, body: '{"prompt": "x",' }), 400, "invalid_json");
		await expectError(await call(GEN, { method: "POST", headers, body: '["prompt"]' }), 400, "invalid_json");
		await expectError(
			await call(GEN, { method: "POST", headers: { ...auth(k.key), "content-type": "text/plain" }, body: '{"prompt":"x"}' }),
			415,
			"unsupported_media_type",
		);
		await expectError(await call(GEN, { method: "POST", headers: auth(k.key), body: '{"prompt":"x"}' }), 415, "unsupported_media_type");
	});

	it("a body over the cap is 413, by Content-Length or by counting", async () => {
		const { buildApp } = await import("../../src/app");
		const app = buildApp();
		const capped = { ...env, MAX_UPLOAD_BYTES: "1000000" };
		const k = await createKey();
		const prompt = uniquePrompt("big");
		const big = JSON.stringify({ prompt, pad: "z".repeat(1_100_000) });
		const send = (body: BodyInit, headers: Record<string, string> = {}) =>
			app.fetch(
				new Request(`https://gateway.test${GEN}`, {
					method: "POST",
					headers: { ...auth(k.key), "content-type": "application/json", ...headers },
					body,
				}),
				capped,
			);
		await expectError(await send(big), 413, "payload_too_large");
		// Streamed with no Content-Length: the cap is enforced while reading.
		const stream = new ReadableStream<Uint8Array>({
			start(c) {
				c.enqueue(new TextEncoder().encode(big));
				c.close();
			},
		});
		await expectError(await send(stream), 413, "payload_too_large");
		await expectNoEffects(prompt, k.id);
	});

	it("unknown routes are a 404 in the same shape", async () => {
		await expectError(await call("/v1/nothing-here"), 401, "invalid_api_key");
		await expectError(await call("/nothing-here"), 404, "not_found");
	});

	it("property: any single invalid field is a 400 naming it, with no upstream call and nothing stored", async () => {
		const k = await createKey();
		const before = await keyCount();
		const invalid = fc.oneof(
			fc.record({
				field: fc.constant("n"),
				value: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 10 }), fc.double({ noInteger: true }), fc.string()),
			}),
			fc.record({
				field: fc.constant("aspect_ratio"),
				value: fc.string().filter((s) => !["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"].includes(s.trim())),
			}),
			fc.record({ field: fc.constant("image_size"), value: fc.string() }),
			fc.record({ field: fc.constant("model"), value: fc.string().filter((s) => !modelIds().includes(s.trim().replace(/^models\//, ""))) }),
			fc.record({ field: fc.constant("response_format"), value: fc.string().filter((s) => s !== "url" && s !== "b64_json") }),
			fc.record({ field: fc.constant("prompt"), value: fc.oneof(fc.constant(""), fc.constant("  \n "), fc.integer(), fc.boolean()) }),
		);
		await fc.assert(
			fc.asyncProperty(invalid, async ({ field, value }) => {
				const prompt = uniquePrompt("property");
				const res = await postJson(GEN, { model: "nano-banana", prompt, [field]: value }, auth(k.key));
				expect(res.status).toBe(400);
				const body = await res.json<{ error: { param: string } }>();
				expect(body.error.param).toBe(field);
				expect(await emulatorCalls(prompt)).toEqual([]);
			}),
			{ numRuns: 60 },
		);
		expect((await listObjects()).filter((o) => o.key.includes(`/${k.id}/`))).toEqual([]);
		expect(await keyCount()).toBe(before);
	});
});
