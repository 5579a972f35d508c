// Helpers for async jobs: polling, and driving the queue handler by hand.
import { createExecutionContext, createMessageBatch, getQueueResult, type QueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import type { JobMessage } from "../../src/jobs/submit";
import { auth, call } from "./http";

export interface Job {
	id: string;
	status: string;
	created_at: string;
	started_at: string | null;
	storing_at: string | null;
	finished_at: string | null;
	attempts: number;
	poll_url: string;
	credits_charged: number;
	webhook_status: string | null;
	result: { images: Array<{ url: string; mime_type: string }>; credits_charged: number } | null;
	error: { code: string; message: string } | null;
}

/** Polls a job until `done(job)` (default: a final state); the local queue delivers within ~1 s. */
export async function waitForJob(
	key: string,
	id: string,
	done = (j: Job) => ["SUCCEEDED", "FAILED", "CANCELED"].includes(j.status),
	timeoutMs = 20_000,
): Promise<Job> {
	const until = Date.now() + timeoutMs;
	for (;;) {
		const job = await (await call(`/v1/jobs/${id}`, { headers: auth(key) })).json<Job>();
		if (done(job)) return job;
		if (Date.now() > until) throw new Error(`job ${id} still ${job.status} / webhook ${job.webhook_status}`);
		await new Promise((r) => setTimeout(r, 150));
	}
}

/** A queue producer that only records, so the real consumer never sees the message. */
export function recordingQueue(): { queue: Queue; sent: JobMessage[] } {
	const sent: JobMessage[] = [];
	const queue = {
		send: async (body: JobMessage) => {
			sent.push(body);
		},
		sendBatch: async (msgs: Iterable<MessageSendRequest<JobMessage>>) => {
			for (const m of msgs) sent.push(m.body);
		},
	} as unknown as Queue;
	return { queue, sent };
}

/** Delivers one message to the Worker's queue handler, as the runtime would. */
export async function deliver(body: JobMessage, attempts: number, overrides: Partial<Env> = {}): Promise<QueueResult> {
	const batch = createMessageBatch<JobMessage>("nano-banana-jobs", [
		{ id: `msg-${crypto.randomUUID()}`, timestamp: new Date(), attempts, body },
	]);
	const ctx = createExecutionContext();
	await worker.queue(batch as MessageBatch<JobMessage>, { ...env, ...overrides });
	await waitOnExecutionContext(ctx);
	return getQueueResult(batch, ctx);
}
