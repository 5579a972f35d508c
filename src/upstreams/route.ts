/**
 * One upstream call for a request: across the model's chain of Gemini ids and across the
 * pool, inside the request's single deadline (GEMINI_DEADLINE_MS). The caller is billed
 * by what is finally delivered, so however many attempts it takes it pays once.
 *
 * For each id of the chain (the next id only when this one is gone everywhere it was
 * configured): pick an upstream that serves it and is neither cooling nor open (weighted
 * by `weight`, preferring upstreams not rate limited in the last five minutes); on a 429,
 * 5xx, network failure, timeout or refused credential, move at once to an upstream not yet
 * tried in this request. First attempts on different upstreams are free; going back to an
 * upstream already tried is a retry, counted against GEMINI_MAX_RETRIES and preceded by
 * the usual backoff. A 404 marks the id gone at that upstream only. Other 4xx end it.
 *
 * Health is enforced only where there is a choice: a model that a single upstream serves
 * always goes there (its 429 passes through as a 429 with Google's delay, as without a
 * pool), because refusing locally cannot help when there is nowhere else to go. With two
 * or more, when every one is cooling the request waits if the earliest end is within one
 * backoff cap (GEMINI_RETRY_MAX_MS), else answers 503 `upstreams_unavailable` with
 * Retry-After at once, having called nothing.
 */
import { goneAt, rememberGone } from "../catalog/availability";
import type { ModelSpec } from "../catalog/catalog";
import { ConfigError, type GatewayConfig } from "../config";
import { type ApiError, apiError } from "../errors";
import { backoffMs, GeminiClient, sleep } from "../gemini/client";
import { GeminiError, GeminiTimeoutError } from "../gemini/errors";
import { choose } from "./choose";
import { board, type Member, poolOf, scrub, sharedHealth, unusable } from "./pool";
import { configuredFor, type UpstreamSpec } from "./spec";
import { triage, type Verdict } from "./triage";
import { CredentialError } from "./vertex-token";

/** Restricts a call to some upstreams, e.g. those with the Batch API; `what` names them in errors. */
export interface Only {
	accepts: (u: UpstreamSpec) => boolean;
	what: string;
}

/** Every upstream that could serve the model is cooling down (or at its concurrency cap). */
export class UpstreamsUnavailableError extends GeminiError {
	constructor(
		readonly model: string,
		retryAfterMs: number,
		cause?: GeminiError,
	) {
		super(`Every upstream that serves ${model} is cooling down`, { status: 503, retryable: true, retryAfterMs, cause });
	}
}

export interface Served<T> {
	value: T;
	/** The Gemini id that answered. */
	upstreamModel: string;
	/** The upstream (pool member id) that answered. */
	upstream: string;
	/** Calls made, failed ones included. */
	attempts: number;
}

/**
 * Throws unless some upstream is configured (and usable) for the model: 400 naming the
 * model, or 500 configuration_error when the only ones configured have broken credentials.
 * Cheap (configuration only), so routes call it before holding any credits.
 */
export function checkServed(config: GatewayConfig, model: ModelSpec, only?: Only): void {
	if (config.upstreams.length === 0) {
		throw new ConfigError("GEMINI_API_KEY", "no upstream is configured: set GEMINI_API_KEY, GEMINI_API_KEYS or UPSTREAMS");
	}
	const pool = only ? config.upstreams.filter(only.accepts) : config.upstreams;
	const configured = pool.filter((u) => model.chain.some((id) => configuredFor([u], id).length > 0));
	if (configured.length === 0) {
		throw apiError(
			"model_not_served",
			`No upstream of this gateway${only ? ` with ${only.what}` : ""} serves ${model.id} (${model.chain.join(", ")}); choose another model (GET /v1/models)`,
			{ param: "model" },
		);
	}
	if (configured.every((u) => u.problem)) throw new ConfigError("UPSTREAMS", configured.map((u) => u.problem).join("; "));
}

function scrubError(e: GeminiError, secrets: readonly string[]): void {
	e.message = scrub(e.message, secrets);
	if (e.body?.message) e.body.message = scrub(e.body.message, secrets);
}

function logAttempt(m: Member, model: string, e: GeminiError, v: Verdict): void {
	const until = v.kind === "quota" ? new Date(v.until).toISOString() : undefined;
	const window = v.kind === "quota" ? v.window : undefined;
	console.log(
		JSON.stringify({ event: "upstream_attempt_failed", upstream: m.spec.id, model, status: e.status ?? null, kind: v.kind, window, until }),
	);
}

function modelGone(model: ModelSpec, id: string): ApiError {
	return apiError(
		"upstream_model_not_found",
		`Gemini answered 404 NOT_FOUND for ${id}, the last upstream model ${model.id} can use. The operator must point ${model.id} at a current model (MODELS). You were not charged.`,
	);
}

/**
 * Runs `attempt` on the pool as described above. Throws the last upstream error when the
 * retries or the deadline run out, UpstreamsUnavailableError, a 400 ApiError (model not
 * served, or a successor that cannot do what is asked: `check`), a 502 when no id of the
 * chain exists any more, or a ConfigError.
 */
export async function routeCall<T>(
	env: Env,
	config: GatewayConfig,
	model: ModelSpec,
	check: (id: string) => void,
	attempt: (client: GeminiClient, id: string) => Promise<T>,
	opts: { signal?: AbortSignal; only?: Only } = {},
): Promise<Served<T>> {
	const { signal, only } = opts;
	checkServed(config, model, only);
	const members = (await poolOf(config)).filter((m) => !only || only.accepts(m.spec));
	const scopes = members.map((m) => m.scope);
	const secrets = members.flatMap((m) => m.secrets);
	sharedHealth.maybeSync(env, scopes, config.healthSyncMs);
	const deadline = Date.now() + config.deadlineMs;
	const chain = model.chain;
	let lastError: GeminiError | undefined;
	let lastGone: string | undefined;
	let retries = 0;
	let attempted = false;
	let attempts = 0;

	const serve = async (id: string, ignoreGone: boolean): Promise<Served<T> | "next"> => {
		const configured = members.filter((m) => configuredFor([m.spec], id).length > 0);
		const tried = new Set<string>();
		/** Upstreams that answered 404 for this id during this request (whatever the stored marks say). */
		const answered404 = new Set<string>();
		let checked = false;
		for (;;) {
			const usable = configured.filter((m) => !unusable(m) && !answered404.has(m.scope));
			const gone = await Promise.all(usable.map(async (m) => !ignoreGone && (await goneAt(env.DB, m.scope)).has(id)));
			const live = usable.filter((_, i) => !gone[i]);
			if (live.length === 0) return "next";
			if (!checked) {
				check(id);
				checked = true;
			}
			const now = Date.now();
			const choice = choose(live, id, tried, now);
			if (choice.kind === "wait") {
				if (choice.until - now <= config.retryMaxMs && choice.until < deadline && retries < config.maxRetries) {
					retries++;
					await sleep(choice.until - now, signal);
					continue;
				}
				throw new UpstreamsUnavailableError(id, Math.max(1000, choice.until - now), lastError);
			}
			if (choice.retry) {
				// Going back to an upstream already tried: only for what a retry can fix (not a refused key).
				if (lastError && !lastError.retryable && !(lastError instanceof GeminiTimeoutError)) throw lastError;
				const wait = backoffMs(retries, lastError?.retryAfterMs, config.retryBaseMs, config.retryMaxMs);
				if (++retries > config.maxRetries || Date.now() + wait >= deadline) throw lastError;
				await sleep(wait, signal);
			}
			const m = choice.member;
			const remaining = deadline - Date.now();
			const elsewhere = live.some((o) => o !== m && !tried.has(o.scope));
			const client = new GeminiClient({
				endpoint: m.endpoint,
				maxRetries: 0,
				retryBaseMs: config.retryBaseMs,
				retryMaxMs: config.retryMaxMs,
				// A slow upstream must leave time to fail over when there is somewhere to go.
				deadlineMs: Math.max(1, elsewhere ? Math.min(remaining, config.attemptTimeoutMs) : remaining),
			});
			attempted = true;
			attempts++;
			board.begin(m.scope, choice.probe, Date.now());
			try {
				const value = await attempt(client, id);
				board.succeeded(m.scope, id, choice.probe, Date.now());
				return { value, upstreamModel: id, upstream: m.spec.id, attempts };
			} catch (error) {
				const failedAt = Date.now();
				if (error instanceof CredentialError) {
					board.released(m.scope, choice.probe);
					m.unusable = error.message;
					console.error(JSON.stringify({ event: "upstream_unusable", upstream: m.spec.id, problem: error.message }));
					continue;
				}
				if (!(error instanceof GeminiError)) {
					board.released(m.scope, choice.probe); // not the upstream's doing (storage, a bug)
					throw error;
				}
				scrubError(error, secrets);
				const verdict = triage(error, failedAt);
				const note = { at: failedAt, status: error.status ?? null, kind: verdict.kind, message: error.message.slice(0, 300) };
				board.failed(m.scope, id, choice.probe, verdict, note, failedAt);
				sharedHealth.maybeSync(env, scopes, config.healthSyncMs);
				if (error instanceof GeminiTimeoutError && failedAt >= deadline) throw error; // the request's own deadline
				if (signal?.aborted) throw error;
				if (verdict.kind === "gone") {
					answered404.add(m.scope);
					await rememberGone(env.DB, m.scope, id, "404 NOT_FOUND");
					console.log(JSON.stringify({ event: "upstream_model_gone", upstream: m.spec.id, model: id, alias: model.id }));
					lastGone = id;
					continue;
				}
				if (verdict.kind === "request") throw error;
				logAttempt(m, id, error, verdict);
				tried.add(m.scope);
				lastError = error;
			}
		}
	};

	let lastConfigured: string | undefined;
	for (const id of chain) {
		if (!members.some((m) => configuredFor([m.spec], id).length > 0)) continue;
		lastConfigured = id;
		const served = await serve(id, false);
		if (served !== "next") return served;
	}
	// Every id is marked gone: try the last one anyway, in case the marks are stale.
	if (!attempted && !lastGone && lastConfigured) {
		const served = await serve(lastConfigured, true);
		if (served !== "next") return served;
	}
	if (lastGone) throw modelGone(model, lastGone);
	const problems = members.map(unusable).filter(Boolean);
	if (problems.length > 0) throw new ConfigError("UPSTREAMS", problems.join("; "));
	throw modelGone(model, lastConfigured ?? chain[chain.length - 1]);
}
