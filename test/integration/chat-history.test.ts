// Multi-turn editing through chat history, as chat clients send it: the assistant messages
// carry the images the gateway returned, and the gateway sends Gemini the stored model
// turns behind them, thought signatures included. The emulator refuses a Gemini 3 model
// turn whose image lost its signature (as Gemini does), so these turns would fail without.
import { env } from "cloudflare:workers";
import type OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { auth, createKey, emulatorCalls, postJson, uniquePrompt } from "../helpers/http";
import { openaiClient } from "../helpers/sdk";

type Part = { text?: string; inlineData?: { mimeType: string; data: string }; thoughtSignature?: string; thought?: boolean };
type Content = { role: string; parts: Part[] };
type Message = { role: "user" | "assistant"; content: string | null; images?: Array<{ type: "image_url"; image_url: { url: string } }> };

/** One chat turn: sends the history plus `prompt`, returns the assistant message as a client would keep it. */
async function turn(key: string, history: Message[], prompt: string, extra: object = {}): Promise<Message> {
	const res = await openaiClient(key).chat.completions.create({
		model: "nano-banana-pro",
		messages: [...history, { role: "user", content: prompt }] as OpenAI.Chat.ChatCompletionMessageParam[],
		...({ modalities: ["image", "text"], ...extra } as object),
	});
	const m = res.choices[0].message as unknown as Message;
	return { role: "assistant", content: m.content, images: m.images };
}

const sha256 = async (b64: string) => new Uint8Array(await crypto.subtle.digest("SHA-256", Uint8Array.fromBase64(b64))).toHex();

async function sentContents(prompt: string): Promise<Content[]> {
	const [call] = await emulatorCalls(prompt);
	return call.body.contents as Content[];
}

describe("chat history with thought signatures", () => {
	it("a three-turn edit: each earlier image goes back as its stored model turn, signed, with Gemini's own bytes", async () => {
		const k = await createKey();
		const p1 = uniquePrompt("a red cube on a table");
		const a1 = await turn(k.key, [], p1);
		const p2 = uniquePrompt("make the cube blue");
		const h2: Message[] = [{ role: "user", content: p1 }, a1];
		const a2 = await turn(k.key, h2, p2);
		const p3 = uniquePrompt("now add a tiny hat");
		const h3: Message[] = [...h2, { role: "user", content: p2 }, a2];
		const a3 = await turn(k.key, h3, p3);
		expect(a3.images).toHaveLength(1);

		const [first] = await emulatorCalls(p1);
		const [second] = await emulatorCalls(p2);
		const third = await sentContents(p3);
		expect(third.map((c) => c.role)).toEqual(["user", "model", "user", "model", "user"]);
		for (const [at, origin] of [
			[1, first],
			[3, second],
		] as const) {
			const image = third[at].parts.find((p) => p.inlineData && !p.thought);
			expect(image?.thoughtSignature).toBeTruthy();
			// The signature and bytes are the ones Gemini sent for that image.
			expect(await sha256(image?.inlineData?.data ?? "")).toBe(origin.outputs[0].sha256);
			const signature = new TextEncoder().encode(image?.thoughtSignature ?? "");
			expect(new Uint8Array(await crypto.subtle.digest("SHA-256", signature)).toHex()).toBe(origin.outputs[0].signatureSha256);
		}
		expect(third[4].parts).toEqual([{ text: p3 }]);

		// The control: the same history without its signatures is refused, as Gemini refuses it.
		const unsigned = third.map((c) => ({ ...c, parts: c.parts.map(({ thoughtSignature: _s, ...p }) => p) }));
		const refused = await fetch(`${env.EMULATOR_URL}/v1beta/models/gemini-3-pro-image:generateContent`, {
			method: "POST",
			headers: { "x-goog-api-key": "test-gemini-key", "content-type": "application/json" },
			body: JSON.stringify({ contents: unsigned }),
		});
		expect(refused.status).toBe(400);
		expect((await refused.json<{ error: { message: string } }>()).error.message).toMatch(
			/^Image part is missing a thought_signature in content position 2/,
		);
	});

	it("works the same when the client keeps data URLs", async () => {
		const k = await createKey();
		const p1 = uniquePrompt("a lighthouse");
		const a1 = await turn(k.key, [], p1, { image_output: "data_url" });
		expect(a1.images?.[0].image_url.url).toMatch(/^data:image\/jpeg;base64,/);
		const p2 = uniquePrompt("at night");
		await turn(k.key, [{ role: "user", content: p1 }, a1], p2, { image_output: "data_url" });
		const sent = await sentContents(p2);
		expect(sent.map((c) => c.role)).toEqual(["user", "model", "user"]);
		expect(sent[1].parts.find((p) => p.inlineData)?.thoughtSignature).toBeTruthy();
	});

	it("another key's image is an ordinary reference: its turn (and signature) is not revealed", async () => {
		const owner = await createKey();
		const other = await createKey();
		const p1 = uniquePrompt("a secret garden");
		// Gemini 3 gives no text with the image; the assistant message carries the client's own words.
		const a1 = { ...(await turn(owner.key, [], p1)), content: "Here is the garden." };
		const p2 = uniquePrompt("borrowed");
		const res = await postJson(
			"/v1/chat/completions",
			{ model: "nano-banana-pro", messages: [{ role: "user", content: "look" }, a1, { role: "user", content: p2 }] },
			auth(other.key),
		);
		expect(res.status).toBe(200);
		const sent = await sentContents(p2);
		expect(sent.map((c) => c.role)).toEqual(["user", "model", "user"]);
		expect(sent[1].parts).toEqual([{ text: a1.content, thoughtSignature: "skip_thought_signature_validator" }]);
		const last = sent[2].parts;
		expect(last[0]).toEqual({ text: p2 });
		expect(last[1].thoughtSignature).toBeUndefined();
		const [first] = await emulatorCalls(p1);
		expect(await sha256(last[1].inlineData?.data ?? "")).toBe(first.outputs[0].sha256);
		const signatures = sent
			.flatMap((c) => c.parts.map((p) => p.thoughtSignature))
			.filter((s) => s && s !== "skip_thought_signature_validator");
		expect(signatures).toEqual([]);
	});

	it("an image made for another model is a reference, not a turn (signatures do not carry across models)", async () => {
		const k = await createKey();
		const p1 = uniquePrompt("a boat");
		const a1 = { ...(await turn(k.key, [], p1)), content: "Here is the boat." };
		const p2 = uniquePrompt("the boat in watercolor");
		const res = await postJson(
			"/v1/chat/completions",
			{ model: "nano-banana-2", messages: [{ role: "user", content: p1 }, a1, { role: "user", content: p2 }] },
			auth(k.key),
		);
		expect(res.status).toBe(200);
		const sent = await sentContents(p2);
		expect(sent[1].parts[0].thoughtSignature).toBe("skip_thought_signature_validator");
		expect(sent[2].parts.filter((p) => p.inlineData)).toHaveLength(1);
	});
});
