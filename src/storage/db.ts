/**
 * Every D1 query the gateway makes, in one place, always with bound parameters.
 */
import type { LedgerRow, UsageRow } from "../account/records";
import { allOf } from "./sql";

export interface KeyRecord {
	id: string;
	name: string;
	key_hash: string;
	key_prefix: string;
	status: "active" | "revoked";
	created_at: string;
	revoked_at: string | null;
}

export async function insertKey(db: D1Database, k: Omit<KeyRecord, "status" | "revoked_at">): Promise<void> {
	await db
		.prepare("INSERT INTO api_keys (id, name, key_hash, key_prefix, status, created_at) VALUES (?, ?, ?, ?, 'active', ?)")
		.bind(k.id, k.name, k.key_hash, k.key_prefix, k.created_at)
		.run();
}

export async function getKey(db: D1Database, id: string): Promise<KeyRecord | null> {
	return db.prepare("SELECT * FROM api_keys WHERE id = ?").bind(id).first<KeyRecord>();
}

/** Newest first, keyset-paginated on (created_at, id). */
/** What the operator's key list is narrowed to: a text search and a status. */
export interface KeyFilter {
	/** Case-insensitive substring of the key's name, id or prefix. */
	search?: string;
	status?: "active" | "revoked";
}

/** A page of keys, newest first (keyset on created_at, id), optionally searched and filtered by status. */
export async function listKeys(
	db: D1Database,
	limit: number,
	after?: { createdAt: string; id: string },
	filter: KeyFilter = {},
): Promise<KeyRecord[]> {
	const where: string[] = [];
	const binds: (string | number)[] = [];
	if (after) {
		where.push("(created_at, id) < (?, ?)");
		binds.push(after.createdAt, after.id);
	}
	if (filter.search) {
		// LIKE with its wildcards escaped: "50%" finds "50%", not everything starting with "50".
		const like = `%${filter.search.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
		where.push("(lower(name) LIKE ? ESCAPE '\\' OR lower(id) LIKE ? ESCAPE '\\' OR lower(key_prefix) LIKE ? ESCAPE '\\')");
		binds.push(like, like, like);
	}
	if (filter.status) {
		where.push("status = ?");
		binds.push(filter.status);
	}
	const sql = `SELECT * FROM api_keys ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, id DESC LIMIT ?`;
	return (
		await db
			.prepare(sql)
			.bind(...binds, limit)
			.all<KeyRecord>()
	).results;
}

/** Mirrors the KeyAccount's status into the listing. */
export async function markKeyStatus(db: D1Database, id: string, status: "active" | "revoked", revokedAt: string | null): Promise<void> {
	await db.prepare("UPDATE api_keys SET status = ?, revoked_at = ? WHERE id = ?").bind(status, revokedAt, id).run();
}

export async function renameKey(db: D1Database, id: string, name: string): Promise<void> {
	await db.prepare("UPDATE api_keys SET name = ? WHERE id = ?").bind(name, id).run();
}

// ---- usage and ledger (written only by KeyAccount outboxes) ---------------------------

/** Values for columns a row written before they existed does not carry (rows queued in an outbox across a deploy). */
const USAGE_DEFAULTS: Partial<Record<(typeof USAGE_COLUMNS)[number], string | number>> = { upstreams: "[]", google_cost: 0, metered: "{}" };

const USAGE_COLUMNS = [
	"request_id",
	"key_id",
	"endpoint",
	"model",
	"upstream_model",
	"mode",
	"n_requested",
	"images_delivered",
	"aspect_ratio",
	"image_size",
	"credits_reserved",
	"credits_charged",
	"prompt_tokens",
	"output_tokens",
	"total_tokens",
	"upstream_ms",
	"total_ms",
	"status",
	"error_code",
	"finish_reason",
	"r2_keys",
	"prompt",
	"upstreams",
	"google_cost",
	"metered",
	"created_at",
	"day",
] as const satisfies ReadonlyArray<keyof UsageRow>;

/** D1 binds at most 100 parameters per statement. */
const D1_MAX_PARAMS = 100;

type SqlRow = (string | number | null)[];

/** Multi-row INSERTs of `columns`, as few statements as D1's parameter limit allows. */
function insertMany(db: D1Database, head: string, columns: readonly string[], rows: SqlRow[], tail = ""): D1PreparedStatement[] {
	const perStatement = Math.floor(D1_MAX_PARAMS / columns.length);
	const tuple = `(${columns.map(() => "?").join(", ")})`;
	const out: D1PreparedStatement[] = [];
	for (let i = 0; i < rows.length; i += perStatement) {
		const chunk = rows.slice(i, i + perStatement);
		out.push(db.prepare(`${head} (${columns.join(", ")}) VALUES ${chunk.map(() => tuple).join(", ")}${tail}`).bind(...chunk.flat()));
	}
	return out;
}

/**
 * How much a usage row says about its request: one that charged or delivered (2) beats a
 * plain outcome or refusal (1), which beats a hold's expiry (0). One request id can get more
 * than one row: a job admitted twice (its first hold orphaned when the worker died before
 * recording it, then released by expiry), or a hold that expired before its work was settled.
 */
const usageRank = (t: string) =>
	`(CASE WHEN ${t}.credits_charged > 0 OR ${t}.images_delivered > 0 THEN 2 WHEN ${t}.error_code = 'reservation_expired' THEN 0 ELSE 1 END)`;

/**
 * Upsert by request id: a row replaces the one already there unless it says less (usageRank),
 * so the real settlement's row wins over an expired hold's whichever reaches D1 first (also
 * within one statement: VALUES are applied in order). Equal ranks: the later row wins, and a
 * re-sent row is a no-op.
 */
export function usageUpserts(db: D1Database, rows: UsageRow[]): D1PreparedStatement[] {
	// Rows queued before a column existed lack it: its default, never `undefined`.
	const values = rows.map((row) => USAGE_COLUMNS.map((c) => row[c] ?? USAGE_DEFAULTS[c] ?? null));
	const set = USAGE_COLUMNS.filter((c) => c !== "request_id")
		.map((c) => `${c} = excluded.${c}`)
		.join(", ");
	const tail = ` ON CONFLICT (request_id) DO UPDATE SET ${set} WHERE ${usageRank("excluded")} >= ${usageRank("usage")}`;
	return insertMany(db, "INSERT INTO usage", USAGE_COLUMNS, values, tail);
}

const LEDGER_COLUMNS = [
	"id",
	"seq",
	"key_id",
	"request_id",
	"kind",
	"amount",
	"balance_after",
	"reason",
	"created_at",
] as const satisfies ReadonlyArray<keyof LedgerRow>;

/** Ledger rows, each with its sequence number; a re-sent row (same id) is ignored. */
export function ledgerInserts(db: D1Database, rows: (LedgerRow & { seq: number })[]): D1PreparedStatement[] {
	const values = rows.map((row) => LEDGER_COLUMNS.map((c) => row[c]));
	return insertMany(db, "INSERT OR IGNORE INTO credit_ledger", LEDGER_COLUMNS, values);
}

export interface UsageFilter {
	keyId?: string;
	from?: string;
	to?: string;
	model?: string;
	/** Rows with at least one image served by this upstream (pool member id). */
	upstream?: string;
}

/** The day after `day` (yyyy-mm-dd). */
const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

function whereOf(f: UsageFilter): { sql: string; params: Array<string | number | null> } {
	// Days as created_at bounds (day is created_at's date): the (key_id, created_at) and (created_at) indexes serve them.
	const w = allOf([
		f.keyId && ["key_id = ?", f.keyId],
		f.from && ["created_at >= ?", f.from],
		f.to && ["created_at < ?", nextDay(f.to)],
		f.model && ["model = ?", f.model],
		f.upstream && ["EXISTS (SELECT 1 FROM json_each(usage.upstreams) WHERE json_each.value = ?)", f.upstream],
	]);
	return { sql: w.sql ? `WHERE ${w.sql}` : "", params: w.params };
}

/** The same filter over the daily rollup (which has no upstreams: an upstream filter reads rows only). */
function rollupWhereOf(f: UsageFilter): { sql: string; params: Array<string | number | null> } {
	const w = allOf([
		f.keyId && ["key_id = ?", f.keyId],
		f.from && ["day >= ?", f.from],
		f.to && ["day <= ?", f.to],
		f.model && ["model = ?", f.model],
	]);
	return { sql: w.sql ? `WHERE ${w.sql}` : "", params: w.params };
}

/** Newest first, keyset-paginated on (created_at, request_id). */
export async function listUsage(
	db: D1Database,
	f: UsageFilter,
	limit: number,
	before?: { createdAt: string; id: string },
): Promise<UsageRow[]> {
	const w = whereOf(f);
	const cursor = before ? `${w.sql ? " AND" : "WHERE"} (created_at, request_id) < (?, ?)` : "";
	const params = before ? [...w.params, before.createdAt, before.id] : w.params;
	const rows = await db
		.prepare(`SELECT * FROM usage ${w.sql}${cursor} ORDER BY created_at DESC, request_id DESC LIMIT ?`)
		.bind(...params, limit)
		.all<UsageRow>();
	return rows.results;
}

export interface UsageAggregate {
	day?: string;
	model?: string;
	key_id?: string;
	requests: number;
	images: number;
	credits: number;
	failed: number;
	/** The operator's view only: what Google billed for these requests, in credits (2 decimals). */
	google_cost?: number;
}

/**
 * Totals grouped by any of day, model and key; `withCost` adds Google's bill (never shown to
 * customers). They read the rows still held and the daily rollups of the rows pruned
 * (src/storage/archive.ts folds and deletes in one transaction, so nothing counts twice).
 */
export async function aggregateUsage(
	db: D1Database,
	f: UsageFilter,
	groupBy: ReadonlyArray<"day" | "model" | "key_id">,
	withCost = false,
): Promise<UsageAggregate[]> {
	const w = whereOf(f);
	const r = rollupWhereOf(f);
	const cols = groupBy.join(", ");
	const cost = withCost ? ", ROUND(COALESCE(SUM(google_cost), 0), 2) AS google_cost" : "";
	const rollup = f.upstream
		? ""
		: ` UNION ALL SELECT day, key_id, model, requests, images, credits, failed, google_cost FROM usage_daily ${r.sql}`;
	const rows = await db
		.prepare(
			`SELECT ${cols ? `${cols}, ` : ""}COALESCE(SUM(requests), 0) AS requests, COALESCE(SUM(images), 0) AS images,
			 COALESCE(SUM(credits), 0) AS credits, COALESCE(SUM(failed), 0) AS failed${cost}
			 FROM (SELECT day, key_id, model, 1 AS requests, images_delivered AS images, credits_charged AS credits,
			   CASE WHEN status >= 400 THEN 1 ELSE 0 END AS failed, google_cost FROM usage ${w.sql}${rollup})
			 ${cols ? ` GROUP BY ${cols} ORDER BY ${cols}` : ""}`,
		)
		.bind(...w.params, ...(f.upstream ? [] : r.params))
		.all<UsageAggregate>();
	return rows.results;
}

export interface UpstreamAggregate {
	upstream: string;
	/** Requests with at least one image from this upstream. */
	requests: number;
	images: number;
	/** What those images were charged (a request's charge split evenly over its images). */
	credits: number;
}

/** Images, requests and credits per upstream, counted image by image (`usage.upstreams`). */
export async function aggregateByUpstream(db: D1Database, f: UsageFilter): Promise<UpstreamAggregate[]> {
	const w = whereOf(f);
	const rows = await db
		.prepare(
			`SELECT u.value AS upstream, COUNT(DISTINCT usage.request_id) AS requests, COUNT(*) AS images,
			 CAST(ROUND(SUM(CAST(usage.credits_charged AS REAL) / usage.images_delivered)) AS INTEGER) AS credits
			 FROM usage, json_each(usage.upstreams) AS u ${w.sql} GROUP BY u.value ORDER BY u.value`,
		)
		.bind(...w.params)
		.all<UpstreamAggregate>();
	return rows.results;
}

export interface Stats {
	requests: number;
	succeeded: number;
	safety_blocks: number;
	p50_ms: number | null;
	p95_ms: number | null;
}

/** Request count, successes, safety blocks and latency percentiles since `since` (ISO). */
export async function usageStats(db: D1Database, since: string): Promise<Stats> {
	const counts = await db
		.prepare(
			`SELECT COUNT(*) AS requests, SUM(CASE WHEN status < 400 THEN 1 ELSE 0 END) AS succeeded,
			 SUM(CASE WHEN error_code = 'content_policy_violation' THEN 1 ELSE 0 END) AS safety_blocks
			 FROM usage WHERE created_at >= ?`,
		)
		.bind(since)
		.first<{ requests: number; succeeded: number | null; safety_blocks: number | null }>();
	const n = counts?.requests ?? 0;
	const percentile = async (p: number): Promise<number | null> => {
		const row = await db
			.prepare(
				"SELECT total_ms FROM usage WHERE created_at >= ? AND total_ms IS NOT NULL AND status < 400 ORDER BY total_ms LIMIT 1 OFFSET ?",
			)
			.bind(since, Math.max(0, Math.ceil(p * (counts?.succeeded ?? 0)) - 1))
			.first<{ total_ms: number }>();
		return row?.total_ms ?? null;
	};
	return {
		requests: n,
		succeeded: counts?.succeeded ?? 0,
		safety_blocks: counts?.safety_blocks ?? 0,
		p50_ms: await percentile(0.5),
		p95_ms: await percentile(0.95),
	};
}

// ---- conversations -------------------------------------------------------------------

export interface ConversationRecord {
	id: string;
	key_id: string;
	model: string;
	turns: number;
	created_at: string;
	updated_at: string;
}

export async function insertConversation(db: D1Database, c: ConversationRecord): Promise<void> {
	await db
		.prepare("INSERT INTO conversations (id, key_id, model, turns, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)")
		.bind(c.id, c.key_id, c.model, c.turns, c.created_at, c.updated_at)
		.run();
}

/** A conversation only its own key can see: anything else reads as missing. */
export async function getConversation(db: D1Database, id: string, keyId: string): Promise<ConversationRecord | null> {
	return db.prepare("SELECT * FROM conversations WHERE id = ? AND key_id = ?").bind(id, keyId).first<ConversationRecord>();
}

/** A page of the key's conversations, newest first (keyset on created_at, id: the conversations_key index). */
export async function listConversations(
	db: D1Database,
	keyId: string,
	limit: number,
	before?: { createdAt: string; id: string },
): Promise<ConversationRecord[]> {
	const sql = before
		? "SELECT * FROM conversations WHERE key_id = ? AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?"
		: "SELECT * FROM conversations WHERE key_id = ? ORDER BY created_at DESC, id DESC LIMIT ?";
	const binds = before ? [keyId, before.createdAt, before.id, limit] : [keyId, limit];
	return (
		await db
			.prepare(sql)
			.bind(...binds)
			.all<ConversationRecord>()
	).results;
}

/** One more exchange recorded (counted in SQL: a count read before the message was answered may be stale). */
export async function touchConversation(db: D1Database, id: string, at: string): Promise<void> {
	await db.prepare("UPDATE conversations SET turns = turns + 1, updated_at = ? WHERE id = ?").bind(at, id).run();
}

export async function deleteConversation(db: D1Database, id: string, keyId: string): Promise<boolean> {
	const r = await db.prepare("DELETE FROM conversations WHERE id = ? AND key_id = ?").bind(id, keyId).run();
	return (r.meta.changes ?? 0) > 0;
}

/** The newest migration applied to this database (`wrangler d1 migrations apply` records them). */
export async function lastMigration(db: D1Database): Promise<string | null> {
	return db.prepare("SELECT name FROM d1_migrations ORDER BY id DESC LIMIT 1").first<string>("name");
}
