/**
 * Idempotency records: a request sent again with the same Idempotency-Key gets the first
 * one's stored response (or is told it is still running, or that its body differs).
 */
import type { StoredResponse } from "./records";
import type { Sql } from "./sql";

/** A live record: `running` until its request settles, then `done` with the response. */
export interface IdempotencyRecord {
	bodyHash: string;
	/** The stored response; null while the request runs. */
	response: StoredResponse | null;
}

/** The `idempotency` table's statements. */
export class IdempotencyTable {
	constructor(private readonly sql: Sql) {}

	/** The unexpired record for `key`, if any. */
	find(key: string, now: number): IdempotencyRecord | undefined {
		const rec = this.sql<{ body_hash: string; state: string; response: string | null }>`SELECT body_hash, state, response
			FROM idempotency WHERE key = ${key} AND expires_at > ${now}`.toArray()[0];
		if (!rec) return undefined;
		const response = rec.state === "running" || !rec.response ? null : (JSON.parse(rec.response) as StoredResponse);
		return { bodyHash: rec.body_hash, response };
	}

	/** Records `key` as running (replacing an expired record). */
	begin(key: string, bodyHash: string, expiresAt: number): void {
		this.sql`INSERT OR REPLACE INTO idempotency (key, body_hash, state, response, expires_at)
			VALUES (${key}, ${bodyHash}, 'running', NULL, ${expiresAt})`;
	}

	/** Stores the response a repeat of `key` replays (until `expiresAt`, when given). */
	finish(key: string, response: StoredResponse, expiresAt?: number): void {
		this.sql`UPDATE idempotency SET state = 'done', response = ${JSON.stringify(response)},
			expires_at = COALESCE(${expiresAt ?? null}, expires_at) WHERE key = ${key}`;
	}

	/** Stores `response` for `key` until `expiresAt`, or forgets `key` (null: nothing to replay). */
	keep(key: string, response: StoredResponse | null, expiresAt: number): void {
		if (response) this.finish(key, response, expiresAt);
		else this.forget(key);
	}

	/** Forgets `key` (its request left nothing to replay): a repeat runs afresh. */
	forget(key: string): void {
		this.sql`DELETE FROM idempotency WHERE key = ${key}`;
	}

	/** Forgets `key` if its request is still running (its hold expired). */
	forgetRunning(key: string): void {
		this.sql`DELETE FROM idempotency WHERE key = ${key} AND state = 'running'`;
	}

	/** Drops expired records. */
	prune(now: number): void {
		this.sql`DELETE FROM idempotency WHERE expires_at <= ${now}`;
	}
}
