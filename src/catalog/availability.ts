/**
 * Which upstream ids are gone, per upstream endpoint: an id is gone when it answered
 * 404 NOT_FOUND, or when a complete models.list did not show it. Kept in this isolate's
 * memory and in D1 (table upstream_models), so a finding made by one request sends every
 * later request, in every isolate, straight to the successor. A listing that shows the id
 * again clears it. Isolates re-read D1 at most once a minute.
 */
import { goneModels, markModelGone } from "../storage/catalog";

const REFRESH_MS = 60_000;

interface Known {
	gone: Set<string>;
	loadedAt: number;
}

const known = new Map<string, Known>();

/** The ids known to be gone at this upstream (loaded from D1 when stale). */
export async function goneAt(db: D1Database, upstream: string, now = Date.now()): Promise<ReadonlySet<string>> {
	let entry = known.get(upstream);
	if (!entry || now - entry.loadedAt > REFRESH_MS) {
		const fresh: Known = { gone: new Set(entry?.gone ?? []), loadedAt: now };
		try {
			fresh.gone = new Set((await goneModels(db, upstream)).map((r) => r.model));
		} catch (error) {
			// D1 unreachable: keep what this isolate knows and try again in a minute.
			console.error(JSON.stringify({ event: "availability_load_failed", upstream, error: String(error) }));
		}
		entry = fresh;
		known.set(upstream, entry);
	}
	return entry.gone;
}

/** Remembers that `model` is gone at this upstream, here and in D1. */
export async function rememberGone(db: D1Database, upstream: string, model: string, reason: string): Promise<void> {
	const entry = known.get(upstream) ?? { gone: new Set<string>(), loadedAt: 0 };
	entry.gone.add(model);
	known.set(upstream, entry);
	try {
		await markModelGone(db, upstream, model, reason, new Date().toISOString());
	} catch (error) {
		console.error(JSON.stringify({ event: "availability_save_failed", upstream, model, error: String(error) }));
	}
}

/** Applies a listing's result to this isolate's memory (D1 is written by discovery). */
export function rememberListing(upstream: string, gone: Iterable<string>): void {
	known.set(upstream, { gone: new Set(gone), loadedAt: Date.now() });
}

/** The first id of the chain not known to be gone (the last one when all are). */
export function firstAvailable(chain: readonly string[], gone: ReadonlySet<string>, from = 0): number {
	for (let i = from; i < chain.length; i++) if (!gone.has(chain[i])) return i;
	return chain.length - 1;
}
