/**
 * The journal's side of a checkpoint: which holds the account row already includes (the
 * cursor), which were admitted or settled since, and the ledger and usage rows they imply.
 *
 * Ledger rows take their `seq` when the balance changes (an admission's `reserve`, a
 * settlement's `release` and `charge`, a grant), not when they reach the outbox, so D1's
 * `balance_after` chains row to row in `seq` order whatever order rows are flushed in.
 */
import type { Hold } from "./holds";
import type { OutboxRow } from "./outbox";
import { emptyOutcome, type LedgerKind, usageRow } from "./records";

/** Which holds the checkpoint includes: all up to `rowid` but the `open` ones, and every settlement up to `seq`. */
export interface Cursor {
	rowid: number;
	seq: number;
	open: number[];
}

/** One ledger row's facts. */
export interface LedgerEntry {
	keyId: string;
	kind: LedgerKind;
	/** The change to the balance. */
	amount: number;
	/** The balance the change leaves. */
	balanceAfter: number;
	requestId: string | null;
	reason: string | null;
	seq: number;
	/** The hold the row belongs to, if any: the row's id comes from the hold's token. */
	hold?: Hold;
	/** When it happened (ms): by default the hold's admission, or now. */
	at?: number;
}

/**
 * A ledger row. Rows of a hold take their id from its token (`led_{token}_{kind}`; from its
 * id without `res_` for a hold from before the journal, as then), unique and cheaper than a
 * random id.
 */
export function ledgerRow(e: LedgerEntry): OutboxRow {
	const { hold, kind } = e;
	return [
		"ledger",
		{
			id: hold ? `led_${hold.token.replace(/^res_/, "")}_${kind}` : `led_${crypto.randomUUID().replaceAll("-", "")}`,
			seq: e.seq,
			key_id: e.keyId,
			request_id: e.requestId,
			kind,
			amount: e.amount,
			balance_after: e.balanceAfter,
			reason: e.reason,
			created_at: new Date(e.at ?? hold?.createdAt ?? Date.now()).toISOString(),
		},
	];
}

/** A settled hold's `release`, `charge` (when it charged) and usage rows, with the seq each sorts by. */
function settlementRows(keyId: string, h: Hold): [number, OutboxRow][] {
	const seq = h.settleSeq ?? 0;
	const charged = h.charged ?? 0;
	const outcome = h.outcome ?? emptyOutcome(500, "unknown");
	const at = h.closedAt ?? 0;
	const reason = outcome.errorCode === "reservation_expired" ? "reservation expired" : null;
	const requestId = h.draft.requestId;
	const balanceAfter = h.balanceAfter ?? 0;
	const rows: [number, OutboxRow][] = [
		[
			seq,
			ledgerRow({ keyId, kind: "release", amount: h.credits, balanceAfter: balanceAfter + charged, requestId, reason, seq, hold: h, at }),
		],
	];
	if (charged > 0)
		rows.push([
			seq + 1,
			ledgerRow({ keyId, kind: "charge", amount: -charged, balanceAfter, requestId, reason: null, seq: seq + 1, hold: h, at }),
		]);
	rows.push([seq + 1, ["usage", usageRow(keyId, h.draft, h.credits, charged, outcome, at)]]);
	return rows;
}

/** The holds admitted or settled since the last checkpoint, and that checkpoint's cursor. */
export class Journal {
	/** Holds admitted or settled since the checkpoint, by row id. */
	private changed = new Map<number, Hold>();
	/** What the last checkpoint includes. */
	cursor: Cursor = { rowid: 0, seq: 0, open: [] };

	/** Starts over from a checkpoint's cursor, with nothing noted. */
	reset(cursor: Cursor): void {
		this.cursor = cursor;
		this.changed = new Map();
	}

	/** Notes a hold admitted or settled since the checkpoint. */
	note(h: Hold): void {
		this.changed.set(h.rowid, h);
	}

	/** Anything for the next checkpoint to write? */
	get pending(): boolean {
		return this.changed.size > 0;
	}

	/** The ledger and usage rows of the holds noted, in seq order. */
	rows(keyId: string): OutboxRow[] {
		const cp = this.cursor;
		const events: [number, OutboxRow][] = [];
		for (const h of this.changed.values()) {
			if (h.rowid > cp.rowid && h.reserveSeq !== null) {
				const reserve = ledgerRow({
					keyId,
					kind: "reserve",
					amount: -h.credits,
					balanceAfter: h.reserveBalance ?? 0,
					requestId: h.draft.requestId,
					reason: null,
					seq: h.reserveSeq,
					hold: h,
				});
				events.push([h.reserveSeq, reserve]);
			}
			if (h.settleSeq !== null && h.settleSeq > cp.seq) events.push(...settlementRows(keyId, h));
		}
		events.sort((x, y) => x[0] - y[0]);
		return events.map(([, row]) => row);
	}

	/** The checkpoint at `cursor` is written: it includes everything noted. */
	advance(cursor: Cursor): void {
		this.cursor = cursor;
		this.changed.clear();
	}
}
