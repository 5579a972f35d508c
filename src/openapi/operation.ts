/**
 * How an endpoint is described for the OpenAPI document: its path in OpenAPI's
 * template syntax, who may call it, and the zod schemas of its parameters, body and
 * answers. Request schemas are the ones the routes parse with (exported from
 * src/routes); answers come from ./responses.ts.
 */
import type { z } from "zod";
import { errorRows } from "../errors/codes";

export type Method = "get" | "head" | "post" | "patch" | "delete";

/** key: an API key (Bearer or x-goog-api-key); admin: ADMIN_TOKEN; public: none needed. */
export type Auth = "key" | "admin" | "public";

export interface Answer {
	description: string;
	/** JSON body; omitted for answers without one. */
	schema?: z.ZodType;
	/** A non-JSON body: its media type and JSON Schema. */
	media?: { type: string; schema: Record<string, unknown> };
	/** Names of header components (see HEADERS in ./document.ts) this answer carries. */
	headers?: readonly string[];
}

export interface Operation {
	method: Method;
	/** OpenAPI template, e.g. `/v1/jobs/{id}`. */
	path: string;
	tag: string;
	summary: string;
	description?: string;
	auth: Auth;
	/** Errors are Google-shaped on Gemini's own routes. */
	google?: boolean;
	/** Path parameters, one string each, with descriptions. */
	params?: Record<string, string>;
	query?: z.ZodObject;
	/** Request body: JSON and/or multipart schemas (what the route parses). */
	body?: { json?: z.ZodType; multipart?: z.ZodType; required?: boolean };
	/** Header parameters from the PARAMETERS components (Idempotency-Key, Prefer). */
	headerParams?: readonly string[];
	responses: Record<number, Answer>;
	/** Error statuses this route answers with besides the default. */
	errors: readonly number[];
}

/**
 * What each error status means across the API: the registry's codes for it, each with its
 * meaning (src/errors/codes.ts, also written out in docs/errors.md).
 */
export const ERROR_MEANINGS: Record<number, string> = Object.fromEntries(
	Map.groupBy(errorRows(), (r) => r.status)
		.entries()
		.map(([status, rows]) => [status, rows.map((r) => `- \`${r.code}\`: ${r.meaning}`).join("\n")]),
);

/** The default answer's description: a status the operation does not list, such as a 500. */
export const OTHER_ERRORS = `Any other error in the same shape (docs/errors.md lists every code), such as:\n${ERROR_MEANINGS[500]}`;

/** Errors every billed generation can answer with (503: every upstream of the model is cooling down). */
export const GENERATION_ERRORS = [400, 401, 402, 403, 404, 409, 413, 415, 422, 429, 502, 503, 504] as const;
