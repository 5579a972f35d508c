/**
 * KeyAccount: one Durable Object per API key, addressed by sha256(key). The source of
 * truth for the key's status (and, as the gateway grows, its balance, limits and
 * reservations). Native RPC: the public async methods below are the whole surface.
 * Expected failures come back as tagged results, because RPC drops custom error fields.
 */
import { DurableObject } from "cloudflare:workers";

export type KeyStatus = "active" | "revoked";

export interface AccountInfo {
	keyId: string;
	name: string;
	status: KeyStatus;
	createdAt: string;
	revokedAt: string | null;
}

export type AuthorizeResult = { ok: true; keyId: string; name: string } | { ok: false; reason: "unknown_key" | "key_revoked" };

/** Numbered schema migrations, applied in order, each exactly once. */
const MIGRATIONS: readonly string[] = [
	`CREATE TABLE account (
		singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
		key_id TEXT NOT NULL,
		name TEXT NOT NULL,
		status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
		created_at TEXT NOT NULL,
		revoked_at TEXT
	)`,
];

interface AccountRow extends Record<string, SqlStorageValue> {
	key_id: string;
	name: string;
	status: string;
	created_at: string;
	revoked_at: string | null;
}

export class KeyAccount extends DurableObject<Env> {
	private readonly sql: SqlStorage;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.sql = ctx.storage.sql;
		ctx.blockConcurrencyWhile(async () => this.migrate());
	}

	private migrate(): void {
		this.sql.exec("CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
		const done = this.sql.exec<{ v: number | null }>("SELECT MAX(version) AS v FROM _migrations").one().v ?? 0;
		for (let v = done; v < MIGRATIONS.length; v++) {
			this.ctx.storage.transactionSync(() => {
				this.sql.exec(MIGRATIONS[v]);
				this.sql.exec("INSERT INTO _migrations (version, applied_at) VALUES (?, ?)", v + 1, new Date().toISOString());
			});
		}
	}

	private row(): AccountRow | undefined {
		return this.sql.exec<AccountRow>("SELECT key_id, name, status, created_at, revoked_at FROM account").toArray()[0];
	}

	private static info(r: AccountRow): AccountInfo {
		return { keyId: r.key_id, name: r.name, status: r.status as KeyStatus, createdAt: r.created_at, revokedAt: r.revoked_at };
	}

	/** Sets the account up for a freshly issued key. Refuses to overwrite an existing one. */
	async create(input: { keyId: string; name: string; createdAt: string }): Promise<{ ok: true } | { ok: false; reason: "exists" }> {
		if (this.row()) return { ok: false, reason: "exists" };
		this.sql.exec(
			"INSERT INTO account (singleton, key_id, name, status, created_at) VALUES (1, ?, ?, 'active', ?)",
			input.keyId,
			input.name,
			input.createdAt,
		);
		return { ok: true };
	}

	/** Is this key allowed to make a request right now? */
	async authorize(): Promise<AuthorizeResult> {
		const r = this.row();
		if (!r) return { ok: false, reason: "unknown_key" };
		if (r.status !== "active") return { ok: false, reason: "key_revoked" };
		return { ok: true, keyId: r.key_id, name: r.name };
	}

	async describe(): Promise<AccountInfo | null> {
		const r = this.row();
		return r ? KeyAccount.info(r) : null;
	}

	/** Revokes the key; every later authorize() refuses it. Idempotent. */
	async revoke(): Promise<AccountInfo | null> {
		this.sql.exec("UPDATE account SET status = 'revoked', revoked_at = COALESCE(revoked_at, ?)", new Date().toISOString());
		return this.describe();
	}

	async rename(name: string): Promise<AccountInfo | null> {
		this.sql.exec("UPDATE account SET name = ?", name);
		return this.describe();
	}
}

export type KeyAccountStub = DurableObjectStub<KeyAccount>;

/** The KeyAccount for a key hash. */
export function accountFor(env: Env, keyHash: string): KeyAccountStub {
	return env.KEY_ACCOUNT.get(env.KEY_ACCOUNT.idFromName(keyHash));
}
