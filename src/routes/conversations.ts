/**
 * Conversational editing. A conversation keeps every turn whole, as Gemini needs it
 * back: the user's instruction and images, and the model's full answer including
 * Gemini 3 `thoughtSignature`s. `POST /v1/images/edits` (or generations) with a
 * `conversation_id` sends the history first and appends the new pair of turns.
 *   POST /v1/conversations {model?}   GET /v1/conversations (paged)   GET /v1/conversations/{id}   DELETE /v1/conversations/{id}
 * Turns live in the private R2 bucket (they carry images); D1 indexes them. Only the owning key sees them.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { randomId } from "../account/keys";
import { apiError, invalidParam, notFound } from "../errors";
import { jsonWithSignatures, type KeptSignatures } from "../gemini/kept-signatures";
import type { GeminiContent } from "../gemini/types";
import { readJsonObject } from "../lib/body";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { lazy } from "../lib/lazy";
import { parseWith } from "../lib/validate";
import type { GenerationResult } from "../pipeline/generate";
import { userTurn } from "../pipeline/generate";
import { type GenerationRequest, resolveModel } from "../pipeline/request";
import { hydrate, reducedParts } from "../pipeline/turns";
import { routeFacts } from "../route-facts";
import { deleteConversation, getConversation, insertConversation, listConversations, touchConversation } from "../storage/db";
import { piecesBody } from "../storage/pieces";
import { type Buckets, deletePrivate, getPrivate } from "../storage/private";
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

/**
/**
 * A conversation's stored history. `pending`: a message is being answered (its claim, see
 * continueConversation); until its `until`, other messages are refused before any work.
 */
interface History {
	contents: GeminiContent[];
	pending?: { requestId: string; until: number };
}

/**
 * The stored history (in PRIVATE) and the etag its next write must match. A history an
 * older gateway left in IMAGES is read from there and has no etag here: its next write
 * is the conversation's first in PRIVATE (conditional on there being none yet), and the
 * recorded exchange removes the old copy.
 */
async function loadHistory(buckets: Buckets, key: string): Promise<History & { etag: string | null; legacy: boolean }> {
	const found = await getPrivate(buckets, key);
	if (!found) return { contents: [], etag: null, legacy: false };
	const history = await found.obj.json<History>();
	return { ...history, etag: found.legacy ? null : found.obj.etag, legacy: found.legacy };
}

/**
 * Writes the history only if it is still the version read (`etag`; null: only if there is
 * none yet, so two first messages cannot both write). The new etag, or null when another
 * write came first.
 */
async function writeHistory(
	bucket: R2Bucket,
	key: string,
	history: History,
	etag: string | null,
	signatures?: KeptSignatures,
): Promise<string | null> {
	// The new model turn's thought signatures go to R2 in the pieces they arrived in.
	const put = await bucket.put(key, piecesBody(jsonWithSignatures(history, signatures)), {
		httpMetadata: { contentType: "application/json" },
		onlyIf: etag ? { etagMatches: etag } : { etagDoesNotMatch: "*" },
	});
	return put?.etag ?? null;
}

const busy = (id: string) =>
	apiError("conversation_conflict", `Another message to conversation ${id} is being answered or finished first; retry when it is done`, {
		param: "conversation_id",
	});

/** The model a conversation was started with (404 when it is not the caller's). */
export async function conversationModel(c: Context<AppEnv>, id: string): Promise<string> {
	const { keyId } = await c.get("caller").identify();
	const conv = await getConversation(c.env.DB, id, keyId);
	if (!conv) throw notFound(`No conversation with id '${id}'`);
	return conv.model;
}

/** A message continuing a conversation: `record` appends its exchange; `release` frees the conversation when nothing was recorded. */
export interface ConversationTurn {
	id: string;
	record: (result: GenerationResult) => Promise<void>;
	release: () => Promise<void>;
}

/**
 * Prepares `req` to continue conversation `id`: checks ownership, model and n, loads the
 * history into `req.history`, and claims the conversation for this message before any
 * upstream call. The claim is a conditional write of the version just read, marked pending
 * until the hold's life is over: a message sent while another is being answered, or racing
 * one to the claim (also the very first two), is a 409 `conversation_conflict` at once,
 * with nothing generated, held or charged. The exchange is recorded by a write conditional
 * on the claim; see runBilledGeneration for a claim lost after generation.
 */
export async function continueConversation(c: Context<AppEnv>, id: string, req: GenerationRequest): Promise<ConversationTurn> {
	const { keyId } = await c.get("caller").identify();
	const conv = await getConversation(c.env.DB, id, keyId);
	if (!conv) throw notFound(`No conversation with id '${id}'`);
	if (conv.model !== req.model.id) {
		throw invalidParam("model", `Conversation ${id} uses ${conv.model}; send that model (or none) to continue it`);
	}
	if (req.n !== 1) throw invalidParam("n", "A conversation continues one image at a time: n must be 1");
	const key = historyKey(keyId, id);
	const { contents, etag, pending, legacy } = await loadHistory(c.env, key);
	const now = Date.now();
	if (pending && pending.until > now) throw busy(id);
	const claim = { requestId: c.get("requestId"), until: now + c.get("config").deadlineMs + 60_000 };
	const claimed = await writeHistory(c.env.PRIVATE, key, { contents, pending: claim }, etag);
	if (!claimed) throw busy(id);
	req.history = contents;
	req.keepSignatures = true;
	let done = false;
	return {
		id,
		record: async (result) => {
			const modelTurn = await storedTurn(c.env.IMAGES, result);
			const next = [...contents, userTurn(req), modelTurn].slice(-2 * MAX_TURN_PAIRS);
			done = true;
			// Lost only when this message outlived its claim and another took the conversation, or it was deleted.
			if (!(await writeHistory(c.env.PRIVATE, key, { contents: next }, claimed, result.images[0]?.signatures))) {
				const urls = result.images.map((i) => i.url).join(", ");
				throw apiError(
					"conversation_conflict",
					`Conversation ${id} changed while this message was answered (it outlived its claim, or the conversation was deleted), so this exchange was not added to it. The image was made and is charged: ${urls}`,
					{ param: "conversation_id" },
				);
			}
			if (legacy) await c.env.IMAGES.delete(key); // moved to PRIVATE
			await touchConversation(c.env.DB, id, new Date().toISOString());
		},
		release: async () => {
			if (done) return;
			done = true;
			// Back to the version read; a failed write means the claim is no longer this message's.
			await writeHistory(c.env.PRIVATE, key, { contents }, claimed);
		},
	};
}

export const CreateConversation = lazy(() => z.strictObject({ model: z.string().default("nano-banana") }));
export const ConversationsQuery = lazy(() =>
	z.strictObject({
		limit: z.coerce.number().int().min(1).max(100).default(20),
		cursor: z.string().optional(),
	}),
);

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
		const body = parseWith(CreateConversation(), await readJsonObject(c.req.raw, config.maxJsonBodyBytes));
		const model = resolveModel(config.catalog, body.model);
		const now = new Date().toISOString();
		const record = { id: randomId("conv"), key_id: c.get("caller").keyId, model: model.id, turns: 0, created_at: now, updated_at: now };
		await insertConversation(c.env.DB, record);
		return c.json({ id: record.id, model: record.model, turns: 0, created_at: now }, 201);
	})
	.get("/", async (c) => {
		const q = parseWith(ConversationsQuery(), c.req.query());
		const rows = await listConversations(c.env.DB, c.get("caller").keyId, q.limit + 1, q.cursor ? decodeCursor(q.cursor) : undefined);
		const page = rows.slice(0, q.limit);
		const last = page[page.length - 1];
		return c.json({
			object: "list",
			data: page.map((r) => ({ id: r.id, model: r.model, turns: r.turns, created_at: r.created_at, updated_at: r.updated_at })),
			has_more: rows.length > q.limit,
			next_cursor: rows.length > q.limit ? encodeCursor(last.created_at, last.id) : null,
		});
	})
	.get("/:id", async (c) => {
		const keyId = c.get("caller").keyId;
		const conv = await getConversation(c.env.DB, c.req.param("id"), keyId);
		if (!conv) throw notFound(`No conversation with id '${c.req.param("id")}'`);
		const { contents } = await loadHistory(c.env, historyKey(keyId, conv.id));
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
		await deletePrivate(c.env, [historyKey(keyId, id)]);
		return c.json({ id, deleted: true });
	});
