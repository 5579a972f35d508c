/**
 * Discovery: reads Gemini's models.list (every page) and records which upstream ids
 * exist for the gateway's key. Ids the catalog uses that are not listed (or not listed
 * for generateContent) are marked gone, so requests go straight to their successors;
 * ids listed again are cleared. Run by the cron trigger (at most hourly) and by
 * `POST /admin/catalog/refresh`. Ids with "image" in their name that the catalog does
 * not use are reported as candidates for a new alias.
 */
import type { GatewayConfig } from "../config";
import { geminiClient, upstreamScope } from "../pipeline/upstream";
import { goneModels, lastCheck, recordFailedCheck, recordListing } from "../storage/catalog";
import { rememberListing } from "./availability";

export interface DiscoveryResult {
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

/** Minimum time between two scheduled discoveries. */
export const DISCOVERY_INTERVAL_MS = 60 * 60_000;

export async function discoverModels(config: GatewayConfig, db: D1Database, pageSize = 1000, now = new Date()): Promise<DiscoveryResult> {
	const client = geminiClient(config);
	const upstream = upstreamScope(config);
	const at = now.toISOString();
	const listed: Array<{ model: string; displayName: string | null }> = [];
	let pageToken: string | undefined;
	let pages = 0;
	try {
		do {
			const page = await client.listModels(pageSize, pageToken);
			pages++;
			for (const m of page.models ?? []) {
				if (!(m.supportedGenerationMethods ?? []).includes("generateContent")) continue;
				listed.push({ model: m.name.replace(/^models\//, ""), displayName: m.displayName ?? null });
			}
			pageToken = page.nextPageToken || undefined;
		} while (pageToken && pages < 100);
	} catch (error) {
		await recordFailedCheck(db, upstream, at, String(error instanceof Error ? error.message : error));
		throw error;
	}
	const expected = config.catalog.upstreamIds();
	const names = new Set(listed.map((m) => m.model));
	const missing = expected.filter((id) => !names.has(id));
	await recordListing(db, upstream, listed, expected, at);
	rememberListing(
		upstream,
		(await goneModels(db, upstream)).map((r) => r.model),
	);
	return {
		upstream,
		checked_at: at,
		pages,
		listed: listed.length,
		present: expected.filter((id) => names.has(id)),
		missing,
		unused_image_models: [...names].filter((id) => id.includes("image") && !expected.includes(id)).sort(),
	};
}

/** The cron trigger's discovery: runs when the last one is an hour old (or never ran). */
export async function discoverIfDue(config: GatewayConfig, db: D1Database, now = Date.now()): Promise<DiscoveryResult | "not_due"> {
	const last = await lastCheck(db, upstreamScope(config));
	if (last && now - Date.parse(last.checked_at) < DISCOVERY_INTERVAL_MS) return "not_due";
	return discoverModels(config, db, 1000, new Date(now));
}
