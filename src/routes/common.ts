/**
 * Small builders every generation route shares, so no dialect re-derives billing,
 * pipeline or input settings from the request.
 */
import type { Context } from "hono";
import { invalidParam } from "../errors";
import { publicUrl } from "../inputs/public-url";
import type { AsyncOptions } from "../jobs/submit";
import type { BilledCall } from "../pipeline/billed";
import type { PipelineContext } from "../pipeline/generate";
import type { AppEnv } from "../types";

export function billedCall(c: Context<AppEnv>, rawBody: Uint8Array): BilledCall {
	return {
		env: c.env,
		config: c.get("config"),
		caller: c.get("caller"),
		requestId: c.get("requestId"),
		rawBody,
		idempotencyKey: c.req.header("idempotency-key"),
		errorStyle: c.get("errorStyle"),
		origin: new URL(c.req.url).origin,
	};
}

export function pipelineContext(c: Context<AppEnv>): PipelineContext {
	return {
		env: c.env,
		config: c.get("config"),
		requestId: c.get("requestId"),
		keyId: c.get("caller").keyId,
		origin: new URL(c.req.url).origin,
	};
}

/**
 * Async mode: `"async": true` in the body or `Prefer: respond-async`. A `webhook_url`
 * (public https, same rules as image URLs) is only meaningful for async requests.
 */
export function asyncOptions(c: Context<AppEnv>, body: { async?: boolean; webhook_url?: string }): AsyncOptions | undefined {
	const config = c.get("config");
	const wanted = body.async === true || /\brespond-async\b/i.test(c.req.header("prefer") ?? "");
	if (body.webhook_url !== undefined) {
		if (!wanted) throw invalidParam("webhook_url", 'webhook_url needs an async request ("async": true or Prefer: respond-async)');
		publicUrl(body.webhook_url, "webhook_url", config.allowHttpImageUrls);
	}
	return wanted ? { webhookUrl: body.webhook_url } : undefined;
}
