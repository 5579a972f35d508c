/**
 * D1 queries for what is known about upstream model ids: seen in a models.list, missing
 * from one, or answering 404 NOT_FOUND. Always bound parameters.
 */

export interface UpstreamModelRow {
	upstream: string;
	model: string;
	/** 1: in the last listing (with generateContent); 0: missing from it; null: never listed. */
	listed: number | null;
	display_name: string | null;
	gone_at: string | null;
	gone_reason: string | null;
	first_seen_at: string | null;
	last_seen_at: string | null;
	checked_at: string | null;
}

export interface CheckRow {
	upstream: string;
	checked_at: string;
	ok: number;
	models: number;
	error: string | null;
}

export async function goneModels(db: D1Database, upstream: string): Promise<Array<{ model: string; gone_at: string }>> {
	return (
		await db
			.prepare("SELECT model, gone_at FROM upstream_models WHERE upstream = ? AND gone_at IS NOT NULL")
			.bind(upstream)
			.all<{ model: string; gone_at: string }>()
	).results;
}

/** Records that `model` answered 404 NOT_FOUND (or is otherwise gone). */
export async function markModelGone(db: D1Database, upstream: string, model: string, reason: string, at: string): Promise<void> {
	await db
		.prepare(
			`INSERT INTO upstream_models (upstream, model, gone_at, gone_reason) VALUES (?, ?, ?, ?)
			 ON CONFLICT (upstream, model) DO UPDATE SET gone_at = COALESCE(gone_at, excluded.gone_at), gone_reason = excluded.gone_reason`,
		)
		.bind(upstream, model, at, reason)
		.run();
}

/**
 * Records one complete listing: every id in `expected` that was not listed is missing
 * (and gone); every listed id is present, its gone mark cleared. (Google has kept
 * listing ids for a while after shutting them down; such an id costs one quick 404
 * before it is marked again, which is cheaper than skipping a model that came back.)
 */
export async function recordListing(
	db: D1Database,
	upstream: string,
	listed: Array<{ model: string; displayName: string | null }>,
	expected: string[],
	at: string,
): Promise<void> {
	const present = new Set(listed.map((m) => m.model));
	const statements = listed.map((m) =>
		db
			.prepare(
				`INSERT INTO upstream_models (upstream, model, listed, display_name, first_seen_at, last_seen_at, checked_at) VALUES (?, ?, 1, ?, ?, ?, ?)
				 ON CONFLICT (upstream, model) DO UPDATE SET listed = 1, display_name = excluded.display_name, gone_at = NULL, gone_reason = NULL,
				 first_seen_at = COALESCE(first_seen_at, excluded.first_seen_at), last_seen_at = excluded.last_seen_at, checked_at = excluded.checked_at`,
			)
			.bind(upstream, m.model, m.displayName, at, at, at),
	);
	for (const model of expected.filter((m) => !present.has(m))) {
		statements.push(
			db
				.prepare(
					`INSERT INTO upstream_models (upstream, model, listed, gone_at, gone_reason, checked_at) VALUES (?, ?, 0, ?, 'missing from models.list', ?)
					 ON CONFLICT (upstream, model) DO UPDATE SET listed = 0, checked_at = excluded.checked_at,
					 gone_at = COALESCE(gone_at, excluded.gone_at), gone_reason = COALESCE(gone_reason, excluded.gone_reason)`,
				)
				.bind(upstream, model, at, at),
		);
	}
	statements.push(
		db
			.prepare(
				`INSERT INTO catalog_checks (upstream, checked_at, ok, models, error) VALUES (?, ?, 1, ?, NULL)
				 ON CONFLICT (upstream) DO UPDATE SET checked_at = excluded.checked_at, ok = 1, models = excluded.models, error = NULL`,
			)
			.bind(upstream, at, listed.length),
	);
	await db.batch(statements);
}

export async function recordFailedCheck(db: D1Database, upstream: string, at: string, error: string): Promise<void> {
	await db
		.prepare(
			`INSERT INTO catalog_checks (upstream, checked_at, ok, models, error) VALUES (?, ?, 0, 0, ?)
			 ON CONFLICT (upstream) DO UPDATE SET checked_at = excluded.checked_at, ok = 0, error = excluded.error`,
		)
		.bind(upstream, at, error)
		.run();
}

export async function upstreamModels(db: D1Database, upstream: string): Promise<UpstreamModelRow[]> {
	return (await db.prepare("SELECT * FROM upstream_models WHERE upstream = ? ORDER BY model").bind(upstream).all<UpstreamModelRow>())
		.results;
}

export async function lastCheck(db: D1Database, upstream: string): Promise<CheckRow | null> {
	return db.prepare("SELECT * FROM catalog_checks WHERE upstream = ?").bind(upstream).first<CheckRow>();
}
