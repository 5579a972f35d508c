/**
 * A finished batch settled job by job. Answers are matched to requests by `metadata.key`
 * (`{jobId}:{i}`), never by position; an answer with no key or an unknown one belongs to
 * nobody, and a request with no answer fails (502 batch_result_missing). Each job pays its
 * own hold's price (the batch price) for the images it got and nothing for the rest, as a
 * sync request with `n > 1` does; a job with no image fails with the most telling reason,
 * in the same codes a sync request gets. A batch that ended FAILED, CANCELLED or EXPIRED
 * without answers fails every job still in it and releases their holds.
 */
import type { GatewayConfig } from "../../config";
import { type ApiError, apiError } from "../../errors";
import { errorFromResponse } from "../../gemini/errors";
import { embeddedError, readOutcome } from "../../gemini/result";
import { placeholderIndex } from "../../gemini/stream-reader";
import type { BatchOperation, InlinedResponse, UsageMetadata } from "../../gemini/types";
import { failureToError, type ImageFailure, noImageFailure } from "../../pipeline/failures";
import { type TokenUsage, tokenUsage } from "../../pipeline/generate";
import { type AnswerFate, chargeOf, emptySpend, recordAnswer, spendRecord } from "../../pipeline/meter";
import type { BatchRow } from "../../storage/batches";
import { jobsOfBatch, setJobsBatchState, succeededJobsOfBatch, updateBatch } from "../../storage/batches";
import { convertStored, storedOf } from "../../storage/convert";
import { imageUrl } from "../../storage/images";
import type { JobRow } from "../../storage/jobs";
import { accountOfKey, failJob, finish } from "../settle";
import type { JobSpec } from "../spec";
import { parseKey, requestKey } from "./requests";

/** What the scanner stored for each image of the answer (by its place in the body), or why it could not. */
export type StoredImages = Map<number, { key: string; mimeType: string; size: number } | { bad: string }>;

interface Delivered {
	key: string;
	url: string;
	mimeType: string;
	bytes: number;
}

/** google.rpc codes (in an answer's error) as the HTTP statuses Gemini uses for them. */
const RPC_HTTP: ReadonlyMap<number, number> = new Map([
	[1, 499],
	[2, 500],
	[3, 400],
	[4, 504],
	[5, 404],
	[7, 403],
	[8, 429],
	[9, 400],
	[13, 500],
	[14, 503],
	[16, 401],
]);

/** Why every job of a batch that ended without answers failed. */
function wholeBatchError(state: string, op: BatchOperation): ApiError | undefined {
	if (state === "BATCH_STATE_EXPIRED") {
		return apiError("batch_expired", "Gemini's batch expired before it ran (a batch has 48 hours). You were not charged.");
	}
	if (state === "BATCH_STATE_CANCELLED") return apiError("batch_cancelled", "Gemini's batch was cancelled. You were not charged.");
	if (state === "BATCH_STATE_FAILED") {
		const why = op.error?.message ? `: ${op.error.message}` : "";
		return apiError("batch_failed", `Gemini's batch failed${why}. You were not charged.`);
	}
	return undefined;
}

const missing = (index: number): ImageFailure => ({
	index,
	kind: "refused",
	error: apiError("batch_result_missing", "Gemini's batch came back without a result for this request. You were not charged."),
});

/** One request's answer: its image (kept in R2), or why there is none; `kept` collects chosen images. */
function readAnswer(
	index: number,
	answer: InlinedResponse | undefined,
	stored: StoredImages,
	kept: Set<number>,
	usage: TokenUsage,
	meter: (u: UsageMetadata, fate: AnswerFate) => void,
) {
	if (!answer) return { failure: missing(index) };
	if (answer.error) {
		const code = answer.error.code ?? 13;
		const status = code >= 100 ? code : (RPC_HTTP.get(code) ?? 500);
		return { failure: { index, kind: "upstream", error: errorFromResponse(status, { error: answer.error }, null) } as ImageFailure };
	}
	const response = answer.response ?? {};
	const embedded = embeddedError(response);
	if (embedded) return { failure: { index, kind: "upstream", error: embedded } as ImageFailure };
	const outcome = readOutcome(response);
	const t = tokenUsage(outcome.usage);
	usage.inputTokens += t.inputTokens;
	usage.outputTokens += t.outputTokens;
	usage.totalTokens += t.totalTokens;
	const image = outcome.images[0];
	if (!image) {
		meter(outcome.usage, "refused");
		return { failure: noImageFailure(index, outcome) };
	}
	const at = placeholderIndex(image.data);
	const s = at === undefined ? undefined : stored.get(at);
	if (at === undefined || !s || "bad" in s) {
		meter(outcome.usage, "faulted");
		return {
			failure: {
				index,
				kind: "bad_image",
				message: s && "bad" in s ? s.bad : "Gemini's batch answer held no readable image",
			} as ImageFailure,
		};
	}
	kept.add(at);
	meter(outcome.usage, "delivered");
	return { image: s };
}

async function settleJob(
	env: Env,
	config: GatewayConfig,
	batch: BatchRow,
	job: JobRow,
	answers: Map<string, InlinedResponse>,
	stored: StoredImages,
	kept: Set<number>,
) {
	const account = await accountOfKey(env, job.key_id);
	const spec = JSON.parse(job.spec) as JobSpec;
	const usage: TokenUsage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
	const images: Delivered[] = [];
	const failures: ImageFailure[] = [];
	// Google bills the Batch API at its batch rates, answer by answer, on the batch's model.
	const spend = emptySpend("batch");
	const meter = (u: UsageMetadata, fate: AnswerFate) => recordAnswer(spend, config.rates, batch.upstream_model, u, fate);
	for (let i = 0; i < spec.n; i++) {
		const r = readAnswer(i, answers.get(requestKey(job.id, i)), stored, kept, usage, meter);
		let image = r.image;
		if (image && spec.output) {
			// Converted as on the live path (src/storage/convert.ts); a failed conversion is that image's failure.
			const meta = { requestId: job.id, model: spec.model, keyId: job.key_id };
			try {
				const c = await convertStored(env, storedOf(image.key, image.mimeType, image.size), spec.output, meta, config.keepOriginalImages);
				image = { key: c.key, mimeType: c.kind.mimeType, size: c.size };
			} catch (error) {
				console.error(JSON.stringify({ event: "batch_convert_failed", jobId: job.id, index: i, error: String(error) }));
				failures.push({ index: i, kind: "internal", message: "converting the image failed" });
				image = undefined;
			}
		}
		if (image)
			images.push({
				key: image.key,
				url: imageUrl(image.key, config.publicBaseUrl, spec.origin),
				mimeType: image.mimeType,
				bytes: image.size,
			});
		else if (r.failure) failures.push(r.failure);
	}
	if (images.length === 0)
		return failJob(env, job, account, failureToError(failures, job.id), "failed", chargeOf(config, 0, job.price, spend));
	const settled = account
		? await account.settle({
				reservationId: job.reservation_id as string,
				charge: chargeOf(config, images.length, job.price, spend),
				outcome: {
					imagesDelivered: images.length,
					promptTokens: usage.inputTokens,
					outputTokens: usage.outputTokens,
					totalTokens: usage.totalTokens,
					upstreamMs: null,
					upstreamModel: batch.upstream_model,
					upstreams: batch.upstream ? images.map(() => batch.upstream as string) : [],
					status: 200,
					errorCode: null,
					finishReason: "STOP",
					r2Keys: images.map((i) => i.key),
					...spendRecord(spend),
				},
			})
		: { charged: 0 };
	const body = {
		images: images.map((i) => ({ url: i.url, mime_type: i.mimeType, bytes: i.bytes })),
		usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens, total_tokens: usage.totalTokens },
		credits_charged: settled.charged,
		failed_images: failures.length,
	};
	await finish(
		env,
		job,
		{ status: "SUCCEEDED", result: JSON.stringify(body), error: null, credits_charged: settled.charged },
		{ status: "succeeded", images: body.images.map((i) => i.url), credits: settled.charged },
	);
}

/**
 * The places (in the answer) of the images that jobs of this batch finished in an earlier
 * pass were given: the image each answer of theirs delivered, chosen as readAnswer chooses.
 */
async function keptBefore(env: Env, batch: BatchRow, answers: Map<string, InlinedResponse>): Promise<Set<number>> {
	const kept = new Set<number>();
	const done = new Set(await succeededJobsOfBatch(env.DB, batch.id));
	if (done.size === 0) return kept;
	for (const [key, answer] of answers) {
		const owner = parseKey(key);
		if (!owner || !done.has(owner.jobId) || answer.error || !answer.response) continue;
		const image = readOutcome(answer.response).images[0];
		const at = image ? placeholderIndex(image.data) : undefined;
		if (at !== undefined) kept.add(at);
	}
	return kept;
}

/** Settles every unfinished job of a finished batch, removes images nobody gets (never a settled job's), closes the batch. */
export async function settleBatch(
	env: Env,
	config: GatewayConfig,
	batch: BatchRow,
	op: BatchOperation,
	stored: StoredImages,
): Promise<void> {
	const state = op.metadata?.state ?? (op.error ? "BATCH_STATE_FAILED" : "BATCH_STATE_SUCCEEDED");
	await setJobsBatchState(env.DB, batch.id, state, "STORING");
	const list = op.response?.inlinedResponses?.inlinedResponses ?? [];
	const answers = new Map<string, InlinedResponse>();
	for (const a of list) {
		const key = a.metadata?.key;
		if (key && parseKey(key) && !answers.has(key)) answers.set(key, a);
	}
	const whole = list.length === 0 ? wholeBatchError(state, op) : undefined;
	// A re-poll after a crash mid-settlement rewrites every image of the answer: those of jobs
	// settled in the earlier pass were paid for and must stay, so they count as kept.
	const kept = await keptBefore(env, batch, answers);
	for (const job of await jobsOfBatch(env.DB, batch.id)) {
		if (whole) await failJob(env, job, await accountOfKey(env, job.key_id), whole);
		else await settleJob(env, config, batch, job, answers, stored, kept);
	}
	// Thought drafts, extra images and answers that belong to nobody leave no object behind.
	const orphans = [...stored].filter(([n, s]) => !kept.has(n) && "key" in s).map(([, s]) => (s as { key: string }).key);
	if (orphans.length > 0) await env.IMAGES.delete(orphans);
	await updateBatch(env.DB, batch.id, {
		state,
		settled: 1,
		lease_until: null,
		finished_at: new Date().toISOString(),
		error: op.error ? JSON.stringify(op.error) : null,
	});
}
