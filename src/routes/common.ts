/**
 * Small builders every generation route shares, so no dialect re-derives billing,
 * pipeline or input settings from the request.
 */
import type { Context } from "hono";
import type { GatewayConfig } from "../config";
import type { InputLimits } from "../inputs/images";
import type { BilledCall } from "../pipeline/billed";
import type { PipelineContext } from "../pipeline/generate";
import type { AppEnv } from "../types";

export function billedCall(c: Context<AppEnv>, config: GatewayConfig, rawBody: Uint8Array): BilledCall {
	return {
		env: c.env,
		config,
		caller: c.get("caller"),
		requestId: c.get("requestId"),
		rawBody,
		idempotencyKey: c.req.header("idempotency-key"),
	};
}

export function pipelineContext(c: Context<AppEnv>, config: GatewayConfig): PipelineContext {
	return { env: c.env, config, requestId: c.get("requestId"), keyId: c.get("caller").keyId, origin: new URL(c.req.url).origin };
}

export function inputLimits(config: GatewayConfig): InputLimits {
	return {
		maxImageBytes: config.maxImageBytes,
		maxTotalBytes: config.maxTotalImageBytes,
		allowHttp: config.allowHttpImageUrls,
		fetchTimeoutMs: config.imageFetchTimeoutMs,
		maxRedirects: 3,
	};
}
