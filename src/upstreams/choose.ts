/**
 * Which upstream takes a request's next attempt for a model: among those neither cooling
 * nor open (this isolate's HealthBoard, which shared health keeps current), the ones not
 * yet tried in this request first; among those, the ones not rate limited for the model
 * in the last five minutes, picked by weight; when every one was limited lately, the one
 * limited longest ago. A lone upstream is always tried (but never past its concurrency
 * cap): refusing it locally cannot help when there is nowhere else to go.
 */
import type { Availability } from "./health";
import { board, type Member } from "./pool";

/** Prefer upstreams not rate limited for this model within this window. */
const RECENT_429_MS = 5 * 60_000;

export type Choice = { kind: "call"; member: Member; probe: boolean; retry: boolean } | { kind: "wait"; until: number };

/** Which upstream takes the next attempt for `model`, or until when all are unavailable. */
export function choose(live: Member[], model: string, tried: ReadonlySet<string>, now: number, random = Math.random): Choice {
	const enforce = live.length > 1;
	const states = live.map((m) => {
		const a: Availability = board.availability(m.scope, model, now, m.spec.maxConcurrency);
		// A lone upstream is always tried (but never past its concurrency cap).
		return { m, a: !a.ok && !enforce && a.why !== "full" ? ({ ok: true, probe: false } as const) : a };
	});
	const open = states.filter((s) => s.a.ok);
	if (open.length === 0) return { kind: "wait", until: Math.min(...states.map((s) => (s.a.ok ? now : s.a.until))) };
	const fresh = open.filter((s) => !tried.has(s.m.scope));
	const pool = fresh.length > 0 ? fresh : open;
	const calm = pool.filter((s) => now - board.last429(s.m.scope, model) >= RECENT_429_MS);
	let picked = pool[0];
	if (calm.length > 0) {
		let r = random() * calm.reduce((sum, s) => sum + s.m.spec.weight, 0);
		picked = calm[calm.length - 1];
		for (const s of calm) {
			r -= s.m.spec.weight;
			if (r < 0) {
				picked = s;
				break;
			}
		}
	} else {
		for (const s of pool) if (board.last429(s.m.scope, model) < board.last429(picked.m.scope, model)) picked = s;
	}
	return { kind: "call", member: picked.m, probe: picked.a.ok && picked.a.probe, retry: fresh.length === 0 };
}
