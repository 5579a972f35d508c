/**
 * Webhooks signed the Standard Webhooks way: `webhook-id`, `webhook-timestamp` and
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed by the
 * API key's `whsec_` secret (base64 after the prefix). Delivery never follows redirects and
 * re-checks the URL with the same rules as reference images.
 */
import { publicUrl } from "../inputs/public-url";

const encoder = new TextEncoder();

export async function sign(secret: string, id: string, timestamp: number, body: string): Promise<string> {
	const raw = Uint8Array.fromBase64(secret.replace(/^whsec_/, ""));
	const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
	const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${id}.${timestamp}.${body}`));
	return `v1,${new Uint8Array(mac).toBase64()}`;
}

/** Verifies a delivery (what a receiver does; used by the tests and shown in the README). */
export async function verify(secret: string, headers: Headers, body: string, toleranceSeconds = 300): Promise<boolean> {
	const id = headers.get("webhook-id");
	const ts = Number(headers.get("webhook-timestamp"));
	const given = headers.get("webhook-signature") ?? "";
	if (!id || !Number.isFinite(ts) || Math.abs(Date.now() / 1000 - ts) > toleranceSeconds) return false;
	const expected = await sign(secret, id, ts, body);
	return given.split(" ").some((s) => s === expected);
}

/** POSTs one signed event; true on a 2xx. */
export async function deliver(
	url: string,
	secret: string,
	id: string,
	body: string,
	timeoutMs: number,
	allowHttp: boolean,
): Promise<{ ok: boolean; status: number | null }> {
	const target = publicUrl(url, "webhook_url", allowHttp);
	const timestamp = Math.floor(Date.now() / 1000);
	try {
		const res = await fetch(target.toString(), {
			method: "POST",
			redirect: "manual",
			signal: AbortSignal.timeout(timeoutMs),
			headers: {
				"content-type": "application/json",
				"user-agent": "nano-banana-gateway-webhooks/1",
				"webhook-id": id,
				"webhook-timestamp": String(timestamp),
				"webhook-signature": await sign(secret, id, timestamp, body),
			},
			body,
		});
		await res.body?.cancel();
		return { ok: res.status >= 200 && res.status < 300, status: res.status };
	} catch {
		return { ok: false, status: null };
	}
}
