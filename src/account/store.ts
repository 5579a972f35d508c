/**
 * KeyAccount's storage: SQLite rows plus an in-memory copy of what every admission
 * reads (the account row, open holds, this period's counters, the last minute's rate
 * buckets). One Durable Object instance owns one key, so the copy is coherent; writes
 * go to SQLite first, in one transaction, and a failed transaction reloads the copy.
 *
 * Every writing call costs a commit plus a few statements, so the statements are few:
 * the counters of the current periods and the per-minute window travel as one JSON
 * `state` column, written by the same UPDATE as the balance (`save`), and a settled hold
 * is closed in its own row rather than moved to another table. An admission is three
 * statements (account, outbox, hold) and a settlement three (hold, account, outbox), one
 * more with an idempotency key.
 */
import type { LimitOverrides } from "../billing/limits";
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
	state: string;
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

/** What the `state` column holds: recent periods' counters and the last minute's buckets. */
interface PersistedState {
	periods?: Record<string, PeriodUsage>;
	/** The per-second counts of the last minute, dense: `[first second, n, n+1, ...]`. */
	window?: number[];
	/** The same as `{second: count}` (written before migration 6's release; read only). */
	buckets?: Record<string, number>;
}

export type OutboxRow = ["usage", UsageRow] | ["ledger", LedgerRow];

export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
export const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);

/** Periods kept in `state`: the views and quotas read only the current day and month. */
const KEPT_PERIODS = 4;
/** Rows each pruning pass looks at. */
const PRUNE_CHUNK = 500;

export class AccountStore {
	private acct: AccountRow | null | undefined;
	private overrides: LimitOverrides | undefined;
	private holds = new Map<string, Hold>();
	private earliest = Number.POSITIVE_INFINITY;
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
		this.overrides = undefined;
		this.holds = new Map(
			this.sql
				.exec<HoldRow>("SELECT id, credits, images, day, month, usage, idem_key, expires_at FROM reservations WHERE closed_at IS NULL")
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
		this.findEarliest();
		const state = JSON.parse(this.account()?.state ?? "{}") as PersistedState;
		this.periods = new Map(Object.entries(state.periods ?? {}));
		this.buckets = new Map(Object.entries(state.buckets ?? {}).map(([second, n]) => [Number(second), n]));
		const [first, ...counts] = state.window ?? [];
		counts.forEach((n, i) => {
			if (n > 0) this.buckets.set(first + i, n);
		});
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

	/** The key's own limits (parsed once per account row). */
	limitOverrides(): LimitOverrides {
		this.overrides ??= JSON.parse(this.account()?.limits ?? "{}") as LimitOverrides;
		return this.overrides;
	}

	/** Runs an UPDATE on the account row and drops the cached copy. */
	updateAccount(query: string, ...params: SqlStorageValue[]): void {
		this.sql.exec(query, ...params);
		this.acct = undefined;
		this.overrides = undefined;
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
		this.overrides = undefined;
	}

	/**
	 * Writes the balance and the in-memory state (counters, per-minute window) in one
	 * UPDATE, and queues the ledger rows (and any usage row) that explain the change in one
	 * INSERT. Call last inside `transaction`, after the memory changes it persists.
	 */
	save(balance: number, rows: OutboxRow[]): void {
		const a = this.account();
		if (!a) throw new Error("no account");
		const state = this.stateJson();
		this.sql.exec("UPDATE account SET balance = ?, state = ?", balance, state);
		a.balance = balance;
		a.state = state;
		this.enqueue(rows);
	}

	private stateJson(): string {
		const periods = [...this.periods.entries()].sort((x, y) => (x[0] < y[0] ? 1 : -1));
		const days = periods.filter(([k]) => k.startsWith("d:")).slice(0, KEPT_PERIODS);
		const months = periods.filter(([k]) => k.startsWith("m:")).slice(0, KEPT_PERIODS);
		const state: PersistedState = { periods: Object.fromEntries([...days, ...months]) };
		if (this.buckets.size > 0) {
			// Dense from the oldest second: a busy minute is ~4 bytes a second instead of ~16.
			const seconds = [...this.buckets.keys()];
			const first = Math.min(...seconds);
			const window = new Array<number>(Math.max(...seconds) - first + 2).fill(0);
			window[0] = first;
			for (const [second, n] of this.buckets) window[second - first + 1] = n;
			state.window = window;
		}
		return JSON.stringify(state);
	}

	/**
	 * A ledger row for `amount`, leaving the balance at `after`. Rows of a hold take their
	 * id from it (`led_{hold}_{kind}`), unique and cheaper than a random id; others are random.
	 */
	ledger(kind: LedgerKind, amount: number, after: number, requestId: string | null, reason: string | null, holdId?: string): OutboxRow {
		return [
			"ledger",
			{
				id: holdId ? `led_${holdId.slice(4)}_${kind}` : `led_${crypto.randomUUID().replaceAll("-", "")}`,
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
		if (now < this.earliest) return []; // the common case: nothing to scan
		return [...this.holds.values()].filter((h) => h.expiresAt <= now);
	}

	earliestExpiry(): number | null {
		return Number.isFinite(this.earliest) ? this.earliest : null;
	}

	/**
	 * A new hold's id: the time in hex, then randomness. Ids that grow with time land at the
	 * end of the primary-key index (one page written, not a random one).
	 */
	static holdId(now: number): string {
		return `res_${now.toString(16).padStart(12, "0")}${crypto.getRandomValues(new Uint8Array(10)).toHex()}`;
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
		this.earliest = Math.min(this.earliest, h.expiresAt);
	}

	/** Closes a hold in its row, remembering the result (settling it again returns this). */
	closeHold(id: string, charged: number, balance: number, now: number): void {
		this.sql.exec("UPDATE reservations SET closed_at = ?, charged = ?, balance_after = ? WHERE id = ?", now, charged, balance, id);
		const closing = this.holds.get(id);
		this.holds.delete(id);
		if (closing && closing.expiresAt <= this.earliest) this.findEarliest();
	}

	/** The earliest expiry among open holds (infinity when none). */
	private findEarliest(): void {
		this.earliest = Math.min(...[...this.holds.values()].map((h) => h.expiresAt));
	}

	closed(id: string): { charged: number; balance: number } | undefined {
		if (this.holds.has(id)) return undefined;
		return this.sql
			.exec<{ charged: number; balance: number }>(
				"SELECT charged, balance_after AS balance FROM reservations WHERE id = ? AND closed_at IS NOT NULL",
				id,
			)
			.toArray()[0];
	}

	/**
	 * Forgets holds closed before `before` (a redelivered message comes within days). Rows
	 * arrive in time order, so the oldest are the first by rowid: each pass looks at the
	 * next `PRUNE_CHUNK` of them and no index on `closed_at` is needed (one would be written
	 * by every settlement). Stops at a pass that frees nothing or after `passes`.
	 */
	pruneClosed(before: number, passes = 8): void {
		for (let i = 0; i < passes; i++) {
			const written = this.sql.exec(
				"DELETE FROM reservations WHERE rowid IN (SELECT rowid FROM reservations ORDER BY rowid LIMIT ?) AND closed_at <= ?",
				PRUNE_CHUNK,
				before,
			).rowsWritten;
			if (written === 0) break;
		}
	}

	// ---- counters and the per-minute window (in memory, saved with the balance) ----------

	period(period: string): PeriodUsage {
		let p = this.periods.get(period);
		if (!p) {
			p = { requests: 0, images: 0, credits: 0 };
			this.periods.set(period, p);
		}
		return p;
	}

	/** Adds to a day's and a month's counters (persisted by the next `save`). */
	bump(day: string, month: string, requests: number, images: number, credits: number): void {
		for (const key of [`d:${day}`, `m:${month}`]) {
			const p = this.period(key);
			p.requests += requests;
			p.images += images;
			p.credits += credits;
		}
	}

	/** Requests admitted in the last 60 seconds, and the oldest second among them. */
	recentRequests(second: number): { n: number; oldest: number | null } {
		this.pruneWindow(second);
		let n = 0;
		let oldest: number | null = null;
		for (const [s, count] of this.buckets) {
			n += count;
			if (oldest === null || s < oldest) oldest = s;
		}
		return { n, oldest };
	}

	/** Drops the buckets that have left the 60-second window (persisted by the next `save`). */
	pruneWindow(second: number): void {
		for (const s of this.buckets.keys()) if (s <= second - 60) this.buckets.delete(s);
	}

	/** Counts an admitted request in its second (persisted by the next `save`). */
	countRequest(second: number): void {
		this.buckets.set(second, (this.buckets.get(second) ?? 0) + 1);
	}
}
