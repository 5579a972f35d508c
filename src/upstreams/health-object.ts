/**
 * UpstreamHealth: one Durable Object (named "global") where isolates pool what they know
 * about the upstreams. No request waits for it: each isolate calls `sync` in the
 * background (src/upstreams/shared.ts) every few seconds, and at once after a breaker
 * opened or a quota cooldown began, sending its changed state, its per-minute counts and
 * its in-flight numbers, and getting back the merged state of its upstreams. Routing
 * state (breakers, cooldowns, benches) is kept in SQLite so a per-day bench survives the
 * object being evicted; counts and in-flight numbers are kept in memory only.
 */
import { DurableObject } from "cloudflare:workers";
import { type Counts, emptyCounts, freshScope, merge, prune, type SharedScope } from "./health";

export interface SyncInput {
	isolate: string;
	/** Scopes whose state the isolate changed, with that state. */
	states: Record<string, SharedScope>;
	/** Per-minute counts since the last sync, by scope: [minute, counts]. */
	counts: Record<string, Array<[number, Counts]>>;
	inFlight: Record<string, number>;
	/** Scopes the isolate routes to: their merged state comes back. */
	want: string[];
}

export interface ScopeView {
	state: SharedScope;
	lastHour: Counts;
	inFlight: number;
	updatedAt: number | null;
}

/** An isolate's in-flight report counts for this long after it was sent. */
const IN_FLIGHT_TTL_MS = 30_000;

export class UpstreamHealth extends DurableObject<Env> {
	private readonly states = new Map<string, { state: SharedScope; updatedAt: number }>();
	private readonly minutes = new Map<string, Map<number, Counts>>();
	private readonly inFlight = new Map<string, Map<string, { n: number; at: number }>>();

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		ctx.blockConcurrencyWhile(async () => {
			ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS scopes (scope TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at INTEGER NOT NULL)");
			for (const row of ctx.storage.sql.exec<{ scope: string; state: string; updated_at: number }>("SELECT * FROM scopes")) {
				this.states.set(row.scope, { state: JSON.parse(row.state) as SharedScope, updatedAt: row.updated_at });
			}
		});
	}

	private save(scope: string, state: SharedScope, now: number): void {
		const before = this.states.get(scope);
		const text = JSON.stringify(state);
		if (before && JSON.stringify(before.state) === text) return;
		this.states.set(scope, { state, updatedAt: now });
		this.ctx.storage.sql.exec("INSERT OR REPLACE INTO scopes (scope, state, updated_at) VALUES (?, ?, ?)", scope, text, now);
	}

	/** Takes an isolate's news and answers with what every isolate knows about its upstreams. */
	async sync(input: SyncInput): Promise<{ states: Record<string, SharedScope> }> {
		const now = Date.now();
		for (const [scope, reported] of Object.entries(input.states)) {
			this.save(scope, prune(merge(this.states.get(scope)?.state ?? freshScope(), reported), now), now);
		}
		for (const [scope, rows] of Object.entries(input.counts)) {
			let m = this.minutes.get(scope);
			if (!m) {
				m = new Map();
				this.minutes.set(scope, m);
			}
			for (const [minute, c] of rows) {
				const total = m.get(minute) ?? emptyCounts();
				for (const k of Object.keys(total) as Array<keyof Counts>) total[k] += c[k] ?? 0;
				m.set(minute, total);
			}
			const oldest = Math.floor(now / 60_000) - 60;
			for (const minute of m.keys()) if (minute < oldest) m.delete(minute);
		}
		for (const [scope, n] of Object.entries(input.inFlight)) {
			let m = this.inFlight.get(scope);
			if (!m) {
				m = new Map();
				this.inFlight.set(scope, m);
			}
			m.set(input.isolate, { n, at: now });
		}
		const states: Record<string, SharedScope> = {};
		for (const scope of input.want) {
			const s = this.states.get(scope);
			if (s) states[scope] = prune(s.state, now);
		}
		return { states };
	}

	/** The operator's view of some upstreams: state, last hour's counts, in flight across isolates. */
	async view(scopes: string[]): Promise<Record<string, ScopeView>> {
		const now = Date.now();
		const from = Math.floor(now / 60_000) - 59;
		const out: Record<string, ScopeView> = {};
		for (const scope of scopes) {
			const lastHour = emptyCounts();
			for (const [minute, c] of this.minutes.get(scope) ?? []) {
				if (minute < from) continue;
				for (const k of Object.keys(lastHour) as Array<keyof Counts>) lastHour[k] += c[k];
			}
			let inFlight = 0;
			for (const r of this.inFlight.get(scope)?.values() ?? []) if (now - r.at < IN_FLIGHT_TTL_MS) inFlight += r.n;
			const s = this.states.get(scope);
			out[scope] = { state: s ? prune(s.state, now) : freshScope(), lastHour, inFlight, updatedAt: s?.updatedAt ?? null };
		}
		return out;
	}

	/** Forgets an upstream's cooldowns and opens its breaker's way (an operator's decision). */
	async reset(scope: string, at: number): Promise<SharedScope> {
		const current = this.states.get(scope)?.state ?? freshScope();
		const state = merge(current, { ...freshScope(), lastError: current.lastError, resetAt: at });
		this.save(scope, state, Date.now());
		return state;
	}
}
