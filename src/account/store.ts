/**
 * KeyAccount's storage. The `holds` table is the account's journal: an admission is one
 * INSERT of a hold row and a settlement one UPDATE of that row, and nothing else is
 * written on the request path. Everything the calls read lives in memory (one Durable
 * Object instance owns one key, so the copy is coherent): the available balance, open
 * holds, this period's counters, the last minute's per-second admissions.
 *
 * The account row is a checkpoint of that memory (balance, counters, window, and the
 * cursor `cp` saying which holds it already includes). Every so often (`checkpoint`, run
 * by the alarm a moment after a write) the holds' ledger and usage rows since the last
 * checkpoint go to the outbox, bound for D1, and the account row is rewritten, in one
 * transaction. After a restart the memory is the checkpoint plus the holds it does not
 * include yet (`reload`): those admitted after it (`id > cp.rowid`) and those open at it
 * (`cp.open`).
 *
 * Ledger rows take their `seq` when the balance changes (an admission's `reserve`, a
 * settlement's `release` and `charge`, a grant), not when they reach the outbox, so D1's
 * `balance_after` chains row to row in `seq` order whatever order rows are flushed in.
 */
import type { LimitOverrides } from "../billing/limits";
import {
	dayOf,
	emptyOutcome,
	type LedgerKind,
	type LedgerRow,
	monthOf,
	type PeriodUsage,
	type UsageDraft,
	type UsageOutcome,
	type UsageRow,
	usageRow,
} from "./records";
import { MIGRATIONS } from "./schema";

export { dayOf, monthOf };

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
	state: string;
}

export interface Hold {
	/** Row id in `holds`: grows with time. */
	rowid: number;
	/** The reservation id handed out: `res_{rowid}_{token}`. */
	id: string;
	/** Random hex; for a hold from before the journal, the whole id it was handed out with. */
	token: string;
	credits: number;
	images: number;
	draft: UsageDraft;
	idemKey: string | null;
	createdAt: number;
	/** `createdAt`'s day and month, the periods the hold counts in. */
	day: string;
	month: string;
	expiresAt: number;
	/** Ledger seq of the `reserve` row; null when that row was queued before the journal. */
	reserveSeq: number | null;
	/** The available balance right after the reserve. */
	reserveBalance: number | null;
	closedAt: number | null;
	/** Ledger seq of the `release` row (`charge`, if any, is the next). */
	settleSeq: number | null;
	charged: number | null;
	/** The available balance right after settlement. */
	balanceAfter: number | null;
	outcome: UsageOutcome | null;
}

interface HoldRow extends Record<string, SqlStorageValue> {
	id: number;
	token: string;
	credits: number;
	images: number;
	usage: string;
	idem_key: string | null;
	created_at: number;
	expires_at: number;
	reserve_seq: number | null;
	reserve_balance: number | null;
	closed_at: number | null;
	settle_seq: number | null;
	charged: number | null;
	balance_after: number | null;
	outcome: string | null;
}

/** Which holds the checkpoint includes: all up to `rowid` but the `open` ones, and every settlement up to `seq`. */
interface Cursor {
	rowid: number;
	seq: number;
	open: number[];
}

/** What the `state` column holds. */
interface PersistedState {
	periods?: Record<string, PeriodUsage>;
	/** The per-second counts of the last minute, dense: `[first second, n, n+1, ...]`. */
	window?: number[];
	/** The same as `{second: count}` (written before migration 6; read only). */
	buckets?: Record<string, number>;
	cp?: Cursor;
}

export type OutboxRow = ["usage", UsageRow] | ["ledger", LedgerRow];

/** Periods kept in `state`: the views and quotas read only the current day and month. */
const KEPT_PERIODS = 4;
/** Rows each pruning pass looks at. */
const PRUNE_CHUNK = 500;
/** Outbox rows per INSERT: 3 parameters each, and workerd's SQLite binds at most 100 a statement. */
const OUTBOX_CHUNK = 33;
const NEW_ID = /^res_(\d+)_([0-9a-f]+)$/;
const HOLD_COLUMNS =
	"id, token, credits, images, usage, idem_key, created_at, expires_at, reserve_seq, reserve_balance, closed_at, settle_seq, charged, balance_after, outcome";

function holdOf(h: HoldRow): Hold {
	return {
		rowid: h.id,
		// Holds from before the journal keep the id they were handed out with as their token.
		id: h.token.startsWith("res_") ? h.token : `res_${h.id}_${h.token}`,
		token: h.token,
		credits: h.credits,
		images: h.images,
		draft: JSON.parse(h.usage) as UsageDraft,
		idemKey: h.idem_key,
		createdAt: h.created_at,
		day: dayOf(h.created_at),
		month: monthOf(h.created_at),
		expiresAt: h.expires_at,
		reserveSeq: h.reserve_seq,
		reserveBalance: h.reserve_balance,
		closedAt: h.closed_at,
		settleSeq: h.settle_seq,
		charged: h.charged,
		balanceAfter: h.balance_after,
		outcome: h.outcome === null ? null : (JSON.parse(h.outcome) as UsageOutcome),
	};
}

export class AccountStore {
	private acct: AccountRow | null | undefined;
	private overrides: LimitOverrides | undefined;
	/** The balance a request can spend now: the checkpoint's, less open holds and later charges. */
	private available = 0;
	private holds = new Map<string, Hold>();
	private earliest = Number.POSITIVE_INFINITY;
	private periods = new Map<string, PeriodUsage>();
	private buckets = new Map<number, number>();
	/** Holds admitted or settled since the checkpoint, by row id. */
	private journal = new Map<number, Hold>();
	private cp: Cursor = { rowid: 0, seq: 0, open: [] };
	private lastRowid = 0;
	/** The last ledger seq taken. */
	private seq = 0;

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

	/** Forgets the in-memory copy and rebuilds it: the checkpoint, then the holds it does not include. */
	reload(): void {
		this.acct = undefined;
		this.overrides = undefined;
		const a = this.account();
		const state = JSON.parse(a?.state ?? "{}") as PersistedState;
		this.cp = state.cp ?? { rowid: 0, seq: 0, open: [] };
		this.periods = new Map(Object.entries(state.periods ?? {}).map(([k, p]) => [k, { ...p }]));
		this.buckets = new Map(Object.entries(state.buckets ?? {}).map(([second, n]) => [Number(second), n]));
		const [first, ...counts] = state.window ?? [];
		counts.forEach((n, i) => {
			if (n > 0) this.buckets.set(first + i, n);
		});
		this.seq = this.cp.seq;
		this.available = a?.balance ?? 0;
		this.holds = new Map();
		this.journal = new Map();
		const rows = this.sql
			.exec<HoldRow>(
				`SELECT ${HOLD_COLUMNS} FROM holds WHERE id > ? OR id IN (SELECT value FROM json_each(?)) ORDER BY id`,
				this.cp.rowid,
				JSON.stringify(this.cp.open),
			)
			.toArray();
		for (const row of rows) {
			const h = holdOf(row);
			const admittedSince = h.rowid > this.cp.rowid;
			const settledSince = h.settleSeq !== null && h.settleSeq > this.cp.seq;
			if (admittedSince) {
				this.bump(h.day, h.month, 1, 0, 0);
				this.countRequest(Math.floor(h.createdAt / 1000));
			}
			if (h.closedAt === null) {
				this.available -= h.credits;
				this.holds.set(h.id, h);
			} else if (settledSince) {
				this.available -= h.charged ?? 0;
				this.bump(h.day, h.month, 0, h.outcome?.imagesDelivered ?? 0, h.charged ?? 0);
			}
			if (admittedSince || settledSince) this.journal.set(h.rowid, h);
			this.seq = Math.max(this.seq, h.reserveSeq ?? 0, (h.settleSeq ?? 0) + ((h.charged ?? 0) > 0 ? 1 : 0));
		}
		const max = this.sql.exec<{ m: number | null }>("SELECT MAX(id) AS m FROM holds").one().m ?? 0;
		// Never below the cursor: a hold numbered at or under it would be missed by the next reload.
		this.lastRowid = Math.max(max, this.cp.rowid);
		this.findEarliest();
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

	/** The balance a request can spend now. */
	balance(): number {
		return this.available;
	}

	/** The key's own limits (parsed once per account row). */
	limitOverrides(): LimitOverrides {
		this.overrides ??= JSON.parse(this.account()?.limits ?? "{}") as LimitOverrides;
		return this.overrides;
	}

	/** Runs an UPDATE of the account's descriptive columns and drops the cached row. */
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
		this.available = 0;
	}

	/**
	 * Changes the balance outside a hold (a grant or an adjustment) with its ledger row,
	 * in a checkpoint. Call inside `transaction`.
	 */
	adjust(amount: number, kind: "grant" | "adjustment", reason: string): void {
		this.available += amount;
		this.checkpoint([this.ledger(kind, amount, this.available, null, reason, ++this.seq)]);
	}

	/**
	 * Writes the checkpoint: the ledger and usage rows of the holds admitted or settled
	 * since the last one (in seq order) and `extra` go to the outbox, and the account row
	 * takes the memory's balance, counters, window and cursor. Call inside `transaction`.
	 */
	checkpoint(extra: OutboxRow[] = []): number {
		const a = this.account();
		if (!a) throw new Error("no account");
		const events: [number, OutboxRow][] = [];
		for (const h of this.journal.values()) {
			if (h.rowid > this.cp.rowid && h.reserveSeq !== null)
				events.push([h.reserveSeq, this.ledger("reserve", -h.credits, h.reserveBalance ?? 0, h.draft.requestId, null, h.reserveSeq, h)]);
			if (h.settleSeq !== null && h.settleSeq > this.cp.seq) events.push(...this.settlementRows(a.key_id, h));
		}
		events.sort((x, y) => x[0] - y[0]);
		this.enqueue([...events.map(([, row]) => row), ...extra]);
		const cp: Cursor = { rowid: this.lastRowid, seq: this.seq, open: [...this.holds.values()].map((h) => h.rowid) };
		const state = this.stateJson(cp);
		const balance = this.available + this.heldCredits();
		this.sql.exec("UPDATE account SET balance = ?, state = ?", balance, state);
		a.balance = balance;
		a.state = state;
		this.cp = cp;
		this.journal.clear();
		return events.length + extra.length;
	}

	/** Anything for the next checkpoint to write? */
	pendingCheckpoint(): boolean {
		return this.journal.size > 0;
	}

	private settlementRows(keyId: string, h: Hold): [number, OutboxRow][] {
		const seq = h.settleSeq ?? 0;
		const charged = h.charged ?? 0;
		const outcome = h.outcome ?? emptyOutcome(500, "unknown");
		const at = h.closedAt ?? 0;
		const reason = outcome.errorCode === "reservation_expired" ? "reservation expired" : null;
		const rid = h.draft.requestId;
		const rows: [number, OutboxRow][] = [
			[seq, this.ledger("release", h.credits, (h.balanceAfter ?? 0) + charged, rid, reason, seq, h, at)],
		];
		if (charged > 0) rows.push([seq + 1, this.ledger("charge", -charged, h.balanceAfter ?? 0, rid, null, seq + 1, h, at)]);
		rows.push([seq + 1, ["usage", usageRow(keyId, h.draft, h.credits, charged, outcome, at)]]);
		return rows;
	}

	private stateJson(cp: Cursor): string {
		const periods = [...this.periods.entries()].sort((x, y) => (x[0] < y[0] ? 1 : -1));
		const days = periods.filter(([k]) => k.startsWith("d:")).slice(0, KEPT_PERIODS);
		const months = periods.filter(([k]) => k.startsWith("m:")).slice(0, KEPT_PERIODS);
		const state: PersistedState = { periods: Object.fromEntries([...days, ...months]), cp };
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
	 * id from its token (`led_{token}_{kind}`; from its id without `res_` for a hold from
	 * before the journal, as then), unique and cheaper than a random id.
	 */
	private ledger(
		kind: LedgerKind,
		amount: number,
		after: number,
		requestId: string | null,
		reason: string | null,
		seq: number,
		hold?: Hold,
		at = hold?.createdAt ?? Date.now(),
	): OutboxRow {
		return [
			"ledger",
			{
				id: hold ? `led_${hold.token.replace(/^res_/, "")}_${kind}` : `led_${crypto.randomUUID().replaceAll("-", "")}`,
				seq,
				key_id: this.account()?.key_id ?? "",
				request_id: requestId,
				kind,
				amount,
				balance_after: after,
				reason,
				created_at: new Date(at).toISOString(),
			},
		];
	}

	/** Queues rows for D1, as few INSERTs as the parameter limit allows. */
	enqueue(rows: OutboxRow[]): void {
		const now = Date.now();
		for (let i = 0; i < rows.length; i += OUTBOX_CHUNK) {
			const chunk = rows.slice(i, i + OUTBOX_CHUNK);
			const params: SqlStorageValue[] = [];
			for (const [kind, payload] of chunk) params.push(kind, JSON.stringify(payload), now);
			this.sql.exec(`INSERT INTO outbox (kind, payload, created_at) VALUES ${chunk.map(() => "(?, ?, ?)").join(", ")}`, ...params);
		}
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
	 * Admits a hold: one INSERT. The balance, the counters and the window change in memory
	 * and reach the account row at the next checkpoint.
	 */
	open(input: { credits: number; images: number; draft: UsageDraft; idemKey: string | null; now: number; expiresAt: number }): Hold {
		const rowid = this.lastRowid + 1;
		const seq = this.seq + 1;
		const token = crypto.getRandomValues(new Uint8Array(10)).toHex();
		const balance = this.available - input.credits;
		this.sql.exec(
			"INSERT INTO holds (id, token, credits, images, usage, idem_key, created_at, expires_at, reserve_seq, reserve_balance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			rowid,
			token,
			input.credits,
			input.images,
			JSON.stringify(input.draft),
			input.idemKey,
			input.now,
			input.expiresAt,
			seq,
			balance,
		);
		const h: Hold = {
			rowid,
			id: `res_${rowid}_${token}`,
			token,
			credits: input.credits,
			images: input.images,
			draft: input.draft,
			idemKey: input.idemKey,
			createdAt: input.now,
			day: dayOf(input.now),
			month: monthOf(input.now),
			expiresAt: input.expiresAt,
			reserveSeq: seq,
			reserveBalance: balance,
			closedAt: null,
			settleSeq: null,
			charged: null,
			balanceAfter: null,
			outcome: null,
		};
		this.lastRowid = rowid;
		this.seq = seq;
		this.available = balance;
		this.holds.set(h.id, h);
		this.journal.set(rowid, h);
		this.earliest = Math.min(this.earliest, h.expiresAt);
		this.bump(h.day, h.month, 1, 0, 0);
		this.countRequest(Math.floor(input.now / 1000));
		return h;
	}

	/**
	 * Closes an open hold: one UPDATE of its row, which remembers the result (settling it
	 * again returns this). Releases the hold and charges `charged` (at most what it held).
	 */
	close(h: Hold, charged: number, outcome: UsageOutcome, now: number): { charged: number; balance: number } {
		const seq = this.seq + 1;
		const balance = this.available + h.credits - charged;
		this.sql.exec(
			"UPDATE holds SET closed_at = ?, settle_seq = ?, charged = ?, balance_after = ?, outcome = ? WHERE id = ?",
			now,
			seq,
			charged,
			balance,
			JSON.stringify(outcome),
			h.rowid,
		);
		h.closedAt = now;
		h.settleSeq = seq;
		h.charged = charged;
		h.balanceAfter = balance;
		h.outcome = outcome;
		this.seq = charged > 0 ? seq + 1 : seq;
		this.available = balance;
		this.holds.delete(h.id);
		this.journal.set(h.rowid, h);
		if (h.expiresAt <= this.earliest) this.findEarliest();
		this.bump(h.day, h.month, 0, outcome.imagesDelivered, charged);
		return { charged, balance };
	}

	/** The earliest expiry among open holds (infinity when none). */
	private findEarliest(): void {
		this.earliest = Math.min(...[...this.holds.values()].map((h) => h.expiresAt));
	}

	/** The first result of a hold already closed, if `id` names one. */
	closed(id: string): { charged: number; balance: number } | undefined {
		if (this.holds.has(id)) return undefined;
		const m = NEW_ID.exec(id);
		const query = "SELECT charged, balance_after AS balance FROM holds WHERE closed_at IS NOT NULL AND";
		const rows = m
			? this.sql.exec<{ charged: number; balance: number }>(`${query} id = ? AND token = ?`, Number(m[1]), m[2])
			: // An id from before the journal is its token: rare, and only until such holds are pruned.
				this.sql.exec<{ charged: number; balance: number }>(`${query} token = ?`, id);
		return rows.toArray()[0];
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
				"DELETE FROM holds WHERE id IN (SELECT id FROM holds ORDER BY id LIMIT ?) AND closed_at <= ? AND (settle_seq IS NULL OR settle_seq <= ?)",
				PRUNE_CHUNK,
				before,
				this.cp.seq,
			).rowsWritten;
			if (written === 0) break;
		}
	}

	// ---- counters and the per-minute window (in memory, saved at checkpoints) ------------

	period(period: string): PeriodUsage {
		let p = this.periods.get(period);
		if (!p) {
			p = { requests: 0, images: 0, credits: 0 };
			this.periods.set(period, p);
		}
		return p;
	}

	/** Adds to a day's and a month's counters. */
	private bump(day: string, month: string, requests: number, images: number, credits: number): void {
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

	/** Drops the buckets that have left the 60-second window. */
	pruneWindow(second: number): void {
		for (const s of this.buckets.keys()) if (s <= second - 60) this.buckets.delete(s);
	}

	private countRequest(second: number): void {
		this.buckets.set(second, (this.buckets.get(second) ?? 0) + 1);
	}
}
