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
 * the usual backoff. A 404 in Google's model-not-found words, confirmed by models.get
 * (src/upstreams/confirm.ts), marks the id gone at that upstream only; any other 404, or
 * one models.get contradicts, is about the request and ends it like other 4xx.
 *
 * Health is enforced only where there is a choice: a model that a single upstream serves
 * always goes there (its 429 passes through as a 429 with Google's delay, as without a
 * pool), because refusing locally cannot help when there is nowhere else to go. With two
 * or more, when every one is cooling the request waits if the earliest end is within one
 * backoff cap (GEMINI_RETRY_MAX_MS), else answers 503 `upstreams_unavailable` with
 * Retry-After at once, having called nothing.
 */
import { goneAt } from "../catalog/availability";
import type { ModelSpec } from "../catalog/catalog";
import { ConfigError, type GatewayConfig } from "../config";
import { type ApiError, apiError } from "../errors";
import { backoffMs, GeminiClient, sleep } from "../gemini/client";
import { GeminiError, GeminiTimeoutError } from "../gemini/errors";
import { choose } from "./choose";
import { confirmGone } from "./confirm";
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
	return new ChainWalk(env, config, model, members, check, attempt, signal).run();
}

/** One request's walk down the model's chain and across the pool, with what it has learnt so far. */
class ChainWalk<T> {
	private readonly scopes: string[];
	private readonly secrets: string[];
	private readonly deadline: number;
	private lastError: GeminiError | undefined;
	/** The last id an upstream answered 404 for. */
	private lastGone: string | undefined;
	private retries = 0;
	private attempted = false;
	private attempts = 0;

	constructor(
		private readonly env: Env,
		private readonly config: GatewayConfig,
		private readonly model: ModelSpec,
		private readonly members: Member[],
		private readonly check: (id: string) => void,
		private readonly attempt: (client: GeminiClient, id: string) => Promise<T>,
		private readonly signal: AbortSignal | undefined,
	) {
		this.scopes = members.map((m) => m.scope);
		this.secrets = members.flatMap((m) => m.secrets);
		sharedHealth.maybeSync(env, this.scopes, config.healthSyncMs);
		this.deadline = Date.now() + config.deadlineMs;
	}

	/** Each configured id of the chain in turn, then what is left to say when none answered. */
	async run(): Promise<Served<T>> {
		const { members, model } = this;
		const chain = model.chain;
		let lastConfigured: string | undefined;
		for (const id of chain) {
			if (!members.some((m) => configuredFor([m.spec], id).length > 0)) continue;
			lastConfigured = id;
			const served = await this.serve(id, false);
			if (served !== "next") return served;
		}
		// Every id is marked gone: try the last one anyway, in case the marks are stale.
		if (!this.attempted && !this.lastGone && lastConfigured) {
			const served = await this.serve(lastConfigured, true);
			if (served !== "next") return served;
		}
		if (this.lastGone) throw modelGone(model, this.lastGone);
		const problems = members.map(unusable).filter(Boolean);
		if (problems.length > 0) throw new ConfigError("UPSTREAMS", problems.join("; "));
		throw modelGone(model, lastConfigured ?? chain[chain.length - 1]);
	}

	/** Calls one id on the upstreams that serve it until one answers; "next" when none is left for it. */
	private async serve(id: string, ignoreGone: boolean): Promise<Served<T> | "next"> {
		const configured = this.members.filter((m) => configuredFor([m.spec], id).length > 0);
		const tried = new Set<string>();
		/** Upstreams that answered 404 for this id during this request (whatever the stored marks say). */
		const answered404 = new Set<string>();
		let checked = false;
		for (;;) {
			const usable = configured.filter((m) => !unusable(m) && !answered404.has(m.scope));
			const gone = await Promise.all(usable.map(async (m) => !ignoreGone && (await goneAt(this.env.DB, m.scope)).has(id)));
			const live = usable.filter((_, i) => !gone[i]);
			if (live.length === 0) return "next";
			if (!checked) {
				this.check(id);
				checked = true;
			}
			const now = Date.now();
			const choice = choose(live, id, tried, now);
			if (choice.kind === "wait") {
				await this.waitForCooling(id, choice.until, now);
				continue;
			}
			if (choice.retry) await this.beforeRetry();
			const m = choice.member;
			const elsewhere = live.some((o) => o !== m && !tried.has(o.scope));
			const answer = await this.callOn(m, choice.probe, id, elsewhere);
			if (answer === "gone") answered404.add(m.scope);
			else if (answer === "failed") tried.add(m.scope);
			else if (answer !== "again") return answer;
		}
	}

	/** Every live upstream is cooling: wait for the first when that is soon enough, else 503 at once. */
	private async waitForCooling(id: string, until: number, now: number): Promise<void> {
		const { config } = this;
		if (until - now <= config.retryMaxMs && until < this.deadline && this.retries < config.maxRetries) {
			this.retries++;
			await sleep(until - now, this.signal);
			return;
		}
		throw new UpstreamsUnavailableError(id, Math.max(1000, until - now), this.lastError);
	}

	/** Going back to an upstream already tried: only for what a retry can fix (not a refused key), after a backoff. */
	private async beforeRetry(): Promise<void> {
		const { config, lastError } = this;
		if (lastError && !lastError.retryable && !(lastError instanceof GeminiTimeoutError)) throw lastError;
		const wait = backoffMs(this.retries, lastError?.retryAfterMs, config.retryBaseMs, config.retryMaxMs);
		if (++this.retries > config.maxRetries || Date.now() + wait >= this.deadline) throw lastError;
		await sleep(wait, this.signal);
	}

	/**
	 * One call of `id` at `m`. Answers what was served, or what the failure means for the
	 * walk: "gone" (404 at m), "failed" (m is tried; choose again), "again" (m's credential
	 * is broken; choose again). Throws what ends the request.
	 */
	private async callOn(m: Member, probe: boolean, id: string, elsewhere: boolean): Promise<Served<T> | "gone" | "failed" | "again"> {
		const { config } = this;
		const remaining = this.deadline - Date.now();
		const client = new GeminiClient({
			endpoint: m.endpoint,
			maxRetries: 0,
			retryBaseMs: config.retryBaseMs,
			retryMaxMs: config.retryMaxMs,
			// A slow upstream must leave time to fail over when there is somewhere to go.
			deadlineMs: Math.max(1, elsewhere ? Math.min(remaining, config.attemptTimeoutMs) : remaining),
		});
		this.attempted = true;
		this.attempts++;
		board.begin(m.scope, probe, Date.now());
		try {
			const value = await this.attempt(client, id);
			board.succeeded(m.scope, id, probe, Date.now());
			return { value, upstreamModel: id, upstream: m.spec.id, attempts: this.attempts };
		} catch (error) {
			return await this.failed(m, probe, id, error);
		}
	}

	/** Records a failed call on the health board and decides what the walk does next (see callOn). */
	private async failed(m: Member, probe: boolean, id: string, error: unknown): Promise<"gone" | "failed" | "again"> {
		const failedAt = Date.now();
		if (error instanceof CredentialError) {
			board.released(m.scope, probe);
			m.unusable = error.message;
			console.error(JSON.stringify({ event: "upstream_unusable", upstream: m.spec.id, problem: error.message }));
			return "again";
		}
		if (!(error instanceof GeminiError)) {
			board.released(m.scope, probe); // not the upstream's doing (storage, a bug)
			throw error;
		}
		scrubError(error, this.secrets);
		const verdict = triage(error, failedAt);
		const note = { at: failedAt, status: error.status ?? null, kind: verdict.kind, message: error.message.slice(0, 300) };
		board.failed(m.scope, id, probe, verdict, note, failedAt);
		sharedHealth.maybeSync(this.env, this.scopes, this.config.healthSyncMs);
		if (error instanceof GeminiTimeoutError && failedAt >= this.deadline) throw error; // the request's own deadline
		if (this.signal?.aborted) throw error;
		if (verdict.kind === "gone") {
			// One caller's 404 must not take the model from everyone: only models.get's 404 does.
			const confirmed = await confirmGone(this.env.DB, m, id, this.config, this.deadline - Date.now());
			if (confirmed !== "gone") {
				console.log(JSON.stringify({ event: "upstream_404_not_model", upstream: m.spec.id, model: id, models_get: confirmed }));
				throw error;
			}
			console.log(JSON.stringify({ event: "upstream_model_gone", upstream: m.spec.id, model: id, alias: this.model.id }));
			this.lastGone = id;
			return "gone";
		}
		if (verdict.kind === "request") throw error;
		logAttempt(m, id, error, verdict);
		this.lastError = error;
		return "failed";
	}
}
