/**
 * A chat turned into what Gemini is sent: the last user message is the instruction (its
 * text the prompt, its images references), system and developer messages become the
 * systemInstruction, and earlier messages become the history.
 *
 * An assistant message showing an image this gateway made for the same key and model (by
 * URL, or by the bytes of a data URL it handed out) is replaced by the stored model turn
 * that produced it, thought signatures included (src/pipeline/turns.ts). Any other image
 * in an assistant message (a stranger's, another key's, another model's) is sent as an
 * ordinary reference at the start of the next user turn; the message's text becomes a
 * model turn marked with Google's placeholder signature, since Gemini did not write it.
 * Every image goes through the same resolver as edits (SSRF rules, byte caps, real image
 * bytes); this gateway's own images are read from R2, never fetched over the network.
 */
import type { ModelSpec } from "../catalog/catalog";
import type { GatewayConfig } from "../config";
import { invalidParam } from "../errors";
import type { GeminiContent, GeminiPart } from "../gemini/types";
import { decodeInlineImage, type InputImage, inputLimitsFrom, resolveImages } from "../inputs/images";
import { ownImageKey } from "../inputs/own-images";
import { checkPrompt } from "../pipeline/request";
import { hydrate, type StoredTurn, turnForBytes, turnForImage } from "../pipeline/turns";
import type { Buckets } from "../storage/private";
import type { ChatMessage, ImageRef } from "./messages";

/**
 * Google's documented stand-in for a thought signature on a model turn it did not produce
 * (ai.google.dev/gemini-api/docs/thought-signatures, FAQ; used the same way by
 * strands-agents/sdk-python#1298 and erain/glue v1.8.0).
 */
export const SKIP_SIGNATURE = "skip_thought_signature_validator";

export interface ChatInput {
	prompt: string;
	systemInstruction?: string;
	history: GeminiContent[];
	images: InputImage[];
}

export interface ChatContext {
	/** Images from IMAGES, the turns behind them from PRIVATE. */
	buckets: Buckets;
	/** The caller's key id, asked for only when an assistant image needs its stored turn. */
	keyId: () => Promise<string>;
	origin: string;
	config: GatewayConfig;
}

interface Draft {
	role: "user" | "model";
	parts: GeminiPart[];
	/** References resolved later, appended in order. */
	refs: Array<{ param: string; value: string | File }>;
}

/** This gateway's image, read from R2 (it is public by URL anyway); 400 when it is gone. */
async function storedImageFile(bucket: R2Bucket, key: string, param: string): Promise<File> {
	const obj = await bucket.get(key);
	if (!obj) throw invalidParam(param, `${param} names an image of this gateway that no longer exists`, "image_fetch_failed");
	return new File([await obj.arrayBuffer()], key.slice(key.lastIndexOf("/") + 1));
}

/** An assistant message's image: the stored turn behind it, or a reference to send. */
async function classify(
	ctx: ChatContext,
	model: ModelSpec,
	ref: ImageRef,
): Promise<{ param: string; turn: StoredTurn } | { param: string; value: string | File }> {
	const { param } = ref;
	const key = ownImageKey(ref.url, ctx.config, ctx.origin);
	if (key) {
		const turn = await turnForImage(ctx.buckets, await ctx.keyId(), key);
		return turn && turn.model === model.id ? { param, turn } : { param, value: await storedImageFile(ctx.buckets.IMAGES, key, param) };
	}
	if (/^data:/i.test(ref.url.trim())) {
		const image = decodeInlineImage(ref.url.trim(), param, inputLimitsFrom(ctx.config));
		const turn = await turnForBytes(ctx.buckets, await ctx.keyId(), image.data);
		if (turn && turn.model === model.id) return { param, turn };
	}
	return { param, value: ref.url };
}

/** The chat as the canonical request's parts: prompt, system instruction, history and references. */
export async function chatInput(ctx: ChatContext, model: ModelSpec, messages: ChatMessage[]): Promise<ChatInput> {
	const { systemText, earlier, last, prompt } = instructionOf(messages, ctx.config.maxPromptChars);
	const { drafts, carried, ownImages } = await draftHistory(ctx, model, earlier);
	const finalRefs = [...carried, ...last.images.map((r) => ({ param: r.param, value: r.url }))];

	const refs = [...drafts.flatMap((d) => d.refs), ...finalRefs];
	if (ownImages + refs.length > model.maxInputImages) {
		throw invalidParam(
			"messages",
			`${model.id} accepts at most ${model.maxInputImages} input images; this chat holds ${ownImages + refs.length}`,
			"too_many_images",
		);
	}
	const resolved = await resolveImages(refs, refs.length, model.id, inputLimitsFrom(ctx.config));
	let at = 0;
	const history: GeminiContent[] = [];
	for (const d of drafts) {
		const inline = resolved
			.slice(at, at + d.refs.length)
			.map((img) => ({ inlineData: { mimeType: img.mimeType, data: img.data.toBase64() } }));
		at += d.refs.length;
		const parts = [...d.parts, ...inline];
		if (parts.length > 0) history.push({ role: d.role, parts });
	}
	return { prompt, systemInstruction: systemText || undefined, history, images: resolved.slice(at) };
}

/** The system text, the messages before the instruction, and the instruction: the last message, the user's, with text. */
function instructionOf(messages: ChatMessage[], maxChars: number) {
	const system = messages.filter((m) => m.role === "system");
	const systemText = system
		.flatMap((m) => m.texts)
		.join("\n\n")
		.trim();
	if (systemText.length > maxChars) {
		throw invalidParam(
			`messages[${system[0].index}].content`,
			`System messages total ${systemText.length} characters; the limit is ${maxChars}`,
			"prompt_too_long",
		);
	}
	const chat = messages.filter((m) => m.role !== "system");
	const last = chat[chat.length - 1];
	if (last?.role !== "user") {
		throw invalidParam("messages", "The last message must be the user's instruction (role user): say what to draw or change");
	}
	const text = last.texts.join("\n").trim();
	if (text === "") {
		throw invalidParam(
			`messages[${last.index}].content`,
			`messages[${last.index}] has no text: an image model needs an instruction (what to draw or change)`,
		);
	}
	return { systemText, earlier: chat.slice(0, -1), last, prompt: checkPrompt(text, maxChars, `messages[${last.index}].content`) };
}

/**
 * The earlier messages as turns still to be given their images: a user message keeps its
 * references; an assistant message showing this gateway's image becomes the stored model
 * turn, and any other image it shows is carried to the next user turn.
 */
async function draftHistory(
	ctx: ChatContext,
	model: ModelSpec,
	earlier: ChatMessage[],
): Promise<{ drafts: Draft[]; carried: Draft["refs"]; ownImages: number }> {
	const drafts: Draft[] = [];
	let carried: Draft["refs"] = [];
	let ownImages = 0;
	for (const m of earlier) {
		if (m.role === "user") {
			const parts = m.texts.filter((t) => t.trim() !== "").map((t) => ({ text: t }));
			drafts.push({ role: "user", parts, refs: [...carried, ...m.images.map((r) => ({ param: r.param, value: r.url }))] });
			carried = [];
			continue;
		}
		let replaced = false;
		for (const c of await Promise.all(m.images.map((r) => classify(ctx, model, r)))) {
			if ("value" in c) {
				carried.push(c);
				continue;
			}
			const content = await hydrate(ctx.buckets.IMAGES, c.turn.parts, c.turn.imageKey);
			if (!content) throw invalidParam(c.param, `${c.param} names an image of this gateway that no longer exists`, "image_fetch_failed");
			drafts.push({ role: "model", parts: content.parts, refs: [] });
			ownImages++;
			replaced = true;
		}
		const said = m.texts.join("\n").trim();
		if (!replaced && said !== "") drafts.push({ role: "model", parts: [{ text: said, thoughtSignature: SKIP_SIGNATURE }], refs: [] });
	}
	return { drafts, carried, ownImages };
}
