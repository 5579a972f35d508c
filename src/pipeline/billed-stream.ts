/**
 * The billed path for answers sent as server-sent events (chat completions with
 * `stream: true`). Admission is exactly runBilled's, so a refusal (402, 429, 409, 422) is
 * still a plain HTTP error; once admitted, a 200 event stream opens at once and the
 * execution writes events into it as results arrive. A comment line goes out at the start
 * and every HEARTBEAT_MS, so proxies never see a quiet connection while Gemini works.
 * Settlement runs when the execution ends, before and whatever the pace the client reads
 * the events at (the work is handed to waitUntil), and the whole stream is kept for a repeated
 * Idempotency-Key. Every event is written whole and in order: events from parallel
 * images are queued, never interleaved, and an embedded image is streamed from R2 into
 * its own event without being cut.
 */
import { lifecycleHeaders } from "../catalog/headers";
import { type Piece, piecesStream } from "../lib/b64-stream";
import { admitCall, type Execution, keepForReplay, outcomeOf, rateLimitHeaders, settle } from "./billed";
import type { Metered } from "./metering";
import type { CallScope } from "./scope";

/**
 * Queues events (text, or stored images embedded as base64) for the client. It resolves at
 * once: the execution never waits for the client to read, so a slow reader cannot hold
 * generation and settlement past the hold's life (the events are sent in order behind it).
 */
export type Emit = (pieces: Piece[]) => Promise<void>;

const HEARTBEAT_MS = 15_000;
const encoder = new TextEncoder();

export async function runBilledStream(
	scope: CallScope,
	metered: Metered,
	execute: (emit: Emit, pricePerImage: number) => Promise<Execution>,
	/** The events that end a stream whose execution threw (a bug, never Gemini's doing). */
	onThrown: () => Piece[],
): Promise<Response> {
	const admission = await admitCall(scope, metered);
	if (admission instanceof Response) return admission;
	const { price } = admission;
	const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
	const writer = writable.getWriter();
	let reading = true;
	let queue = Promise.resolve();
	const sent: Piece[] = [];

	const write = async (bytes: Uint8Array) => {
		if (!reading) return;
		try {
			await writer.write(bytes);
		} catch {
			reading = false; // the client went away; the work still finishes and settles
		}
	};
	const send = async (piece: Piece) => {
		if (typeof piece === "string") return write(encoder.encode(piece));
		const reader = piecesStream(scope.env.IMAGES, [piece]).getReader();
		for (;;) {
			const { done, value } = await reader.read();
			if (done) return;
			if (!reading) return void (await reader.cancel());
			await write(value);
		}
	};
	const emit: Emit = async (pieces) => {
		sent.push(...pieces);
		queue = queue.then(async () => {
			for (const p of pieces) await send(p);
		});
	};
	const beat = () => {
		queue = queue.then(() => write(encoder.encode(": keep-alive\n\n")));
	};
	beat();
	const timer = setInterval(beat, HEARTBEAT_MS);

	const headers: Record<string, string> = {
		"content-type": "text/event-stream; charset=utf-8",
		"cache-control": "no-cache",
		"x-accel-buffering": "no",
		...lifecycleHeaders(metered.model, scope.origin),
	};
	const run = (async () => {
		let result: Execution | undefined;
		try {
			result = await execute(emit, price);
		} catch (error) {
			console.error(
				JSON.stringify({ requestId: scope.requestId, event: "stream_failed", error: String(error), stack: (error as Error)?.stack }),
			);
			await emit(onThrown());
		}
		const delivered = result?.delivered ?? 0;
		const status = result ? (result.error?.status ?? 200) : 500;
		const stored =
			admission.idemKey && admission.bodyHash && result && status < 500 ? await keepForReplay(scope, admission, 200, headers, sent) : null;
		// Settled when generation ends, before the client has read it all: what was delivered
		// is charged whatever the client's pace (the hold would expire under a slow reader).
		await settle(
			scope,
			admission,
			result?.charge ?? Math.min(delivered, metered.images) * price,
			outcomeOf(result, delivered, status),
			stored,
		);
		// Heartbeats keep going while a slow client reads the rest.
		await queue;
		clearInterval(timer);
		await queue;
		await writer.close().catch(() => undefined);
	})();
	scope.waitUntil?.(run);

	return new Response(readable, { status: 200, headers: { ...headers, ...rateLimitHeaders(admission), "x-request-id": scope.requestId } });
}
