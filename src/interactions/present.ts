/**
 * An interaction as the gateway keeps it (a small JSON record in R2, the images beside it
 * as every dialect stores them) and as Google's Interactions API shows it: the Interaction
 * resource, and the server-sent events of a streamed create or get.
 *
 * Shapes checked on 2026-12-03 against `@google/genai` 3.3.0 (Interaction, ModelOutputStep,
 * ImageContent, the SSE event types) and the recorded real image stream in vercel/ai
 * `packages/google/src/interactions/__fixtures__/image-output.chunks.txt`:
 *   interaction.created {interaction: {id, status: "in_progress", object, model}}
 *   interaction.status_update {interaction_id, status}
 *   step.start {index, step: {type: "model_output"}}
 *   step.delta {index, delta: {type: "image", mime_type, data} | {type: "text", text}}
 *   step.stop {index}
 *   interaction.completed {interaction: {id, status, usage, created, updated, object, model}}
 * Each event carries an `event_id`; a GET with `last_event_id` resumes after it. The events
 * are rebuilt from the record, so their ids are the same on every read. The model's thought
 * steps (a signature of hundreds of KB per image) are not sent: an interaction here is one
 * turn, so no later turn needs them.
 */
import type { Piece } from "../lib/b64-stream";
import type { GenerationResult } from "../pipeline/generate";
import type { Delivery } from "./request";

/** The statuses the gateway reports (Google's; a queued background run is already `in_progress`). */
export type InteractionStatus = "in_progress" | "completed" | "failed" | "cancelled";

/** One delivered image of an interaction, stored in R2. */
export interface RecordImage {
	key: string;
	mimeType: string;
	bytes: number;
	url: string;
}

/** What the gateway keeps of an interaction (R2, `interactions/{keyId}/{id}.json`). */
export interface InteractionRecord {
	id: string;
	model: string;
	created: string;
	updated: string;
	status: InteractionStatus;
	delivery: Delivery;
	images: RecordImage[];
	text: string;
	usage?: { input: number; output: number; total: number };
	/** Set when the interaction failed (Google's ErrorT: a code and a message). */
	error?: { code: string; message: string };
	/** A background interaction runs as this async job (src/jobs/). */
	jobId?: string;
	/** Credits the run was charged (the gateway's own field). */
	creditsCharged?: number;
}

/** Seconds-precision ISO time, as Google writes `created`/`updated`. */
export function isoSeconds(at: Date = new Date()): string {
	return `${at.toISOString().slice(0, 19)}Z`;
}

/** A finished synchronous or streamed run as a record. */
export function recordOf(
	base: Pick<InteractionRecord, "id" | "model" | "created" | "delivery">,
	result: GenerationResult,
	charged: number,
): InteractionRecord {
	return {
		...base,
		updated: isoSeconds(),
		status: result.error ? "failed" : "completed",
		images: result.images.map((i) => ({ key: i.key, mimeType: i.mimeType, bytes: i.bytes, url: i.url })),
		text: result.images[0]?.text ?? "",
		usage: { input: result.usage.inputTokens, output: result.usage.outputTokens, total: result.usage.totalTokens },
		...(result.error ? { error: { code: result.error.code, message: result.error.message } } : {}),
		creditsCharged: charged,
	};
}

/** Google's usage object (output includes thinking, as the gateway counts it). */
function usageOf(r: InteractionRecord): Record<string, number> | undefined {
	if (!r.usage) return undefined;
	return { total_input_tokens: r.usage.input, total_output_tokens: r.usage.output, total_tokens: r.usage.total };
}

/** The resource's fields other than its steps, in Google's order. */
function head(r: InteractionRecord): Record<string, unknown> {
	return {
		id: r.id,
		status: r.status,
		object: "interaction",
		model: r.model,
		role: "model",
		created: r.created,
		updated: r.updated,
		...(r.usage ? { usage: usageOf(r) } : {}),
		...(r.error ? { errors: [r.error] } : {}),
		...(r.creditsCharged !== undefined ? { credits_charged: r.creditsCharged } : {}),
	};
}

/** One image content block: base64 from R2 (a piece) or the image's URL, per the delivery asked for. */
function imagePieces(r: InteractionRecord, img: RecordImage): Piece[] {
	if (r.delivery === "uri") return [JSON.stringify({ type: "image", mime_type: img.mimeType, uri: img.url })];
	return [`{"type":"image","mime_type":${JSON.stringify(img.mimeType)},"data":"`, { key: img.key, size: img.bytes }, `"}`];
}

/**
 * The Interaction resource as JSON pieces (images embedded from R2 without being built in
 * memory): `steps` holds one model_output step with the text (if any) and the images.
 */
export function interactionPieces(r: InteractionRecord): Piece[] {
	const fields = JSON.stringify(head(r));
	if (r.status !== "completed") return [fields.slice(0, -1), `,"steps":[]}`];
	const content: Piece[] = [];
	if (r.text) content.push(JSON.stringify({ type: "text", text: r.text }));
	for (const img of r.images) {
		if (content.length > 0) content.push(",");
		content.push(...imagePieces(r, img));
	}
	return [fields.slice(0, -1), `,"steps":[{"type":"model_output","content":[`, ...content, "]}]}"];
}

function event(type: string, id: number, data: Record<string, unknown>, pieces?: Piece[]): Piece[] {
	const meta = `"event_type":${JSON.stringify(type)},"event_id":"evt_${id}"`;
	if (!pieces) return [`event: ${type}\ndata: ${JSON.stringify({ ...data, event_type: type, event_id: `evt_${id}` })}\n\n`];
	// data's last field is the delta built from pieces (base64 streamed from R2)
	return [`event: ${type}\ndata: {${meta},"index":${String(data.index)},"delta":`, ...pieces, "}\n\n"];
}

/** The events that open a stream (before the model answers). */
export function openingEvents(r: InteractionRecord): Piece[] {
	return [
		...event("interaction.created", 0, { interaction: { id: r.id, status: "in_progress", object: "interaction", model: r.model } }),
		...event("interaction.status_update", 1, { interaction_id: r.id, status: "in_progress" }),
	];
}

/**
 * The events after the opening ones, for a finished record: the model_output step (text,
 * then each image in its own delta) and interaction.completed; a failed run ends with an
 * `error` event. Ids continue from the opening events'.
 */
export function closingEvents(r: InteractionRecord): Piece[] {
	const out: Piece[] = [];
	let n = 2;
	if (r.status === "completed") {
		out.push(...event("step.start", n++, { index: 0, step: { type: "model_output" } }));
		if (r.text) out.push(...event("step.delta", n++, { index: 0, delta: { type: "text", text: r.text } }));
		for (const img of r.images) out.push(...event("step.delta", n++, { index: 0 }, imagePieces(r, img)));
		out.push(...event("step.stop", n++, { index: 0 }));
	} else if (r.status === "failed" && r.error) {
		out.push(...event("error", n++, { error: r.error }));
	}
	out.push(...event("interaction.completed", n, { interaction: head(r) }));
	return out;
}

/** Every event of a record, or those after `lastEventId` (a resumed stream). */
export function eventsAfter(r: InteractionRecord, lastEventId: string | undefined): Piece[] {
	const all = r.status === "in_progress" ? openingEvents(r) : [...openingEvents(r), ...closingEvents(r)];
	if (!lastEventId) return all;
	const after = Number(/^evt_(\d+)$/.exec(lastEventId)?.[1] ?? Number.NaN);
	// Each event begins with its own `event:` piece; keep the events whose id is past the one given.
	const kept: Piece[] = [];
	let id = -1;
	for (const p of all) {
		if (typeof p === "string" && p.startsWith("event: ")) id = Number(/"event_id":"evt_(\d+)"/.exec(p)?.[1] ?? -1);
		if (id > after) kept.push(p);
	}
	return kept;
}

/** Where a record lives in R2. */
export function recordKey(keyId: string, id: string): string {
	return `interactions/${keyId}/${id}.json`;
}

export async function putRecord(bucket: R2Bucket, keyId: string, r: InteractionRecord): Promise<void> {
	await bucket.put(recordKey(keyId, r.id), JSON.stringify(r), { httpMetadata: { contentType: "application/json" } });
}

export async function getRecord(bucket: R2Bucket, keyId: string, id: string): Promise<InteractionRecord | null> {
	const obj = await bucket.get(recordKey(keyId, id));
	return obj ? ((await obj.json()) as InteractionRecord) : null;
}
