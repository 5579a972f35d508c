/**
 * Operator views over D1 usage: `GET /admin/usage` (totals by key, model, day and, image
 * by image, by upstream of the pool; `upstream=` keeps rows with images from one) and
 * `GET /admin/stats` (requests, success rate, safety blocks, latency over a window, and the
 * same over time as a series of buckets for charts).
 */
import { Hono } from "hono";
import { z } from "zod";
import { lazy } from "../lib/lazy";
import { parseWith } from "../lib/validate";
import { ADMIN_FACTS } from "../route-facts";
import { aggregateByUpstream, aggregateUsage, usageStats } from "../storage/db";
import { usageSeries } from "../storage/stats";
import type { AppEnv } from "../types";
import { AdminUsageQuery } from "./usage-query";

/** Each window with the bucket its series is cut into (about 24 to 30 points). */
const WINDOWS = {
	"1h": { ms: 3_600_000, bucketMs: 300_000 },
	"24h": { ms: 86_400_000, bucketMs: 3_600_000 },
	"7d": { ms: 7 * 86_400_000, bucketMs: 6 * 3_600_000 },
	"30d": { ms: 30 * 86_400_000, bucketMs: 86_400_000 },
} as const;

// z.enum, not a lookup in an object literal: `window=__proto__` is a 400, never Object.prototype.
export const StatsQuery = lazy(() =>
	z.object({
		window: z.enum(["1h", "24h", "7d", "30d"], { error: "window must be one of 1h, 24h, 7d, 30d" }).default("24h"),
	}),
);

export const adminUsage = new Hono<AppEnv>()
	.use(ADMIN_FACTS)
	.get("/usage", async (c) => {
		const q = parseWith(AdminUsageQuery(), c.req.query());
		const filter = { from: q.from, to: q.to, model: q.model, keyId: q.key_id, upstream: q.upstream };
		const [total, byKey, byModel, byDay, byUpstream] = await Promise.all([
			aggregateUsage(c.env.DB, filter, [], true),
			aggregateUsage(c.env.DB, filter, ["key_id"], true),
			aggregateUsage(c.env.DB, filter, ["model"], true),
			aggregateUsage(c.env.DB, filter, ["day"], true),
			aggregateByUpstream(c.env.DB, filter),
		]);
		return c.json({ total: total[0], by_key: byKey, by_model: byModel, by_day: byDay, by_upstream: byUpstream });
	})
	.get("/stats", async (c) => {
		const { window } = parseWith(StatsQuery(), c.req.query());
		const { ms, bucketMs } = WINDOWS[window];
		const now = Date.now();
		const [s, series] = await Promise.all([
			usageStats(c.env.DB, new Date(now - ms).toISOString()),
			usageSeries(c.env.DB, now, bucketMs, ms / bucketMs),
		]);
		return c.json({
			window,
			requests: s.requests,
			succeeded: s.succeeded,
			success_rate: s.requests > 0 ? s.succeeded / s.requests : null,
			safety_blocks: s.safety_blocks,
			latency_ms: { p50: s.p50_ms, p95: s.p95_ms },
			bucket_seconds: bucketMs / 1000,
			series,
		});
	});
