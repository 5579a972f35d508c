/**
 * Google's Interactions API for image models, so `@google/genai`'s `ai.interactions` and the
 * AI SDK's `google.interactions(...)` work with only the base URL and key changed (mounted
 * under /v1/interactions, the SDK's default version, and /v1beta/interactions, the AI SDK's):
 *   POST   /interactions               create: JSON, `stream: true` (server-sent events) or
 *                                      `background: true` (answers at once, `in_progress`)
 *   GET    /interactions/{id}          the interaction; `?stream=true` replays its events
 *                                      (and follows a running one), after `last_event_id`
 *   POST   /interactions/{id}/cancel   a background interaction that has not started
 *   DELETE /interactions/{id}          forgets it (its images stay where they were stored)
 * An interaction is one image run of the shared pipeline (src/pipeline/generate.ts): the
 * gateway calls generateContent upstream, not Google's interactions endpoint: the meter
 * charges from the answer Google bills for (usageMetadata of each generateContent call,
 * src/pipeline/meter.ts, the same tokens an interaction would bill), and one call per image
 * keeps the pool's failover, retries and R2 storage; Google's interactions are state kept
 * by one upstream project (get, cancel and delete would have to reach that same member, and
 * a second meter would read their `usage`). The
 * images are stored in R2 and delivered as `delivery` asks: base64 (`inline`, the default)
 * or the image's URL (`uri`). Errors are Google's shape. Background runs are async jobs
 * (src/jobs/), held and charged exactly as `"async": true` elsewhere.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { emptyOutcome } from "../account/records";
import { type ApiError, apiError, invalidParam, notFound } from "../errors";
import { getRecord, type InteractionRecord, isoSeconds, putRecord, recordKey } from "../interactions/present";
import { readCreate } from "../interactions/request";
import { backgroundRecord, createStreamed, createSync, currentRecord, respondRecord } from "../interactions/run";
import type { JobSpec } from "../jobs/spec";
import { submitJob } from "../jobs/submit";
import { readJsonBody } from "../lib/body";
import { routeFacts } from "../route-facts";
import { cancelJob, getJob } from "../storage/jobs";
import type { AppEnv } from "../types";
import { callScope } from "./common";

/**
 * Route facts (src/route-facts.ts): Google's error shape; a create is admitted (it holds
 * credits), the other calls check the key up front.
 */
const ROUTE_FACTS = routeFacts((c) => ({
	dialect: "interactions",
	errorStyle: "google",
	admitted: c.req.method === "POST" && /\/interactions\/?$/.test(c.req.path),
}));

const EVENT_ID = /^evt_\d+$/;

/** 400 FAILED_PRECONDITION, as Google answers a call the resource's state does not allow. */
function notCancelable(message: string): ApiError {
	const e = apiError("interaction_not_cancelable", message);
	e.google = { status: "FAILED_PRECONDITION" };
	return e;
}

async function recordOr404(c: Context<AppEnv>, id: string): Promise<InteractionRecord> {
	const r = await getRecord(c.env.IMAGES, c.get("caller").keyId, id);
	if (!r) throw notFound(`Interaction ${id} not found`);
	return r;
}

export const interactions = new Hono<AppEnv>()
	.use(ROUTE_FACTS)
	.post("/", async (c) => {
		const config = c.get("config");
		const { value, raw } = await readJsonBody(c.req.raw, config.maxUploadBytes);
		const create = await readCreate(value, config);
		const scope = callScope(c, raw);
		if (create.background) {
			const submitted = await submitJob(scope, create.req, { tier: "standard" });
			if (submitted.status !== 202) return submitted;
			const job = (await submitted.json()) as { id: string };
			const record = backgroundRecord(job.id, create);
			await putRecord(c.env.IMAGES, scope.keyId, record);
			const headers = new Headers(submitted.headers);
			headers.delete("location");
			headers.delete("content-length");
			return respondRecord(c.env.IMAGES, record, headers);
		}
		return create.stream ? createStreamed(scope, create) : createSync(scope, create);
	})
	.get("/:id", async (c) => {
		const id = c.req.param("id");
		const stream = c.req.query("stream");
		const last = c.req.query("last_event_id");
		if (stream !== undefined && stream !== "true" && stream !== "false") throw invalidParam("stream", "stream must be true or false");
		if (last !== undefined && !EVENT_ID.test(last))
			throw invalidParam("last_event_id", "last_event_id must be an event_id this API sent (evt_N)");
		const keyId = c.get("caller").keyId;
		const record = await currentRecord(c.env, keyId, await recordOr404(c, id));
		if (stream !== "true") return respondRecord(c.env.IMAGES, record, new Headers());
		// A running interaction is followed: each look reads the record (a background one, its job) again.
		const refresh = async () => currentRecord(c.env, keyId, await recordOr404(c, id));
		return respondRecord(c.env.IMAGES, record, new Headers(), { lastEventId: last, refresh });
	})
	.post("/:id/cancel", async (c) => {
		const id = c.req.param("id");
		const caller = c.get("caller");
		const record = await recordOr404(c, id);
		if (!record.jobId) throw notCancelable(`Interaction ${id} is not a background interaction; only those can be cancelled`);
		const job = await getJob(c.env.DB, record.jobId, caller.keyId);
		if (!job || !(await cancelJob(c.env.DB, record.jobId, caller.keyId))) {
			throw notCancelable(`Interaction ${id} has already started or finished; only a background interaction still queued can be cancelled`);
		}
		if (job.reservation_id) {
			await caller.account.settle({
				reservationId: job.reservation_id,
				charge: 0,
				outcome: emptyOutcome(
					499,
					"canceled",
					(JSON.parse(job.spec) as JobSpec).inputs.map((i) => i.key),
				),
			});
		}
		const cancelled: InteractionRecord = { ...record, status: "cancelled", updated: isoSeconds(), creditsCharged: 0 };
		await putRecord(c.env.IMAGES, caller.keyId, cancelled);
		return respondRecord(c.env.IMAGES, cancelled, new Headers());
	})
	.delete("/:id", async (c) => {
		const id = c.req.param("id");
		await recordOr404(c, id);
		await c.env.IMAGES.delete(recordKey(c.get("caller").keyId, id));
		return c.json({});
	});
