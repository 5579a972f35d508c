/**
 * The OpenAPI 3.1 document at `GET /openapi.json`, generated from zod: request bodies and
 * queries from the schemas the routes parse with, answers from ./responses.ts, converted
 * with zod's own `z.toJSONSchema` (JSON Schema 2020-12, OpenAPI 3.1's dialect). Request
 * schemas are converted as inputs (defaults optional, coercions as their input type),
 * answers as outputs. Built once per isolate; only `servers` follows the request.
 */
import { z } from "zod";
import { ControlsPatch } from "../billing/controls";
import { LimitsPatch } from "../billing/limits";
import { CreateKey, Grant, PatchKey } from "../routes/admin-keys";
import { ChatBody } from "../routes/chat-completions";
import { CreateConversation } from "../routes/conversations";
import { NativeBody } from "../routes/gemini-native";
import { ImagesBody } from "../routes/openai-images";
import { OpenRouterImagesBody } from "../routes/openrouter-images";
import { CreatePipeline, PatchPipeline } from "../routes/pipelines";
import { NanoBananaApiBody, VydraBody } from "../routes/resellers";
import { ACCOUNT_OPERATIONS } from "./account-operations";
import { ADMIN_OPERATIONS } from "./admin-operations";
import * as D from "./dialect-responses";
import { INTERACTION_OPERATIONS, InteractionBody } from "./interaction-operations";
import { ERROR_MEANINGS, type Operation, OTHER_ERRORS } from "./operation";
import { CountTokensBody, DIALECT_OPERATIONS, ImagesMultipart } from "./operations";
import * as R from "./responses";
import { HEADERS, INFO, PARAMETERS, SECURITY_SCHEMES, TAGS } from "./static";

type Json = Record<string, unknown>;

/** Every operation the gateway serves. */
export const OPERATIONS: readonly Operation[] = [
	...ACCOUNT_OPERATIONS,
	...DIALECT_OPERATIONS,
	...INTERACTION_OPERATIONS,
	...ADMIN_OPERATIONS,
];

const REQUESTS: Record<string, z.ZodType> = {
	ImagesRequest: ImagesBody(),
	ChatCompletionRequest: ChatBody(),
	OpenRouterImagesRequest: OpenRouterImagesBody(),
	ImagesEditForm: ImagesMultipart,
	NanoBananaApiRequest: NanoBananaApiBody(),
	VydraRequest: VydraBody(),
	GenerateContentRequest: NativeBody(),
	CountTokensRequest: CountTokensBody,
	InteractionRequest: InteractionBody,
	CreatePipelineRequest: CreatePipeline(),
	PatchPipelineRequest: PatchPipeline(),
	CreateConversationRequest: CreateConversation(),
	CreateKeyRequest: CreateKey(),
	PatchKeyRequest: PatchKey(),
	GrantRequest: Grant(),
	LimitsPatch: LimitsPatch(),
	ControlsPatch: ControlsPatch(),
};

const uri = (id: string) => `#/components/schemas/${id}`;

/** Converts a set of named schemas (one registry, one direction) into components. */
function components(
	named: Record<string, z.ZodType>,
	io: "input" | "output",
): { schemas: Record<string, Json>; names: Map<z.ZodType, string> } {
	const registry = z.registry<{ id: string }>();
	const names = new Map<z.ZodType, string>();
	for (const [id, schema] of Object.entries(named)) {
		registry.add(schema, { id });
		names.set(schema, id);
	}
	const out = z.toJSONSchema(registry, { io, uri, unrepresentable: "any" }).schemas as Record<string, Json>;
	for (const s of Object.values(out)) {
		delete s.$schema;
		delete s.$id;
	}
	return { schemas: out, names };
}

function build(): { base: Json } {
	const requests = components(REQUESTS, "input");
	const answers = components(
		Object.fromEntries(Object.entries({ ...R, ...D }).filter(([, v]) => v instanceof z.ZodType)) as Record<string, z.ZodType>,
		"output",
	);

	/** A $ref for a named schema, unions and arrays of named ones, or the schema inline. */
	const ref = (schema: z.ZodType, io: "input" | "output"): Json => {
		const name = (io === "input" ? requests : answers).names.get(schema);
		if (name) return { $ref: uri(name) };
		if (schema instanceof z.ZodUnion) return { anyOf: (schema.options as z.ZodType[]).map((o) => ref(o, io)) };
		if (schema instanceof z.ZodArray) return { type: "array", items: ref(schema.element as z.ZodType, io) };
		const inline = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Json;
		delete inline.$schema;
		return inline;
	};

	const headerRefs = (names: readonly string[] = []): Json =>
		Object.fromEntries(
			["x-request-id", ...names.filter((n) => n !== "x-request-id")].map((n) => [n, { $ref: `#/components/headers/${n}` }]),
		);

	const operation = (op: Operation): Json => {
		const parameters: Json[] = Object.entries(op.params ?? {}).map(([name, description]) => ({
			name,
			in: "path",
			required: true,
			description,
			schema: { type: "string" },
		}));
		if (op.query) {
			const q = z.toJSONSchema(op.query, { io: "input", unrepresentable: "any" }) as {
				properties?: Record<string, Json>;
				required?: string[];
			};
			for (const [name, schema] of Object.entries(q.properties ?? {})) {
				const { description, ...rest } = schema;
				parameters.push({
					name,
					in: "query",
					required: q.required?.includes(name) ?? false,
					...(description ? { description } : {}),
					schema: rest,
				});
			}
		}
		for (const p of op.headerParams ?? []) parameters.push({ $ref: `#/components/parameters/${p}` });

		const responses: Json = {};
		for (const [status, a] of Object.entries(op.responses)) {
			const content: Json = {};
			if (a.schema) content["application/json"] = { schema: ref(a.schema, "output") };
			if (a.media) content[a.media.type] = { schema: a.media.schema };
			responses[status] = { description: a.description, headers: headerRefs(a.headers), ...(a.schema || a.media ? { content } : {}) };
		}
		const error = { $ref: uri(op.google ? "GoogleErrorBody" : "ErrorBody") };
		for (const status of op.errors) {
			const headers =
				status === 429 ? ["retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy"] : [];
			responses[status] = {
				description: ERROR_MEANINGS[status] ?? "Error",
				headers: headerRefs(headers),
				content: { "application/json": { schema: error } },
			};
		}
		responses.default = {
			description: OTHER_ERRORS,
			headers: headerRefs(),
			content: { "application/json": { schema: error } },
		};

		const body: Json = {};
		if (op.body?.json) body["application/json"] = { schema: ref(op.body.json, "input") };
		if (op.body?.multipart) body["multipart/form-data"] = { schema: ref(op.body.multipart, "input") };

		return {
			operationId: `${op.method}${op.path.replace(/[^A-Za-z0-9]+(.)?/g, (_, ch: string | undefined) => (ch ? ch.toUpperCase() : ""))}`,
			tags: [op.tag],
			summary: op.summary,
			...(op.description ? { description: op.description } : {}),
			security: security(op),
			...(parameters.length > 0 ? { parameters } : {}),
			...(op.body ? { requestBody: { required: op.body.required ?? false, content: body } } : {}),
			responses,
		};
	};

	const paths: Record<string, Json> = {};
	for (const op of OPERATIONS) {
		paths[op.path] ??= {};
		paths[op.path][op.method] = operation(op);
	}
	return {
		base: {
			openapi: "3.1.0",
			info: INFO,
			tags: TAGS,
			paths,
			components: {
				schemas: { ...requests.schemas, ...answers.schemas },
				securitySchemes: SECURITY_SCHEMES,
				parameters: PARAMETERS,
				headers: HEADERS,
			},
		},
	};
}

function security(op: Operation): Json[] {
	if (op.auth === "admin") return [{ AdminToken: [] }];
	if (op.auth === "key") return [{ ApiKey: [] }, { GoogleApiKey: [] }];
	// Public reads under /v1 accept a key too (a wrong one is still a 401).
	return op.path.startsWith("/v1") ? [{}, { ApiKey: [] }, { GoogleApiKey: [] }] : [];
}

let cached: { base: Json } | undefined;

/** The document with `servers` set to the origin that asked. */
export function openApiDocument(origin: string): Json {
	cached ??= build();
	return { ...cached.base, servers: [{ url: origin }] };
}
