/**
 * Conversational editing. A conversation keeps every turn whole, as Gemini needs it
 * back: the user's instruction and images, and the model's full answer including
 * Gemini 3 `thoughtSignature`s. `POST /v1/images/edits` (or generations) with a
 * `conversation_id` sends the history first and appends the new pair of turns.
 *   POST /v1/conversations {model?}   GET /v1/conversations/{id}   DELETE /v1/conversations/{id}
 * Turns live in R2 (they carry images); D1 indexes them. Only the owning key sees them.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { randomId } from "../account/keys";
import { apiError, invalidParam, notFound } from "../errors";
import { jsonWithSignatures } from "../gemini/kept-signatures";
import type { GeminiContent } from "../gemini/types";
import { readJsonObject } from "../lib/body";
import { parseWith } from "../lib/validate";
import type { GenerationResult } from "../pipeline/generate";
import { userTurn } from "../pipeline/generate";
import { type GenerationRequest, resolveModel } from "../pipeline/request";
import { hydrate, reducedParts } from "../pipeline/turns";
import { routeFacts } from "../route-facts";
import { deleteConversation, getConversation, insertConversation, touchConversation } from "../storage/db";
import type { AppEnv } from "../types";

/** Route facts (src/route-facts.ts): the gateway's own API (a turn is billed through the images routes). */
const ROUTE_FACTS = routeFacts({ dialect: "openai", errorStyle: "openai" });

/** Pairs of turns kept and sent back; older ones are dropped from the front. */
const MAX_TURN_PAIRS = 10;

const historyKey = (keyId: string, id: string) => `conversations/${keyId}/${id}.json`;

/** The model turn as Gemini must get it back, with the result image's bytes from R2. */
async function storedTurn(bucket: R2Bucket, result: GenerationResult): Promise<GeminiContent> {
	const image = result.images[0];
	if (!image) return { role: "model", parts: [] };
	const turn = await hydrate(bucket, reducedParts(image), image.key);
	if (!turn) throw new Error(`stored image ${image.key} is missing`);
	return turn;
}

async function loadHistory(bucket: R2Bucket, key: string): Promise<{ contents: GeminiContent[]; etag: string | null }> {
	const obj = await bucket.get(key);
	if (!obj) return { contents: [], etag: null };
	return { contents: (await obj.json<{ contents: GeminiContent[] }>()).contents, etag: obj.etag };
}

/** The model a conversation was started with (404 when it is not the caller's). */
export async function conversationModel(c: Context<AppEnv>, id: string): Promise<string> {
	const { keyId } = await c.get("caller").identify();
	const conv = await getConversation(c.env.DB, id, keyId);
	if (!conv) throw notFound(`No conversation with id '${id}'`);
	return conv.model;
}

/**
 * Prepares `req` to continue conversation `id`: checks ownership, model and n, loads
 * the history into `req.history`, and returns the recorder that appends this exchange.
 */
export async function continueConversation(
	c: Context<AppEnv>,
	id: string,
	req: GenerationRequest,
): Promise<{ id: string; record: (result: GenerationResult) => Promise<void> }> {
	const { keyId } = await c.get("caller").identify();
	const conv = await getConversation(c.env.DB, id, keyId);
	if (!conv) throw notFound(`No conversation with id '${id}'`);
	if (conv.model !== req.model.id) {
		throw invalidParam("model", `Conversation ${id} uses ${conv.model}; send that model (or none) to continue it`);
	}
	if (req.n !== 1) throw invalidParam("n", "A conversation continues one image at a time: n must be 1");
	const key = historyKey(keyId, id);
	const { contents, etag } = await loadHistory(c.env.IMAGES, key);
	req.history = contents;
	req.keepSignatures = true;
	return {
		id,
		record: async (result) => {
			const modelTurn = await storedTurn(c.env.IMAGES, result);
			const next = [...contents, userTurn(req), modelTurn].slice(-2 * MAX_TURN_PAIRS);
			// Conditional write: two edits racing on one conversation cannot silently drop a turn.
			const put = await c.env.IMAGES.put(key, jsonWithSignatures({ contents: next }, result.images[0]?.signatures), {
				httpMetadata: { contentType: "application/json" },
				onlyIf: etag ? { etagMatches: etag } : undefined,
			});
			if (!put)
				throw apiError("conversation_conflict", "Another edit of this conversation finished first; retry", { param: "conversation_id" });
			await touchConversation(c.env.DB, id, conv.turns + 1, new Date().toISOString());
		},
	};
}

export const CreateConversation = z.strictObject({ model: z.string().default("nano-banana") });

/** A readable view of the stored turns (the images and signatures stay server-side). */
function summarize(contents: GeminiContent[]) {
	return contents.map((turn, i) => ({
		index: i,
		role: turn.role ?? "user",
		text: turn.parts
			.filter((p) => typeof p.text === "string" && !p.thought)
			.map((p) => p.text)
			.join("\n"),
		images: turn.parts.filter((p) => (p.inlineData || p.inline_data) && !p.thought).length,
		thought_signatures: turn.parts.filter((p) => p.thoughtSignature).length,
	}));
}

export const conversations = new Hono<AppEnv>()
	.use(ROUTE_FACTS)
	.post("/", async (c) => {
		const config = c.get("config");
		const body = parseWith(CreateConversation, await readJsonObject(c.req.raw, config.maxJsonBodyBytes));
		const model = resolveModel(config.catalog, body.model);
		const now = new Date().toISOString();
		const record = { id: randomId("conv"), key_id: c.get("caller").keyId, model: model.id, turns: 0, created_at: now, updated_at: now };
		await insertConversation(c.env.DB, record);
		return c.json({ id: record.id, model: record.model, turns: 0, created_at: now }, 201);
	})
	.get("/:id", async (c) => {
		const keyId = c.get("caller").keyId;
		const conv = await getConversation(c.env.DB, c.req.param("id"), keyId);
		if (!conv) throw notFound(`No conversation with id '${c.req.param("id")}'`);
		const { contents } = await loadHistory(c.env.IMAGES, historyKey(keyId, conv.id));
		return c.json({
			id: conv.id,
			model: conv.model,
			turns: conv.turns,
			created_at: conv.created_at,
			updated_at: conv.updated_at,
			contents: summarize(contents),
		});
	})
	.delete("/:id", async (c) => {
		const keyId = c.get("caller").keyId;
		const id = c.req.param("id");
		if (!(await deleteConversation(c.env.DB, id, keyId))) throw notFound(`No conversation with id '${id}'`);
		await c.env.IMAGES.delete(historyKey(keyId, id));
		return c.json({ id, deleted: true });
	});
