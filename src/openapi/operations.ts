/**
 * Every generation dialect's endpoints and the catalog's, described for the OpenAPI
 * document from the zod schemas their routes parse with. A route without an entry here,
 * in ./account-operations.ts or in ./admin-operations.ts fails
 * test/integration/openapi.test.ts.
 */
import { z } from "zod";
import { ChatBody } from "../routes/chat-completions";
import { NativeBody } from "../routes/gemini-native";
import { GoogleModelsQuery } from "../routes/models";
import { ImagesBody, ImagesForm } from "../routes/openai-images";
import { OpenRouterImagesBody } from "../routes/openrouter-images";
import { NanoBananaApiBody, VydraBody } from "../routes/resellers";
import * as D from "./dialect-responses";
import { GENERATION_ERRORS, type Operation } from "./operation";
import * as R from "./responses";

const BILLED = [
	"x-credits-charged",
	"x-credits-remaining",
	"ratelimit-limit",
	"ratelimit-remaining",
	"ratelimit-reset",
	"idempotent-replayed",
];
const ASYNC = {
	description: "Accepted as an async job (`async: true` or `Prefer: respond-async`): poll it",
	schema: R.Job,
	headers: ["location", "x-credits-held", "x-credits-remaining"],
};

/** The multipart form of an edit: the parsed fields plus the files (`image` or repeated `image[]`). */
export const ImagesMultipart = ImagesForm.extend({
	image: z
		.union([z.file(), z.array(z.file())])
		.optional()
		.describe("One or more reference images (PNG, JPEG, WebP, HEIC, HEIF)"),
	"image[]": z
		.union([z.file(), z.array(z.file())])
		.optional()
		.describe("Repeated form of image, as the openai SDK sends it"),
});

/** countTokens is passed to Gemini as sent (Gemini validates it); the model names are rewritten. */
export const CountTokensBody = z.looseObject({
	contents: z.array(z.unknown()).optional(),
	generateContentRequest: z.looseObject({}).optional(),
});

const imageOps: Operation[] = [
	{
		method: "post",
		path: "/v1/images/generations",
		tag: "Images (OpenAI)",
		summary: "Generate images",
		description:
			"OpenAI's images.generate with the gateway's extensions (aspect_ratio, image_size, reference images, conversation_id, async). `n` images are generated as parallel Gemini calls; credits are held for n and charged per delivered image.",
		auth: "key",
		body: { json: ImagesBody, required: true },
		headerParams: ["IdempotencyKey", "Prefer"],
		responses: { 200: { description: "The images", schema: R.ImagesResponse, headers: BILLED }, 202: ASYNC },
		errors: GENERATION_ERRORS,
	},
	{
		method: "post",
		path: "/v1/images/edits",
		tag: "Images (OpenAI)",
		summary: "Edit or compose images",
		description:
			"Multipart as the openai SDK sends it (`image` or repeated `image[]`), or JSON with URLs, data URLs or base64. `mask` is refused: describe the region in the prompt.",
		auth: "key",
		body: { json: ImagesBody, multipart: ImagesMultipart, required: true },
		headerParams: ["IdempotencyKey", "Prefer"],
		responses: { 200: { description: "The edited images", schema: R.ImagesResponse, headers: BILLED }, 202: ASYNC },
		errors: GENERATION_ERRORS,
	},
	{
		method: "post",
		path: "/v1/images/generate",
		tag: "Reseller dialects",
		summary: "NanoBananaAPI-style generation",
		description: "`image_size` is an aspect ratio in this dialect; `num` is n; `ref_images` are URLs.",
		auth: "key",
		body: { json: NanoBananaApiBody, required: true },
		headerParams: ["IdempotencyKey", "Prefer"],
		responses: { 200: { description: "The images", schema: R.NanoBananaApiResponse, headers: BILLED }, 202: ASYNC },
		errors: GENERATION_ERRORS,
	},
	{
		method: "post",
		path: "/api/v1/models/{model}/edit",
		tag: "Reseller dialects",
		summary: "Vydra-style generate or edit",
		description: "Generates from the prompt, or edits `imageUrl` when given (mode detected).",
		auth: "key",
		params: { model: "A model alias or raw Gemini id" },
		body: { json: VydraBody, required: true },
		headerParams: ["IdempotencyKey", "Prefer"],
		responses: { 200: { description: "The image", schema: R.VydraResponse, headers: BILLED }, 202: ASYNC },
		errors: GENERATION_ERRORS,
	},
];

const CHAT_SSE = {
	type: "string",
	description: "`data: <ChatCompletionChunk JSON>` events (each image on its own), `: keep-alive` comments, then `data: [DONE]`",
};

/** Chat completions under OpenAI's path and OpenRouter's, and OpenRouter's Images API. */
const chatOps: Operation[] = [
	...["/v1/chat/completions", "/api/v1/chat/completions"].map(
		(path): Operation => ({
			method: "post",
			path,
			tag: "Chat completions",
			summary: path.startsWith("/api") ? "Chat completions with image output (OpenRouter's path)" : "Chat completions with image output",
			description:
				"OpenRouter's chat dialect for image models: `messages` (text and image_url parts; system and developer messages become Gemini's system instruction), `modalities`, `image_config`, `n`, `stream`. Images come back in `choices[].message.images` (the stored URL, or a data URL with `image_output: data_url`). Assistant messages with images this gateway made are sent to Gemini as their stored model turns, thought signatures included. Streamed, a failure after the 200 is an `error` event.",
			auth: "key",
			body: { json: ChatBody, required: true },
			headerParams: ["IdempotencyKey"],
			responses: {
				200: {
					description: "The answer, or with `stream: true` an event stream of chunks",
					schema: D.ChatCompletion,
					media: { type: "text/event-stream", schema: CHAT_SSE },
					headers: BILLED,
				},
			},
			errors: GENERATION_ERRORS,
		}),
	),
	{
		method: "post",
		path: "/api/v1/images",
		tag: "OpenRouter Images",
		summary: "Generate or edit images (OpenRouter's Images API)",
		description:
			"`resolution` is the image size; `input_references` are the edit's images; `response_format` is b64_json unless url is asked for. A parameter the model does not take is a 400 naming it.",
		auth: "key",
		body: { json: OpenRouterImagesBody, required: true },
		headerParams: ["IdempotencyKey", "Prefer"],
		responses: { 200: { description: "The images", schema: D.OpenRouterImagesResponse, headers: BILLED }, 202: ASYNC },
		errors: GENERATION_ERRORS,
	},
	{
		method: "get",
		path: "/api/v1/images/models",
		tag: "OpenRouter Images",
		summary: "Image models and the parameters each takes",
		auth: "key",
		responses: {
			200: { description: "Every live model with its parameters, their values and prices", schema: D.OpenRouterImageModelList },
		},
		errors: [401],
	},
];

const SSE = { type: "string", description: "`data: <GenerateContentResponse JSON>` events, CRLF-framed" };

/** Gemini's own routes, under both API versions @google/genai uses. */
const geminiOps: Operation[] = ["/v1beta", "/v1"].flatMap((v): Operation[] => [
	{
		method: "post",
		path: `${v}/models/{model}:generateContent`,
		tag: "Gemini native",
		summary: `generateContent (${v.slice(1)})`,
		description:
			"Gemini's request, sent on with the gateway's key to the first live id of the model's chain. Metered per image part (holds 4 images).",
		auth: "key",
		google: true,
		params: { model: "A model alias or raw Gemini id" },
		body: { json: NativeBody, required: true },
		headerParams: ["IdempotencyKey"],
		responses: { 200: { description: "Gemini's answer", schema: R.GenerateContentResponse, headers: BILLED } },
		errors: GENERATION_ERRORS,
	},
	{
		method: "post",
		path: `${v}/models/{model}:streamGenerateContent`,
		tag: "Gemini native",
		summary: `streamGenerateContent (${v.slice(1)})`,
		description: "A JSON array of responses, or server-sent events with `?alt=sse`. One element carries the whole answer.",
		auth: "key",
		google: true,
		params: { model: "A model alias or raw Gemini id" },
		query: z.object({ alt: z.enum(["sse"]).optional().describe("sse: server-sent events instead of a JSON array") }),
		body: { json: NativeBody, required: true },
		headerParams: ["IdempotencyKey"],
		responses: {
			200: {
				description: "A JSON array of GenerateContentResponse, or an event stream with ?alt=sse",
				schema: z.array(R.GenerateContentResponse),
				media: { type: "text/event-stream", schema: SSE },
				headers: BILLED,
			},
		},
		errors: GENERATION_ERRORS,
	},
	{
		method: "post",
		path: `${v}/models/{model}:countTokens`,
		tag: "Gemini native",
		summary: `countTokens (${v.slice(1)})`,
		description: "Passed through to Gemini; not metered.",
		auth: "key",
		google: true,
		params: { model: "A model alias or raw Gemini id" },
		body: { json: CountTokensBody, required: true },
		responses: { 200: { description: "Gemini's token count", schema: z.looseObject({ totalTokens: z.number().int().optional() }) } },
		errors: [400, 401, 403, 404, 413, 429, 502, 504],
	},
]);

const modelOps: Operation[] = [
	{
		method: "get",
		path: "/v1/models",
		tag: "Models and prices",
		summary: "List models",
		description:
			"Public. OpenAI's list shape with ratios, sizes, prices and lifecycle; Google's models.list shape when the request looks like @google/genai's (x-goog-api-key, x-goog-api-client, pageSize or pageToken).",
		auth: "public",
		query: GoogleModelsQuery,
		responses: { 200: { description: "The catalog", schema: z.union([R.ModelList, R.GoogleModelList]) } },
		errors: [400, 401],
	},
	{
		method: "get",
		path: "/v1/models/{model}",
		tag: "Models and prices",
		summary: "Get a model",
		description: "Public. Deprecated and retired ids answer with Deprecation, Sunset and Link headers.",
		auth: "public",
		params: { model: "A model alias or raw Gemini id" },
		responses: { 200: { description: "The model", schema: z.union([R.Model, R.GoogleModel]), headers: ["deprecation", "sunset", "link"] } },
		errors: [401, 404],
	},
	{
		method: "get",
		path: "/v1beta/models",
		tag: "Gemini native",
		summary: "models.list",
		description: "Public. Google's shape; retired ids are not listed (they still work).",
		auth: "public",
		google: true,
		query: GoogleModelsQuery,
		responses: { 200: { description: "A page of models", schema: R.GoogleModelList } },
		errors: [400, 401],
	},
	{
		method: "get",
		path: "/v1beta/models/{model}",
		tag: "Gemini native",
		summary: "models.get",
		auth: "public",
		google: true,
		params: { model: "A model alias or raw Gemini id" },
		responses: { 200: { description: "The model", schema: R.GoogleModel, headers: ["deprecation", "sunset", "link"] } },
		errors: [401, 404],
	},
	{
		method: "get",
		path: "/v1/pricing",
		tag: "Models and prices",
		summary: "Price list",
		description: "Public. Credits per delivered image for each alias and size (1 credit = $0.0001 by default).",
		auth: "public",
		responses: { 200: { description: "The prices", schema: R.Pricing } },
		errors: [401],
	},
];

/** The generation dialects and the catalog. */
export const DIALECT_OPERATIONS: Operation[] = [...imageOps, ...chatOps, ...geminiOps, ...modelOps];
