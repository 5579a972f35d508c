/**
 * The account's one row: the key's descriptive columns (name, status, limits, spend
 * controls, webhook secret), read once and kept until a change, and the checkpoint columns (balance, state)
 * that store.ts rewrites.
 */
import type { KeyControls } from "../billing/controls";
import type { LimitOverrides } from "../billing/limits";
import type { Sql } from "./sql";

export interface AccountRow extends Record<string, SqlStorageValue> {
	key_id: string;
	name: string;
	status: string;
	created_at: string;
	revoked_at: string | null;
	/** The checkpoint's balance: holds open at the checkpoint are not taken off it. */
	balance: number;
	limits: string;
	webhook_secret: string | null;
	/** The key's spend controls (JSON, billing/controls.ts); added by migration 8. */
	controls: string;
	/** The checkpoint's counters, window and cursor (JSON). */
	state: string;
}

/** The `account` table's statements, and the row as last read. */
export class AccountTable {
	private row: AccountRow | null | undefined;
	private overrides: LimitOverrides | undefined;
	private parsedControls: KeyControls | undefined;

	constructor(private readonly sql: Sql) {}

	/** The row (null before the key's account is created). */
	get(): AccountRow | null {
		if (this.row === undefined) this.row = this.sql<AccountRow>`SELECT * FROM account`.toArray()[0] ?? null;
		return this.row;
	}

	/** The key's own limits (parsed once per row read). */
	limitOverrides(): LimitOverrides {
		this.overrides ??= JSON.parse(this.get()?.limits ?? "{}") as LimitOverrides;
		return this.overrides;
	}

	/** The key's spend controls (parsed once per row read). */
	controls(): KeyControls {
		this.parsedControls ??= JSON.parse(this.get()?.controls ?? "{}") as KeyControls;
		return this.parsedControls;
	}

	/** Drops the row as read (and what was parsed from it): the next read loads it. */
	forget(): void {
		this.row = undefined;
		this.overrides = undefined;
		this.parsedControls = undefined;
	}

	insert(keyId: string, name: string, createdAt: string, limits: string): void {
		this
			.sql`INSERT INTO account (singleton, key_id, name, status, created_at, limits) VALUES (1, ${keyId}, ${name}, 'active', ${createdAt}, ${limits})`;
		this.forget();
	}

	rename(name: string): void {
		this.sql`UPDATE account SET name = ${name}`;
		this.forget();
	}

	/** Revokes the key; the first revocation's time stays. */
	revoke(at: string): void {
		this.sql`UPDATE account SET status = 'revoked', revoked_at = COALESCE(revoked_at, ${at})`;
		this.forget();
	}

	reactivate(): void {
		this.sql`UPDATE account SET status = 'active', revoked_at = NULL`;
		this.forget();
	}

	/** Replaces the key's limit overrides (JSON). */
	setLimits(limits: string): void {
		this.sql`UPDATE account SET limits = ${limits}`;
		this.forget();
	}

	/** Replaces the key's spend controls (JSON). */
	setControls(controls: string): void {
		this.sql`UPDATE account SET controls = ${controls}`;
		this.forget();
	}

	setWebhookSecret(secret: string): void {
		this.sql`UPDATE account SET webhook_secret = ${secret}`;
		this.forget();
	}

	/** Writes a checkpoint's balance and state into the row (and into the row as read). */
	saveCheckpoint(balance: number, state: string): void {
		this.sql`UPDATE account SET balance = ${balance}, state = ${state}`;
		if (this.row) {
			this.row.balance = balance;
			this.row.state = state;
		}
	}
}
