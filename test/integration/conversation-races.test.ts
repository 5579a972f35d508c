/**
 * Messages racing on one conversation (issue 25, item 2). A message claims the conversation
 * (a conditional write of the version it read) before any upstream call, so a second message
 * while one is being answered is a 409 with nothing generated or charged, the very first
 * messages included; an exchange that loses the conversation after its image was made is
 * charged, its image kept and named in the 409. Afterwards every readable image was charged.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
	ADMIN,
	auth,
	call,
	createKey,
	emulatorCalls,
	expectError,
	flushUsage,
	listObjects,
	postJson,
	uniquePrompt,
	usageRows,
} from "../helpers/http";

const EDITS = "/v1/images/edits";

async function newConversation(key: string): Promise<string> {
	const res = await postJson("/v1/conversations", { model: "nano-banana" }, auth(key));
	expect(res.status).toBe(201);
	return (await res.json<{ id: string }>()).id;
}

async function conversationView(key: string, id: string) {
	return (await call(`/v1/conversations/${id}`, { headers: auth(key) })).json<{
		turns: number;
		contents: Array<{ role: string; text: string }>;
	}>();
}

/** Every image object of the key in R2 is in a usage row that charged for it. */
async function expectEveryImageCharged(key: string, keyId: string): Promise<{ images: number; charged: number }> {
	await flushUsage(key);
	const objects = (await listObjects("generated/")).filter((o) => o.key.includes(`/${keyId}/`)).map((o) => o.key);
	const rows = await usageRows(keyId);
	const chargedKeys = new Set(rows.filter((r) => r.credits_charged > 0).flatMap((r) => JSON.parse(r.r2_keys) as string[]));
	for (const k of objects) expect(chargedKeys, `${k} is readable but was not charged`).toContain(k);
	return { images: objects.length, charged: rows.reduce((s, r) => s + r.credits_charged, 0) };
}

describe("racing messages on one conversation", () => {
	it("N concurrent first messages: exactly one is answered, the others are 409 before any upstream call, no turn is lost silently", async () => {
		const k = await createKey(undefined, { credits: 1000 });
		const conv = await newConversation(k.key);
		const prompts = Array.from({ length: 4 }, (_, i) => uniquePrompt(`first message ${i}`, "delay=300"));
		const answers = await Promise.all(prompts.map((prompt) => postJson(EDITS, { prompt, conversation_id: conv }, auth(k.key))));
		const won = answers.flatMap((r, i) => (r.status === 200 ? [i] : []));
		expect(won).toHaveLength(1);
		for (const [i, r] of answers.entries()) {
			if (i === won[0]) continue;
			const e = await expectError(r, 409, "conversation_conflict");
			expect(e.param).toBe("conversation_id");
			expect(r.headers.get("x-credits-charged")).toBeNull(); // refused before admission: nothing held
			expect(await emulatorCalls(prompts[i])).toEqual([]);
		}
		const view = await conversationView(k.key, conv);
		expect(view.turns).toBe(1);
		expect(view.contents.map((c) => c.role)).toEqual(["user", "model"]);
		expect(view.contents[0].text).toBe(prompts[won[0]]);
		const { images, charged } = await expectEveryImageCharged(k.key, k.id);
		expect(images).toBe(1);
		expect(charged).toBe(1000 - (await (await call("/v1/account", { headers: auth(k.key) })).json<{ credits: number }>()).credits);

		// The conversation is free again: the next message continues from the winner's turn.
		const next = uniquePrompt("and then");
		expect((await postJson(EDITS, { prompt: next, conversation_id: conv }, auth(k.key))).status).toBe(200);
		expect((await emulatorCalls(next))[0].body.contents).toHaveLength(3);
	});

	it("concurrent follow-ups: one is appended, the others are 409 and can be sent again", async () => {
		const k = await createKey(undefined, { credits: 1000 });
		const conv = await newConversation(k.key);
		expect((await postJson(EDITS, { prompt: uniquePrompt("start"), conversation_id: conv }, auth(k.key))).status).toBe(200);
		const prompts = Array.from({ length: 3 }, (_, i) => uniquePrompt(`follow-up ${i}`, "delay=300"));
		const answers = await Promise.all(prompts.map((prompt) => postJson(EDITS, { prompt, conversation_id: conv }, auth(k.key))));
		expect(answers.map((r) => r.status).sort()).toEqual([200, 409, 409]);
		const loser = answers.findIndex((r) => r.status === 409);
		expect(await emulatorCalls(prompts[loser])).toEqual([]);
		expect((await postJson(EDITS, { prompt: prompts[loser], conversation_id: conv }, auth(k.key))).status).toBe(200);
		const view = await conversationView(k.key, conv);
		expect(view.turns).toBe(3);
		expect(view.contents).toHaveLength(6);
		expect((await expectEveryImageCharged(k.key, k.id)).images).toBe(3);
	});

	it("a refused message (402) frees the conversation it claimed", async () => {
		const k = await createKey(undefined, { credits: 0 });
		const conv = await newConversation(k.key);
		await expectError(
			await postJson(EDITS, { prompt: uniquePrompt("no credits"), conversation_id: conv }, auth(k.key)),
			402,
			"insufficient_credits",
		);
		const grant = await postJson(`/admin/keys/${k.id}/credits`, { amount: 100, reason: "test" }, ADMIN);
		expect(grant.status).toBe(200);
		expect((await postJson(EDITS, { prompt: uniquePrompt("now paid"), conversation_id: conv }, auth(k.key))).status).toBe(200);
		expect((await conversationView(k.key, conv)).turns).toBe(1);
	});

	it("a claim left by a message that died blocks the conversation only until its hold's life is over", async () => {
		const k = await createKey(undefined, { credits: 1000 });
		const conv = await newConversation(k.key);
		// Where the history lives (src/routes/conversations.ts historyKey).
		const bucket = env.PRIVATE;
		const historyKey = `conversations/${k.id}/${conv}.json`;
		const claimed = (until: number) => bucket.put(historyKey, JSON.stringify({ contents: [], pending: { requestId: "req_dead", until } }));
		await claimed(Date.now() + 60_000);
		const prompt = uniquePrompt("while claimed");
		await expectError(await postJson(EDITS, { prompt, conversation_id: conv }, auth(k.key)), 409, "conversation_conflict");
		expect(await emulatorCalls(prompt)).toEqual([]);
		await claimed(Date.now() - 1);
		expect((await postJson(EDITS, { prompt, conversation_id: conv }, auth(k.key))).status).toBe(200);
		expect((await conversationView(k.key, conv)).turns).toBe(1);
		expect((await (await bucket.get(historyKey))?.json<{ pending?: unknown }>())?.pending).toBeUndefined();
	});

	it("an exchange that loses the conversation after its image was made is charged, its image kept and named in the 409", async () => {
		const k = await createKey(undefined, { credits: 1000 });
		const conv = await newConversation(k.key);
		const prompt = uniquePrompt("slow one", "delay=800");
		const pending = postJson(EDITS, { prompt, conversation_id: conv }, auth(k.key));
		for (let i = 0; i < 100 && (await emulatorCalls(prompt)).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
		// Deleted while Gemini answers: the exchange has nowhere to go.
		expect((await call(`/v1/conversations/${conv}`, { method: "DELETE", headers: auth(k.key) })).status).toBe(200);
		const res = await pending;
		const e = await expectError(res, 409, "conversation_conflict");
		const charged = Number(res.headers.get("x-credits-charged"));
		expect(charged).toBeGreaterThan(0);
		const url = /https?:\/\/\S+\.(?:jpg|png)/.exec(e.message)?.[0];
		expect(url).toBeTruthy();
		expect((await call(new URL(url as string).pathname)).status).toBe(200);
		const { images, charged: total } = await expectEveryImageCharged(k.key, k.id);
		expect(images).toBe(1);
		expect(total).toBe(charged);
	});
});
