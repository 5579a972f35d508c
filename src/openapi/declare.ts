/**
 * A small builder for the operation tables: each endpoint is declared in a line or a few
 * (method, path, summary, its answer, what is particular to it), and what follows from
 * its group and its shape is added here once: the tag, who may call it, the error
 * statuses its authentication, query, body and path parameters imply, and for billed
 * generations the billing headers, the Idempotency-Key and Prefer parameters, the 202 job
 * and every generation error.
 */
import type { z } from "zod";
import { type Answer, type Auth, GENERATION_ERRORS, type Method, type Operation } from "./operation";
import * as R from "./responses";

/** Headers of every billed answer. */
const BILLED = [
	"x-credits-charged",
	"x-credits-remaining",
	"ratelimit-limit",
	"ratelimit-remaining",
	"ratelimit-reset",
	"idempotent-replayed",
];

/** The 202 of a generation that can run as an async job. */
const ASYNC: Answer = {
	description: "Accepted as an async job (`async: true` or `Prefer: respond-async`): poll it",
	schema: R.Job,
	headers: ["location", "x-credits-held", "x-credits-remaining"],
};

/** What an operation states beyond its method, path, summary and answers. */
export interface OperationSpec {
	description?: string;
	/** Errors are Google-shaped on Gemini's own routes. */
	google?: boolean;
	params?: Record<string, string>;
	query?: z.ZodObject;
	body?: Operation["body"];
	/** Error statuses besides the ones its shape (and `billed`) imply: see impliedErrors. */
	errors?: readonly number[];
	/** Header parameters from the PARAMETERS components, for an operation that is not billed (a billed one has its own). */
	headerParams?: readonly string[];
	/**
	 * A billed generation: its 200 carries the billing headers, it takes Idempotency-Key,
	 * and it can answer every generation error; "async" adds Prefer and the 202 job.
	 */
	billed?: "sync" | "async";
}

/** A JSON answer (or, without a schema, one with no body) under one status. */
export function answer(status: number, description: string, schema?: z.ZodType, extra: Omit<Answer, "description" | "schema"> = {}) {
	return { [status]: { description, ...(schema ? { schema } : {}), ...extra } } as Record<number, Answer>;
}

/** A 200 answer. */
export const ok = (description: string, schema?: z.ZodType, extra?: Omit<Answer, "description" | "schema">) =>
	answer(200, description, schema, extra);

/** A 201 answer (something was created). */
export const created = (description: string, schema: z.ZodType) => answer(201, description, schema);

/** A required JSON request body. */
export const json = (schema: z.ZodType): Operation["body"] => ({ json: schema, required: true });

/**
 * The error statuses an operation's shape implies. A key or the admin token can be
 * missing or wrong (401) and refused (403: a revoked key, the admin API disabled); public
 * reads under /v1 check a key when one is sent, so a wrong one is a 401 there too. A
 * query or a body can be invalid (400), a body too large (413) or of the wrong type
 * (415); a path parameter can name nothing (404).
 */
function impliedErrors(op: Omit<Operation, "errors">): number[] {
	const errors = op.auth !== "public" ? [401, 403] : op.path.startsWith("/v1") ? [401] : [];
	if (op.query) errors.push(400);
	if (op.body) errors.push(400, 413, 415);
	if (op.params) errors.push(404);
	return errors;
}

type Declare = (path: string, summary: string, responses: Record<number, Answer>, spec?: OperationSpec) => Operation;

/** Declarers for one tag and one kind of caller: `g.get(path, summary, ok(...), {...})`. */
export function operations(tag: string, auth: Auth, shared: OperationSpec = {}): Record<Method, Declare> {
	const declare =
		(method: Method): Declare =>
		(path, summary, responses, spec = {}) => {
			const { billed, errors = [], ...rest } = { ...shared, ...spec };
			const billedErrors = billed ? GENERATION_ERRORS : [];
			const answers = billed ? { ...responses, 200: { ...responses[200], headers: BILLED } } : responses;
			const op = {
				method,
				path,
				tag,
				summary,
				auth,
				...rest,
				...(billed ? { headerParams: billed === "async" ? ["IdempotencyKey", "Prefer"] : ["IdempotencyKey"] } : {}),
				responses: billed === "async" ? { ...answers, 202: ASYNC } : answers,
			};
			// Listed once each, in order (the document keys them by status anyway).
			return { ...op, errors: [...new Set([...impliedErrors(op), ...billedErrors, ...errors])].sort((a, b) => a - b) };
		};
	return { get: declare("get"), head: declare("head"), post: declare("post"), patch: declare("patch"), delete: declare("delete") };
}
