/**
 * Chat messages, as OpenAI's and OpenRouter's clients send them, normalized: roles
 * checked, content given as a string or as `text` / `image_url` parts, and the `images`
 * an assistant message carries when a client hands back what it was given. Every image
 * keeps the name of its place (`messages[2].content[1].image_url`), so an error about it
 * says which one it is.
 */
import { invalidParam } from "../errors";

export interface ImageRef {
	/** Where it was, e.g. `messages[2].content[1].image_url`. */
	param: string;
	url: string;
}

export interface ChatMessage {
	index: number;
	role: "system" | "user" | "assistant";
	texts: string[];
	images: ImageRef[];
}

const ROLES: ReadonlyMap<string, ChatMessage["role"]> = new Map([
	["system", "system"],
	["developer", "system"],
	["user", "user"],
	["assistant", "assistant"],
]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** `image_url` as a string or as `{url}`. */
function urlOf(value: unknown): string | undefined {
	if (typeof value === "string") return value;
	if (isObject(value) && typeof value.url === "string") return value.url;
	return undefined;
}

function imagePart(part: Record<string, unknown>, param: string): ImageRef {
	const url = urlOf(part.image_url);
	if (url === undefined) throw invalidParam(`${param}.image_url`, `${param}.image_url must be a string or {"url": string}`);
	if (url.trim() === "") throw invalidParam(`${param}.image_url`, `${param}.image_url is empty`);
	return { param: `${param}.image_url`, url };
}

function contentOf(content: unknown, i: number, into: ChatMessage): void {
	if (content === undefined || content === null) return;
	if (typeof content === "string") {
		into.texts.push(content);
		return;
	}
	if (!Array.isArray(content)) throw invalidParam(`messages[${i}].content`, `messages[${i}].content must be a string or an array of parts`);
	for (const [j, part] of content.entries()) {
		const param = `messages[${i}].content[${j}]`;
		if (!isObject(part)) throw invalidParam(param, `${param} must be an object with a type`);
		if (part.type === "text" && typeof part.text === "string") into.texts.push(part.text);
		else if (part.type === "image_url") into.images.push(imagePart(part, param));
		else {
			throw invalidParam(
				param,
				`${param}: content part type '${String(part.type)}' is not supported here; send text and image_url parts`,
				"unsupported_content",
			);
		}
	}
}

/** Checks and normalizes every message. */
export function normalizeMessages(messages: Array<Record<string, unknown>>): ChatMessage[] {
	return messages.map((m, i) => {
		const role = typeof m.role === "string" ? ROLES.get(m.role) : undefined;
		if (!role) {
			throw invalidParam(
				`messages[${i}].role`,
				`messages[${i}].role '${String(m.role)}' is not supported by image models. Allowed: system, developer, user, assistant`,
			);
		}
		const msg: ChatMessage = { index: i, role, texts: [], images: [] };
		contentOf(m.content, i, msg);
		if (m.images !== undefined && m.images !== null) {
			if (role !== "assistant" || !Array.isArray(m.images)) {
				throw invalidParam(`messages[${i}].images`, `messages[${i}].images is only read on assistant messages, as an array`);
			}
			for (const [j, img] of m.images.entries()) {
				if (!isObject(img)) throw invalidParam(`messages[${i}].images[${j}]`, `messages[${i}].images[${j}] must be an image_url object`);
				msg.images.push(imagePart(img, `messages[${i}].images[${j}]`));
			}
		}
		if (role === "system" && msg.images.length > 0) {
			throw invalidParam(msg.images[0].param, "System messages carry text only; send reference images in a user message");
		}
		return msg;
	});
}
