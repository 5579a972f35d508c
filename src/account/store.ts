/**
 * KeyAccount's storage: every statement the object runs is here and in the modules beside
 * it (account-row, holds, outbox, idempotency; journal and counters hold the memory a
 * checkpoint writes), written with the `sql` tag (sql.ts); the schema is schema.ts's
 * numbered migrations.
 *
 * The `holds` table is the account's journal: an admission is one INSERT of a hold row and
 * a settlement one UPDATE of that row, and nothing else is written on the request path.
 * Everything the calls read lives in memory (one Durable Object instance owns one key, so
 * the copy is coherent): the available balance, open holds, this period's counters, the
 * last minute's per-second admissions.
 *
 * The account row is a checkpoint of that memory (balance, counters, window, and the
 * cursor `cp` saying which holds it already includes). Every so often (`checkpoint`, run
 * by the alarm a moment after a write) the holds' ledger and usage rows since the last
 * checkpoint go to the outbox, bound for D1, and the account row is rewritten, in one
 * transaction. After a restart the memory is the checkpoint plus the holds it does not
 * include yet (`reload`): those admitted after it (`id > cp.rowid`) and those open at it
 * (`cp.open`).
 */
import { crossesLowBalance, type KeyControls } from "../billing/controls";
import type { LimitOverrides } from "../billing/limits";
import { type AccountRow, AccountTable } from "./account-row";
import { Counters, type CountersState } from "./counters";
import { balanceLowEvent, EventTable } from "./events";
import { type Admission, type ClosedHold, type HeldTally, type Hold, HoldTable, newHold, OpenHolds } from "./holds";
import { IdempotencyTable } from "./idempotency";
import { type Cursor, Journal, ledgerRow } from "./journal";
import { Outbox, type OutboxRow } from "./outbox";
import { dayOf, monthOf, type PeriodUsage, type UsageOutcome, usageRow } from "./records";
import { MIGRATIONS } from "./schema";
import { type Sql, sqlOf } from "./sql";

export type { AccountRow };
export { dayOf, monthOf };

/** Seconds until the next UTC day begins (when daily quotas and caps reset). */
export function secondsUntilNextDay(now: number): number {
	const d = new Date(now);
	return Math.ceil((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - now) / 1000);
}

/** Seconds until the next UTC month begins. */
export function secondsUntilNextMonth(now: number): number {
	const d = new Date(now);
	return Math.ceil((Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - now) / 1000);
}

/** What the `state` column holds: the counters and the checkpoint's cursor. */
interface PersistedState extends CountersState {
	cp?: Cursor;
}

export class AccountStore {
	private readonly sql: Sql;
	private readonly table: HoldTable;
	/** Usage and ledger rows bound for D1. */
	readonly outbox: Outbox;
	readonly idempotency: IdempotencyTable;
	/** Key events waiting for the queue (events.ts). */
	readonly events: EventTable;
	/** The account row: its descriptive columns change through this. */
	readonly accountRow: AccountTable;
	/** The balance a request can spend now: the checkpoint's, less open holds and later charges. */
	private available = 0;
	private readonly holds = new OpenHolds();
	private readonly counters = new Counters();
	private readonly journal = new Journal();
	private lastRowid = 0;
	/** The last ledger seq taken. */
	private seq = 0;

	constructor(private readonly storage: DurableObjectStorage) {
		this.sql = sqlOf(storage.sql);
		this.table = new HoldTable(this.sql);
		this.outbox = new Outbox(this.sql);
		this.idempotency = new IdempotencyTable(this.sql);
		this.events = new EventTable(this.sql);
		this.accountRow = new AccountTable(this.sql);
	}

	/**
	 * False while the object has none of its tables: any bearer string reaches a KeyAccount, and one
	 * that names no issued key must leave no database behind, so an empty object stays empty
	 * (reads only: the account reads as absent) until `create` migrates it.
	 */
	private tables = false;

	/**
	 * Does the object have its tables (an account was created here)? Asked of SQLite until it
	 * does. Our own `_migrations` table says so, not any table: the runtime may keep its own
	 * (`wrangler dev` records an object's name in one).
	 */
	get exists(): boolean {
		this.tables ||=
			this.sql<{ n: number }>`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '_migrations'`.one().n > 0;
		return this.tables;
	}

	/** Applies numbered migrations (schema.ts) to an object that has tables, then loads the in-memory copy. */
	init(): void {
		if (this.exists) this.migrate();
	}

	/** Brings the schema up to date and loads the in-memory copy: at start, and before the account is created. */
	migrate(): void {
		this.sql`CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`;
		const done = this.sql<{ v: number | null }>`SELECT MAX(version) AS v FROM _migrations`.one().v ?? 0;
		for (let v = done; v < MIGRATIONS.length; v++) {
			this.storage.transactionSync(() => {
				// Schema statements are text by nature: they bind nothing.
				for (const stmt of MIGRATIONS[v]) this.storage.sql.exec(stmt);
				this.sql`INSERT INTO _migrations (version, applied_at) VALUES (${v + 1}, ${new Date().toISOString()})`;
			});
		}
		this.tables = true;
		this.reload();
	}

	/** Forgets the in-memory copy and rebuilds it: the checkpoint, then the holds it does not include. */
	reload(): void {
		if (!this.exists) return;
		this.accountRow.forget();
		const a = this.account();
		const state = JSON.parse(a?.state ?? "{}") as PersistedState;
		const cp = state.cp ?? { rowid: 0, seq: 0, open: [] };
		this.journal.reset(cp);
		this.counters.load(state);
		this.seq = cp.seq;
		this.available = a?.balance ?? 0;
		this.holds.clear();
		for (const h of this.table.since(cp.rowid, cp.open)) {
			const admittedSince = h.rowid > cp.rowid;
			const settledSince = h.settleSeq !== null && h.settleSeq > cp.seq;
			if (admittedSince) {
				this.counters.bump(h.day, h.month, 1, 0, 0);
				this.counters.countRequest(Math.floor(h.createdAt / 1000));
			}
			if (h.closedAt === null) {
				this.available -= h.credits;
				this.holds.add(h);
			} else if (settledSince) {
				this.available -= h.charged ?? 0;
				this.counters.bump(h.day, h.month, 0, h.outcome?.imagesDelivered ?? 0, h.charged ?? 0);
			}
			if (admittedSince || settledSince) this.journal.note(h);
			this.seq = Math.max(this.seq, h.reserveSeq ?? 0, (h.settleSeq ?? 0) + ((h.charged ?? 0) > 0 ? 1 : 0));
		}
		// Never below the cursor: a hold numbered at or under it would be missed by the next reload.
		this.lastRowid = Math.max(this.table.lastRowid(), cp.rowid);
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

	// ---- the account row -----------------------------------------------------------------

	account(): AccountRow | null {
		return this.exists ? this.accountRow.get() : null;
	}

	/** The key's own limits. */
	limitOverrides(): LimitOverrides {
		return this.accountRow.limitOverrides();
	}

	/** The key's spend controls. */
	controls(): KeyControls {
		return this.accountRow.controls();
	}

	/** Sets the account up (with nothing to spend yet). */
	insertAccount(keyId: string, name: string, createdAt: string, limits: string): void {
		this.accountRow.insert(keyId, name, createdAt, limits);
		this.available = 0;
	}

	// ---- the balance and the checkpoint --------------------------------------------------

	/** The balance a request can spend now. */
	balance(): number {
		return this.available;
	}

	/**
	 * Changes the balance outside a hold (a grant or an adjustment) with its ledger row,
	 * in a checkpoint. Call inside `transaction`.
	 */
	adjust(amount: number, kind: "grant" | "adjustment", reason: string): void {
		this.available += amount;
		const keyId = this.account()?.key_id ?? "";
		this.checkpoint([ledgerRow({ keyId, kind, amount, balanceAfter: this.available, requestId: null, reason, seq: ++this.seq })]);
	}

	/**
	 * Writes the checkpoint: the ledger and usage rows of the holds admitted or settled
	 * since the last one (in seq order) and `extra` go to the outbox, and the account row
	 * takes the memory's balance, counters, window and cursor. Call inside `transaction`.
	 */
	checkpoint(extra: OutboxRow[] = []): number {
		const a = this.account();
		if (!a) throw new Error("no account");
		const rows = this.journal.rows(a.key_id);
		this.outbox.enqueue([...rows, ...extra]);
		const cp: Cursor = { rowid: this.lastRowid, seq: this.seq, open: this.holds.rowids() };
		const { periods, window } = this.counters.saved();
		const saved: PersistedState = { periods, cp };
		if (window) saved.window = window;
		const state = JSON.stringify(saved);
		const balance = this.available + this.holds.credits();
		this.accountRow.saveCheckpoint(balance, state);
		this.journal.advance(cp);
		return rows.length + extra.length;
	}

	/** Anything for the next checkpoint to write? */
	pendingCheckpoint(): boolean {
		return this.journal.pending;
	}

	// ---- holds ---------------------------------------------------------------------------

	hold(id: string): Hold | undefined {
		return this.holds.get(id);
	}

	/** Open holds: all of them, or only batch-tier work's (`batch` true) or only the rest's (false). */
	openHolds(): number {
		return this.holds.size;
	}

	heldCredits(): number {
		return this.holds.credits();
	}

	/** Images and credits held by open holds admitted in the day and the month given, and batch holds: one pass. */
	heldTally(day: string, month: string): HeldTally {
		return this.holds.tally(day, month);
	}

	expiredHolds(now: number): Hold[] {
		return this.holds.expired(now);
	}

	earliestExpiry(): number | null {
		return this.holds.earliestExpiry();
	}

	/**
	 * Admits a hold: one INSERT. The balance, the counters and the window change in memory
	 * and reach the account row at the next checkpoint.
	 */
	open(input: Admission): Hold {
		const rowid = this.lastRowid + 1;
		const seq = this.seq + 1;
		const balance = this.available - input.credits;
		const h = newHold(input, rowid, seq, balance);
		this.table.insert(h);
		this.lastRowid = rowid;
		this.seq = seq;
		this.available = balance;
		this.holds.add(h);
		this.journal.note(h);
		this.counters.bump(h.day, h.month, 1, 0, 0);
		this.counters.countRequest(Math.floor(input.now / 1000));
		return h;
	}

	/**
	 * Closes an open hold: one UPDATE of its row, which remembers the result (settling it
	 * again returns this). Releases the hold and charges `charged` (at most what it held).
	 */
	close(h: Hold, charged: number, outcome: UsageOutcome, now: number): { charged: number; balance: number } {
		const seq = this.seq + 1;
		const balance = this.available + h.credits - charged;
		const settlement = { closedAt: now, settleSeq: seq, charged, balanceAfter: balance, outcome };
		this.table.close(h.rowid, settlement);
		Object.assign(h, settlement);
		this.seq = charged > 0 ? seq + 1 : seq;
		this.available = balance;
		this.holds.delete(h);
		this.journal.note(h);
		this.counters.bump(h.day, h.month, 0, outcome.imagesDelivered, charged);
		return { charged, balance };
	}

	/** The first result of a hold already closed, if `id` names one (with the hold, when its expiry closed it). */
	closed(id: string): ClosedHold | undefined {
		if (this.holds.get(id)) return undefined;
		return this.table.closed(id);
	}

	/**
	 * Charges a hold its expiry closed, for work delivered after all (the request outlived its
	 * hold): the balance goes down by `charged`, below zero if it must (a delivered image is
	 * paid for; admissions then refuse until grants cover it), with a `charge` ledger row and
	 * the request's real usage row, written in a checkpoint at once. The hold row keeps the
	 * result, so settling it again returns it. One transaction.
	 */
	chargeLate(h: Hold, charged: number, outcome: UsageOutcome, now: number): { charged: number; balance: number } {
		return this.transaction(() => {
			const settledBefore = this.settledBalance();
			const result = this.lateCharge(h, charged, outcome, now);
			this.noteLowBalance(settledBefore, now);
			return result;
		});
	}

	private lateCharge(h: Hold, charged: number, outcome: UsageOutcome, now: number): { charged: number; balance: number } {
		const keyId = this.account()?.key_id ?? "";
		this.available -= charged;
		const seq = ++this.seq;
		const balanceAfter = this.available;
		this.table.recharge(h.rowid, charged, balanceAfter, outcome);
		this.counters.bump(h.day, h.month, 0, outcome.imagesDelivered, charged);
		const requestId = h.draft.requestId;
		const reason = "delivered after its hold expired";
		this.checkpoint([
			ledgerRow({ keyId, kind: "charge", amount: -charged, balanceAfter, requestId, reason, seq, hold: h, at: now }),
			["usage", usageRow(keyId, h.draft, h.credits, charged, outcome, now)],
		]);
		return { charged, balance: balanceAfter };
	}

	/** Forgets holds closed before `before` whose rows the checkpoint has (a redelivered message comes within days). */
	pruneClosed(before: number, passes = 8): void {
		this.table.prune(before, this.journal.cursor.seq, passes);
	}

	// ---- counters and the per-minute window (in memory, saved at checkpoints) ------------

	period(period: string): PeriodUsage {
		return this.counters.period(period);
	}

	/** Requests admitted in the last 60 seconds, and the oldest second among them. */
	recentRequests(second: number): { n: number; oldest: number | null } {
		return this.counters.recentRequests(second);
	}

	/** Drops the buckets that have left the 60-second window. */
	pruneWindow(second: number): void {
		this.counters.pruneWindow(second);
	}

	/** The balance with open holds not taken off: what settlements and adjustments move. */
	settledBalance(): number {
		return this.balance() + this.heldCredits();
	}

	/**
	 * After a charge or an adjustment: when it took the balance from at or above the key's
	 * low-balance threshold to below it, writes one `key.balance_low` event (the alarm hands it
	 * to the queue). Only a crossing writes one, so the next needs the balance back above first.
	 */
	noteLowBalance(before: number, now: number): void {
		const controls = this.controls();
		const after = this.settledBalance();
		if (!crossesLowBalance(controls, before, after)) return;
		const event = balanceLowEvent(this.account()?.key_id ?? "", after, this.heldCredits(), controls.low_balance_threshold ?? 0, now);
		this.events.add(event, now);
	}
}
