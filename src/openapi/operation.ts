/**
 * How an endpoint is described for the OpenAPI document: its path in OpenAPI's
 * template syntax, who may call it, and the zod schemas of its parameters, body and
 * answers. Request schemas are the ones the routes parse with (exported from
 * src/routes); answers come from ./responses.ts.
 */
import type { z } from "zod";

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

/** What each error status means across the API (the message says which case it is). */
export const ERROR_MEANINGS: Record<number, string> = {
	400: "Invalid request: the message names the parameter (`param`)",
	401: "Missing or invalid API key or admin token",
	402: "insufficient_credits: the balance cannot hold price x n",
	403: "key_revoked, or the admin API is disabled",
	404: "No such resource, model or route",
	409: "idempotency_in_flight, a conflicting conversation edit, or job_in_running_batch",
	413: "payload_too_large: the body exceeds its cap",
	415: "Unsupported content type",
	422: "content_policy_violation (with Gemini's reason) or idempotency_key_reused",
	429: "rate_limit_exceeded (`param` names the limit), with Retry-After and RateLimit-* headers; or Gemini's quota",
	502: "upstream_error: Gemini failed or returned no usable image",
	504: "upstream_timeout: Gemini did not answer within the deadline",
};

/** Errors every billed generation can answer with. */
export const GENERATION_ERRORS = [400, 401, 402, 403, 404, 409, 413, 415, 422, 429, 502, 504] as const;
