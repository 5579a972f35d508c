/**
 * The Batch lane's safety net, run by the per-minute cron trigger: a queue message can be
 * lost (or a consumer can die holding it), so batch-tier jobs that have waited well past
 * their window get a new window message, submitted batches whose poll is overdue get a
 * new poll, and jobs claimed by a submission that never finished (its consumer died) go
 * back to waiting. Every step is idempotent: forming claims jobs conditionally, and
 * polling takes a lease. A submission whose former died is resumed under its own display
 * name, so a batch Gemini accepted before the answer was lost is adopted, never submitted
 * twice (./adopt.ts); only submissions from before that (no lease) are handed back.
 */
import type { GatewayConfig } from "../../config";
import { abandonStaleSubmissions, modelsWaitingSince, modelsWithUnrecordedSubmissions, overdueBatches } from "../../storage/batches";
import type { JobMessage } from "../submit";

/** How late a window or a poll may be before the sweep steps in. */
const GRACE_MS = 2 * 60_000;
/** Longer than any submission takes (the Gemini deadline is at most 15 minutes). */
const SUBMISSION_MS = 20 * 60_000;

export async function sweepBatches(
	env: Env,
	at: Date,
	config: GatewayConfig,
): Promise<{ windows: number; polls: number; abandoned: number }> {
	// A submission takes seconds; one still unrecorded after this died with its jobs claimed.
	const abandoned = await abandonStaleSubmissions(env.DB, new Date(at.getTime() - SUBMISSION_MS).toISOString());
	const waitedSince = new Date(at.getTime() - config.batchWindowSeconds * 1000 - GRACE_MS).toISOString();
	// A submission whose former died (its lease ran out) is resumed by its model's window: adopted if Gemini has it.
	const unrecorded = await modelsWithUnrecordedSubmissions(env.DB, at.getTime());
	const models = [...new Set([...abandoned, ...unrecorded, ...(await modelsWaitingSince(env.DB, waitedSince))])];
	for (const model of models) await env.JOBS.send({ type: "batch-window", model } satisfies JobMessage);
	const overdue = await overdueBatches(env.DB, new Date(at.getTime() - GRACE_MS).toISOString());
	for (const batchId of overdue) await env.JOBS.send({ type: "batch-poll", batchId } satisfies JobMessage);
	return { windows: models.length, polls: overdue.length, abandoned: abandoned.length };
}
