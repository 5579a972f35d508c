/**
 * Idempotency records: a request sent again with the same Idempotency-Key gets the first
 * one's stored response (or is told it is still running, or that its body differs).
 */
import type { GrantKey, GrantResult, StoredResponse } from "./records";
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

	/**
	 * A repeat of an admin grant's Idempotency-Key: the first grant's answer (its balance then),
	 * or a refusal when that grant had another body; undefined for a new key. Grants' keys live
	 * apart from requests' (a customer's key never meets the operator's).
	 */
	replayGrant(grant: GrantKey, balance: number, now: number): GrantResult | undefined {
		const rec = this.find(`grant:${grant.key}`, now);
		if (!rec) return undefined;
		if (rec.bodyHash !== grant.bodyHash) return { ok: false, reason: "idempotency_mismatch", balance };
		return { ok: true, balance: Number(rec.response?.body), replayed: true };
	}

	/** Records a grant applied under its key, with the balance it answered (call in the grant's transaction). */
	recordGrant(grant: GrantKey, balance: number, expiresAt: number): void {
		this.begin(`grant:${grant.key}`, grant.bodyHash, expiresAt);
		this.finish(`grant:${grant.key}`, { status: 200, headers: {}, body: String(balance) });
	}

	/** Drops expired records. */
	prune(now: number): void {
		this.sql`DELETE FROM idempotency WHERE expires_at <= ${now}`;
	}
}
