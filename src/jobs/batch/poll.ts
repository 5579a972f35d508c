/**
 * Polling a submitted batch on a schedule (every BATCH_POLL_SECONDS, one queue message
 * per poll). While Gemini works on it, its state is recorded on the batch and its jobs
 * (which stay RUNNING). When it is done, the answer (every image of every request, up to
 * tens of megabytes) is read through the same streaming scanner as a single call: each
 * image string goes straight into R2 as it passes and is committed when it ends, so one
 * image's buffer at most is held. Keys are fixed by the batch and the image's place in
 * the answer, so a read cut off and retried writes the same objects again. Then every
 * job is settled (src/jobs/batch/results.ts).
 */
import type { GatewayConfig } from "../../config";
import { apiError } from "../../errors";
import { GeminiError, GeminiTimeoutError } from "../../gemini/errors";
import { type InlineSink, type InlineWriter, readStreamed } from "../../gemini/stream-reader";
import type { BatchOperation } from "../../gemini/types";
import { upstreamToError } from "../../pipeline/failures";
import { type BatchRow, getBatch, jobsOfBatch, leaseBatch, setJobsBatchState, updateBatch } from "../../storage/batches";
import { ImageWriter } from "../../storage/image-writer";
import { NotAnImageError } from "../../storage/images";
import { memberClient } from "../../upstreams/pool";
import { accountOfKey, type Decision, failJob } from "../settle";
import type { JobMessage } from "../submit";
import { type StoredImages, settleBatch } from "./results";

/** Long enough to read and settle the largest batch; a dead poller's batch is taken after it. */
const LEASE_MS = 10 * 60_000;

/**
 * `generated/{model}/batch/{yyyy}/{mm}/{dd}/{batchId}-{n}-{32 hex}`: fixed by the batch, so
 * retries overwrite. The batch id is shown to every job in the batch, so the last part is
 * an HMAC of the batch and index under a server secret: 128 bits nobody else can derive.
 */
async function stemOf(secret: string, batch: BatchRow, index: number): Promise<string> {
	const d = new Date(batch.created_at);
	const day = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, "0")}/${String(d.getUTCDate()).padStart(2, "0")}`;
	const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
	const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`batch-image\n${batch.id}\n${index}`));
	return `generated/${batch.model}/batch/${day}/${batch.id}-${index}-${new Uint8Array(mac, 0, 16).toHex()}`;
}

/** Writes each image of the answer into R2 as it streams past, committing it when it ends. */
class BatchImages implements InlineSink {
	readonly stored: StoredImages = new Map();
	private open_: ImageWriter | undefined;

	constructor(
		private readonly bucket: R2Bucket,
		private readonly batch: BatchRow,
		/** The HMAC key of the images' names (ADMIN_TOKEN: a secret every gateway has; else Gemini's name of the batch). */
		private readonly secret: string,
	) {}

	open(index: number, bytesLeft?: number): InlineWriter {
		// The name takes an HMAC (async): the writer is made when the first characters come.
		const named = stemOf(this.secret, this.batch, index);
		let made: ImageWriter | undefined;
		const writer = async () => {
			const stem = await named;
			made ??= this.open_ = new ImageWriter(
				this.bucket,
				stem,
				{ requestId: this.batch.id, model: this.batch.model, keyId: "batch" },
				{ sizeHint: bytesLeft === undefined ? undefined : Math.ceil((bytesLeft * 3) / 4) },
			);
			return made;
		};
		let bad: string | undefined;
		// One answer's bad bytes cost that answer only, never the batch.
		const refuse = async (error: unknown) => {
			if (!(error instanceof SyntaxError || error instanceof NotAnImageError)) throw error;
			bad = error instanceof NotAnImageError ? error.message : "Gemini returned image data that is not valid base64";
			await (await writer()).discard();
		};
		return {
			write: async (chars) => {
				if (bad === undefined) await (await writer()).write(chars).catch(refuse);
			},
			end: async () => {
				const w = await writer();
				this.open_ = undefined;
				if (bad === undefined) {
					const s = await w.commit().catch(async (error: unknown) => void (await refuse(error)));
					if (s) this.stored.set(index, { key: s.key, mimeType: s.kind.mimeType, size: s.size });
				}
				if (bad !== undefined) this.stored.set(index, { bad });
			},
		};
	}

	async read(res: Response): Promise<BatchOperation> {
		this.stored.clear();
		try {
			const length = Number(res.headers.get("content-length") ?? Number.NaN);
			return (await readStreamed(res.body, this, Number.isFinite(length) ? length : undefined)) as BatchOperation;
		} catch (error) {
			await this.open_?.discard();
			throw error;
		}
	}
}

async function pollAgain(env: Env, batch: BatchRow, fields: Partial<BatchRow>, delaySeconds: number) {
	await updateBatch(env.DB, batch.id, {
		...fields,
		polls: batch.polls + 1,
		lease_until: null,
		next_poll_at: new Date(Date.now() + delaySeconds * 1000).toISOString(),
	});
	await env.JOBS.send({ type: "batch-poll", batchId: batch.id } satisfies JobMessage, { delaySeconds });
}

/** Looks at a submitted batch: records its state, or settles its jobs when it is done. */
export async function pollBatch(env: Env, config: GatewayConfig, batchId: string): Promise<Decision> {
	const batch = await getBatch(env.DB, batchId);
	if (!batch || batch.settled || !batch.upstream_name) return { ack: true };
	const now = Date.now();
	if (!(await leaseBatch(env.DB, batch.id, now, now + LEASE_MS))) return { ack: true }; // another poller has it
	try {
		return await pollLeased(env, config, { ...batch, upstream_name: batch.upstream_name });
	} catch (error) {
		// Not Gemini's doing (storage, a bug): free the batch so the queue's retry can take it.
		await updateBatch(env.DB, batch.id, { lease_until: null }).catch(() => undefined);
		throw error;
	}
}

async function pollLeased(env: Env, config: GatewayConfig, batch: BatchRow & { upstream_name: string }): Promise<Decision> {
	const images = new BatchImages(env.IMAGES, batch, env.ADMIN_TOKEN || batch.upstream_name);
	let op: BatchOperation;
	try {
		op = await (await memberClient(config, batch.upstream)).getBatch(batch.upstream_name, (res) => images.read(res));
	} catch (error) {
		if (!(error instanceof GeminiError)) throw error;
		if (error.retryable || error instanceof GeminiTimeoutError) {
			await pollAgain(env, batch, {}, Math.max(config.batchPollSeconds, 5 * Math.min(batch.polls + 1, 60)));
			return { ack: true };
		}
		// Gone or refused for good: every job in it fails, its hold released.
		const e =
			error.status === 404
				? apiError("batch_failed", `Gemini no longer knows batch ${batch.upstream_name}. You were not charged.`)
				: upstreamToError(error, batch.id);
		for (const job of await jobsOfBatch(env.DB, batch.id)) await failJob(env, job, await accountOfKey(env, job.key_id), e);
		await updateBatch(env.DB, batch.id, {
			settled: 1,
			lease_until: null,
			error: JSON.stringify(e.toJSON().error),
			finished_at: new Date().toISOString(),
		});
		return { ack: true };
	}
	const state = op.metadata?.state ?? batch.state;
	if (!op.done) {
		if (state !== batch.state) await setJobsBatchState(env.DB, batch.id, state);
		await pollAgain(env, batch, { state }, config.batchPollSeconds);
		return { ack: true };
	}
	await settleBatch(env, config, batch, op, images.stored);
	return { ack: true };
}
