/**
 * KeyAccount's storage: SQLite rows plus an in-memory copy of what every admission
 * reads (the account row, open holds, this period's counters, the last minute's rate
 * buckets). One Durable Object instance owns one key, so the copy is coherent; writes
 * go to SQLite first, in one transaction, and a failed transaction reloads the copy.
 * Merged writes keep an admission to five statements and a settlement to five.
 */
import type { LedgerKind, LedgerRow, PeriodUsage, UsageDraft, UsageRow } from "./records";
import { MIGRATIONS } from "./schema";

export interface AccountRow extends Record<string, SqlStorageValue> {
	key_id: string;
	name: string;
	status: string;
	created_at: string;
	revoked_at: string | null;
	balance: number;
	limits: string;
	webhook_secret: string | null;
}

export interface Hold {
	id: string;
	credits: number;
	images: number;
	day: string;
	month: string;
	draft: UsageDraft;
	idemKey: string | null;
	expiresAt: number;
}

interface HoldRow extends Record<string, SqlStorageValue> {
	id: string;
	credits: number;
	images: number;
	day: string;
	month: string;
	usage: string;
	idem_key: string | null;
	expires_at: number;
}

export type OutboxRow = ["usage", UsageRow] | ["ledger", LedgerRow];

export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
export const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);

export class AccountStore {
	private acct: AccountRow | null | undefined;
	private holds = new Map<string, Hold>();
	private periods = new Map<string, PeriodUsage>();
	private buckets = new Map<number, number>();

	constructor(
		private readonly sql: SqlStorage,
		private readonly storage: DurableObjectStorage,
	) {}

	/** Applies numbered migrations, then loads the in-memory copy. */
	init(): void {
		this.sql.exec("CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
		const done = this.sql.exec<{ v: number | null }>("SELECT MAX(version) AS v FROM _migrations").one().v ?? 0;
		for (let v = done; v < MIGRATIONS.length; v++) {
			this.storage.transactionSync(() => {
				for (const stmt of MIGRATIONS[v]) this.sql.exec(stmt);
				this.sql.exec("INSERT INTO _migrations (version, applied_at) VALUES (?, ?)", v + 1, new Date().toISOString());
			});
		}
		this.reload();
	}

	/** Forgets the in-memory copy and reads it back from SQLite. */
	reload(): void {
		this.acct = undefined;
		this.periods.clear();
		this.holds = new Map(
			this.sql
				.exec<HoldRow>("SELECT id, credits, images, day, month, usage, idem_key, expires_at FROM reservations")
				.toArray()
				.map((h) => [
					h.id,
					{
						id: h.id,
						credits: h.credits,
						images: h.images,
						day: h.day,
						month: h.month,
						draft: JSON.parse(h.usage) as UsageDraft,
						idemKey: h.idem_key,
						expiresAt: h.expires_at,
					},
				]),
		);
		this.buckets = new Map(
			this.sql
				.exec<{ second: number; n: number }>("SELECT second, n FROM rate_buckets")
				.toArray()
				.map((b) => [b.second, b.n]),
		);
	}

	/** Runs `fn` in one SQLite transaction; on failure the in-memory copy is reloaded. */
	transaction<T>(fn: () => T): T {
		try {
			return this.storage.transactionSync(fn);
		} catch (error) {
			this.reload();
			throw error;
		}
	}

	// ---- account -------------------------------------------------------------------------

	account(): AccountRow | null {
		if (this.acct === undefined) this.acct = this.sql.exec<AccountRow>("SELECT * FROM account").toArray()[0] ?? null;
		return this.acct;
	}

	/** Runs an UPDATE on the account row and drops the cached copy. */
	updateAccount(query: string, ...params: SqlStorageValue[]): void {
		this.sql.exec(query, ...params);
		this.acct = undefined;
	}

	insertAccount(keyId: string, name: string, createdAt: string, limits: string): void {
		this.sql.exec(
			"INSERT INTO account (singleton, key_id, name, status, created_at, limits) VALUES (1, ?, ?, 'active', ?, ?)",
			keyId,
			name,
			createdAt,
			limits,
		);
		this.acct = undefined;
	}

	/**
	 * Sets the balance to `balance` and queues the ledger rows (and any usage row) that
	 * explain it, in two statements. Call inside `transaction`.
	 */
	moveBalance(balance: number, rows: OutboxRow[]): void {
		const a = this.account();
		if (!a) throw new Error("no account");
		this.sql.exec("UPDATE account SET balance = ?", balance);
		a.balance = balance;
		this.enqueue(rows);
	}

	/** A ledger row for `amount`, leaving the balance at `after`. */
	ledger(kind: LedgerKind, amount: number, after: number, requestId: string | null, reason: string | null): OutboxRow {
		return [
			"ledger",
			{
				id: `led_${crypto.randomUUID().replaceAll("-", "")}`,
				key_id: this.account()?.key_id ?? "",
				request_id: requestId,
				kind,
				amount,
				balance_after: after,
				reason,
				created_at: new Date().toISOString(),
			},
		];
	}

	/** Queues rows for D1 in one multi-row INSERT. */
	enqueue(rows: OutboxRow[]): void {
		if (rows.length === 0) return;
		const now = Date.now();
		const params: SqlStorageValue[] = [];
		for (const [kind, payload] of rows) params.push(kind, JSON.stringify(payload), now);
		this.sql.exec(`INSERT INTO outbox (kind, payload, created_at) VALUES ${rows.map(() => "(?, ?, ?)").join(", ")}`, ...params);
	}

	// ---- holds ---------------------------------------------------------------------------

	hold(id: string): Hold | undefined {
		return this.holds.get(id);
	}

	openHolds(): number {
		return this.holds.size;
	}

	heldCredits(): number {
		let n = 0;
		for (const h of this.holds.values()) n += h.credits;
		return n;
	}

	heldImages(day: string, month: string): { day: number; month: number } {
		const out = { day: 0, month: 0 };
		for (const h of this.holds.values()) {
			if (h.day === day) out.day += h.images;
			if (h.month === month) out.month += h.images;
		}
		return out;
	}

	expiredHolds(now: number): Hold[] {
		return [...this.holds.values()].filter((h) => h.expiresAt <= now);
	}

	earliestExpiry(): number | null {
		let at: number | null = null;
		for (const h of this.holds.values()) if (at === null || h.expiresAt < at) at = h.expiresAt;
		return at;
	}

	addHold(h: Hold): void {
		this.sql.exec(
			"INSERT INTO reservations (id, request_id, credits, images, day, month, usage, idem_key, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			h.id,
			h.draft.requestId,
			h.credits,
			h.images,
			h.day,
			h.month,
			JSON.stringify(h.draft),
			h.idemKey,
			Date.now(),
			h.expiresAt,
		);
		this.holds.set(h.id, h);
	}

	/** Removes a hold and remembers it as closed (settling it again returns this result). */
	closeHold(id: string, charged: number, balance: number, now: number): void {
		this.sql.exec("DELETE FROM reservations WHERE id = ?", id);
		this.sql.exec("INSERT INTO closed_reservations (id, charged, balance, at) VALUES (?, ?, ?, ?)", id, charged, balance, now);
		this.holds.delete(id);
	}

	closed(id: string): { charged: number; balance: number } | undefined {
		if (this.holds.has(id)) return undefined;
		return this.sql
			.exec<{ charged: number; balance: number }>("SELECT charged, balance FROM closed_reservations WHERE id = ?", id)
			.toArray()[0];
	}

	// ---- counters and the per-minute window ----------------------------------------------

	period(period: string): PeriodUsage {
		let p = this.periods.get(period);
		if (!p) {
			const c = this.sql
				.exec<{ requests: number; images: number; credits: number }>(
					"SELECT requests, images, credits FROM counters WHERE period = ?",
					period,
				)
				.toArray()[0];
			p = c ? { requests: c.requests, images: c.images, credits: c.credits } : { requests: 0, images: 0, credits: 0 };
			if (this.periods.size > 64) this.periods.clear();
			this.periods.set(period, p);
		}
		return p;
	}

	/** Adds to a day's and a month's counters in one statement. */
	bump(day: string, month: string, requests: number, images: number, credits: number): void {
		this.sql.exec(
			`INSERT INTO counters (period, requests, images, credits) VALUES (?, ?, ?, ?), (?, ?, ?, ?)
			 ON CONFLICT (period) DO UPDATE SET requests = requests + excluded.requests, images = images + excluded.images, credits = credits + excluded.credits`,
			`d:${day}`,
			requests,
			images,
			credits,
			`m:${month}`,
			requests,
			images,
			credits,
		);
		for (const key of [`d:${day}`, `m:${month}`]) {
			const p = this.period(key);
			p.requests += requests;
			p.images += images;
			p.credits += credits;
		}
	}

	/** Requests admitted in the last 60 seconds, and the oldest second among them. */
	recentRequests(second: number): { n: number; oldest: number | null } {
		let stale = false;
		let n = 0;
		let oldest: number | null = null;
		for (const [s, count] of this.buckets) {
			if (s <= second - 60) {
				stale = true;
				this.buckets.delete(s);
				continue;
			}
			n += count;
			if (oldest === null || s < oldest) oldest = s;
		}
		if (stale) this.sql.exec("DELETE FROM rate_buckets WHERE second <= ?", second - 60);
		return { n, oldest };
	}

	countRequest(second: number): void {
		this.sql.exec("INSERT INTO rate_buckets (second, n) VALUES (?, 1) ON CONFLICT (second) DO UPDATE SET n = n + 1", second);
		this.buckets.set(second, (this.buckets.get(second) ?? 0) + 1);
	}
}
