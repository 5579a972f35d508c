/**
 * Small builders every generation route shares, so no dialect re-derives billing,
 * pipeline or input settings from the request.
 */
import type { Context } from "hono";
import { z } from "zod";
import { invalidParam } from "../errors";
import { publicUrl } from "../inputs/public-url";
import { type AsyncOptions, submitJob } from "../jobs/submit";
import { lazy } from "../lib/lazy";
import { type GenerationAnswer, runBilledGeneration } from "../pipeline/billed";
import type { GenerationRequest } from "../pipeline/request";
import type { CallScope } from "../pipeline/scope";
import type { AppEnv } from "../types";

/**
 * The request's scope, built once per billed request. `rawBody` is what a repeated
 * Idempotency-Key is compared by. The key id is read when the pipeline runs, after
 * admission checked the key.
 */
export function callScope(c: Context<AppEnv>, rawBody: Uint8Array): CallScope {
	const caller = c.get("caller");
	return {
		env: c.env,
		config: c.get("config"),
		requestId: c.get("requestId"),
		origin: new URL(c.req.url).origin,
		get keyId() {
			return caller.keyId;
		},
		caller,
		errorStyle: c.get("errorStyle"),
		idempotency: { key: c.req.header("idempotency-key"), body: rawBody },
		waitUntil: (promise) => executionContext(c)?.waitUntil(promise),
	};
}

/** Hono throws when a request came without an execution context (direct app calls in tests). */
function executionContext(c: Context<AppEnv>): { waitUntil(promise: Promise<unknown>): void } | undefined {
	try {
		return c.executionCtx;
	} catch {
		return undefined;
	}
}

/** A generation as the caller asked for it: billed and answered now, or (`async`) queued as a job. */
export function runOrQueue(
	scope: CallScope,
	req: GenerationRequest,
	answer: GenerationAnswer & { async?: AsyncOptions },
): Promise<Response> {
	return answer.async ? submitJob(scope, req, answer.async) : runBilledGeneration(scope, req, answer);
}

export const SERVICE_TIERS = ["standard", "batch"] as const;
export type ServiceTier = (typeof SERVICE_TIERS)[number];

/** `service_tier` in a request body, as the routes parse and the OpenAPI document shows it. */
export const ServiceTierField = lazy(() =>
	z
		.enum(SERVICE_TIERS, { error: `service_tier must be one of: ${SERVICE_TIERS.join(", ")}` })
		.optional()
		.describe('"batch": run through Gemini\'s Batch API at the batch price (async requests only; results within 24 h)'),
);

/** `service_tier`: standard (default) or batch; anything else is a 400 listing both. */
export function serviceTierOf(value: unknown): ServiceTier {
	if (value === undefined || value === null) return "standard";
	if (typeof value === "string" && (SERVICE_TIERS as readonly string[]).includes(value)) return value as ServiceTier;
	throw invalidParam("service_tier", `service_tier must be one of: ${SERVICE_TIERS.join(", ")} (got ${JSON.stringify(value)})`);
}

const BATCH_NEEDS_ASYNC =
	'service_tier "batch" runs through Gemini\'s Batch API (half price, results within 24 h), so it needs an async request ("async": true or Prefer: respond-async)';

/**
 * Async mode: `"async": true` in the body or `Prefer: respond-async`. A `webhook_url`
 * (public https, same rules as image URLs) is only meaningful for async requests, and so
 * is `service_tier: "batch"`.
 */
export function asyncOptions(
	c: Context<AppEnv>,
	body: { async?: boolean; webhook_url?: string; service_tier?: unknown },
): AsyncOptions | undefined {
	const config = c.get("config");
	const wanted = body.async === true || /\brespond-async\b/i.test(c.req.header("prefer") ?? "");
	const tier = serviceTierOf(body.service_tier);
	if (tier === "batch" && !wanted) throw invalidParam("service_tier", BATCH_NEEDS_ASYNC);
	if (body.webhook_url !== undefined) {
		if (!wanted) throw invalidParam("webhook_url", 'webhook_url needs an async request ("async": true or Prefer: respond-async)');
		publicUrl(body.webhook_url, "webhook_url", config.allowHttpImageUrls);
	}
	return wanted ? { webhookUrl: body.webhook_url, tier } : undefined;
}

/** For routes that only answer synchronously: `service_tier` checked, batch refused. */
export function syncOnly(body: { async?: unknown; service_tier?: unknown }, route: string): void {
	if (serviceTierOf(body.service_tier) === "batch")
		throw invalidParam("service_tier", `${BATCH_NEEDS_ASYNC}; ${route} answers synchronously`);
	if (body.async !== undefined && body.async !== false)
		throw invalidParam("async", `${route} answers synchronously; send async requests to /v1/images/generations or /v1/images/edits`);
}
