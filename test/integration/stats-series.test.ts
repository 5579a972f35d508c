// GET /admin/stats over time: the window cut into buckets, each with its request count,
// successes and nearest-rank p50/p95 of successful requests' latency, computed in D1.
// Rows are written straight into this file's own D1 at chosen times.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { usageSeries } from "../../src/storage/stats";
import { ADMIN, call, expectError } from "../helpers/http";

const HOUR = 3_600_000;

async function row(id: string, at: number, status: number, totalMs: number | null): Promise<void> {
	const created = new Date(at).toISOString();
	await env.DB.prepare(
		"INSERT INTO usage (request_id, key_id, endpoint, model, mode, n_requested, status, total_ms, created_at, day) VALUES (?, 'key_series', 'test', 'nano-banana', 'generate', 1, ?, ?, ?, ?)",
	)
		.bind(id, status, totalMs, created, created.slice(0, 10))
		.run();
}

describe("usage series", () => {
	it("counts, success rate and nearest-rank percentiles per bucket; empty buckets present; older rows left out", async () => {
		const now = Date.UTC(2026, 10, 22, 12, 0, 0);
		// Bucket 2 (09:00-10:00): ten successes of 100..1000 ms and two failures.
		for (let i = 1; i <= 10; i++) await row(`s-a-${i}`, now - 3 * HOUR + i * 60_000, 200, i * 100);
		await row("s-a-f1", now - 3 * HOUR + 30_000, 502, 5_000);
		await row("s-a-f2", now - 3 * HOUR + 40_000, 429, null);
		// Bucket 3 (10:00-11:00): one success.
		await row("s-b-1", now - 2 * HOUR + 1, 200, 777);
		// Before the window: ignored.
		await row("s-old", now - 5 * HOUR, 200, 1);
		const series = await usageSeries(env.DB, now, HOUR, 4);
		expect(series.map((p) => p.start)).toEqual(["08:00", "09:00", "10:00", "11:00"].map((t) => `2026-11-22T${t}:00.000Z`));
		expect(series[0]).toEqual({
			start: "2026-11-22T08:00:00.000Z",
			requests: 0,
			succeeded: 0,
			success_rate: null,
			p50_ms: null,
			p95_ms: null,
		});
		expect(series[1]).toMatchObject({ requests: 12, succeeded: 10, p50_ms: 500, p95_ms: 1000 });
		expect(series[1].success_rate).toBeCloseTo(10 / 12);
		expect(series[2]).toMatchObject({ requests: 1, succeeded: 1, success_rate: 1, p50_ms: 777, p95_ms: 777 });
		expect(series[3].requests).toBe(0);
	});

	it("GET /admin/stats returns the series for each window; a bad window is a 400 naming it", async () => {
		for (const [window, points, seconds] of [
			["1h", 12, 300],
			["24h", 24, 3600],
			["7d", 28, 21600],
			["30d", 30, 86400],
		] as const) {
			const res = await call(`/admin/stats?window=${window}`, { headers: ADMIN });
			const body = await res.json<{ series: unknown[]; bucket_seconds: number }>();
			expect(body.series, window).toHaveLength(points);
			expect(body.bucket_seconds).toBe(seconds);
		}
		for (const bad of ["2h", "__proto__", "constructor"]) {
			const err = await expectError(await call(`/admin/stats?window=${bad}`, { headers: ADMIN }), 400, "invalid_parameter");
			expect(err.param).toBe("window");
		}
	});
});
