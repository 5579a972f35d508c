/**
 * Delivery of key events (`key.balance_low`) from the JOBS queue: the KeyAccount wrote the
 * event when a settlement or an adjustment caused it and handed it to the queue
 * (src/account/events.ts); this POSTs it to the key's `low_balance_webhook_url`, signed the
 * Standard Webhooks way with the key's webhook secret, retrying like a job's webhook. The
 * body and `webhook-id` are the event's own, so every attempt is the same message.
 */
import type { KeyEventMessage } from "../account/events";
import type { GatewayConfig } from "../config";
import { accountOfKey, backoff, type Decision } from "./settle";
import { deliver } from "./webhooks";

/** Delivers one key event; a key gone, or without a webhook URL now, drops it. */
export async function processKeyEvent(env: Env, config: GatewayConfig, msg: KeyEventMessage, attempt: number): Promise<Decision> {
	const account = await accountOfKey(env, msg.keyId);
	const view = await account?.describe();
	const url = view?.controls.low_balance_webhook_url;
	const secret = url ? await account?.webhookSecret() : null;
	if (!url || !secret) return { ack: true };
	let sent: { ok: boolean; status: number | null };
	try {
		sent = await deliver(url, secret, msg.event.id, JSON.stringify(msg.event), config.webhookTimeoutMs, config.allowHttpImageUrls);
	} catch {
		// The URL no longer passes the public-URL rules: no retry can fix that.
		console.error(JSON.stringify({ event: "key_event_undeliverable", key_id: msg.keyId, id: msg.event.id }));
		return { deadLetter: true };
	}
	if (sent.ok) return { ack: true };
	console.error(JSON.stringify({ event: "key_event_delivery_failed", key_id: msg.keyId, id: msg.event.id, status: sent.status, attempt }));
	if (attempt >= config.webhookMaxAttempts) return { deadLetter: true };
	return { retryInSeconds: backoff(config, attempt, Math.max(1, config.jobRetryBaseSeconds)) };
}
