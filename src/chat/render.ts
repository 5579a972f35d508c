/**
 * Chat completion answers in OpenAI's shapes, with images where OpenRouter puts them:
 * `choices[i].message.images: [{type: "image_url", image_url: {url}}]`, one choice per
 * delivered image. The URL is the stored image by default; with `image_output: "data_url"`
 * it is a data URL whose base64 is streamed from R2 into the body, never built in memory.
 *
 * Streamed (`stream: true`), each image gets its own events in OpenAI's chunk format:
 * `{role, content}` (Gemini's text), then `{images: [...]}` alone, then an empty delta
 * with `finish_reason: "stop"`. Every event is one `data:` line holding one whole JSON
 * object, however many megabytes its data URL is. After the last image: a usage chunk
 * (`choices: []`) when `stream_options.include_usage` is true, then `data: [DONE]`.
 */
import type { ApiError } from "../errors";
import type { Piece } from "../lib/b64-stream";
import { StreamedBody } from "../pipeline/billed";
import type { DeliveredImage, GenerationResult, TokenUsage } from "../pipeline/generate";

export type ImageOutput = "url" | "data_url";

/** Names one answer: its id, creation time and model, shared by every chunk. */
export interface Completion {
	id: string;
	created: number;
	model: string;
}

/** The image's URL as JSON string pieces (a data URL embeds the stored bytes). */
function urlPieces(img: DeliveredImage, output: ImageOutput): Piece[] {
	if (output === "url") return [JSON.stringify(img.url)];
	return [`"data:${img.mimeType};base64,`, { key: img.key, size: img.bytes }, '"'];
}

function imagesPieces(img: DeliveredImage, output: ImageOutput): Piece[] {
	return ['[{"type":"image_url","image_url":{"url":', ...urlPieces(img, output), "}}]"];
}

/** OpenAI's usage object from the gateway's token counts (plus `extra`, e.g. credits charged). */
export function chatUsage(u: TokenUsage, extra: Record<string, number> = {}) {
	return { prompt_tokens: u.inputTokens, completion_tokens: u.outputTokens, total_tokens: u.totalTokens, ...extra };
}

/** The whole `chat.completion` object; a StreamedBody when images are data URLs. */
export function chatCompletion(c: Completion, result: GenerationResult, output: ImageOutput): unknown {
	const head = JSON.stringify({ id: c.id, object: "chat.completion", created: c.created, model: c.model }).slice(0, -1);
	const pieces: Piece[] = [`${head},"choices":[`];
	const images = [...result.images].sort((a, b) => a.index - b.index);
	images.forEach((img, i) => {
		const message = JSON.stringify({ role: "assistant", content: img.text, refusal: null }).slice(0, -1);
		pieces.push(
			`${i > 0 ? "," : ""}{"index":${i},"message":${message},"images":`,
			...imagesPieces(img, output),
			'},"logprobs":null,"finish_reason":"stop"}',
		);
	});
	pieces.push(`],"usage":${JSON.stringify(chatUsage(result.usage))}}`);
	if (output === "data_url") return new StreamedBody(pieces);
	return JSON.parse(pieces.join("")) as unknown;
}

const event = (payload: string): string => `data: ${payload}\n\n`;

function chunk(c: Completion, choices: unknown[], extra: Record<string, unknown> = {}): string {
	return event(JSON.stringify({ id: c.id, object: "chat.completion.chunk", created: c.created, model: c.model, choices, ...extra }));
}

/** The events for one delivered image, shown as choice `index`. */
export function imageEvents(c: Completion, img: DeliveredImage, index: number, output: ImageOutput): Piece[] {
	const head = JSON.stringify({ id: c.id, object: "chat.completion.chunk", created: c.created, model: c.model }).slice(0, -1);
	return [
		chunk(c, [{ index, delta: { role: "assistant", content: img.text }, logprobs: null, finish_reason: null }]),
		`data: ${head},"choices":[{"index":${index},"delta":{"images":`,
		...imagesPieces(img, output),
		'},"logprobs":null,"finish_reason":null}]}\n\n',
		chunk(c, [{ index, delta: {}, logprobs: null, finish_reason: "stop" }]),
	];
}

/** The events that close a stream: the usage chunk when asked for, then [DONE]. */
export function closingEvents(c: Completion, usage: TokenUsage, includeUsage: boolean, creditsCharged: number): Piece[] {
	const out: Piece[] = [];
	if (includeUsage) out.push(chunk(c, [], { usage: chatUsage(usage, { credits_charged: creditsCharged }) }));
	out.push(event("[DONE]"));
	return out;
}

/** An error inside an open stream: OpenAI's clients raise it as an API error. */
export function errorEvent(error: ApiError): Piece[] {
	return [event(error.body("openai"))];
}
