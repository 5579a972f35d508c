/**
 * Reads a create body of Google's Interactions API (`POST /{v1,v1beta}/interactions`) into
 * the gateway's canonical request. Only what an image model run through the gateway can
 * honour is accepted; any other field is a 400 naming it, before anything is held or sent.
 *
 * Wire format checked on 2026-12-03 against `@google/genai` 3.3.0 (CreateModelInteraction in
 * dist/genai.d.ts) and `@ai-sdk/google` 4.0.121 (src/interactions/*): `input` is a string, a
 * content block, an array of content blocks or an array of steps (`{type: "user_input",
 * content}`); image output is asked for with `response_format: {type: "image",
 * aspect_ratio, image_size, mime_type, delivery: "inline" | "uri"}` (one entry or an array).
 */
import { z } from "zod";
import type { GatewayConfig, ThinkingLevel } from "../config";
import { invalidParam } from "../errors";
import { inputLimitsFrom, resolveImages } from "../inputs/images";
import { lazy } from "../lib/lazy";
import { parseWith } from "../lib/validate";
import {
	checkAspectRatio,
	checkImageSize,
	checkModelControls,
	checkPrompt,
	type GenerationRequest,
	resolveModel,
} from "../pipeline/request";
import { ThinkingField } from "../routes/model-controls";

/** How the images of an answer reach the client: base64 in the body, or a URL to fetch. */
export type Delivery = "inline" | "uri";

/** A checked create request. */
export interface CreateInteraction {
	req: GenerationRequest;
	stream: boolean;
	background: boolean;
	/** false: nothing kept, so GET cannot find it later (Google's `store`). */
	store: boolean;
	delivery: Delivery;
}

/** Top-level fields served, and why the others are not. */
const SERVED = new Set([
	"model",
	"input",
	"system_instruction",
	"response_format",
	"response_modalities",
	"generation_config",
	"stream",
	"background",
	"store",
	"service_tier",
	"labels",
]);
const REFUSED: Record<string, string> = {
	agent: "agents are not served here; name an image model in model",
	agent_config: "agents are not served here",
	tools: "image models take no tools here",
	previous_interaction_id: "each interaction is one turn here; send the whole instruction (and reference images) in input",
	continuation_token: "image answers are never continued: each completes in one run",
	webhook_config: "poll GET /interactions/{id} for a background interaction",
};
/** MIME types accepted in `response_format.mime_type`; the answer names the type delivered. */
const IMAGE_MIME_TYPES = ["image/jpeg", "image/png"];

function isObject(v: unknown): v is Record<string, unknown> {
	return typeof v === "object" && v !== null && !Array.isArray(v);
}

function bool(body: Record<string, unknown>, name: string): boolean {
	const v = body[name];
	if (v === undefined || v === null) return false;
	if (typeof v !== "boolean") throw invalidParam(name, `${name} must be a boolean`);
	return v;
}

function str(v: unknown, param: string): string {
	if (typeof v !== "string") throw invalidParam(param, `${param} must be a string`);
	return v;
}

/** The instruction's text and its reference images, from any of `input`'s four forms. */
function readInput(input: unknown): { text: string[]; images: Array<{ param: string; value: string }> } {
	const text: string[] = [];
	const images: Array<{ param: string; value: string }> = [];
	const content = (block: unknown, param: string) => {
		if (!isObject(block)) throw invalidParam(param, `${param} must be a content object ({type: "text" | "image", ...})`);
		if (block.type === "text") text.push(str(block.text, `${param}.text`));
		else if (block.type === "image") {
			const value = block.data ?? block.uri;
			if (typeof value !== "string" || value.length === 0) {
				throw invalidParam(param, `${param} needs data (base64) or uri (an https URL)`, "invalid_image");
			}
			images.push({ param, value });
		} else
			throw invalidParam(`${param}.type`, `${param}.type must be "text" or "image" for an image model (got ${JSON.stringify(block.type)})`);
	};
	if (typeof input === "string") text.push(input);
	else if (Array.isArray(input)) {
		for (const [i, item] of input.entries()) {
			const param = `input[${i}]`;
			if (isObject(item) && item.type === "user_input") {
				if (!Array.isArray(item.content)) throw invalidParam(`${param}.content`, `${param}.content must be an array of content objects`);
				for (const [j, block] of item.content.entries()) content(block, `${param}.content[${j}]`);
			} else if (isObject(item) && (item.type === "model_output" || item.type === "thought")) {
				throw invalidParam(param, `${param}: earlier model turns are not served here; send one instruction (and reference images)`);
			} else content(item, param);
		}
	} else if (isObject(input)) content(input, "input");
	else throw invalidParam("input", "input is required: a string, a content object, or an array of content objects or user_input steps");
	return { text, images };
}

/** The image entry of `response_format`, checked; text entries are allowed (the answer may carry text). */
function readResponseFormat(value: unknown): Record<string, unknown> | undefined {
	if (value === undefined || value === null) return undefined;
	const entries = Array.isArray(value) ? value : [value];
	let image: Record<string, unknown> | undefined;
	for (const [i, entry] of entries.entries()) {
		const param = Array.isArray(value) ? `response_format[${i}]` : "response_format";
		if (!isObject(entry)) throw invalidParam(param, `${param} must be an object with a type`);
		if (entry.type === "image") {
			if (image) throw invalidParam(param, "response_format has more than one image entry");
			for (const k of Object.keys(entry)) {
				if (!["type", "aspect_ratio", "image_size", "mime_type", "delivery"].includes(k)) {
					throw invalidParam(
						`${param}.${k}`,
						`${param}.${k} is not served for images (aspect_ratio, image_size, mime_type, delivery)`,
						"unsupported_parameter",
					);
				}
			}
			image = { ...entry, param };
		} else if (entry.type === "text") {
			if (entry.schema !== undefined || (entry.mime_type !== undefined && entry.mime_type !== "text/plain")) {
				throw invalidParam(
					param,
					`${param}: an image model answers plain text only (no schema, mime_type text/plain)`,
					"unsupported_parameter",
				);
			}
		} else {
			throw invalidParam(
				`${param}.type`,
				`${param}.type ${JSON.stringify(entry.type)} is not served: image models answer image and text`,
				"unsupported_parameter",
			);
		}
	}
	return image;
}

/**
 * Checks a create body and builds the canonical request (references fetched or decoded and
 * checked as image bytes). Errors name the field as the client spelled it.
 */
export async function readCreate(body: Record<string, unknown>, config: GatewayConfig): Promise<CreateInteraction> {
	for (const k of Object.keys(body)) {
		if (SERVED.has(k)) continue;
		const why = REFUSED[k] ?? "not served for image models";
		throw invalidParam(k, `${k} is not supported by the gateway's Interactions API: ${why}`, "unsupported_parameter");
	}
	const name = str(body.model ?? "", "model");
	if (!config.catalog.find(name)) {
		throw invalidParam(
			"model",
			`'${name}' is not an image model served here: the gateway serves the Interactions API for image models only (${config.catalog.ids().join(", ")})`,
			"model_not_found",
		);
	}
	const model = resolveModel(config.catalog, name);
	const stream = bool(body, "stream");
	const background = bool(body, "background");
	if (stream && background)
		throw invalidParam(
			"stream",
			"stream and background cannot be combined: poll (or stream with GET ?stream=true) a background interaction",
		);
	const store = body.store === undefined || body.store === null ? true : bool(body, "store");
	if (background && !store) throw invalidParam("store", "a background interaction must be stored (store: true) to be polled");
	if (body.service_tier !== undefined && body.service_tier !== "standard") {
		throw invalidParam("service_tier", `service_tier must be "standard" here (got ${JSON.stringify(body.service_tier)})`);
	}
	if (body.labels !== undefined && !isObject(body.labels)) throw invalidParam("labels", "labels must be an object of strings");
	const thinkingLevel = readGenerationConfig(body.generation_config);
	if (body.response_modalities !== undefined) {
		const m = body.response_modalities;
		if (!Array.isArray(m) || m.some((x) => typeof x !== "string" || !["image", "text"].includes(x.toLowerCase()))) {
			throw invalidParam("response_modalities", 'response_modalities may list "image" and "text" only');
		}
	}
	const format = readResponseFormat(body.response_format);
	const at = String(format?.param ?? "response_format");
	const aspectRatio =
		format?.aspect_ratio !== undefined
			? checkAspectRatio(model, str(format.aspect_ratio, `${at}.aspect_ratio`), `${at}.aspect_ratio`)
			: undefined;
	const imageSize =
		format?.image_size !== undefined ? checkImageSize(model, str(format.image_size, `${at}.image_size`), `${at}.image_size`) : undefined;
	if (format?.mime_type !== undefined && !IMAGE_MIME_TYPES.includes(str(format.mime_type, `${at}.mime_type`))) {
		throw invalidParam(
			`${at}.mime_type`,
			`${at}.mime_type must be one of ${IMAGE_MIME_TYPES.join(", ")}; the answer's mime_type names the type delivered`,
		);
	}
	const delivery = format?.delivery ?? "inline";
	if (delivery !== "inline" && delivery !== "uri") throw invalidParam(`${at}.delivery`, `${at}.delivery must be "inline" or "uri"`);
	const system = body.system_instruction;
	if (system !== undefined && typeof system !== "string") throw invalidParam("system_instruction", "system_instruction must be a string");

	const input = readInput(body.input);
	const req: GenerationRequest = {
		endpoint: "interactions.create",
		model,
		prompt: checkPrompt(input.text.join("\n"), config.maxPromptChars, "input"),
		n: 1,
		aspectRatio,
		imageSize,
		images: [],
		...(system ? { systemInstruction: system } : {}),
		...checkModelControls(config, model, { thinkingLevel }, { thinking: "generation_config.thinking_level", search: "tools" }),
		params: { aspectRatio: `${at}.aspect_ratio`, imageSize: `${at}.image_size`, images: "input" },
	};
	req.images = await resolveImages(input.images, model.maxInputImages, model.id, inputLimitsFrom(config));
	return { req, stream, background, store, delivery };
}

/**
 * generation_config as served: `thinking_level` only (Google's 2.1 examples send it; any
 * case), the shared field of every dialect, so its values and its message are theirs; the
 * level is then checked against the model and the operator by checkModelControls.
 */
const GenerationConfig = lazy(() => z.object({ thinking_level: ThinkingField().optional() }, { error: "must be an object" }));
const GENERATION_CONFIG_SERVED = ["thinking_level"] as const satisfies readonly (keyof z.infer<ReturnType<typeof GenerationConfig>>)[];
const GenerationConfigBody = lazy(() => z.object({ generation_config: GenerationConfig().nullish() }));

/**
 * Any other member of generation_config is refused by name (the shared pipeline has no place
 * for it) as unsupported, before the served ones are parsed.
 */
function readGenerationConfig(value: unknown): ThinkingLevel | undefined {
	if (isObject(value)) {
		const served: readonly string[] = GENERATION_CONFIG_SERVED;
		const other = Object.keys(value).find((k) => !served.includes(k));
		if (other !== undefined) {
			throw invalidParam(
				`generation_config.${other}`,
				`generation_config.${other} is not supported for image models here (${GENERATION_CONFIG_SERVED.join(", ")} only)`,
				"unsupported_parameter",
			);
		}
	}
	return parseWith(GenerationConfigBody(), { generation_config: value }).generation_config?.thinking_level;
}
