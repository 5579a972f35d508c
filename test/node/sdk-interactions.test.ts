// Google's Interactions API against a running gateway (`wrangler dev` and the emulator),
// through the real clients with only the base URL and key changed: `@google/genai`'s
// `ai.interactions` (create sync, streamed and background, get polling and resumed
// streaming, cancel, delete) and the AI SDK's `google.interactions(...)`.
import { createGoogle } from "@ai-sdk/google";
import { GoogleGenAI } from "@google/genai";
import { generateText } from "ai";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, type GatewayProcess, startGateway } from "./gateway-process.ts";

let gw: GatewayProcess;
let key: string;

beforeAll(async () => {
	gw = await startGateway();
	key = await createApiKey(gw, "interactions");
}, 120_000);

afterAll(async () => {
	await gw?.stop();
});

const prompt = (what: string) => `${what} #${crypto.randomUUID().slice(0, 8)}`;
const isJpeg = (b64: string | undefined) => [...Uint8Array.from(Buffer.from(b64 ?? "", "base64")).slice(0, 3)].join() === "255,216,255";

describe("@google/genai ai.interactions against wrangler dev", () => {
	it("create (sync, v1 by default), get, delete", async () => {
		const ai = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: gw.url } });
		const made = await ai.interactions.create({
			model: "gemini-3.1-flash-image",
			input: prompt("a lighthouse at dusk"),
			response_format: { type: "image", aspect_ratio: "16:9", image_size: "1K" },
		});
		expect(made.status).toBe("completed");
		expect(isJpeg(made.output_image?.data)).toBe(true);
		expect((await ai.interactions.get(made.id)).output_image?.data).toBe(made.output_image?.data);
		await ai.interactions.delete(made.id);
		await expect(ai.interactions.get(made.id)).rejects.toMatchObject({ status: 404 });
	});

	it("create streamed, then the stream resumed with get(stream, last_event_id)", async () => {
		const ai = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: gw.url, apiVersion: "v1beta" } });
		const events: Array<{ event_type: string; event_id?: string; delta?: { type: string; data?: string }; interaction?: { id: string } }> =
			[];
		for await (const e of await ai.interactions.create({ model: "nano-banana-2", input: prompt("a red kite"), stream: true })) {
			events.push(e as unknown as (typeof events)[number]);
		}
		expect(events[0].event_type).toBe("interaction.created");
		expect(events.at(-1)?.event_type).toBe("interaction.completed");
		const image = events.find((e) => e.delta?.type === "image");
		expect(isJpeg(image?.delta?.data)).toBe(true);
		const id = events[0].interaction?.id ?? "";
		const rest: string[] = [];
		for await (const e of await ai.interactions.get(id, { stream: true, last_event_id: image?.event_id })) {
			rest.push((e as unknown as { event_type: string }).event_type);
		}
		expect(rest).toEqual(["step.stop", "interaction.completed"]);
	});

	it("background: in_progress at once, get polls to completed; cancel after it ran is FAILED_PRECONDITION", async () => {
		const ai = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: gw.url } });
		const first = await ai.interactions.create({ model: "nano-banana-2", input: prompt("a paper boat"), background: true });
		expect(first.status).toBe("in_progress");
		let polled = first;
		for (let i = 0; i < 120 && polled.status === "in_progress"; i++) {
			await new Promise((r) => setTimeout(r, 250));
			polled = await ai.interactions.get(first.id);
		}
		expect(polled.status).toBe("completed");
		expect(isJpeg(polled.output_image?.data)).toBe(true);
		await expect(ai.interactions.cancel(first.id)).rejects.toMatchObject({ status: 400 });
	});
});

describe("the AI SDK's google.interactions against wrangler dev", () => {
	it("generateText with an image response_format, synchronous and in the background", async () => {
		const google = createGoogle({ apiKey: key, baseURL: `${gw.url}/v1beta` });
		for (const background of [false, true]) {
			const result = await generateText({
				model: google.interactions("gemini-3.1-flash-image"),
				prompt: prompt("a teal bicycle"),
				providerOptions: { google: { background, responseFormat: [{ type: "image", aspectRatio: "1:1" }] } },
			});
			expect(result.files).toHaveLength(1);
			expect(result.files[0].mediaType).toBe("image/jpeg");
		}
	});
});

describe("the OpenAPI document describes the answers", () => {
	it("create (inline and uri), get, cancel's error and delete match their documented schemas", async () => {
		interface Doc {
			paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
			components: { schemas: Record<string, unknown> };
		}
		const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as Doc;
		const ajv = new Ajv2020({ strict: false, allErrors: true });
		for (const [name, schema] of Object.entries(doc.components.schemas)) ajv.addSchema(schema as object, `#/components/schemas/${name}`);
		const conforms = async (method: string, template: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
			const res = await fetch(`${gw.url}${path}`, {
				method: method.toUpperCase(),
				headers: { "x-goog-api-key": key, "content-type": "application/json" },
				...(body ? { body: JSON.stringify(body) } : {}),
			});
			const answer = (await res.json()) as Record<string, unknown>;
			const responses = doc.paths[template]?.[method]?.responses ?? {};
			const schema = (responses[String(res.status)] ?? responses.default)?.content?.["application/json"]?.schema;
			expect(schema, `${method} ${template} ${res.status} documented`).toBeDefined();
			const validate = ajv.compile({ $schema: "https://json-schema.org/draft/2020-12/schema", ...(schema as object) });
			expect(validate(answer) ? [] : validate.errors, `${method} ${path} -> ${res.status}`).toEqual([]);
			return answer;
		};
		const made = await conforms("post", "/v1/interactions", "/v1/interactions", { model: "nano-banana-2", input: prompt("documented") });
		await conforms("post", "/v1beta/interactions", "/v1beta/interactions", {
			model: "nano-banana-2",
			input: prompt("documented uri"),
			response_format: { type: "image", delivery: "uri" },
		});
		await conforms("get", "/v1/interactions/{id}", `/v1/interactions/${made.id}`);
		await conforms("post", "/v1/interactions/{id}/cancel", `/v1/interactions/${made.id}/cancel`, {});
		await conforms("delete", "/v1beta/interactions/{id}", `/v1beta/interactions/${made.id}`);
	});
});
