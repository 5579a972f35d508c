/**
 * The Gemini Batch API as the emulator plays it (ai.google.dev/api/batch-mode and the
 * batch-mode guide, checked 2026-11-22):
 *   POST models/{model}:batchGenerateContent  {"batch":{"display_name","input_config":{"requests":{"requests":
 *        [{"request":{GenerateContentRequest},"metadata":{"key"}}]}}}}  -> an Operation named batches/{id}
 *   GET  batches/{id}                        -> {name, metadata:{state, batchStats, ...}, done?, response?|error?}
 *   GET  batches?pageSize&pageToken          -> {operations:[...], nextPageToken?}: the key's batches, newest first,
 *        each as GET answers it but without its results, as Google's list does (the
 *        google-genai SDK reads `operations` and `nextPageToken`, and a batch's display name
 *        at `metadata.displayName`: googleapis/python-genai google/genai/batches.py,
 *        _ListBatchJobsResponse_from_mldev and _BatchJob_from_mldev; the shape is
 *        google.longrunning's ListOperationsResponse)
 *   POST batches/{id}:cancel                 -> {}
 * Inline requests must stay under 20 MB in all. A batch is PENDING, RUNNING after half its
 * delay, then SUCCEEDED; each request is answered as generateContent would answer it
 * (directives included), and the answers come back in shuffled order, as Google's do
 * (googleapis/python-genai#1909): only `metadata.key` ties an answer to its request.
 *
 * Directives in any request's prompt steer the whole batch:
 *   batch-delay=MS     time until the batch finishes (default: the emulator's batchDelayMs)
 *   batch-end=STATE    finish as EXPIRED, FAILED or CANCELLED instead, without results
 *   batch-accept-delay=MS  the batch is created at once, but the answer to its creation
 *                      waits MS (a client that times out never learns the batch's name)
 * and one request's answer:
 *   batch-no-key       its answer comes back without metadata (python-genai#1886)
 */
import { type EmulatorReply, errorReply, type GeminiEmulator, jsonReply, modelNotFound, parseDirectives } from "./gemini.ts";

/** Google's limit on a batch's inline requests. */
export const INLINE_LIMIT_BYTES = 20_000_000;

const TERMINAL_ENDS = new Set(["EXPIRED", "FAILED", "CANCELLED"]);

interface BatchRequest {
	request: { contents?: Array<{ parts?: Array<{ text?: string }> }> } & Record<string, unknown>;
	metadata?: { key?: string };
}

interface EmulatedBatch {
	name: string;
	model: string;
	apiKey: string;
	displayName: string;
	createdAt: number;
	delayMs: number;
	/** How it ends when its time is up. */
	end: "SUCCEEDED" | "EXPIRED" | "FAILED" | "CANCELLED";
	cancelledAt?: number;
	requests: BatchRequest[];
	/** Filled once, when the batch succeeds: answers in the order they are returned. */
	answers?: Array<Record<string, unknown>>;
}

function promptOf(r: BatchRequest): string {
	return (r.request.contents ?? [])
		.flatMap((c) => c.parts ?? [])
		.map((p) => p.text ?? "")
		.join("\n");
}

/** A shuffle that never leaves two or more answers in their original order. */
function shuffled<T>(items: T[]): T[] {
	const out = [...items];
	for (let i = out.length - 1; i > 0; i--) {
		const j = Math.floor(Math.random() * (i + 1));
		[out[i], out[j]] = [out[j], out[i]];
	}
	if (out.length > 1 && out.every((x, i) => x === items[i])) out.push(out.shift() as T);
	return out;
}

export class BatchEmulator {
	private readonly batches = new Map<string, EmulatedBatch>();
	private seq = 0;

	private readonly gemini: GeminiEmulator;
	private readonly defaultDelayMs: number;

	constructor(gemini: GeminiEmulator, defaultDelayMs = 1_000) {
		this.gemini = gemini;
		this.defaultDelayMs = defaultDelayMs;
	}

	/** POST models/{model}:batchGenerateContent. */
	create(model: string, apiKey: string | null, rawBody: string): EmulatorReply {
		const refused = this.gemini.checkKey(apiKey);
		if (refused) return refused;
		const spec = this.gemini.find(model);
		if (!spec) return modelNotFound(model, "batchGenerateContent");
		if (Buffer.byteLength(rawBody) > INLINE_LIMIT_BYTES) {
			return errorReply(400, `Request payload size exceeds the limit: ${INLINE_LIMIT_BYTES} bytes.`);
		}
		let body: { batch?: Record<string, unknown> };
		try {
			body = JSON.parse(rawBody) as { batch?: Record<string, unknown> };
		} catch {
			return errorReply(400, "Invalid JSON payload received. Unexpected token.");
		}
		const batch = body.batch ?? {};
		const input = (batch.input_config ?? batch.inputConfig) as { requests?: { requests?: BatchRequest[] } } | undefined;
		const requests = input?.requests?.requests;
		if (!Array.isArray(requests) || requests.length === 0)
			return errorReply(400, "* BatchGenerateContentRequest.batch.input_config: requests is empty\n");
		if (requests.some((r) => !r || typeof r.request !== "object" || !Array.isArray(r.request.contents))) {
			return errorReply(400, "* BatchGenerateContentRequest.batch.input_config.requests: every request needs contents\n");
		}
		const directives = requests.map((r) => parseDirectives(promptOf(r)));
		const delay = Math.max(0, ...directives.map((d) => Number(d["batch-delay"] ?? -1)));
		const end = directives.map((d) => d["batch-end"]).find((e) => e && TERMINAL_ENDS.has(e));
		const name = `batches/emu${(++this.seq).toString(36)}${Math.random().toString(36).slice(2, 10)}`;
		const entry: EmulatedBatch = {
			name,
			model,
			apiKey: apiKey as string,
			displayName: String(batch.display_name ?? batch.displayName ?? ""),
			createdAt: Date.now(),
			delayMs: directives.some((d) => d["batch-delay"] !== undefined) ? delay : this.defaultDelayMs,
			end: (end as EmulatedBatch["end"] | undefined) ?? "SUCCEEDED",
			requests,
		};
		this.batches.set(name, entry);
		const acceptDelay = Math.max(0, ...directives.map((d) => Number(d["batch-accept-delay"] ?? 0)));
		return { ...jsonReply(this.operation(entry)), delayMs: acceptDelay };
	}

	/** GET batches: the key's batches, newest first, in pages; results are left out, as Google leaves them out. */
	list(apiKey: string | null, params: URLSearchParams): EmulatorReply {
		const refused = this.gemini.checkKey(apiKey);
		if (refused) return refused;
		const size = Math.min(1000, Math.max(1, Number(params.get("pageSize") ?? 50) || 50));
		const from = Number(params.get("pageToken") ?? 0) || 0;
		const mine = [...this.batches.values()].filter((b) => b.apiKey === apiKey).reverse();
		const operations = mine.slice(from, from + size).map((b) => {
			const { response: _results, ...op } = this.operation(b);
			return op;
		});
		const next = from + size < mine.length ? { nextPageToken: String(from + size) } : {};
		return jsonReply({ operations, ...next });
	}

	/** GET batches/{id}. */
	get(id: string, apiKey: string | null): EmulatorReply {
		const refused = this.gemini.checkKey(apiKey);
		if (refused) return refused;
		const b = this.batches.get(`batches/${id}`);
		return b ? jsonReply(this.operation(b)) : errorReply(404, `Batch batches/${id} not found.`);
	}

	/** POST batches/{id}:cancel: a batch that has not finished ends CANCELLED. */
	cancel(id: string, apiKey: string | null): EmulatorReply {
		const refused = this.gemini.checkKey(apiKey);
		if (refused) return refused;
		const b = this.batches.get(`batches/${id}`);
		if (!b) return errorReply(404, `Batch batches/${id} not found.`);
		const state = this.state(b);
		if (state === "BATCH_STATE_CANCELLED") return jsonReply({});
		if (state !== "BATCH_STATE_PENDING" && state !== "BATCH_STATE_RUNNING") {
			const reply = errorReply(400, `Batch ${b.name} is already in a terminal state: ${state}.`);
			const error = { ...(JSON.parse(reply.body) as { error: object }).error, status: "FAILED_PRECONDITION" };
			return { ...reply, body: JSON.stringify({ error }) };
		}
		b.cancelledAt = Date.now();
		return jsonReply({});
	}

	/** What tests may inspect: request keys in submission order, answer keys in returned order. */
	inspect(id: string): { state: string; requestKeys: string[]; answerKeys: Array<string | null> } | undefined {
		const b = this.batches.get(`batches/${id}`);
		if (!b) return undefined;
		const state = this.state(b);
		return {
			state,
			requestKeys: b.requests.map((r) => r.metadata?.key ?? ""),
			answerKeys: (b.answers ?? []).map((a) => (a.metadata as { key?: string } | undefined)?.key ?? null),
		};
	}

	private state(b: EmulatedBatch): string {
		if (b.cancelledAt !== undefined) return "BATCH_STATE_CANCELLED";
		const age = Date.now() - b.createdAt;
		if (age >= b.delayMs) return `BATCH_STATE_${b.end}`;
		return age >= b.delayMs / 2 ? "BATCH_STATE_RUNNING" : "BATCH_STATE_PENDING";
	}

	/** Every request answered as generateContent answers it; failures become per-request errors. */
	private answer(b: EmulatedBatch): Array<Record<string, unknown>> {
		if (!b.answers) {
			const answers = b.requests.map((r) => {
				const reply = this.gemini.handle(b.model, "generateContent", b.apiKey, JSON.stringify(r.request));
				const metadata = parseDirectives(promptOf(r))["batch-no-key"] ? {} : { metadata: { key: r.metadata?.key } };
				if (reply.status === 200 && !reply.drop && reply.truncateAt === undefined) {
					try {
						return { response: JSON.parse(reply.body) as unknown, ...metadata };
					} catch {
						// a malformed answer: reported as that request's error below
					}
				}
				const error =
					reply.status !== 200
						? (JSON.parse(reply.body) as { error: unknown }).error
						: { code: 13, message: "Internal error encountered.", status: "INTERNAL" };
				return { error, ...metadata };
			});
			b.answers = shuffled(answers);
		}
		return b.answers;
	}

	private operation(b: EmulatedBatch): Record<string, unknown> {
		const state = this.state(b);
		const done = state !== "BATCH_STATE_PENDING" && state !== "BATCH_STATE_RUNNING";
		const count = String(b.requests.length);
		const answers = state === "BATCH_STATE_SUCCEEDED" ? this.answer(b) : undefined;
		const failed = answers?.filter((a) => a.error).length ?? 0;
		const metadata = {
			"@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
			model: `models/${b.model}`,
			displayName: b.displayName,
			createTime: new Date(b.createdAt).toISOString(),
			updateTime: new Date().toISOString(),
			batchStats: answers
				? { requestCount: count, successfulRequestCount: String(answers.length - failed), failedRequestCount: String(failed) }
				: { requestCount: count, pendingRequestCount: count },
			state,
			name: b.name,
		};
		const op: Record<string, unknown> = { name: b.name, metadata };
		if (!done) return op;
		op.done = true;
		if (answers) {
			op.response = {
				"@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput",
				inlinedResponses: { inlinedResponses: answers },
			};
		} else if (state === "BATCH_STATE_FAILED") {
			op.error = { code: 13, message: "Batch failed: internal error." };
		}
		return op;
	}
}
