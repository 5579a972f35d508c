/**
 * Key events: what the KeyAccount tells the key's owner by webhook (today `key.balance_low`).
 * An event is written into the object's SQLite by the call that causes it, then handed to
 * the JOBS queue by the alarm (`KeyAccount.maintain`), whose consumer delivers it signed with
 * the key's webhook secret and retries like a job's webhook (src/jobs/key-events.ts). The
 * event id is fixed when it is written, so a redelivery carries the same `webhook-id`.
 */
import type { Sql } from "./sql";

/** The body of a key event's delivery. */
export interface KeyEvent {
	id: string;
	type: "key.balance_low";
	timestamp: string;
	data: {
		key_id: string;
		/** The balance after the settlement or adjustment that crossed the threshold. */
		credits: number;
		/** Credits held by requests still running (not yet taken off `credits`). */
		reserved_credits: number;
		low_balance_threshold: number;
	};
}

/** The queue message that carries a key event to its delivery. */
export interface KeyEventMessage {
	type: "key-event";
	keyId: string;
	event: KeyEvent;
}

/** Events handed to the queue per alarm (the rest wait for the next). */
const BATCH = 50;

/** The `events` table's statements (migration 8). */
export class EventTable {
	constructor(private readonly sql: Sql) {}

	add(event: KeyEvent, now: number): void {
		this.sql`INSERT INTO events (id, payload, created_at) VALUES (${event.id}, ${JSON.stringify(event)}, ${now})`;
	}

	/** The oldest events waiting for the queue. */
	pending(): KeyEvent[] {
		return this.sql<{ payload: string }>`SELECT payload FROM events ORDER BY created_at, id LIMIT ${BATCH}`
			.toArray()
			.map((r) => JSON.parse(r.payload) as KeyEvent);
	}

	/** Forgets events the queue has taken. */
	remove(ids: string[]): void {
		this.sql`DELETE FROM events WHERE id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;
	}

	/** Hands the pending events to `queue` (then forgets them); false when the queue refused. */
	async send(queue: Queue, keyId: string): Promise<boolean> {
		const events = this.pending();
		if (events.length === 0) return true;
		try {
			await queue.sendBatch(events.map((event) => ({ body: { type: "key-event", keyId, event } satisfies KeyEventMessage })));
		} catch (error) {
			console.error(JSON.stringify({ event: "key_events_not_queued", n: events.length, error: String(error) }));
			return false;
		}
		this.remove(events.map((e) => e.id));
		return true;
	}
}

/** The `key.balance_low` event of a balance that just went below `threshold`. */
export function balanceLowEvent(keyId: string, credits: number, reserved: number, threshold: number, now: number): KeyEvent {
	return {
		id: `evt_${crypto.getRandomValues(new Uint8Array(12)).toHex()}`,
		type: "key.balance_low",
		timestamp: new Date(now).toISOString(),
		data: { key_id: keyId, credits, reserved_credits: reserved, low_balance_threshold: threshold },
	};
}
