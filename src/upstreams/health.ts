/**
 * What an isolate knows about the health of each upstream, by scope (an upstream id with
 * a hash of its endpoint and credential, so a rotated key starts healthy):
 *   - a circuit breaker: closed; open after 3 consecutive failures (5xx, no answer, too
 *     slow) for the upstream's Retry-After, else 10 s doubling to 5 min; half-open after
 *     that, letting one probe through; a refused credential opens it for 5 min at once;
 *   - quota cooldowns per model (Gemini's quotas are per project and model): a per-minute
 *     429 cools briefly, a per-day one benches until midnight Pacific (src/upstreams/triage.ts);
 *   - in flight and per-minute counts for the last hour.
 * The state that matters to routing (`SharedScope`) merges with other isolates' through
 * src/upstreams/shared.ts; merging keeps the most recent fact, so both sides use `merge`.
 */
import type { QuotaWindow, Verdict } from "./triage";

export const FAILURE_THRESHOLD = 3;
export const BREAKER_BASE_MS = 10_000;
export const BREAKER_MAX_MS = 5 * 60_000;
export const AUTH_OPEN_MS = 5 * 60_000;

export interface ErrorNote {
	at: number;
	status: number | null;
	kind: string;
	message: string;
}

export interface QuotaNote {
	until: number;
	window: QuotaWindow;
	quotaId?: string;
	/** When it was set, or (`cleared`) when a success ended it. */
	at: number;
	cleared?: boolean;
}

/** The routing-relevant state of one upstream, as shared between isolates. */
export interface SharedScope {
	breaker: { open: boolean; until: number; opens: number; at: number };
	quotas: Record<string, QuotaNote>;
	last429: Record<string, number>;
	lastError: ErrorNote | null;
	/** An operator reset: anything older is forgotten. */
	resetAt: number;
}

export interface Counts {
	requests: number;
	successes: number;
	status_429: number;
	status_5xx: number;
	network_errors: number;
}

export const emptyCounts = (): Counts => ({ requests: 0, successes: 0, status_429: 0, status_5xx: 0, network_errors: 0 });

export function freshScope(): SharedScope {
	return { breaker: { open: false, until: 0, opens: 0, at: 0 }, quotas: {}, last429: {}, lastError: null, resetAt: 0 };
}

/** Both sides' knowledge combined: the later fact wins; a reset drops what came before it. */
export function merge(a: SharedScope, b: SharedScope): SharedScope {
	const resetAt = Math.max(a.resetAt, b.resetAt);
	const breaker = a.breaker.at >= b.breaker.at ? a.breaker : b.breaker;
	const quotas: Record<string, QuotaNote> = {};
	for (const src of [a.quotas, b.quotas]) {
		for (const [model, q] of Object.entries(src)) {
			if (q.at < resetAt) continue;
			if (!quotas[model] || quotas[model].at < q.at) quotas[model] = q;
		}
	}
	const last429: Record<string, number> = { ...a.last429 };
	for (const [model, at] of Object.entries(b.last429)) last429[model] = Math.max(last429[model] ?? 0, at);
	const lastError = !a.lastError ? b.lastError : !b.lastError ? a.lastError : a.lastError.at >= b.lastError.at ? a.lastError : b.lastError;
	return { breaker: breaker.at < resetAt ? freshScope().breaker : breaker, quotas, last429, lastError, resetAt };
}

/**
 * Drops cooldowns that are over, so snapshots stay small. A cleared one is kept until it
 * would have ended: dropped earlier, an isolate that missed the clearing could bring it back.
 */
export function prune(s: SharedScope, now: number): SharedScope {
	const quotas: Record<string, QuotaNote> = {};
	for (const [model, q] of Object.entries(s.quotas)) if (q.until > now) quotas[model] = q;
	return { ...s, quotas };
}

/** Why an upstream cannot take a call for a model now, and until when. */
export type Availability =
	| { ok: true; probe: boolean }
	| { ok: false; why: "cooling" | "benched" | "open" | "probing" | "full"; until: number };

interface Local {
	shared: SharedScope;
	failures: number;
	probing: boolean;
	inFlight: number;
	minutes: Map<number, Counts>;
}

/** One isolate's view. `onChange` is told when shared state changed (to publish it). */
export class HealthBoard {
	private readonly scopes = new Map<string, Local>();
	/** Scopes whose shared state changed since the last publication. */
	readonly changed = new Set<string>();
	/** Per-minute counts not yet published, by scope. */
	readonly unpublished = new Map<string, Map<number, Counts>>();

	private local(scope: string): Local {
		let l = this.scopes.get(scope);
		if (!l) {
			l = { shared: freshScope(), failures: 0, probing: false, inFlight: 0, minutes: new Map() };
			this.scopes.set(scope, l);
		}
		return l;
	}

	shared(scope: string): SharedScope {
		return this.local(scope).shared;
	}

	inFlight(scope: string): number {
		return this.local(scope).inFlight;
	}

	/** Adopts what other isolates know. */
	adopt(scope: string, remote: SharedScope): void {
		const l = this.local(scope);
		l.shared = merge(l.shared, remote);
		if (l.shared.resetAt > 0 && l.shared.breaker.at < l.shared.resetAt) l.failures = 0;
	}

	/** Whether `scope` may take a call for `model` now. */
	availability(scope: string, model: string, now: number, maxConcurrency?: number): Availability {
		const l = this.local(scope);
		const b = l.shared.breaker;
		if (b.open && now < b.until) return { ok: false, why: "open", until: b.until };
		const q = l.shared.quotas[model];
		if (q && !q.cleared && now < q.until) return { ok: false, why: q.window === "day" ? "benched" : "cooling", until: q.until };
		if (maxConcurrency !== undefined && l.inFlight >= maxConcurrency) return { ok: false, why: "full", until: now + 1_000 };
		if (b.open) {
			// Half-open: one probe at a time from this isolate.
			if (l.probing) return { ok: false, why: "probing", until: now + 1_000 };
			return { ok: true, probe: true };
		}
		return { ok: true, probe: false };
	}

	/** When `model` was last rate limited here (0: never). */
	last429(scope: string, model: string): number {
		return this.local(scope).shared.last429[model] ?? 0;
	}

	private count(l: Local, scope: string, now: number, field: keyof Counts): void {
		const minute = Math.floor(now / 60_000);
		for (const map of [l.minutes, this.pending(scope)]) {
			const c = map.get(minute) ?? emptyCounts();
			c[field]++;
			map.set(minute, c);
		}
		for (const m of l.minutes.keys()) if (m < minute - 60) l.minutes.delete(m);
	}

	private pending(scope: string): Map<number, Counts> {
		let m = this.unpublished.get(scope);
		if (!m) {
			m = new Map();
			this.unpublished.set(scope, m);
		}
		return m;
	}

	/** A call starts (a probe when the breaker is half-open). */
	begin(scope: string, probe: boolean, now: number): void {
		const l = this.local(scope);
		l.inFlight++;
		if (probe) l.probing = true;
		this.count(l, scope, now, "requests");
	}

	/** A call ended well: the breaker closes and the model's quota cooldown (if any) ends. */
	succeeded(scope: string, model: string, probe: boolean, now: number): void {
		const l = this.local(scope);
		this.end(l, probe);
		this.count(l, scope, now, "successes");
		l.failures = 0;
		const s = l.shared;
		if (s.breaker.open || s.breaker.opens > 0) {
			s.breaker = { open: false, until: 0, opens: 0, at: now };
			this.changed.add(scope);
		}
		const q = s.quotas[model];
		if (q && !q.cleared) {
			s.quotas[model] = { ...q, cleared: true, at: now };
			this.changed.add(scope);
		}
	}

	/** A call failed; what it means for the upstream comes from triage. */
	failed(scope: string, model: string, probe: boolean, verdict: Verdict, note: ErrorNote, now: number): void {
		const l = this.local(scope);
		this.end(l, probe);
		const s = l.shared;
		if (verdict.kind === "request" || verdict.kind === "gone") return; // says nothing about the upstream's health
		s.lastError = note;
		this.changed.add(scope);
		if (verdict.kind === "quota") {
			this.count(l, scope, now, "status_429");
			s.quotas[model] = { until: verdict.until, window: verdict.window, quotaId: verdict.quotaId, at: now };
			s.last429[model] = now;
			return;
		}
		this.count(l, scope, now, verdict.kind === "server" || verdict.kind === "auth" ? "status_5xx" : "network_errors");
		if (verdict.kind === "auth") {
			s.breaker = { open: true, until: now + AUTH_OPEN_MS, opens: s.breaker.opens + 1, at: now };
			return;
		}
		l.failures++;
		if (probe || l.failures >= FAILURE_THRESHOLD) {
			const backoff = Math.min(BREAKER_MAX_MS, BREAKER_BASE_MS * 2 ** s.breaker.opens);
			const wait = Math.max(backoff, verdict.retryAfterMs ?? 0);
			s.breaker = { open: true, until: now + wait, opens: s.breaker.opens + 1, at: now };
			l.failures = 0;
		}
	}

	/** A call ended in a way that says nothing about the upstream's health (our own failure). */
	released(scope: string, probe: boolean): void {
		this.end(this.local(scope), probe);
	}

	private end(l: Local, probe: boolean): void {
		l.inFlight = Math.max(0, l.inFlight - 1);
		if (probe) l.probing = false;
	}

	/** An operator reset: breaker closed, cooldowns gone. */
	reset(scope: string, now: number): void {
		const l = this.local(scope);
		l.shared = { ...freshScope(), lastError: l.shared.lastError, resetAt: now };
		l.failures = 0;
		this.changed.add(scope);
	}

	/** This isolate's counts over the last hour. */
	lastHour(scope: string, now: number): Counts {
		const total = emptyCounts();
		const from = Math.floor(now / 60_000) - 59;
		for (const [minute, c] of this.local(scope).minutes) {
			if (minute < from) continue;
			for (const k of Object.keys(total) as Array<keyof Counts>) total[k] += c[k];
		}
		return total;
	}
}
