/**
 * Every D1 query the gateway makes, in one place, always with bound parameters.
 */

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
export async function listKeys(db: D1Database, limit: number, after?: { createdAt: string; id: string }): Promise<KeyRecord[]> {
	const rows = after
		? await db
				.prepare("SELECT * FROM api_keys WHERE (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?")
				.bind(after.createdAt, after.id, limit)
				.all<KeyRecord>()
		: await db.prepare("SELECT * FROM api_keys ORDER BY created_at DESC, id DESC LIMIT ?").bind(limit).all<KeyRecord>();
	return rows.results;
}

export async function markKeyRevoked(db: D1Database, id: string, revokedAt: string): Promise<void> {
	await db.prepare("UPDATE api_keys SET status = 'revoked', revoked_at = COALESCE(revoked_at, ?) WHERE id = ?").bind(revokedAt, id).run();
}
