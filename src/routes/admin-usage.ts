/**
 * Operator views over D1 usage: `GET /admin/usage` (totals by key, model and day) and
 * `GET /admin/stats` (requests, success rate, safety blocks, latency over a window).
 */
import { Hono } from "hono";
import { invalidParam } from "../errors";
import { parseWith } from "../lib/validate";
import { aggregateUsage, usageStats } from "../storage/db";
import type { AppEnv } from "../types";
import { AdminUsageQuery } from "./usage-query";

// A Map, not an object literal: `window=__proto__` must not find Object.prototype.
const WINDOWS = new Map([
	["1h", 3_600_000],
	["24h", 86_400_000],
	["7d", 7 * 86_400_000],
	["30d", 30 * 86_400_000],
]);

export const adminUsage = new Hono<AppEnv>()
	.get("/usage", async (c) => {
		const q = parseWith(AdminUsageQuery, c.req.query());
		const filter = { from: q.from, to: q.to, model: q.model, keyId: q.key_id };
		const [total, byKey, byModel, byDay] = await Promise.all([
			aggregateUsage(c.env.DB, filter, []),
			aggregateUsage(c.env.DB, filter, ["key_id"]),
			aggregateUsage(c.env.DB, filter, ["model"]),
			aggregateUsage(c.env.DB, filter, ["day"]),
		]);
		return c.json({ total: total[0], by_key: byKey, by_model: byModel, by_day: byDay });
	})
	.get("/stats", async (c) => {
		const window = c.req.query("window") ?? "24h";
		const ms = WINDOWS.get(window);
		if (!ms) throw invalidParam("window", `window must be one of ${[...WINDOWS.keys()].join(", ")}`);
		const s = await usageStats(c.env.DB, new Date(Date.now() - ms).toISOString());
		return c.json({
			window,
			requests: s.requests,
			succeeded: s.succeeded,
			success_rate: s.requests > 0 ? s.succeeded / s.requests : null,
			safety_blocks: s.safety_blocks,
			latency_ms: { p50: s.p50_ms, p95: s.p95_ms },
		});
	});
