// A webhook receiver inside the test isolate: the Worker's fetch to one host is answered here
// (the first delivery fails with 500, the rest are accepted) and recorded; other hosts pass.
import { onTestFinished } from "vitest";

export interface Delivery {
	headers: Headers;
	body: string;
	status: number;
}

/** Records deliveries to `host` for the current test; the real fetch is back when it ends. */
export function webhookReceiver(host: string): Delivery[] {
	const deliveries: Delivery[] = [];
	const real = globalThis.fetch;
	globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
		const req = new Request(input, init);
		if (new URL(req.url).host !== host) return real(req);
		const status = deliveries.length === 0 ? 500 : 204;
		deliveries.push({ headers: req.headers, body: await req.text(), status });
		return new Response(null, { status });
	}) as typeof fetch;
	onTestFinished(() => {
		globalThis.fetch = real;
	});
	return deliveries;
}
