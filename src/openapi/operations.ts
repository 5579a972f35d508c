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
import { json, ok, operations } from "./declare";
import * as D from "./dialect-responses";
import type { Operation } from "./operation";
import * as R from "./responses";

/** The multipart form of an edit: the parsed fields plus the files (`image` or repeated `image[]`). */
export const ImagesMultipart = ImagesForm().extend({
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

const images = operations("Images (OpenAI)", "key");
const resellers = operations("Reseller dialects", "key");
const chat = operations("Chat completions", "key");
const openRouter = operations("OpenRouter Images", "key");
const gemini = operations("Gemini native", "key", { google: true });
const catalog = operations("Models and prices", "public");
const geminiCatalog = operations("Gemini native", "public", { google: true });

const MODEL = { params: { model: "A model alias or raw Gemini id" } };
const LIFECYCLE = ["deprecation", "sunset", "link"];

const imageOps: Operation[] = [
	images.post("/v1/images/generations", "Generate images", ok("The images", R.ImagesResponse), {
		description:
			"OpenAI's images.generate with the gateway's extensions (aspect_ratio, image_size, reference images, conversation_id, async). `n` images are generated as parallel Gemini calls; credits are held for n and charged per delivered image.",
		body: json(ImagesBody()),
		billed: "async",
	}),
	images.post("/v1/images/edits", "Edit or compose images", ok("The edited images", R.ImagesResponse), {
		description:
			"Multipart as the openai SDK sends it (`image` or repeated `image[]`), or JSON with URLs, data URLs or base64. `mask` is refused: describe the region in the prompt. Without `response_format`, each image carries both `url` and `b64_json` (the AI SDK's OpenAI provider reads `b64_json`, this gateway's clients `url`).",
		body: { json: ImagesBody(), multipart: ImagesMultipart, required: true },
		billed: "async",
	}),
	resellers.post("/v1/images/generate", "NanoBananaAPI-style generation", ok("The images", R.NanoBananaApiResponse), {
		description: "`image_size` is an aspect ratio in this dialect; `num` is n; `ref_images` are URLs.",
		body: json(NanoBananaApiBody()),
		billed: "async",
	}),
	resellers.post("/api/v1/models/{model}/edit", "Vydra-style generate or edit", ok("The image", R.VydraResponse), {
		...MODEL,
		description: "Generates from the prompt, or edits `imageUrl` when given (mode detected).",
		body: json(VydraBody()),
		billed: "async",
	}),
];

const CHAT_SSE = {
	type: "string",
	description: "`data: <ChatCompletionChunk JSON>` events (each image on its own), `: keep-alive` comments, then `data: [DONE]`",
};

/** Chat completions under OpenAI's path and OpenRouter's, and OpenRouter's Images API. */
const chatOps: Operation[] = [
	...["/v1/chat/completions", "/api/v1/chat/completions"].map((path) =>
		chat.post(
			path,
			path.startsWith("/api") ? "Chat completions with image output (OpenRouter's path)" : "Chat completions with image output",
			ok("The answer, or with `stream: true` an event stream of chunks", D.ChatCompletion, {
				media: { type: "text/event-stream", schema: CHAT_SSE },
			}),
			{
				description:
					"OpenRouter's chat dialect for image models: `messages` (text and image_url parts; system and developer messages become Gemini's system instruction), `modalities`, `image_config`, `n`, `stream`. Images come back in `choices[].message.images`: `image_output` `url` (the stored image) or `data_url`; unset, data URLs on `/api/v1` (as OpenRouter answers) and URLs on `/v1`. Gemini ids may be named `google/<id>`. Assistant messages with images this gateway made are sent to Gemini as their stored model turns, thought signatures included. Streamed, a failure after the 200 is an `error` event.",
				body: json(ChatBody()),
				billed: "sync",
			},
		),
	),
	openRouter.post("/api/v1/images", "Generate or edit images (OpenRouter's Images API)", ok("The images", D.OpenRouterImagesResponse), {
		description:
			"`resolution` is the image size; `input_references` are the edit's images; `response_format` is b64_json unless url is asked for. A parameter the model does not take is a 400 naming it. Gemini ids may be named as OpenRouter names them (`google/gemini-3.1-flash-image`). `usage` is OpenRouter's: tokens, and `cost` in US dollars (the credits charged times $0.0001).",
		body: json(OpenRouterImagesBody()),
		billed: "async",
	}),
	...["/api/v1/images/models", "/api/v1/models"].map((path) =>
		openRouter.get(
			path,
			path === "/api/v1/models" ? "Models (OpenRouter's models path)" : "Image models and the parameters each takes",
			ok("Every live model with its parameters, their values and prices; Gemini ids also as google/<id>", D.OpenRouterImageModelList),
		),
	),
];

const SSE = { type: "string", description: "`data: <GenerateContentResponse JSON>` events, CRLF-framed" };

/** Gemini's own routes, under both API versions @google/genai uses. */
const geminiOps: Operation[] = ["/v1beta", "/v1"].flatMap((v): Operation[] => [
	gemini.post(`${v}/models/{model}:generateContent`, `generateContent (${v.slice(1)})`, ok("Gemini's answer", R.GenerateContentResponse), {
		...MODEL,
		description:
			"Gemini's request, sent on with the gateway's key to the first live id of the model's chain. Metered per image part (holds 4 images).",
		body: json(NativeBody()),
		billed: "sync",
	}),
	gemini.post(
		`${v}/models/{model}:streamGenerateContent`,
		`streamGenerateContent (${v.slice(1)})`,
		ok("A JSON array of GenerateContentResponse, or an event stream with ?alt=sse", z.array(R.GenerateContentResponse), {
			media: { type: "text/event-stream", schema: SSE },
		}),
		{
			...MODEL,
			description: "A JSON array of responses, or server-sent events with `?alt=sse`. One element carries the whole answer.",
			query: z.object({ alt: z.enum(["sse"]).optional().describe("sse: server-sent events instead of a JSON array") }),
			body: json(NativeBody()),
			billed: "sync",
		},
	),
	gemini.post(
		`${v}/models/{model}:countTokens`,
		`countTokens (${v.slice(1)})`,
		ok("Gemini's token count", z.looseObject({ totalTokens: z.number().int().optional() })),
		{
			...MODEL,
			description: "Passed through to Gemini; not metered.",
			body: json(CountTokensBody),
			errors: [429, 502, 504],
		},
	),
]);

const modelOps: Operation[] = [
	catalog.get("/v1/models", "List models", ok("The catalog", z.union([R.ModelList, R.GoogleModelList])), {
		description:
			"Public. OpenAI's list shape with ratios, sizes, prices and lifecycle; Google's models.list shape when the request looks like @google/genai's (x-goog-api-key, x-goog-api-client, pageSize or pageToken).",
		query: GoogleModelsQuery(),
	}),
	catalog.get("/v1/models/{model}", "Get a model", ok("The model", z.union([R.Model, R.GoogleModel]), { headers: LIFECYCLE }), {
		...MODEL,
		description: "Public. Deprecated and retired ids answer with Deprecation, Sunset and Link headers.",
	}),
	geminiCatalog.get("/v1beta/models", "models.list", ok("A page of models", R.GoogleModelList), {
		description: "Public. Google's shape; retired ids are not listed (they still work).",
		query: GoogleModelsQuery(),
	}),
	geminiCatalog.get("/v1beta/models/{model}", "models.get", ok("The model", R.GoogleModel, { headers: LIFECYCLE }), MODEL),
	catalog.get("/v1/pricing", "Price list", ok("The prices", R.Pricing), {
		description: "Public. Credits per delivered image for each alias and size (1 credit = $0.0001 by default).",
	}),
];

/** The generation dialects and the catalog. */
export const DIALECT_OPERATIONS: Operation[] = [...imageOps, ...chatOps, ...geminiOps, ...modelOps];
