/**
 * Operator view of the catalog against what Gemini serves today, per upstream of the pool:
 *   GET  /admin/catalog[?upstream=ID]  every alias: the upstream id it resolves to now at that
 *                                      upstream (default: the first), each id of its chain with
 *                                      what discovery and 404s have shown there, successors
 *   POST /admin/catalog/refresh        runs discovery (models.list, every page) now, for every
 *                                      Gemini API upstream: {"upstreams": [result, ...]}
 */
import { Hono } from "hono";
import { z } from "zod";
import { firstAvailable, goneAt } from "../catalog/availability";
import { apiError, invalidParam } from "../errors";
import { GeminiError } from "../gemini/errors";
import { lazy } from "../lib/lazy";
import { parseWith } from "../lib/validate";
import { ADMIN_FACTS } from "../route-facts";
import { lastCheck, type UpstreamModelRow, upstreamModels } from "../storage/catalog";
import type { AppEnv } from "../types";
import { discoverModels } from "../upstreams/discovery";
import { poolOf } from "../upstreams/pool";

function idState(id: string, rows: Map<string, UpstreamModelRow>, gone: ReadonlySet<string>) {
	const r = rows.get(id);
	return {
		id,
		seen_upstream: r?.listed === 1 ? true : r?.listed === 0 ? false : null,
		gone: gone.has(id),
		gone_reason: r?.gone_reason ?? null,
		gone_at: r?.gone_at ?? null,
		last_seen_at: r?.last_seen_at ?? null,
		last_checked_at: r?.checked_at ?? null,
	};
}

export const CatalogQuery = lazy(() =>
	z.strictObject({ upstream: z.string().min(1).max(40).optional().describe("An upstream id of the pool") }),
);

export const adminCatalog = new Hono<AppEnv>()
	.use(ADMIN_FACTS)
	.get("/", async (c) => {
		const config = c.get("config");
		const members = await poolOf(config);
		const wanted = parseWith(CatalogQuery(), c.req.query()).upstream;
		const member = wanted === undefined ? members[0] : members.find((m) => m.spec.id === wanted);
		if (!member && wanted !== undefined) {
			throw invalidParam("upstream", `upstream must be one of: ${members.map((m) => m.spec.id).join(", ") || "(none configured)"}`);
		}
		// No upstream configured at all: the catalog as configured, nothing known to be gone.
		const scope = member?.scope ?? "";
		const [rows, check, gone] = await Promise.all([upstreamModels(c.env.DB, scope), lastCheck(c.env.DB, scope), goneAt(c.env.DB, scope)]);
		const byId = new Map(rows.map((r) => [r.model, r]));
		const aliases = config.catalog.aliases().map((a) => {
			const spec = config.catalog.find(a.id);
			const chain = spec?.chain ?? [a.upstream];
			return {
				alias: a.id,
				resolves_to: chain[firstAvailable(chain, gone)],
				upstream: a.upstream,
				successors: chain.slice(1),
				lifecycle: a.lifecycle,
				chain: chain.map((id) => ({ ...idState(id, byId, gone), lifecycle: config.catalog.upstream(id)?.lifecycle ?? null })),
			};
		});
		const used = new Set(config.catalog.upstreamIds());
		return c.json({
			upstream: member?.spec.id ?? null,
			upstreams: members.map((m) => m.spec.id),
			last_check: check ? { at: check.checked_at, ok: check.ok === 1, models: check.models, error: check.error } : null,
			aliases,
			upstream_ids: config.catalog
				.upstreamIds()
				.map((id) => ({ ...idState(id, byId, gone), lifecycle: config.catalog.upstream(id)?.lifecycle ?? null })),
			unused_image_models: rows.filter((r) => r.listed === 1 && r.model.includes("image") && !used.has(r.model)).map((r) => r.model),
		});
	})
	.post("/refresh", async (c) => {
		try {
			return c.json({ upstreams: await discoverModels(c.get("config"), c.env.DB) });
		} catch (error) {
			if (!(error instanceof GeminiError)) throw error;
			throw apiError("discovery_failed", `Listing Gemini's models failed: ${error.message}`);
		}
	});
