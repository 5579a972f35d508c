/**
 * Usage over time for the operator's charts: a window cut into equal buckets, each with
 * its request count, successes and latency percentiles (nearest rank over successful
 * requests, as `usageStats` computes them for the whole window). One query per figure,
 * computed in D1, so a busy month is never read row by row into the Worker.
 */

export interface SeriesPoint {
	/** Start of the bucket (ISO 8601). */
	start: string;
	requests: number;
	succeeded: number;
	success_rate: number | null;
	p50_ms: number | null;
	p95_ms: number | null;
}

/** Milliseconds since the epoch of an ISO `created_at`, in SQL. */
const MS = "((julianday(created_at) - 2440587.5) * 86400000.0)";

/**
 * `buckets` points of `bucketMs` each, the last one ending at `now`. Empty buckets are
 * present with zero requests, so a chart's x axis is the window, not the traffic.
 */
export async function usageSeries(db: D1Database, now: number, bucketMs: number, buckets: number): Promise<SeriesPoint[]> {
	const start = now - bucketMs * buckets;
	const since = new Date(start).toISOString();
	const bucket = `CAST((${MS} - ?1) / ?2 AS INTEGER)`;
	const [counts, latency] = await db.batch<{ b: number; requests: number; succeeded: number; p50: number | null; p95: number | null }>([
		db
			.prepare(
				`SELECT ${bucket} AS b, COUNT(*) AS requests, SUM(CASE WHEN status < 400 THEN 1 ELSE 0 END) AS succeeded
				 FROM usage WHERE created_at >= ?3 GROUP BY b`,
			)
			.bind(start, bucketMs, since),
		// rn >= p * cnt is rn >= ceil(p * cnt) for whole rn: the nearest-rank percentile.
		db
			.prepare(
				`WITH r AS (
				   SELECT ${bucket} AS b, total_ms,
				     ROW_NUMBER() OVER (PARTITION BY ${bucket} ORDER BY total_ms) AS rn,
				     COUNT(*) OVER (PARTITION BY ${bucket}) AS cnt
				   FROM usage WHERE created_at >= ?3 AND status < 400 AND total_ms IS NOT NULL)
				 SELECT b, MIN(CASE WHEN rn * 100 >= 50 * cnt THEN total_ms END) AS p50,
				   MIN(CASE WHEN rn * 100 >= 95 * cnt THEN total_ms END) AS p95
				 FROM r GROUP BY b`,
			)
			.bind(start, bucketMs, since),
	]);
	const byBucket = new Map(counts.results.map((r) => [r.b, r]));
	const lat = new Map(latency.results.map((r) => [r.b, r]));
	return Array.from({ length: buckets }, (_, i) => {
		const c = byBucket.get(i);
		const l = lat.get(i);
		const requests = c?.requests ?? 0;
		const succeeded = c?.succeeded ?? 0;
		return {
			start: new Date(start + i * bucketMs).toISOString(),
			requests,
			succeeded,
			success_rate: requests > 0 ? succeeded / requests : null,
			p50_ms: l?.p50 ?? null,
			p95_ms: l?.p95 ?? null,
		};
	});
}
