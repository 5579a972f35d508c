// A slow reader over real HTTP against `wrangler dev`: a streamed chat completion is settled
// when generation ends, whatever the client's pace. The client reads the first bytes, then
// stops while megabytes of images wait in the socket; the account must already show the
// charge (no credits held, a usage row) before the client reads the rest, and the charge
// the last event reports must be the one the account took.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, type GatewayProcess, startGateway } from "./gateway-process.ts";

let gw: GatewayProcess;
let key: string;
const CREDITS = 10_000;

beforeAll(async () => {
	gw = await startGateway();
	key = await createApiKey(gw, "slow reader", CREDITS);
}, 120_000);

afterAll(async () => {
	await gw?.stop();
});

interface AccountView {
	credits: number;
	reserved_credits: number;
}

interface UsageView {
	data: Array<{ images_delivered: number; credits_charged: number; status: number }>;
}

async function get<T>(path: string): Promise<T> {
	const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
	return (await res.json()) as T;
}

/** Polls until `check` holds (or the time is up), returning the last value seen. */
async function until<T>(read: () => Promise<T>, check: (v: T) => boolean, ms: number): Promise<T> {
	const end = Date.now() + ms;
	let v = await read();
	while (!check(v) && Date.now() < end) {
		await new Promise((r) => setTimeout(r, 250));
		v = await read();
	}
	return v;
}

describe("a slow stream reader over real HTTP", () => {
	it("is charged when generation ends, before it reads the images", async () => {
		const res = await fetch(`${gw.url}/v1/chat/completions`, {
			method: "POST",
			headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
			body: JSON.stringify({
				model: "nano-banana-pro",
				messages: [{ role: "user", content: "a slow reader's poster [emu:format=png,noise=1]" }],
				n: 2,
				stream: true,
				stream_options: { include_usage: true },
				image_size: "2K",
				image_output: "data_url",
			}),
		});
		expect(res.status).toBe(200);
		const reader = (res.body as ReadableStream<Uint8Array>).getReader();
		const first = await reader.read(); // the keep-alive comment; then the client stops reading
		let received = first.value?.length ?? 0;

		const account = await until(
			() => get<AccountView>("/v1/account"),
			(a) => a.reserved_credits === 0,
			60_000,
		);
		expect(account.reserved_credits).toBe(0);
		const charged = CREDITS - account.credits;
		expect(charged).toBeGreaterThan(0);
		const usage = await until(
			() => get<UsageView>("/v1/usage"),
			(u) => u.data.length > 0,
			30_000,
		);
		expect(usage.data[0]).toMatchObject({ images_delivered: 2, credits_charged: charged, status: 200 });

		// Only now does the client read the rest: both images, and the charge the account took.
		const chunks: Uint8Array[] = [];
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			chunks.push(value);
			received += value.length;
		}
		const text = Buffer.concat(chunks).toString("utf8");
		const images = text.split('"images":[').length - 1;
		const end = text.slice(-1000);
		// Multi-MB events were waiting unread while the account settled.
		expect(received).toBeGreaterThan(8_000_000);
		expect(images).toBe(2);
		expect(end).toContain(`"credits_charged":${charged}`);
		expect(end.trimEnd().endsWith("data: [DONE]")).toBe(true);
		const last = await get<AccountView>("/v1/account");
		expect(last).toMatchObject({ credits: account.credits, reserved_credits: 0 });
	}, 180_000);
});
