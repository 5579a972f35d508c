/**
 * What each request reports about itself: phase timings (the `Server-Timing` header on
 * every API response) and one structured JSON log line (Workers Logs indexes its fields).
 *
 * The `observe` middleware gives every request a RequestTrace (src/trace.ts), reachable from anywhere in
 * the request's async flow through Hono's context storage (AsyncLocalStorage, the
 * `nodejs_als` compatibility flag), so the few places that do the work mark their phase
 * with `timed(...)` without a trace being passed through every signature. Outside a
 * request (queue consumer, cron) there is no trace and `timed` just runs the function.
 */
import { tryGetContext } from "hono/context-storage";
import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import { ApiError } from "./errors";
import { ms, now, type Phase, RequestTrace, type TraceFields } from "./trace";
import type { AppEnv } from "./types";

/** The trace of the request being served, if there is one. */
export function currentTrace(): RequestTrace | undefined {
	return tryGetContext<AppEnv>()?.var.trace;
}

/** Runs `fn` as (part of) `phase` of the current request. */
export function timed<T>(phase: Phase, fn: () => Promise<T>): Promise<T> {
	const trace = currentTrace();
	return trace ? trace.time(phase, fn) : fn();
}

/** Sets fields of the current request's log line. */
export function noteRequest(fields: TraceFields): void {
	currentTrace()?.note(fields);
}

/**
 * Every request: a trace for the handlers, then `Server-Timing` on API responses and one
 * log line. The line holds ids, names, numbers and codes only: never a key, a token, a
 * prompt or a URL's query.
 */
export const observe = createMiddleware<AppEnv>(async (c, next) => {
	const trace = new RequestTrace();
	c.set("trace", trace);
	await next();
	const total = now() - trace.started;
	if (c.var.route.api) c.res.headers.set("server-timing", trace.serverTiming(total));
	const f = trace.fields;
	const thrown = c.error instanceof ApiError ? c.error.code : c.error ? "internal_error" : undefined;
	console.log(
		JSON.stringify({
			event: "request",
			request_id: c.var.requestId,
			method: c.req.method,
			route: routePath(c) || null,
			status: c.res.status,
			dialect: f.dialect ?? c.var.route.dialect,
			key_id: c.var.caller?.knownKeyId ?? null,
			model: f.model ?? null,
			upstream_model: f.upstreamModel ?? null,
			upstreams: f.upstreams ?? [],
			error_code: f.errorCode ?? thrown ?? null,
			credits_charged: f.creditsCharged ?? 0,
			images: f.images ?? 0,
			total_ms: ms(total),
			upstream_ms: f.upstreamMs ?? null,
			phases_ms: trace.phases(),
		}),
	);
});
