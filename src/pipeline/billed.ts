/**
 * The billed request path every dialect goes through:
 *   admit (limits + worst-case hold, one DO call) -> execute -> settle (charge what was
 *   delivered, release the rest) -> response with credit and rate-limit headers.
 * `execute` is the only part that differs by dialect (the image pipeline, or the
 * Gemini-native passthrough). A repeated Idempotency-Key with the same body replays the
 * stored response; the DO refuses a different body (422) or one still running (409).
 */
import { sha256Hex } from "../account/keys";
import type { StoredResponse, UsageOutcome } from "../account/records";
import { type PriceTable, pricePerImage } from "../billing/prices";
import { lifecycleHeaders } from "../catalog/headers";
import { ApiError, apiError, invalidParam } from "../errors";
import { type Piece, piecesLength, piecesStream } from "../lib/b64-stream";
import { noteRequest, timed } from "../observe";
import { getPrivate } from "../storage/private";
import { checkServed } from "../upstreams/route";
import type { GenerationResult, TokenUsage } from "./generate";
import { runGeneration } from "./generate";
import { chargeOf, type Spend, spendRecord } from "./meter";
import { holdOf, type Metered, meteredOf, refusal, usageDraft, usesOf } from "./metering";
import type { GenerationRequest } from "./request";
import type { CallScope } from "./scope";

/**
 * A success body made of JSON text and stored images embedded as base64, streamed from
 * R2 with a known length (see lib/b64-stream.ts) instead of being built in memory.
 */
export class StreamedBody {
	constructor(readonly pieces: Piece[]) {}
}

/** Responses bigger than this are kept in R2 rather than in the Durable Object. */
const INLINE_REPLAY_BYTES = 256 * 1024;

/** What an execution reports back for settlement and the response. */
export interface Execution {
	delivered: number;
	usage: TokenUsage;
	upstreamMs: number | null;
	/** The Gemini id that served the request, when one answered. */
	upstreamModel: string | null;
	/** The upstream (pool member) of each delivered image, in order. */
	upstreams?: string[];
	finishReason: string | null;
	r2Keys: string[];
	/** Set when nothing was delivered; becomes the response. */
	error?: ApiError;
	/** The success body (any dialect's shape), sent as JSON... */
	body?: unknown;
	/** ...unless the dialect needs another encoding (e.g. server-sent events). */
	raw?: { text: string; contentType: string };
	/** Credits to charge, from the meter (src/pipeline/meter.ts); absent: delivered x price. */
	charge?: number;
	/** What Google billed for the answers (recorded with the usage row). */
	spend?: Spend;
}

/** "openai.images.generations" -> "openai": the dialect a metered endpoint belongs to. */
export function dialectOf(endpoint: string): string {
	return endpoint.split(".")[0];
}

async function replay(env: Env, stored: StoredResponse, requestId: string): Promise<Response> {
	let body = stored.body ?? "";
	if (stored.bodyRef) body = (await (await getPrivate(env, stored.bodyRef))?.obj.text()) ?? "";
	return new Response(body, {
		status: stored.status,
		headers: { ...stored.headers, "idempotent-replayed": "true", "x-request-id": requestId },
	});
}

/** An admitted call: what it was held at, and what settlement and replay need. */
export interface Admission {
	price: number;
	reservationId: string;
	balance: number;
	rateLimit: { limit: number; remaining: number; resetSeconds: number };
	idemKey: string | undefined;
	bodyHash: string | undefined;
}

/** How an async or batch submission is admitted (a synchronous call takes the defaults). */
export interface AdmitOptions {
	/** The price table (the batch lane's prices for batch jobs). */
	prices?: PriceTable;
	/** How long the hold lives (default: the deadline and a minute). */
	ttlMs?: number;
	/** The usage row's request id (a job's id), default the request's. */
	draftId?: string;
	/** A submission answers 202 at once: its response is kept by keepSubmission, not at settlement. */
	submission?: boolean;
}

/**
 * Idempotency check and admission (limits + worst-case hold, one DO call), the one path of
 * sync, async and batch calls. A repeated Idempotency-Key with the same body answers with
 * the stored response instead; a refusal throws the ApiError it becomes.
 */
export async function admitCall(scope: CallScope, metered: Metered, opts: AdmitOptions = {}): Promise<Admission | Response> {
	const { env, config, caller, requestId } = scope;
	const idemKey = scope.idempotency.key?.trim();
	if (idemKey !== undefined && (idemKey.length === 0 || idemKey.length > 255)) {
		throw invalidParam("Idempotency-Key", "Idempotency-Key must be 1 to 255 characters");
	}
	// A model no upstream serves is refused before anything is held.
	checkServed(config, metered.model);
	const price = pricePerImage(opts.prices ?? config.prices, metered.model, metered.imageSize);
	const bodyHash = idemKey ? await sha256Hex(`${metered.endpoint}\n${new TextDecoder().decode(scope.idempotency.body)}`) : undefined;
	noteRequest({ dialect: dialectOf(metered.endpoint), model: metered.model.id });
	const admitted = await timed(
		"admit",
		async () =>
			await caller.account.admit({
				draft: usageDraft(opts.draftId ?? requestId, metered),
				credits: holdOf(config, metered, price),
				images: metered.images,
				ttlMs: opts.ttlMs ?? config.deadlineMs + 60_000,
				idempotency: idemKey && bodyHash ? { key: idemKey, bodyHash, submission: opts.submission } : undefined,
				uses: usesOf(metered),
			}),
	);
	// Whatever admission answered, a known key is now checked (the log line names it).
	if ("keyId" in admitted) caller.resolve({ keyId: admitted.keyId, name: admitted.name });
	if (!admitted.ok) {
		if (admitted.reason === "replay") return replay(env, admitted.response, requestId);
		throw refusal(admitted);
	}
	return { price, reservationId: admitted.reservationId, balance: admitted.balance, rateLimit: admitted.rateLimit, idemKey, bodyHash };
}

/** What settlement records about an execution (or about one that threw). */
export function outcomeOf(result: Execution | undefined, delivered: number, status: number): UsageOutcome {
	return {
		imagesDelivered: delivered,
		promptTokens: result?.usage.inputTokens ?? 0,
		outputTokens: result?.usage.outputTokens ?? 0,
		totalTokens: result?.usage.totalTokens ?? 0,
		upstreamMs: result?.upstreamMs ?? null,
		upstreamModel: result?.upstreamModel ?? null,
		upstreams: (result?.upstreams ?? []).slice(0, delivered),
		status,
		errorCode: result ? (result.error?.code ?? null) : "internal_error",
		finishReason: result?.finishReason ?? null,
		r2Keys: result?.r2Keys ?? [],
		...spendRecord(result?.spend),
	};
}

/**
 * The response kept for a repeated Idempotency-Key: inline when small, else in the private bucket.
 * `body` is text, or pieces embedding stored images (streamed into R2, never built).
 */
export async function keepForReplay(
	scope: CallScope,
	admission: Pick<Admission, "idemKey" | "bodyHash">,
	status: number,
	headers: Record<string, string>,
	body: string | Piece[],
): Promise<StoredResponse> {
	const stored: StoredResponse = { status, headers: { ...headers } };
	if (typeof body === "string" && body.length <= INLINE_REPLAY_BYTES) {
		stored.body = body;
		return stored;
	}
	// Named by the Idempotency-Key and the body: two keys sent with one body never share (and
	// overwrite) one object, so a replay only ever returns its own request's answer.
	const ref = `idempotency/${scope.caller.keyId}/${await sha256Hex(`${admission.idemKey}\n${admission.bodyHash}`)}.json`;
	stored.bodyRef = ref;
	const value =
		typeof body === "string" ? body : piecesStream(scope.env.IMAGES, body).pipeThrough(new FixedLengthStream(piecesLength(body)));
	await timed("store", () => scope.env.PRIVATE.put(ref, value, { httpMetadata: { contentType: "application/json" } }));
	return stored;
}

/** Settles the hold (timed), and reports the outcome for the request's log line. */
export async function settle(
	scope: CallScope,
	admission: Admission,
	charge: number,
	outcome: UsageOutcome,
	response: StoredResponse | null,
) {
	const settled = await timed(
		"settle",
		async () => await scope.caller.account.settle({ reservationId: admission.reservationId, charge, outcome, response }),
	);
	noteRequest({
		upstreamModel: outcome.upstreamModel,
		upstreams: outcome.upstreams,
		errorCode: outcome.errorCode,
		creditsCharged: settled.charged,
		images: outcome.imagesDelivered,
		upstreamMs: outcome.upstreamMs,
	});
	return settled;
}

/** The rate-limit headers every admitted response carries. */
export function rateLimitHeaders(a: Admission): Record<string, string> {
	return {
		"ratelimit-limit": String(a.rateLimit.limit),
		"ratelimit-remaining": String(a.rateLimit.remaining),
		"ratelimit-reset": String(a.rateLimit.resetSeconds),
	};
}

/** Admits, executes and settles one billed request, answering with the dialect's body. */
export async function runBilled(
	scope: CallScope,
	metered: Metered,
	execute: (pricePerImage: number) => Promise<Execution>,
): Promise<Response> {
	const { env, requestId } = scope;
	const admission = await admitCall(scope, metered);
	if (admission instanceof Response) return admission;
	const { price } = admission;

	let result: Execution | undefined;
	let thrown: unknown;
	try {
		result = await execute(price);
	} catch (error) {
		thrown = error; // settled below like any other outcome, then rethrown
	}
	// Every image delivered is recorded (an answer may carry more than were asked for); the
	// charge comes from the meter, or at most the held images' price.
	const delivered = result?.delivered ?? 0;
	const charge = result?.charge ?? Math.min(delivered, metered.images) * price;
	const status = result ? (result.error?.status ?? 200) : 500;
	const streamed = result && !result.error && result.body instanceof StreamedBody ? result.body : undefined;
	const body =
		!result || streamed ? "" : result.error ? result.error.body(scope.errorStyle) : (result.raw?.text ?? JSON.stringify(result.body));
	const headers: Record<string, string> = {
		"content-type": result && !result.error && result.raw ? result.raw.contentType : "application/json",
		"x-credits-charged": String(charge),
		...lifecycleHeaders(metered.model, scope.origin),
		...(result?.error?.headers ?? {}),
	};
	// 5xx results are not kept: retrying with the same key should run again (it cost nothing).
	const stored =
		admission.idemKey && admission.bodyHash && result && status < 500
			? await keepForReplay(scope, admission, status, headers, streamed ? streamed.pieces : body)
			: null;
	const settled = await settle(scope, admission, charge, outcomeOf(result, delivered, status), stored);
	if (thrown !== undefined) throw thrown;
	return new Response(streamed ? piecesStream(env.IMAGES, streamed.pieces) : body, {
		status,
		headers: {
			...headers,
			...(streamed ? { "content-length": String(piecesLength(streamed.pieces)) } : {}),
			"x-credits-remaining": String(settled.balance),
			...rateLimitHeaders(admission),
			"x-request-id": requestId,
		},
	});
}

/** How a billed generation answers: the dialect's success body, and what runs before it is sent. */
export interface GenerationAnswer {
	/** Shapes the dialect's success body from what was delivered and charged. */
	render: (result: GenerationResult, creditsCharged: number) => unknown;
	/** Runs after a successful generation, before the answer (e.g. recording a conversation's turn). */
	after?: (result: GenerationResult) => Promise<void>;
}

/** Bills a synchronous request of the image pipeline, answering with `answer.render`'s body. */
export function runBilledGeneration(scope: CallScope, req: GenerationRequest, answer: GenerationAnswer): Promise<Response> {
	return runBilled(scope, meteredOf(req, scope.config), async (price) => {
		const r = await runGeneration(scope, req);
		const charge = chargeOf(scope.config, r.images.length, price, r.spend, req.n);
		// What `after` refuses (a conversation that moved on while this message was answered) becomes
		// the answer, but the images were made (and billed by Google) and are stored: they are charged.
		const refused = r.error || !answer.after ? undefined : await afterOrError(answer.after, r);
		const error = r.error ?? refused;
		return { ...executionOf(r), error, charge, body: error ? undefined : answer.render(r, charge) };
	});
}

/** Runs `after`; its failure as the ApiError to answer with (anything else: a 500 naming the charged images). */
async function afterOrError(after: (result: GenerationResult) => Promise<void>, r: GenerationResult): Promise<ApiError | undefined> {
	try {
		await after(r);
		return undefined;
	} catch (error) {
		if (error instanceof ApiError) return error;
		console.error(JSON.stringify({ event: "after_generation_failed", error: String(error) }));
		const urls = r.images.map((i) => i.url).join(", ");
		return apiError("internal_error", `The image was made and is charged, but recording it failed: ${urls}`);
	}
}

/** What a pipeline run reports for settlement. */
export function executionOf(r: GenerationResult): Execution {
	return {
		delivered: r.images.length,
		usage: r.usage,
		upstreamMs: r.upstreamMs,
		upstreamModel: r.upstreamModel,
		upstreams: r.images.map((i) => i.upstream),
		finishReason: r.finishReason,
		r2Keys: r.images.map((i) => i.key),
		error: r.error,
		spend: r.spend,
	};
}
