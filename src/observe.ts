/**
 * What each request reports about itself: phase timings (the `Server-Timing` header on
 * every API response) and one structured JSON log line (Workers Logs indexes its fields).
 *
 * The `observe` middleware gives every request a RequestTrace, reachable from anywhere in
 * the request's async flow through Hono's context storage (AsyncLocalStorage, the
 * `nodejs_als` compatibility flag), so the few places that do the work mark their phase
 * with `timed(...)` without a trace being passed through every signature. Outside a
 * request (queue consumer, cron) there is no trace and `timed` just runs the function.
 */
import { tryGetContext } from "hono/context-storage";
import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import { ApiError } from "./errors";
import type { AppEnv } from "./types";

/** The phases of a billed request, in the order they happen. */
export const PHASES = ["auth", "admit", "upstream", "store", "settle"] as const;
export type Phase = (typeof PHASES)[number];

/** What the billed path knows about a request; the rest of the log line comes from the context. */
export interface TraceFields {
	dialect?: string;
	model?: string;
	upstreamModel?: string | null;
	/** The pool member that served each delivered image (its id; never a credential). */
	upstreams?: string[];
	errorCode?: string | null;
	creditsCharged?: number;
	images?: number;
	upstreamMs?: number | null;
}

const now = () => performance.now();
const ms = (v: number) => Math.round(v * 10) / 10;

export class RequestTrace {
	readonly started = now();
	readonly fields: TraceFields = {};
	/** Per phase, from its first start to its last end: the n parallel calls of a fan-out count once. */
	private readonly spans = new Map<Phase, { start: number; end: number }>();

	async time<T>(phase: Phase, fn: () => Promise<T>): Promise<T> {
		const start = now();
		try {
			return await fn();
		} finally {
			const end = now();
			const span = this.spans.get(phase);
			if (!span) this.spans.set(phase, { start, end });
			else {
				span.start = Math.min(span.start, start);
				span.end = Math.max(span.end, end);
			}
		}
	}

	note(fields: TraceFields): void {
		Object.assign(this.fields, fields);
	}

	/** Milliseconds per phase that ran, in phase order. */
	phases(): Partial<Record<Phase, number>> {
		const out: Partial<Record<Phase, number>> = {};
		for (const p of PHASES) {
			const span = this.spans.get(p);
			if (span) out[p] = ms(span.end - span.start);
		}
		return out;
	}

	/** `auth;dur=1.2, admit;dur=3, ..., total;dur=812.4`: the W3C Server Timing format browsers' devtools show. */
	serverTiming(totalMs: number): string {
		return [...Object.entries(this.phases()).map(([p, d]) => `${p};dur=${d}`), `total;dur=${ms(totalMs)}`].join(", ");
	}
}

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

/** The API surface, where every response carries Server-Timing. */
const API_PATH = /^\/(v1|v1beta|api\/v1)(\/|$)/;

/** Which dialect a request speaks when the billed path has not said. */
function dialectOf(path: string, errorStyle: string | undefined): string | null {
	if (path.startsWith("/admin")) return "admin";
	if (path.startsWith("/images/")) return "images";
	if (errorStyle === "google") return "gemini";
	if (path.startsWith("/api/v1/")) return "vydra";
	if (path === "/v1/images/generate") return "nanobananaapi";
	if (path.startsWith("/v1/")) return "openai";
	return null;
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
	if (API_PATH.test(c.req.path)) c.res.headers.set("server-timing", trace.serverTiming(total));
	const f = trace.fields;
	const thrown = c.error instanceof ApiError ? c.error.code : c.error ? "internal_error" : undefined;
	console.log(
		JSON.stringify({
			event: "request",
			request_id: c.var.requestId,
			method: c.req.method,
			route: routePath(c) || null,
			status: c.res.status,
			dialect: f.dialect ?? dialectOf(c.req.path, c.var.errorStyle),
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
