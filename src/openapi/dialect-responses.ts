/**
 * zod schemas of the answers of chat completions and OpenRouter's Images API, for the
 * OpenAPI document (kept apart from ./responses.ts, which holds the rest). Real answers
 * are checked against them in test/node/openapi.test.ts.
 */
import { z } from "zod";

const ImageUrlPart = z.object({
	type: z.literal("image_url"),
	image_url: z.object({ url: z.string().describe("The stored image, or a data URL") }),
});

const ChatUsage = z.object({
	prompt_tokens: z.number().int(),
	completion_tokens: z.number().int(),
	total_tokens: z.number().int(),
	credits_charged: z.number().int().optional().describe("In a streamed answer's usage chunk"),
});

/** What a chat completion and its chunks share around their choices' content. */
function chatShape(object: string, content: z.ZodRawShape, finishReason: z.ZodType, usage: z.ZodType) {
	return z.object({
		id: z.string(),
		object: z.literal(object),
		created: z.number().int(),
		model: z.string(),
		choices: z.array(z.object({ index: z.number().int(), ...content, logprobs: z.null(), finish_reason: finishReason })),
		usage,
	});
}

export const ChatCompletion = chatShape(
	"chat.completion",
	{
		message: z.object({
			role: z.literal("assistant"),
			content: z.string().describe("Gemini's text (may be empty)"),
			refusal: z.null(),
			images: z.array(ImageUrlPart),
		}),
	},
	z.literal("stop"),
	ChatUsage,
).describe("One choice per delivered image; images where OpenRouter puts them");

export const ChatCompletionChunk = chatShape(
	"chat.completion.chunk",
	{
		delta: z.object({
			role: z.literal("assistant").optional(),
			content: z.string().optional(),
			images: z.array(ImageUrlPart).optional(),
		}),
	},
	z.literal("stop").nullable(),
	ChatUsage.optional(),
).describe("One event of a streamed answer (`data: <chunk>`), ending with `data: [DONE]`");

export const OpenRouterImagesResponse = z.object({
	created: z.number().int(),
	data: z.array(z.object({ b64_json: z.string().optional(), url: z.string().optional(), media_type: z.string() })),
	usage: z.object({
		prompt_tokens: z.number().int(),
		completion_tokens: z.number().int(),
		total_tokens: z.number().int(),
		cost: z.number().describe("What the call cost in US dollars (OpenRouter's credits): credits_charged x $0.0001"),
		images: z.number().int(),
		credits_charged: z.number().int(),
	}),
});

const Prices = z.record(z.string(), z.number().int()).nullable();

export const OpenRouterImageModelList = z.object({
	data: z.array(
		z.object({
			id: z.string(),
			name: z.string(),
			description: z.string(),
			architecture: z.object({ input_modalities: z.array(z.string()), output_modalities: z.array(z.string()) }),
			supported_parameters: z.array(z.string()),
			parameters: z.looseObject({
				aspect_ratio: z.object({ values: z.array(z.string()) }),
				n: z.object({ min: z.number().int(), max: z.number().int() }),
			}),
			pricing: z.object({ unit: z.string(), standard: Prices, batch: Prices }),
			deprecated: z.boolean(),
		}),
	),
});
