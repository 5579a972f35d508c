/**
 * The Gemini-native request schema, in both of Google's spellings. Google's JSON parser
 * takes every field in camelCase or snake_case, so the body is first normalized to
 * camelCase (a field given in both spellings must agree), then checked against strict
 * zod schemas: an unknown key is refused. Errors name the field as the caller wrote it
 * (`generation_config.image_config.image_size`). What is done with the checked body is
 * ./native-request.ts.
 */
import { z } from "zod";
import { THINKING_LEVELS } from "../config";
import { type ApiError, apiError, invalidParam } from "../errors";
import { lazy } from "../lib/lazy";

// ---- Both spellings -----------------------------------------------------------------

/** Per normalized object: each camelCase key as the caller spelled it. */
type Spellings = WeakMap<object, Map<string, string>>;

const camel = (key: string) => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

function sameJson(a: unknown, b: unknown): boolean {
	if (a === b) return true;
	if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
	const ka = Object.keys(a);
	const kb = Object.keys(b);
	return ka.length === kb.length && ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * The value with every key in camelCase, as Google's parser reads it; the caller's
 * spellings are kept in `spellings`. A field given in both spellings must agree.
 */
function normalize(value: unknown, path: string, spellings: Spellings): unknown {
	if (Array.isArray(value)) return value.map((v, i) => normalize(v, `${path}[${i}]`, spellings));
	if (value === null || typeof value !== "object") return value;
	const out: Record<string, unknown> = {};
	const spelled = new Map<string, string>();
	for (const [key, raw] of Object.entries(value)) {
		const name = camel(key);
		const v = normalize(raw, join(path, key), spellings);
		const first = spelled.get(name);
		if (first !== undefined) {
			if (!sameJson(out[name], v)) {
				throw invalidParam(
					join(path, key),
					`${join(path, first)} and ${join(path, key)} are one field in two spellings, with different values`,
				);
			}
			continue;
		}
		spelled.set(name, key);
		// defineProperty: a key such as "__proto__" stays a plain (refused) field.
		Object.defineProperty(out, name, { value: v, enumerable: true, writable: true, configurable: true });
	}
	spellings.set(out, spelled);
	return out;
}

/** A camelCase path through the normalized value, in the caller's spelling. */
function callerPath(root: unknown, path: readonly PropertyKey[], spellings: Spellings): string {
	let at: unknown = root;
	let out = "";
	for (const seg of path) {
		if (typeof seg === "number") {
			out += `[${seg}]`;
			at = Array.isArray(at) ? at[seg] : undefined;
			continue;
		}
		const key = String(seg);
		const obj = at !== null && typeof at === "object" ? (at as Record<string, unknown>) : undefined;
		out = join(out, (obj && spellings.get(obj)?.get(key)) ?? key);
		at = obj?.[key];
	}
	return out;
}

// ---- The schema (camelCase; strict: an unknown key is refused) ----------------------

/** An enum Google spells in capitals; read in any case, sent in capitals. */
const upper = <const T extends readonly [string, ...string[]]>(values: T) =>
	z
		.string()
		.transform((s) => s.trim().toUpperCase())
		.pipe(z.enum(values));

const InlineData = lazy(() => z.strictObject({ mimeType: z.string().min(1), data: z.string() }));

const Part = lazy(() =>
	z.strictObject({
		text: z.string().optional(),
		inlineData: InlineData().optional(),
		thought: z.boolean().optional(),
		thoughtSignature: z.string().optional(),
	}),
);

const Content = lazy(() => z.strictObject({ role: z.enum(["user", "model"]).optional(), parts: z.array(Part()).min(1) }));

const SystemInstruction = lazy(() =>
	z.strictObject({
		role: z.string().optional(),
		parts: z.array(z.strictObject({ text: z.string() })).min(1),
	}),
);

const ThinkingConfig = lazy(() =>
	z.strictObject({
		thinkingLevel: z
			.string()
			.transform((s) =>
				s
					.trim()
					.toLowerCase()
					.replace(/^thinking_level_/, ""),
			)
			.pipe(z.enum(THINKING_LEVELS))
			.optional(),
		thinkingBudget: z.number().int().min(-1).optional(),
		includeThoughts: z.boolean().optional(),
	}),
);

const GenerationConfig = lazy(() =>
	z.strictObject({
		responseModalities: z
			.array(upper(["TEXT", "IMAGE"]))
			.min(1)
			.optional(),
		candidateCount: z.number().int().min(1).max(1, "Gemini image models return one candidate; send parallel requests").optional(),
		maxOutputTokens: z.number().int().min(1).optional(),
		temperature: z.number().min(0).max(2).optional(),
		topP: z.number().min(0).max(1).optional(),
		topK: z.number().int().min(1).optional(),
		seed: z.number().int().optional(),
		// Can only shorten text output; @langchain/google-genai 2.3 sends [] on every call (its
		// source, 2026-12-03). Too many for Gemini is Gemini's own 400, unbilled.
		stopSequences: z.array(z.string()).optional(),
		imageConfig: z.strictObject({ aspectRatio: z.string().optional(), imageSize: z.string().optional() }).optional(),
		thinkingConfig: ThinkingConfig().optional(),
	}),
);

const Tool = lazy(() =>
	z.strictObject({
		googleSearch: z.strictObject({
			searchTypes: z.strictObject({ webSearch: z.strictObject({}).optional(), imageSearch: z.strictObject({}).optional() }).optional(),
			timeRangeFilter: z.strictObject({ startTime: z.string(), endTime: z.string() }).optional(),
		}),
	}),
);

/** Google's harm categories (the Gemini API takes a subset; it refuses the others itself, unbilled). */
const CATEGORIES = [
	"HARM_CATEGORY_HARASSMENT",
	"HARM_CATEGORY_HATE_SPEECH",
	"HARM_CATEGORY_SEXUALLY_EXPLICIT",
	"HARM_CATEGORY_DANGEROUS_CONTENT",
	"HARM_CATEGORY_CIVIC_INTEGRITY",
	"HARM_CATEGORY_IMAGE_HATE",
	"HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT",
	"HARM_CATEGORY_IMAGE_HARASSMENT",
	"HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT",
] as const;
/** Google's thresholds, strictest first; its default is BLOCK_MEDIUM_AND_ABOVE. */
const THRESHOLDS = ["BLOCK_LOW_AND_ABOVE", "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_ONLY_HIGH", "BLOCK_NONE", "OFF"] as const;
/** What a caller may ask for: as strict as Google's default, or stricter. */
export const STRICT_ENOUGH: readonly string[] = ["BLOCK_LOW_AND_ABOVE", "BLOCK_MEDIUM_AND_ABOVE"];

const SafetySetting = lazy(() => z.strictObject({ category: upper(CATEGORIES), threshold: upper(THRESHOLDS) }));

/** A generateContent body, camelCase (normalized first), strict at every level. */
export const GenerateBody = lazy(() =>
	z.strictObject({
		contents: z.array(Content()).min(1),
		systemInstruction: SystemInstruction().optional(),
		generationConfig: GenerationConfig().optional(),
		tools: z.array(Tool()).optional(),
		safetySettings: z.array(SafetySetting()).optional(),
	}),
);
export type GenerateBody = z.infer<ReturnType<typeof GenerateBody>>;

/**
 * The generateContent body the native route accepts, in camelCase (each field is also read
 * in snake_case); the route's OpenAPI request schema.
 */
export const NativeBody = lazy(() =>
	GenerateBody().describe(
		"Gemini's GenerateContentRequest, limited to what the gateway forwards; every field is also read in snake_case (generation_config.image_config.image_size). Any other field is a 400.",
	),
);

/** countTokens: plain contents, or a whole request wrapped (its `model` is rewritten upstream). */
export const CountBody = lazy(() =>
	z.strictObject({
		contents: z.array(Content()).min(1).optional(),
		generateContentRequest: GenerateBody().extend({ model: z.string().optional() }).optional(),
	}),
);

/** Why a field the schema does not know is refused, by its camelCase name. */
const REFUSED: Record<string, string> = {
	cachedContent: "cached content is not served through this gateway",
	serviceTier: "the service tier is not the caller's to choose here (the gateway's Batch lane is half price)",
	model: "the model is named in the URL path",
	toolConfig: "tools are limited to Google Search, so there is nothing to configure",
	labels: "labels are not forwarded",
	fileData: "fileData parts are not supported through the gateway; send the image as inlineData",
	functionCall: "function calling is not offered",
	functionResponse: "function calling is not offered",
	functionDeclarations: "only Google Search is offered as a tool",
	codeExecution: "only Google Search is offered as a tool",
	urlContext: "only Google Search is offered as a tool",
	googleSearchRetrieval: "only Google Search is offered as a tool (as googleSearch)",
	googleMaps: "only Google Search is offered as a tool",
	fileSearch: "only Google Search is offered as a tool",
	computerUse: "only Google Search is offered as a tool",
	responseMimeType: "image models answer in their own format",
	responseSchema: "image models answer in their own format",
	responseJsonSchema: "image models answer in their own format",
	mediaResolution: "media resolution is the model's default here",
	speechConfig: "audio output is not offered",
};

/** The first problem zod found, as the 400 naming the field in the caller's spelling. */
function schemaError(error: z.ZodError, root: unknown, spellings: Spellings): ApiError {
	// A field the gateway does not forward is the most useful thing to name.
	const issue = error.issues.find((i) => i.code === "unrecognized_keys") ?? error.issues[0];
	if (issue.code === "unrecognized_keys") {
		const key = issue.keys[0];
		const param = callerPath(root, [...issue.path, key], spellings);
		const why = REFUSED[key] ?? "not a field this gateway forwards to Gemini (docs/api.md lists the accepted ones)";
		return apiError("unsupported_parameter", `${param}: ${why}`, { param });
	}
	const param = callerPath(root, issue.path, spellings);
	return invalidParam(param || null, param ? `${param}: ${issue.message}` : issue.message);
}

/** 400 `feature_not_allowed`: a field the schema knows, with a value the operator has not enabled. */
export function notAllowed(param: string, message: string): ApiError {
	return apiError("feature_not_allowed", `${param}: ${message}`, { param });
}

/** Parses `value` with `schema` in either spelling; throws the 400 naming the caller's field. */
export function readSpelled<T extends z.ZodType>(
	schema: T,
	value: unknown,
): { body: z.infer<T>; param: (path: readonly PropertyKey[]) => string } {
	const spellings: Spellings = new WeakMap();
	const root = normalize(value, "", spellings);
	const param = (path: readonly PropertyKey[]) => callerPath(root, path, spellings);
	const parsed = schema.safeParse(root);
	if (!parsed.success) throw schemaError(parsed.error, root, spellings);
	return { body: parsed.data, param };
}
