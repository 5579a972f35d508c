/**
 * Discovery: reads Gemini's models.list (every page) with each Gemini API upstream of the
 * pool and records which model ids exist for that upstream (availability is a property of
 * a key's project). Ids the catalog uses that are not listed (or not listed for
 * generateContent) are marked gone there, so requests go to another upstream or to the
 * id's successor; ids listed again are cleared. Run by the cron trigger (at most hourly
 * per upstream) and by `POST /admin/catalog/refresh`. Vertex upstreams have no such
 * listing; what they lack is learnt from their 404s. Ids with "image" in their name that
 * the catalog does not use are reported as candidates for a new alias.
 */

import { rememberListing } from "../catalog/availability";
import type { GatewayConfig } from "../config";
import { GeminiClient } from "../gemini/client";
import { goneModels, lastCheck, recordFailedCheck, recordListing } from "../storage/catalog";
import { type Member, poolOf, unusable } from "./pool";

export interface DiscoveryResult {
	/** The pool member listed. */
	upstream: string;
	checked_at: string;
	pages: number;
	listed: number;
	/** Catalog ids the listing showed, and those it did not. */
	present: string[];
	missing: string[];
	/** Image model ids upstream that no alias uses yet. */
	unused_image_models: string[];
}

/** Minimum time between two scheduled discoveries of one upstream. */
export const DISCOVERY_INTERVAL_MS = 60 * 60_000;

/** The upstreams discovery can list: Gemini API ones with a usable key. */
async function listable(config: GatewayConfig): Promise<Member[]> {
	return (await poolOf(config)).filter((m) => m.spec.kind === "gemini" && !unusable(m));
}

async function discoverOne(m: Member, config: GatewayConfig, db: D1Database, pageSize: number, now: Date): Promise<DiscoveryResult> {
	const client = new GeminiClient({
		endpoint: m.endpoint,
		maxRetries: config.maxRetries,
		retryBaseMs: config.retryBaseMs,
		retryMaxMs: config.retryMaxMs,
		deadlineMs: config.deadlineMs,
	});
	const at = now.toISOString();
	const listed: Array<{ model: string; displayName: string | null }> = [];
	let pageToken: string | undefined;
	let pages = 0;
	try {
		do {
			const page = await client.listModels(pageSize, pageToken);
			pages++;
			for (const model of page.models ?? []) {
				if (!(model.supportedGenerationMethods ?? []).includes("generateContent")) continue;
				listed.push({ model: model.name.replace(/^models\//, ""), displayName: model.displayName ?? null });
			}
			pageToken = page.nextPageToken || undefined;
		} while (pageToken && pages < 100);
	} catch (error) {
		await recordFailedCheck(db, m.scope, at, String(error instanceof Error ? error.message : error));
		throw error;
	}
	const expected = config.catalog.upstreamIds().filter((id) => !m.spec.models || m.spec.models.includes(id));
	const names = new Set(listed.map((x) => x.model));
	const missing = expected.filter((id) => !names.has(id));
	await recordListing(db, m.scope, listed, expected, at);
	rememberListing(
		m.scope,
		(await goneModels(db, m.scope)).map((r) => r.model),
	);
	return {
		upstream: m.spec.id,
		checked_at: at,
		pages,
		listed: listed.length,
		present: expected.filter((id) => names.has(id)),
		missing,
		unused_image_models: [...names].filter((id) => id.includes("image") && !config.catalog.upstreamIds().includes(id)).sort(),
	};
}

/** Lists every (or the given) Gemini upstream; one failing does not stop the others. Throws when all fail. */
async function discoverEach(members: Member[], config: GatewayConfig, db: D1Database, pageSize: number, now: Date) {
	const results: DiscoveryResult[] = [];
	let firstError: unknown;
	for (const m of members) {
		try {
			results.push(await discoverOne(m, config, db, pageSize, now));
		} catch (error) {
			firstError ??= error;
			console.error(JSON.stringify({ event: "discovery_failed", upstream: m.spec.id, error: String(error) }));
		}
	}
	if (results.length === 0 && firstError !== undefined) throw firstError;
	return results;
}

/** Discovery now, for every Gemini API upstream of the pool. */
export async function discoverModels(config: GatewayConfig, db: D1Database, pageSize = 1000, now = new Date()): Promise<DiscoveryResult[]> {
	return discoverEach(await listable(config), config, db, pageSize, now);
}

/** The cron trigger's discovery: the upstreams whose last listing is an hour old (or that never had one). */
export async function discoverIfDue(config: GatewayConfig, db: D1Database, now = Date.now()): Promise<DiscoveryResult[] | "not_due"> {
	const due: Member[] = [];
	for (const m of await listable(config)) {
		const last = await lastCheck(db, m.scope);
		if (!last || now - Date.parse(last.checked_at) >= DISCOVERY_INTERVAL_MS) due.push(m);
	}
	if (due.length === 0) return "not_due";
	return discoverEach(due, config, db, 1000, new Date(now));
}
