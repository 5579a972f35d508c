/**
 * Google's Interactions API for image models (src/routes/interactions.ts), under both API
 * versions, described for the OpenAPI document. The body schema states what
 * src/interactions/request.ts accepts (it reads the body field by field, so each refusal
 * names the field as Google's clients spell it).
 */
import { z } from "zod";
import { json, ok, operations } from "./declare";
import type { Operation } from "./operation";

const Content = z.looseObject({
	type: z.enum(["text", "image"]),
	text: z.string().optional(),
	data: z.string().optional().describe("base64 image bytes"),
	uri: z.string().optional().describe("an https URL the gateway fetches"),
	mime_type: z.string().optional(),
});

/** A create body (CreateModelInteraction, image models only). */
export const InteractionBody = z.object({
	model: z.string().describe("An image model: an alias or a raw Gemini image id"),
	input: z
		.union([z.string(), Content, z.array(Content), z.array(z.object({ type: z.literal("user_input"), content: z.array(Content) }))])
		.describe("The instruction and any reference images (one turn)"),
	system_instruction: z.string().optional(),
	response_format: z
		.union([z.looseObject({ type: z.string() }), z.array(z.looseObject({ type: z.string() }))])
		.optional()
		.describe(
			'`{type: "image", aspect_ratio, image_size, mime_type: "image/jpeg" | "image/png", delivery: "inline" (default, base64) | "uri" (the stored image\'s URL)}`; a `{type: "text"}` entry is allowed',
		),
	response_modalities: z.array(z.string()).optional().describe('"image" and "text" only (deprecated by Google)'),
	stream: z.boolean().optional().describe("Server-sent events: interaction.created, step.start/delta/stop, interaction.completed"),
	background: z.boolean().optional().describe("Answer at once (`in_progress`) and run as an async job; poll GET"),
	store: z.boolean().optional().describe("false: kept nowhere, so GET cannot find it"),
	service_tier: z.literal("standard").optional(),
	labels: z.record(z.string(), z.string()).optional(),
});

const Usage = z.looseObject({
	total_input_tokens: z.number().int(),
	total_output_tokens: z.number().int(),
	total_tokens: z.number().int(),
});

/** The Interaction resource as the gateway answers it. */
export const Interaction = z.looseObject({
	id: z.string(),
	status: z.enum(["in_progress", "completed", "failed", "cancelled"]),
	object: z.literal("interaction"),
	model: z.string(),
	created: z.string(),
	updated: z.string(),
	usage: Usage.optional(),
	steps: z.array(z.looseObject({ type: z.literal("model_output"), content: z.array(Content) })),
	errors: z.array(z.object({ code: z.string(), message: z.string() })).optional(),
	credits_charged: z.number().int().optional().describe("The gateway's own field: credits the run was charged"),
});

const SSE = {
	type: "string",
	description: "`event: <type>` / `data: <event JSON>` server-sent events, each with an `event_id` (evt_N) a GET can resume after",
};

const g = operations("Interactions (Google)", "key", { google: true });
const ID = { params: { id: "The interaction's id (v1_...)" } };

export const INTERACTION_OPERATIONS: Operation[] = ["/v1", "/v1beta"].flatMap((v): Operation[] => [
	g.post(
		`${v}/interactions`,
		`interactions.create (${v.slice(1)})`,
		ok("The interaction (completed, or in_progress when background), or its events when streamed", Interaction, {
			media: { type: "text/event-stream", schema: SSE },
		}),
		{
			description:
				"One image run of the shared pipeline (generateContent upstream, so the meter charges from the answer Google bills). Held and charged as every dialect; background runs are async jobs.",
			body: json(InteractionBody),
			billed: "sync",
		},
	),
	g.get(
		`${v}/interactions/{id}`,
		`interactions.get (${v.slice(1)})`,
		ok("The interaction, or its events", Interaction, { media: { type: "text/event-stream", schema: SSE } }),
		{
			...ID,
			description: "`?stream=true` replays the events (after `last_event_id`) and follows a running interaction until it ends.",
			query: z.object({
				stream: z.enum(["true", "false"]).optional(),
				last_event_id: z.string().optional().describe("Resume after this event (evt_N)"),
			}),
		},
	),
	g.post(`${v}/interactions/{id}/cancel`, `interactions.cancel (${v.slice(1)})`, ok("The cancelled interaction", Interaction), {
		...ID,
		description: "A background interaction that has not started; its hold is released. Anything else is 400 FAILED_PRECONDITION.",
	}),
	g.delete(`${v}/interactions/{id}`, `interactions.delete (${v.slice(1)})`, ok("Deleted", z.object({})), {
		...ID,
		description: "Forgets the interaction (its images stay where they were stored).",
	}),
]);
