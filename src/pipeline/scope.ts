/**
 * What a request is, built once and handed through the pipeline instead of a row of
 * positional parameters:
 *   RequestScope  where the work runs and for whom: bindings, settings, request id,
 *                 origin and the key. The generation pipeline needs no more, so a queued
 *                 job (src/jobs/consumer.ts) builds one from its row.
 *   CallScope     a request a client is waiting on: also the caller's KeyAccount, how
 *                 its errors are written, its Idempotency-Key and body, and waitUntil.
 *                 Admission, settlement and async submission take this one.
 * Routes build a CallScope with `callScope(c, rawBody)` (src/routes/common.ts).
 */
import type { Caller } from "../account/caller";
import type { GatewayConfig } from "../config";
import type { ErrorStyle } from "../errors";

export interface RequestScope {
	env: Env;
	config: GatewayConfig;
	/** The request's id (a job's id when a queued job runs): image keys and log lines carry it. */
	requestId: string;
	/** This gateway's origin, for Worker-served image URLs and links in headers. */
	origin: string;
	/** The key the work is billed to; for a live request read only after admission checked the key. */
	readonly keyId: string;
}

/** What a repeated request is recognised by: its Idempotency-Key and its body. */
export interface Idempotency {
	/** The Idempotency-Key header as sent (checked at admission). */
	key: string | undefined;
	/** The request body as sent (multipart: a canonical form of it), hashed with the key. */
	body: Uint8Array;
}

export interface CallScope extends RequestScope {
	caller: Caller;
	/** How errors are written (Google's shape on Gemini's own routes). */
	errorStyle: ErrorStyle;
	idempotency: Idempotency;
	/** Keeps work alive after the response is sent (streamed answers settle at their end). */
	waitUntil?: (promise: Promise<unknown>) => void;
}
