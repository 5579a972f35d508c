/**
 * The upstream pool as operators see it:
 *   GET  /admin/upstreams             each upstream: id, kind, where its credential comes from
 *                                     and a fingerprint (never the credential), state, in flight,
 *                                     the last hour's requests/successes/429s/5xx, cooldowns, last error
 *   POST /admin/upstreams/{id}/reset  forgets its cooldowns and closes its breaker (e.g. after a
 *                                     quota increase), in every isolate
 * Figures are the pool's across isolates (the UpstreamHealth object, after this isolate
 * published its own news), or this isolate's alone when sharing is off or unreachable.
 */
import { Hono } from "hono";
import { notFound } from "../errors";
import { ADMIN_FACTS } from "../route-facts";
import type { AppEnv } from "../types";
import type { Counts, SharedScope } from "../upstreams/health";
import type { ScopeView } from "../upstreams/health-object";
import { board, type Member, poolOf, sharedHealth, unusable } from "../upstreams/pool";
import { healthStub } from "../upstreams/shared";
import { tokenState } from "../upstreams/vertex-token";

const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);

function present(m: Member, s: SharedScope, lastHour: Counts, inFlight: number, now: number) {
	const quotas = Object.entries(s.quotas)
		.filter(([, q]) => !q.cleared && q.until > now)
		.map(([model, q]) => ({ model, window: q.window, quota_id: q.quotaId ?? null, until: iso(q.until) }));
	const open = s.breaker.open;
	const problem = unusable(m);
	const state = problem
		? "unusable"
		: open && now < s.breaker.until
			? "open"
			: open
				? "half_open"
				: quotas.length > 0
					? "limited"
					: "healthy";
	const cooldownUntil = open && now < s.breaker.until ? s.breaker.until : Math.max(0, ...quotas.map((q) => Date.parse(q.until ?? "")));
	const c = m.spec.credential;
	const last429 = Math.max(0, ...Object.values(s.last429));
	const token = c?.type === "service_account" ? tokenState(m.scope) : undefined;
	return {
		id: m.spec.id,
		kind: m.spec.kind,
		auth: c?.type === "service_account" ? "service_account" : m.spec.kind === "vertex" ? "express_api_key" : "api_key",
		credential: { source: m.spec.source, fingerprint: m.fingerprint },
		base_url: m.spec.baseUrl,
		project: m.spec.project ?? null,
		location: m.spec.location ?? null,
		weight: m.spec.weight,
		models: m.spec.models ?? null,
		max_concurrency: m.spec.maxConcurrency ?? null,
		state,
		problem: problem ?? null,
		in_flight: inFlight,
		last_hour: lastHour,
		cooldown_until: iso(cooldownUntil),
		quota_cooldowns: quotas,
		last_rate_limited_at: iso(last429),
		last_error: s.lastError ? { ...s.lastError, at: iso(s.lastError.at) } : null,
		...(token ? { vertex_token: { minted_here: token.mints, expires_at: iso(token.expiresAt) } } : {}),
	};
}

/** The pool's view (shared when possible); `shared` says where the figures come from. */
async function poolView(env: Env, members: Member[], syncMs: number) {
	const scopes = members.map((m) => m.scope);
	const stub = syncMs > 0 ? healthStub(env) : undefined;
	let views: Record<string, ScopeView> | undefined;
	let error: string | undefined;
	if (stub) {
		try {
			await sharedHealth.sync(stub, scopes);
			views = await stub.view(scopes);
		} catch (e) {
			error = String(e);
		}
	}
	const now = Date.now();
	return {
		shared: { across_isolates: views !== undefined, sync_interval_ms: syncMs, ...(error ? { error } : {}) },
		upstreams: members.map((m) => {
			const v = views?.[m.scope];
			board.adopt(m.scope, v?.state ?? board.shared(m.scope));
			const state = board.shared(m.scope);
			return v
				? present(m, state, v.lastHour, v.inFlight, now)
				: present(m, state, board.lastHour(m.scope, now), board.inFlight(m.scope), now);
		}),
	};
}

export const adminUpstreams = new Hono<AppEnv>()
	.use(ADMIN_FACTS)
	.get("/", async (c) => {
		const config = c.get("config");
		return c.json(await poolView(c.env, await poolOf(config), config.healthSyncMs));
	})
	.post("/:id/reset", async (c) => {
		const config = c.get("config");
		const members = await poolOf(config);
		const m = members.find((x) => x.spec.id === c.req.param("id"));
		if (!m) throw notFound(`No upstream ${c.req.param("id")}; the pool has ${members.map((x) => x.spec.id).join(", ") || "none"}`);
		const now = Date.now();
		board.reset(m.scope, now);
		const stub = config.healthSyncMs > 0 ? healthStub(c.env) : undefined;
		if (stub) board.adopt(m.scope, await stub.reset(m.scope, now));
		const view = await poolView(c.env, [m], config.healthSyncMs);
		return c.json(view.upstreams[0]);
	});
