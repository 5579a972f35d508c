/**
 * Health shared between isolates without a round trip on any request's path: routing
 * reads this isolate's HealthBoard (memory), and a background `sync` with the
 * UpstreamHealth Durable Object publishes what changed here and brings back what other
 * isolates found. A sync starts when the last one is UPSTREAM_HEALTH_SYNC_MS old, or at
 * once when a breaker opened or a cooldown began here; it runs under `waitUntil`, so the
 * request that started it never waits for it. A fresh isolate routes on what it knows
 * (nothing) until its first sync returns, a few milliseconds later. With
 * UPSTREAM_HEALTH_SYNC_MS=0 every isolate keeps to itself.
 */
import { waitUntil } from "cloudflare:workers";
import { type HealthBoard, merge, type SharedScope } from "./health";
import type { SyncInput } from "./health-object";

/** The one object every isolate syncs with. */
export function healthStub(env: Env): DurableObjectStub<import("./health-object").UpstreamHealth> | undefined {
	const ns = env.UPSTREAM_HEALTH;
	return ns ? ns.get(ns.idFromName("global")) : undefined;
}

/** Keeps a background promise alive past the response (no request context in some tests: then it just runs). */
function inBackground(p: Promise<unknown>): void {
	try {
		waitUntil(p);
	} catch {
		// outside a request: nothing to extend
	}
}

export class HealthSync {
	private lastSync = 0;
	private running: Promise<void> | undefined;
	private lastFailureLog = 0;
	/** Syncs that completed, and the time of the last one (for /admin/upstreams). */
	completed = 0;
	syncedAt: number | null = null;

	/** Names this isolate in the object's in-flight figures; made at the first sync (random values are not allowed at module load). */
	private isolate: string | undefined;

	constructor(private readonly board: HealthBoard) {}

	/**
	 * Called on the request path: starts a background sync when one is due. Costs a few
	 * comparisons when none is.
	 */
	maybeSync(env: Env, scopes: readonly string[], intervalMs: number, now = Date.now()): void {
		if (intervalMs <= 0 || this.running) return;
		if (this.board.changed.size === 0 && now - this.lastSync < intervalMs) return;
		const stub = healthStub(env);
		if (!stub) return;
		this.lastSync = now;
		const p = this.sync(stub, scopes).finally(() => {
			this.running = undefined;
		});
		this.running = p;
		inBackground(p);
	}

	/** One sync, awaited (tests and the admin view call it directly). */
	async sync(stub: DurableObjectStub<import("./health-object").UpstreamHealth>, scopes: readonly string[]): Promise<void> {
		const states: Record<string, SharedScope> = {};
		for (const scope of this.board.changed) states[scope] = this.board.shared(scope);
		const counts: SyncInput["counts"] = {};
		for (const [scope, minutes] of this.board.unpublished) counts[scope] = [...minutes.entries()];
		const inFlight: Record<string, number> = {};
		for (const scope of scopes) inFlight[scope] = this.board.inFlight(scope);
		// Taken now: anything recorded while the call is out goes with the next one.
		this.board.changed.clear();
		this.board.unpublished.clear();
		try {
			this.isolate ??= crypto.randomUUID();
			const answer = await stub.sync({ isolate: this.isolate, states, counts, inFlight, want: [...scopes] });
			for (const [scope, remote] of Object.entries(answer.states)) this.board.adopt(scope, remote);
			this.completed++;
			this.syncedAt = Date.now();
		} catch (error) {
			// Put back what was not delivered (merged with anything newer) and try again later.
			for (const [scope, s] of Object.entries(states)) {
				this.board.adopt(scope, merge(s, this.board.shared(scope)));
				this.board.changed.add(scope);
			}
			const now = Date.now();
			if (now - this.lastFailureLog > 60_000) {
				this.lastFailureLog = now;
				console.error(JSON.stringify({ event: "upstream_health_sync_failed", error: String(error) }));
			}
		}
	}
}
