/**
 * The caller's own account: `GET /v1/account`, `GET /v1/usage`, `GET /v1/pricing`, and
 * the webhook signing secret (`GET /v1/account/webhook-secret`, `POST .../rotate`).
 */
import { Hono } from "hono";
import type { UsageRow } from "../account/records";
import { presentControls } from "../billing/controls";
import { CREDIT_USD } from "../billing/cost";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { parseWith } from "../lib/validate";
import { pricingRules } from "../pipeline/meter";
import { routeFacts } from "../route-facts";
import { archivedBefore } from "../storage/archive";
import { aggregateUsage, listUsage } from "../storage/db";
import { imageUrl } from "../storage/images";
import type { AppEnv } from "../types";
import { UsageQuery } from "./usage-query";

/** Route facts (src/route-facts.ts): the gateway's own API; the price list is public, as resellers publish theirs. */
const ROUTE_FACTS = routeFacts({ dialect: "openai", errorStyle: "openai", publicReads: ["/pricing"] });

/**
 * A usage row as its key's owner reads it: its images as R2 keys, as the URLs they are
 * served at, and as their gallery thumbnails (always this Worker's `/images/{key}?thumb`,
 * src/routes/images.ts, even when a public bucket domain serves the images). Which
 * upstream served it is the operator's business (`/admin/usage`).
 */
export function presentUsage(row: UsageRow, urlOf: (key: string) => string, origin: string) {
	// Which upstream served it and what Google billed are the operator's business, not the customer's.
	const { upstreams: _u, google_cost: _g, metered: _m, ...rest } = row;
	const keys = JSON.parse(row.r2_keys) as string[];
	return {
		...rest,
		r2_keys: keys,
		image_urls: keys.map(urlOf),
		thumbnail_urls: keys.map((k) => `${imageUrl(k, undefined, origin)}?thumb`),
	};
}

export const account = new Hono<AppEnv>()
	.use(ROUTE_FACTS)
	.get("/account", async (c) => {
		const caller = c.get("caller");
		const view = await caller.account.describe();
		return c.json({
			id: caller.keyId,
			name: view?.name ?? caller.name,
			credits: view?.credits ?? 0,
			reserved_credits: view?.reservedCredits ?? 0,
			limits: view?.limits ?? null,
			controls: presentControls(view?.controls ?? {}),
			usage: view?.usage ?? null,
		});
	})
	.get("/usage", async (c) => {
		const caller = c.get("caller");
		const q = parseWith(UsageQuery(), c.req.query());
		const filter = { from: q.from, to: q.to, model: q.model, keyId: caller.keyId };
		const rows = await listUsage(c.env.DB, filter, q.limit + 1, q.cursor ? decodeCursor(q.cursor) : undefined);
		const page = rows.slice(0, q.limit);
		const last = page[page.length - 1];
		const [byDay, byModel, archived] = await Promise.all([
			aggregateUsage(c.env.DB, filter, ["day"]),
			aggregateUsage(c.env.DB, filter, ["model"]),
			archivedBefore(c.env.DB),
		]);
		return c.json({
			object: "list",
			data: page.map((row) => {
				const origin = new URL(c.req.url).origin;
				return presentUsage(row, (key) => imageUrl(key, c.get("config").publicBaseUrl, origin), origin);
			}),
			has_more: rows.length > q.limit,
			next_cursor: rows.length > q.limit ? encodeCursor(last.created_at, last.request_id) : null,
			aggregates: { by_day: byDay, by_model: byModel },
			// Rows before this time are no longer listed (they were exported); the aggregates still count them.
			detail_archived_before: archived && (!q.from || q.from < archived) ? archived : null,
		});
	})
	.get("/account/webhook-secret", async (c) => c.json({ secret: await c.get("caller").account.webhookSecret() }))
	.post("/account/webhook-secret/rotate", async (c) => c.json({ secret: await c.get("caller").account.rotateWebhookSecret() }))
	.get("/pricing", (c) => {
		const { catalog, prices, batchPrices } = c.get("config");
		return c.json({
			unit: "credits per delivered image",
			credit_usd: CREDIT_USD,
			rules: pricingRules(c.get("config")),
			note: 'A request holds its worst case until it settles. Raw Gemini ids are priced like the alias that sells them. batch_prices apply to async requests with "service_tier": "batch".',
			data: catalog.aliases().map((a) => ({
				model: a.id,
				upstream_model: a.upstream,
				default_image_size: a.defaultImageSize ?? null,
				prices: prices[a.id],
				batch_prices: batchPrices[a.id],
			})),
		});
	});
