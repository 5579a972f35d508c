import { describe, expect, it } from "vitest";
import { auth, call, createKey, emulatorCalls, expectError, postJson, uniquePrompt } from "../helpers/http";
import { emulatorImage } from "../helpers/images";

type Part = { text?: string; inlineData?: { mimeType: string; data: string }; thoughtSignature?: string; thought?: boolean };
type Content = { role: string; parts: Part[] };

async function newConversation(key: string, model = "nano-banana-pro"): Promise<string> {
	const res = await postJson("/v1/conversations", { model }, auth(key));
	expect(res.status).toBe(201);
	return (await res.json<{ id: string }>()).id;
}

describe("conversational editing", () => {
	it("sends the whole history back, model turns and thought signatures included", async () => {
		const k = await createKey();
		const conv = await newConversation(k.key);
		const source = await emulatorImage("conversation source");
		const first = uniquePrompt("put a hat on it", "thoughts");
		const r1 = await postJson(
			"/v1/images/edits",
			{ model: "nano-banana-pro", prompt: first, image: source.toBase64(), conversation_id: conv },
			auth(k.key),
		);
		expect(r1.status).toBe(200);
		expect((await r1.json<{ conversation_id: string }>()).conversation_id).toBe(conv);

		const second = uniquePrompt("now make the hat red");
		const r2 = await postJson("/v1/images/edits", { prompt: second, conversation_id: conv }, auth(k.key)); // model from the conversation
		expect(r2.status).toBe(200);

		const [firstCall] = await emulatorCalls(first);
		const modelTurnSent = (await emulatorCalls(second))[0].body.contents as Content[];
		expect(modelTurnSent.map((c) => c.role)).toEqual(["user", "model", "user"]);
		// The first user turn is replayed exactly as it was sent.
		expect(modelTurnSent[0]).toEqual(firstCall.body.contents[0]);
		const modelParts = modelTurnSent[1].parts;
		expect(modelParts.some((p) => p.thought && p.text)).toBe(true); // thought text kept
		const finalImage = modelParts.find((p) => p.inlineData && !p.thought);
		// The whole signature Gemini sent (0.6 MB at 1K), byte for byte.
		const signature = new TextEncoder().encode(finalImage?.thoughtSignature ?? "");
		expect(new Uint8Array(await crypto.subtle.digest("SHA-256", signature)).toHex()).toBe(firstCall.outputs[0].signatureSha256);
		// The image goes back as the real bytes Gemini sent, not a placeholder.
		const sentBack = Uint8Array.fromBase64(finalImage?.inlineData?.data ?? "");
		const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", sentBack)).toHex();
		expect(digest).toBe(firstCall.outputs[0].sha256);
		expect(modelTurnSent[2].parts[0].text).toBe(second);

		const view = await (await call(`/v1/conversations/${conv}`, { headers: auth(k.key) })).json<{
			turns: number;
			contents: Array<{ role: string; images: number; thought_signatures: number }>;
		}>();
		expect(view.turns).toBe(2);
		expect(view.contents.map((c) => c.role)).toEqual(["user", "model", "user", "model"]);
		expect(view.contents[1].thought_signatures).toBeGreaterThan(0);
	});

	it("belongs to its key only", async () => {
		const owner = await createKey();
		const other = await createKey();
		const conv = await newConversation(owner.key);
		await expectError(await call(`/v1/conversations/${conv}`, { headers: auth(other.key) }), 404, "not_found");
		const prompt = uniquePrompt("hijack");
		await expectError(
			await postJson("/v1/images/edits", { model: "nano-banana-pro", prompt, conversation_id: conv }, auth(other.key)),
			404,
			"not_found",
		);
		expect(await emulatorCalls(prompt)).toEqual([]);
		await expectError(await call(`/v1/conversations/${conv}`, { method: "DELETE", headers: auth(other.key) }), 404, "not_found");
		expect((await call(`/v1/conversations/${conv}`, { method: "DELETE", headers: auth(owner.key) })).status).toBe(200);
		await expectError(await call(`/v1/conversations/${conv}`, { headers: auth(owner.key) }), 404, "not_found");
	});

	it("needs n = 1 and the conversation's model", async () => {
		const k = await createKey();
		const conv = await newConversation(k.key, "nano-banana-2");
		expect(
			(
				await expectError(
					await postJson("/v1/images/edits", { model: "nano-banana-2", prompt: "x", n: 2, conversation_id: conv }, auth(k.key)),
					400,
					"invalid_parameter",
				)
			).param,
		).toBe("n");
		expect(
			(
				await expectError(
					await postJson("/v1/images/edits", { model: "nano-banana", prompt: "x", conversation_id: conv }, auth(k.key)),
					400,
					"invalid_parameter",
				)
			).param,
		).toBe("model");
	});
});
