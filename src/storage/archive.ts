/**
 * Usage and ledger rows at scale: D1 keeps row-level detail for USAGE_RETENTION_DAYS and
 * daily rollups forever; R2 keeps every row, append-only (issue 29, docs/operating.md).
 *
 * The cron trigger takes the oldest closed hour of each table that is past the window and
 * 1. exports its rows to one R2 object (NDJSON, gzip), written once, with its row count and
 *    the sha256 of the uncompressed NDJSON in the object's customMetadata and in a manifest
 *    row (`usage_exports`);
 * 2. folds those rows into the rollups and deletes them, a bounded batch per D1 transaction,
 *    by the ids the export holds, so only exported rows are ever deleted.
 *
 * Why fold at prune time rather than as the outbox writes: a usage row can be replaced by a
 * later row for the same request (INSERT OR REPLACE), so a write-time rollup would have to
 * subtract what it replaced on every flush, doubling the hot path's writes. A row past the
 * window is final (holds live minutes), and folding it in the transaction that deletes it
 * keeps `rollup + remaining rows` equal to everything ever written at every instant, so
 * totals read both and never double count. A row that arrives for an hour already
 * exported (an outbox that was stuck for the whole window) becomes that hour's next part.
 */

/** Where exports go: the private bucket (never served; retention leaves `exports/` alone). */
export function exportBucket(env: Env): R2Bucket {
	return env.PRIVATE;
}

/** Every export object's key starts with this. */
export const EXPORT_PREFIX = "exports/";

type Table = "usage" | "credit_ledger";

/** Per table: its primary key, and the statement that adds a batch of its rows (ids in ?1, a JSON array) to its rollup. */
const TABLES: Record<Table, { pk: string; fold: string }> = {
	usage: {
		pk: "request_id",
		fold: `INSERT INTO usage_daily (day, key_id, model, error_code, requests, images, credits, failed, google_cost)
			SELECT day, key_id, model, COALESCE(error_code, ''), COUNT(*), SUM(images_delivered), SUM(credits_charged),
			  SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), SUM(google_cost)
			FROM usage WHERE request_id IN (SELECT value FROM json_each(?1)) GROUP BY day, key_id, model, COALESCE(error_code, '')
			ON CONFLICT (key_id, day, model, error_code) DO UPDATE SET requests = requests + excluded.requests,
			  images = images + excluded.images, credits = credits + excluded.credits, failed = failed + excluded.failed,
			  google_cost = google_cost + excluded.google_cost`,
	},
	credit_ledger: {
		pk: "id",
		fold: `INSERT INTO credit_ledger_daily (key_id, day, kind, entries, amount)
			SELECT key_id, substr(created_at, 1, 10), kind, COUNT(*), SUM(amount)
			FROM credit_ledger WHERE id IN (SELECT value FROM json_each(?1)) GROUP BY key_id, substr(created_at, 1, 10), kind
			ON CONFLICT (key_id, day, kind) DO UPDATE SET entries = entries + excluded.entries, amount = amount + excluded.amount`,
	},
};

export interface ArchiveOptions {
	retentionDays: number;
	/** Hours exported and pruned per table and run at most (the next run continues). */
	maxHours?: number;
	/** Rows folded and deleted per D1 transaction: small, so outbox flushes are never held up for long. */
	pruneBatch?: number;
	/** Rows read from D1 per page while exporting. */
	pageRows?: number;
	/** Stop starting new hours after this long (ms). */
	budgetMs?: number;
}

/** One export object's manifest row. */
export interface ExportManifest {
	tbl: Table;
	hour: string;
	part: number;
	object_key: string;
	rows: number;
	sha256: string;
	bytes: number;
	exported_at: string;
	pruned_at: string | null;
}

const HOUR_MS = 3_600_000;
const hourOf = (iso: string) => iso.slice(0, 13);
const hourStart = (hour: string) => new Date(`${hour}:00:00.000Z`);

/** The R2 key of an hour's export: exports/{table}/{yyyy}/{mm}/{dd}/{hh}-{part}.ndjson.gz */
export function exportKey(tbl: Table, hour: string, part: number): string {
	const [date, hh] = hour.split("T");
	return `${EXPORT_PREFIX}${tbl}/${date.replaceAll("-", "/")}/${hh}-${part}.ndjson.gz`;
}

/** NDJSON lines gzip-compressed as they come, with the sha256 of the uncompressed text. */
class NdjsonGzip {
	private readonly gzip = new CompressionStream("gzip");
	private readonly digest = new crypto.DigestStream("SHA-256");
	private readonly gz = this.gzip.writable.getWriter();
	private readonly dg = this.digest.getWriter();
	private readonly out: Promise<Uint8Array> = new Response(this.gzip.readable).bytes();
	private readonly encoder = new TextEncoder();

	async write(rows: object[]): Promise<void> {
		if (rows.length === 0) return;
		const bytes = this.encoder.encode(`${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
		await Promise.all([this.gz.write(bytes), this.dg.write(bytes)]);
	}

	async close(): Promise<{ body: Uint8Array; sha256: string }> {
		await Promise.all([this.gz.close(), this.dg.close()]);
		return { body: await this.out, sha256: new Uint8Array(await this.digest.digest).toHex() };
	}
}

/**
 * Reads an export back line by line (never the whole object at once): each row to `onRow`,
 * and the count and sha256 of the uncompressed NDJSON, to compare with its manifest.
 */
export async function scanExport(
	bucket: R2Bucket,
	key: string,
	onRow: (row: Record<string, unknown>) => void,
): Promise<{ rows: number; sha256: string; meta: Record<string, string> } | null> {
	const obj = await bucket.get(key);
	if (!obj) return null;
	const digest = new crypto.DigestStream("SHA-256");
	const [forDigest, forLines] = obj.body.pipeThrough(new DecompressionStream("gzip")).tee();
	const digested = forDigest.pipeTo(digest);
	let rows = 0;
	let rest = "";
	const decoder = new TextDecoder();
	for await (const chunk of forLines) {
		const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
		rest = lines.pop() ?? "";
		for (const line of lines) {
			if (line === "") continue;
			onRow(JSON.parse(line) as Record<string, unknown>);
			rows++;
		}
	}
	if ((rest + decoder.decode()).trim() !== "") throw new Error(`export ${key} ends without a newline`);
	await digested;
	return { rows, sha256: new Uint8Array(await digest.digest).toHex(), meta: obj.customMetadata ?? {} };
}

/** Reads an export back whole (for tests and small objects): its rows, count, checksum and metadata. */
export async function readExport(
	bucket: R2Bucket,
	key: string,
): Promise<{ rows: Record<string, unknown>[]; sha256: string; meta: Record<string, string> } | null> {
	const rows: Record<string, unknown>[] = [];
	const r = await scanExport(bucket, key, (row) => rows.push(row));
	return r && { rows, sha256: r.sha256, meta: r.meta };
}

/** Writes one hour's rows (those present now) to R2 and the manifest; null when the hour has none. */
async function exportHour(
	db: D1Database,
	bucket: R2Bucket,
	tbl: Table,
	hour: string,
	pageRows: number,
	now: Date,
): Promise<ExportManifest | null> {
	const from = hourStart(hour).toISOString();
	const to = new Date(hourStart(hour).getTime() + HOUR_MS).toISOString();
	const out = new NdjsonGzip();
	let rows = 0;
	// Keyset pages on (created_at, rowid): the created_at index holds both, so each page is a range read.
	let after: [string, number] = [from, -1];
	for (;;) {
		const page = (
			await db
				.prepare(
					`SELECT rowid AS _rowid, * FROM ${tbl} WHERE created_at < ?1 AND (created_at, rowid) > (?2, ?3) ORDER BY created_at, rowid LIMIT ?4`,
				)
				.bind(to, after[0], after[1], pageRows)
				.all<Record<string, unknown> & { _rowid: number; created_at: string }>()
		).results;
		if (page.length === 0) break;
		const last = page[page.length - 1];
		after = [last.created_at, last._rowid];
		await out.write(page.map(({ _rowid, ...row }) => row));
		rows += page.length;
		if (page.length < pageRows) break;
	}
	const { body, sha256 } = await out.close();
	if (rows === 0) return null;
	const part =
		(await db.prepare("SELECT COUNT(*) AS n FROM usage_exports WHERE tbl = ? AND hour = ?").bind(tbl, hour).first<number>("n")) ?? 0;
	const key = exportKey(tbl, hour, part);
	const existing = await bucket.head(key);
	// An object left by a run that died before its manifest row: the same rows are adopted; anything else is never overwritten.
	if (existing && existing.customMetadata?.sha256 !== sha256) throw new Error(`export ${key} exists with other contents`);
	if (!existing) {
		await bucket.put(key, body, {
			httpMetadata: { contentType: "application/x-ndjson", contentEncoding: "gzip" },
			customMetadata: { table: tbl, hour, part: String(part), rows: String(rows), sha256 },
			// R2 checks the bytes it stores against this.
			sha256: await crypto.subtle.digest("SHA-256", body),
		});
	}
	const manifest: ExportManifest = {
		tbl,
		hour,
		part,
		object_key: key,
		rows,
		sha256,
		bytes: body.byteLength,
		exported_at: now.toISOString(),
		pruned_at: null,
	};
	await db
		.prepare("INSERT INTO usage_exports (tbl, hour, part, object_key, rows, sha256, bytes, exported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
		.bind(tbl, hour, part, key, rows, sha256, manifest.bytes, manifest.exported_at)
		.run();
	return manifest;
}

/** Folds and deletes the rows an export holds (those still present), batch by batch, then marks it pruned. */
async function pruneExport(db: D1Database, bucket: R2Bucket, m: ExportManifest, batch: number, now: Date): Promise<number> {
	const { pk, fold } = TABLES[m.tbl];
	const ids: string[] = [];
	const back = await scanExport(bucket, m.object_key, (row) => ids.push(String(row[pk])));
	// Never delete what the store cannot give back whole.
	if (!back || back.sha256 !== m.sha256 || back.rows !== m.rows)
		throw new Error(`export ${m.object_key} is missing or does not match its manifest`);
	let deleted = 0;
	for (let i = 0; i < ids.length; i += batch) {
		const chunk = JSON.stringify(ids.slice(i, i + batch));
		const statements = [
			db.prepare(fold).bind(chunk),
			db.prepare(`DELETE FROM ${m.tbl} WHERE ${pk} IN (SELECT value FROM json_each(?1))`).bind(chunk),
		];
		const results = await db.batch(statements);
		deleted += results[1].meta.changes ?? 0;
	}
	await db
		.prepare("UPDATE usage_exports SET pruned_at = ? WHERE tbl = ? AND hour = ? AND part = ?")
		.bind(now.toISOString(), m.tbl, m.hour, m.part)
		.run();
	return deleted;
}

/** What one archive run did, per table. */
export interface ArchiveResult {
	exported: number;
	rows: number;
	deleted: number;
}

/**
 * Exports, folds and prunes hours of `usage` and `credit_ledger` that ended more than
 * `retentionDays` before `at`, oldest first, within the run's bounds. An export left
 * unpruned by a run that stopped is finished first.
 */
export async function archiveUsage(env: Env, at: Date, opts: ArchiveOptions): Promise<Record<Table, ArchiveResult>> {
	// One hour per table and run: the trigger runs every minute, 60 times the pace rows age at; at 1M requests a
	// day an hour of both tables is about 370 D1 queries, within the 1,000 an invocation may make.
	const { maxHours = 1, pruneBatch = 1_000, pageRows = 5_000, budgetMs = 20_000 } = opts;
	const started = Date.now();
	const bucket = exportBucket(env);
	const cutoff = new Date(at.getTime() - opts.retentionDays * 86_400_000);
	const out = {} as Record<Table, ArchiveResult>;
	for (const tbl of Object.keys(TABLES) as Table[]) {
		const r: ArchiveResult = { exported: 0, rows: 0, deleted: 0 };
		out[tbl] = r;
		for (let n = 0; n < maxHours && Date.now() - started < budgetMs; n++) {
			const unfinished = await env.DB.prepare("SELECT * FROM usage_exports WHERE tbl = ? AND pruned_at IS NULL ORDER BY hour, part LIMIT 1")
				.bind(tbl)
				.first<ExportManifest>();
			if (unfinished) {
				r.deleted += await pruneExport(env.DB, bucket, unfinished, pruneBatch, at);
				continue;
			}
			const oldest = await env.DB.prepare(`SELECT MIN(created_at) AS t FROM ${tbl}`).first<string | null>("t");
			if (!oldest) break;
			const hour = hourOf(oldest);
			// Only hours that ended before the cutoff: the window's rows stay row by row.
			if (hourStart(hour).getTime() + HOUR_MS > cutoff.getTime()) break;
			const m = await exportHour(env.DB, bucket, tbl, hour, pageRows, at);
			if (!m) break;
			r.exported++;
			r.rows += m.rows;
			r.deleted += await pruneExport(env.DB, bucket, m, pruneBatch, at);
		}
	}
	return out;
}

/** The end of the newest pruned hour of usage (ISO): rows older than it may live only in exports. */
export async function archivedBefore(db: D1Database): Promise<string | null> {
	const hour = await db
		.prepare("SELECT MAX(hour) AS h FROM usage_exports WHERE tbl = 'usage' AND pruned_at IS NOT NULL")
		.first<string | null>("h");
	return hour ? new Date(hourStart(hour).getTime() + HOUR_MS).toISOString() : null;
}
