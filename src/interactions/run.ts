/**
 * Running an interaction through the billed paths every dialect shares, and answering
 * with its record: a synchronous create (runBilled: admit, one image run, charge from the
 * meter, settle), a streamed one (runBilledStream: the same, events written as the run
 * goes), and the background record an async job stands behind (src/jobs/).
 */
import { randomId } from "../account/keys";
import { type Piece, piecesLength, piecesStream } from "../lib/b64-stream";
import { executionOf, runBilled, StreamedBody } from "../pipeline/billed";
import { runBilledStream } from "../pipeline/billed-stream";
import { runGeneration } from "../pipeline/generate";
import { chargeOf } from "../pipeline/meter";
import { meteredOf } from "../pipeline/metering";
import type { CallScope } from "../pipeline/scope";
import { getJob, type JobRow } from "../storage/jobs";
import {
	closingEvents,
	eventsAfter,
	type InteractionRecord,
	type InteractionStatus,
	interactionPieces,
	isoSeconds,
	openingEvents,
	putRecord,
	recordOf,
} from "./present";
import type { CreateInteraction } from "./request";

/** A new record for a create, `in_progress`. Google's ids begin `v1_`; a background one names its job. */
function startRecord(create: CreateInteraction, jobId?: string): InteractionRecord {
	const now = isoSeconds();
	return {
		id: jobId ? `v1_${jobId}` : randomId("v1"),
		model: create.req.model.id,
		created: now,
		updated: now,
		status: "in_progress",
		delivery: create.delivery,
		images: [],
		text: "",
		...(jobId ? { jobId } : {}),
	};
}

/** The record of a background interaction, run as the async job `jobId`. */
export function backgroundRecord(jobId: string, create: CreateInteraction): InteractionRecord {
	return startRecord(create, jobId);
}

/** A synchronous create: the Interaction, images embedded from R2 when delivered inline. */
export function createSync(scope: CallScope, create: CreateInteraction): Promise<Response> {
	const { req } = create;
	return runBilled(scope, meteredOf(req, scope.config), async (price) => {
		const started = startRecord(create);
		const r = await runGeneration(scope, req);
		const charge = chargeOf(scope.config, r.images.length, price, r.spend, req.n);
		const record = recordOf(started, r, charge);
		if (!r.error && create.store) await putRecord(scope.env.IMAGES, scope.keyId, record);
		return { ...executionOf(r), charge, body: r.error ? undefined : new StreamedBody(interactionPieces(record)) };
	});
}

/**
 * A streamed create: admitted as any call, then interaction.created at once, the step's
 * events when the image is stored, and interaction.completed. A stored interaction's
 * record is written first (`in_progress`), so a client that lost the stream can resume it
 * with GET ?stream=true&last_event_id=... while the run goes on.
 */
export function createStreamed(scope: CallScope, create: CreateInteraction): Promise<Response> {
	const { req } = create;
	const started = startRecord(create);
	const failedRecord = (): InteractionRecord => ({
		...started,
		status: "failed",
		updated: isoSeconds(),
		error: { code: "internal_error", message: `Internal error (request ${scope.requestId})` },
	});
	return runBilledStream(
		scope,
		meteredOf(req, scope.config),
		async (emit, price) => {
			if (create.store) await putRecord(scope.env.IMAGES, scope.keyId, started);
			await emit(openingEvents(started));
			const r = await runGeneration(scope, req);
			const charge = chargeOf(scope.config, r.images.length, price, r.spend, req.n);
			const record = recordOf(started, r, charge);
			if (create.store) await putRecord(scope.env.IMAGES, scope.keyId, record);
			await emit(closingEvents(record));
			return { ...executionOf(r), charge };
		},
		() => closingEvents(failedRecord()),
	);
}

const JOB_STATUS: Record<JobRow["status"], InteractionStatus> = {
	CREATED: "in_progress",
	RUNNING: "in_progress",
	STORING: "in_progress",
	SUCCEEDED: "completed",
	FAILED: "failed",
	CANCELED: "cancelled",
};

interface JobResultBody {
	images: Array<{ url: string; mime_type: string; bytes: number }>;
	usage: { input_tokens: number; output_tokens: number; total_tokens: number };
}

/**
 * The record as it stands now: a background interaction takes its job's state (and, once
 * the job is done, is written back so later reads need no database query).
 */
export async function currentRecord(env: Env, keyId: string, record: InteractionRecord): Promise<InteractionRecord> {
	if (!record.jobId || record.status !== "in_progress") return record;
	const job = await getJob(env.DB, record.jobId, keyId);
	if (!job) return record;
	const status = JOB_STATUS[job.status];
	if (status === "in_progress") return record;
	const next: InteractionRecord = { ...record, status, updated: isoSeconds(), creditsCharged: job.credits_charged ?? 0 };
	if (status === "completed" && job.result) {
		const result = JSON.parse(job.result) as JobResultBody;
		// The job keeps each image's URL; its R2 key is the URL's path from `generated/` on.
		next.images = result.images.map((i) => ({
			key: i.url.slice(i.url.indexOf("generated/")),
			mimeType: i.mime_type,
			bytes: i.bytes,
			url: i.url,
		}));
		next.usage = { input: result.usage.input_tokens, output: result.usage.output_tokens, total: result.usage.total_tokens };
	}
	if (status === "failed" && job.error) {
		const e = JSON.parse(job.error) as { code?: string; message?: string };
		next.error = { code: e.code ?? "internal_error", message: e.message ?? "The interaction failed" };
	}
	await putRecord(env.IMAGES, keyId, next);
	return next;
}

/** How long a streamed GET follows a running background interaction before it ends the stream. */
const FOLLOW_MS = 10 * 60_000;
const FOLLOW_EVERY_MS = 1_000;

/**
 * Answers with a record: the Interaction as JSON, or (`stream`) its events after
 * `lastEventId`, following a running interaction until it ends (heartbeat comments while
 * it waits), as Google's resumable streamed get does.
 */
export function respondRecord(
	bucket: R2Bucket,
	record: InteractionRecord,
	headers: Headers,
	stream?: { lastEventId?: string; refresh: () => Promise<InteractionRecord> },
): Response {
	if (!stream) {
		const pieces = interactionPieces(record);
		headers.set("content-type", "application/json");
		headers.set("content-length", String(piecesLength(pieces)));
		return new Response(piecesStream(bucket, pieces), { status: 200, headers });
	}
	const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
	const send = async (pieces: Piece[]) => {
		const reader = piecesStream(bucket, pieces).getReader();
		const writer = writable.getWriter();
		try {
			for (;;) {
				const { done, value } = await reader.read();
				if (done) break;
				await writer.write(value);
			}
		} finally {
			writer.releaseLock();
		}
	};
	const run = async () => {
		let current = record;
		await send(eventsAfter(current, stream.lastEventId));
		if (current.status !== "in_progress") return;
		// The opening events (0 and 1) are sent; a running interaction's next ones come when it ends.
		const sentUpTo = Math.max(1, Number(stream.lastEventId?.slice(4) ?? -1));
		const until = Date.now() + FOLLOW_MS;
		while (current.status === "in_progress" && Date.now() < until) {
			await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
			await send([": keep-alive\n\n"]);
			current = await stream.refresh();
		}
		if (current.status !== "in_progress") await send(eventsAfter(current, `evt_${sentUpTo}`));
	};
	run()
		.catch((error: unknown) => console.error(JSON.stringify({ event: "interaction_stream_failed", error: String(error) })))
		.finally(() => writable.close().catch(() => undefined));
	headers.set("content-type", "text/event-stream; charset=utf-8");
	headers.set("cache-control", "no-cache");
	return new Response(readable, { status: 200, headers });
}
