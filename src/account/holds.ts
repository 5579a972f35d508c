/**
 * Holds: the credits an admitted request may spend, kept until it settles. The `holds`
 * table is the account's journal (an admission is one INSERT of a hold's row, a settlement
 * one UPDATE of it; store.ts derives everything else from them); the open ones are also
 * kept in memory, where every admission reads them.
 */
import { isBatchWork } from "../billing/limits";
import { dayOf, monthOf, type UsageDraft, type UsageOutcome } from "./records";
import type { Sql } from "./sql";

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

/** What an admission holds. */
export interface Admission {
	credits: number;
	images: number;
	draft: UsageDraft;
	idemKey: string | null;
	now: number;
	expiresAt: number;
}

/** What settling a hold records in it. */
export interface Settlement {
	closedAt: number;
	settleSeq: number;
	charged: number;
	balanceAfter: number;
	outcome: UsageOutcome;
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

/** The error code of a hold its expiry closed (the alarm, or the next admission). */
export const EXPIRED = "reservation_expired";

/** A closed hold's first result, and the hold itself when its expiry closed it uncharged. */
export interface ClosedHold {
	charged: number;
	balance: number;
	expired?: Hold;
}

/** Rows each pruning pass looks at. */
const PRUNE_CHUNK = 500;
const NEW_ID = /^res_(\d+)_([0-9a-f]+)$/;

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

/** A new open hold numbered `rowid`, whose reserve (ledger seq `seq`) leaves the balance at `balance`. */
export function newHold(a: Admission, rowid: number, seq: number, balance: number): Hold {
	const token = crypto.getRandomValues(new Uint8Array(10)).toHex();
	return {
		rowid,
		id: `res_${rowid}_${token}`,
		token,
		credits: a.credits,
		images: a.images,
		draft: a.draft,
		idemKey: a.idemKey,
		createdAt: a.now,
		day: dayOf(a.now),
		month: monthOf(a.now),
		expiresAt: a.expiresAt,
		reserveSeq: seq,
		reserveBalance: balance,
		closedAt: null,
		settleSeq: null,
		charged: null,
		balanceAfter: null,
		outcome: null,
	};
}

/** The `holds` table's statements. */
export class HoldTable {
	constructor(private readonly sql: Sql) {}

	/** Writes a newly admitted hold: the admission's one statement. */
	insert(h: Hold): void {
		this.sql`INSERT INTO holds (id, token, credits, images, usage, idem_key, created_at, expires_at, reserve_seq, reserve_balance)
			VALUES (${h.rowid}, ${h.token}, ${h.credits}, ${h.images}, ${JSON.stringify(h.draft)}, ${h.idemKey}, ${h.createdAt}, ${h.expiresAt}, ${h.reserveSeq}, ${h.reserveBalance})`;
	}

	/** Closes a hold's row with its settlement: the settlement's one statement. */
	close(rowid: number, s: Settlement): void {
		this.sql`UPDATE holds SET closed_at = ${s.closedAt}, settle_seq = ${s.settleSeq}, charged = ${s.charged},
			balance_after = ${s.balanceAfter}, outcome = ${JSON.stringify(s.outcome)} WHERE id = ${rowid}`;
	}

	/** Records a charge made after the hold was closed by its expiry: a repeat settle finds this result. */
	recharge(rowid: number, charged: number, balanceAfter: number, outcome: UsageOutcome): void {
		this
			.sql`UPDATE holds SET charged = ${charged}, balance_after = ${balanceAfter}, outcome = ${JSON.stringify(outcome)} WHERE id = ${rowid}`;
	}

	/** Holds numbered after `rowid`, and those of `open`, in row order. */
	since(rowid: number, open: readonly number[]): Hold[] {
		return this.sql<HoldRow>`SELECT id, token, credits, images, usage, idem_key, created_at, expires_at, reserve_seq, reserve_balance,
				closed_at, settle_seq, charged, balance_after, outcome
			FROM holds WHERE id > ${rowid} OR id IN (SELECT value FROM json_each(${JSON.stringify(open)})) ORDER BY id`
			.toArray()
			.map(holdOf);
	}

	/** The highest row id written (0 when none). */
	lastRowid(): number {
		return this.sql<{ m: number | null }>`SELECT MAX(id) AS m FROM holds`.one().m ?? 0;
	}

	/**
	 * The first result of the closed hold `id` names, if there is one; `expired`: the hold, when
	 * its expiry closed it and nothing was charged since (a late settle may still charge it).
	 */
	closed(id: string): ClosedHold | undefined {
		const m = NEW_ID.exec(id);
		const rows = m
			? this.sql<HoldRow>`SELECT id, token, credits, images, usage, idem_key, created_at, expires_at, reserve_seq, reserve_balance,
				closed_at, settle_seq, charged, balance_after, outcome FROM holds
				WHERE closed_at IS NOT NULL AND id = ${Number(m[1])} AND token = ${m[2]}`
			: // An id from before the journal is its token: rare, and only until such holds are pruned.
				this.sql<HoldRow>`SELECT id, token, credits, images, usage, idem_key, created_at, expires_at, reserve_seq, reserve_balance,
				closed_at, settle_seq, charged, balance_after, outcome FROM holds
				WHERE closed_at IS NOT NULL AND token = ${id}`;
		const row = rows.toArray()[0];
		if (!row) return undefined;
		const h = holdOf(row);
		const expired = h.charged === 0 && h.outcome?.errorCode === EXPIRED;
		return { charged: h.charged ?? 0, balance: h.balanceAfter ?? 0, expired: expired ? h : undefined };
	}

	/**
	 * Forgets holds closed before `before` whose settlement is checkpointed (seq up to
	 * `seq`). Rows arrive in time order, so the oldest are the first by rowid: each pass
	 * looks at the next `PRUNE_CHUNK` of them and no index on `closed_at` is needed (one would
	 * be written by every settlement). Stops at a pass that frees nothing or after `passes`.
	 */
	prune(before: number, seq: number, passes: number): void {
		for (let i = 0; i < passes; i++) {
			const written = this.sql`DELETE FROM holds WHERE id IN (SELECT id FROM holds ORDER BY id LIMIT ${PRUNE_CHUNK})
				AND closed_at <= ${before} AND (settle_seq IS NULL OR settle_seq <= ${seq})`.rowsWritten;
			if (written === 0) break;
		}
	}
}

/** The open holds, in memory, by reservation id. */
/** Open holds as an admission counts them (OpenHolds.tally). */
export interface HeldTally {
	images: { day: number; month: number };
	credits: { day: number; month: number };
	/** Holds of batch-tier work (their own concurrency limit). */
	batch: number;
}

export class OpenHolds {
	private holds = new Map<string, Hold>();
	/** The earliest expiry among them (infinity when none). */
	private earliest = Number.POSITIVE_INFINITY;
	/** Images and credits held, by `d:{day}` and `m:{month}` of admission, kept as holds open and close. */
	private periods = new Map<string, { images: number; credits: number }>();
	private batch = 0;
	private total = 0;

	get(id: string): Hold | undefined {
		return this.holds.get(id);
	}

	get size(): number {
		return this.holds.size;
	}

	/** Their row ids, for the checkpoint's cursor. */
	rowids(): number[] {
		return [...this.holds.values()].map((h) => h.rowid);
	}

	credits(): number {
		return this.total;
	}

	/**
	 * What an admission checks, without a pass over the open holds: images and credits held
	 * in the day and the month given, and how many holds are batch-tier work.
	 */
	tally(day: string, month: string): HeldTally {
		const d = this.periods.get(`d:${day}`);
		const m = this.periods.get(`m:${month}`);
		return {
			images: { day: d?.images ?? 0, month: m?.images ?? 0 },
			credits: { day: d?.credits ?? 0, month: m?.credits ?? 0 },
			batch: this.batch,
		};
	}

	expired(now: number): Hold[] {
		if (now < this.earliest) return []; // the common case: nothing to scan
		return [...this.holds.values()].filter((h) => h.expiresAt <= now);
	}

	earliestExpiry(): number | null {
		return Number.isFinite(this.earliest) ? this.earliest : null;
	}

	add(h: Hold): void {
		if (this.holds.has(h.id)) this.delete(this.holds.get(h.id) as Hold);
		this.holds.set(h.id, h);
		this.earliest = Math.min(this.earliest, h.expiresAt);
		this.count(h, 1);
	}

	delete(h: Hold): void {
		const held = this.holds.get(h.id);
		if (!held) return;
		this.holds.delete(h.id);
		this.count(held, -1);
		if (held.expiresAt <= this.earliest) this.findEarliest();
	}

	clear(): void {
		this.holds.clear();
		this.periods.clear();
		this.batch = 0;
		this.total = 0;
		this.earliest = Number.POSITIVE_INFINITY;
	}

	private count(h: Hold, sign: 1 | -1): void {
		for (const key of [`d:${h.day}`, `m:${h.month}`]) {
			const p = this.periods.get(key) ?? { images: 0, credits: 0 };
			p.images += sign * h.images;
			p.credits += sign * h.credits;
			if (p.images === 0 && p.credits === 0) this.periods.delete(key);
			else this.periods.set(key, p);
		}
		if (isBatchWork(h.draft)) this.batch += sign;
		this.total += sign * h.credits;
	}

	private findEarliest(): void {
		this.earliest = Math.min(...[...this.holds.values()].map((h) => h.expiresAt));
	}
}
