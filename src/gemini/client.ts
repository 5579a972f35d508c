/**
 * Gemini REST client on plain fetch. One retry policy for every call: 408/429/5xx and
 * network errors are retried with capped exponential backoff and full jitter, waiting at
 * least what the server asked for (Retry-After, RetryInfo.retryDelay); other 4xx never
 * are. One deadline bounds the whole call, retries and waits included. Credentials travel
 * in headers (`x-goog-api-key`, or a Vertex bearer token), never in the URL (URLs end up
 * in logs). Where a call goes and how it authenticates is its Endpoint: the Gemini API by
 * default, or a Vertex AI one (src/upstreams/endpoint.ts); the bodies are the same.
 */
import {
	errorFromResponse,
	GeminiBadRequestError,
	GeminiConnectionError,
	GeminiError,
	GeminiMalformedResponseError,
	GeminiTimeoutError,
} from "./errors";
import type { BatchOperation, GenerateContentRequest, GenerateContentResponse, GoogleRpcStatus } from "./types";

export type GeminiAction = "generateContent" | "streamGenerateContent" | "countTokens";

/** Where calls go and how they authenticate. */
export interface Endpoint {
	url(model: string, action: GeminiAction): string;
	/** models.list; only the Gemini API has it in this shape. */
	listUrl?(query: URLSearchParams): string;
	/** models.get (`GET /v1beta/models/{id}`); the Gemini API's only. */
	modelUrl?(model: string): string;
	/** The Batch API (`batchGenerateContent`, `batches/{id}`): the Gemini API's only. */
	batchUrl?(model: string): string;
	batchItemUrl?(name: string, suffix?: "" | ":cancel"): string;
	/** Per attempt: a Vertex token may be minted or refreshed here. */
	headers(): Record<string, string> | Promise<Record<string, string>>;
}

/** The Gemini API with an API key. */
export function geminiEndpoint(baseUrl: string, apiKey: string): Endpoint {
	return {
		url: (model, action) => `${baseUrl}/v1beta/models/${encodeURIComponent(model)}:${action}`,
		listUrl: (query) => `${baseUrl}/v1beta/models?${query}`,
		modelUrl: (model) => `${baseUrl}/v1beta/models/${encodeURIComponent(model)}`,
		batchUrl: (model) => `${baseUrl}/v1beta/models/${encodeURIComponent(model)}:batchGenerateContent`,
		batchItemUrl: (name, suffix = "") => `${baseUrl}/v1beta/${batchPath(name)}${suffix}`,
		headers: () => ({ "x-goog-api-key": apiKey }),
	};
}

export interface GeminiClientOptions {
	/** The Gemini API with this key at this base URL, unless `endpoint` says otherwise. */
	apiKey?: string;
	baseUrl?: string;
	endpoint?: Endpoint;
	maxRetries: number;
	retryBaseMs: number;
	retryMaxMs: number;
	deadlineMs: number;
	/** Injected for tests; defaults to the global fetch. */
	fetch?: typeof fetch;
	random?: () => number;
}

export interface CallInfo {
	attempts: number;
	latencyMs: number;
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export const sleep = (ms: number, signal?: AbortSignal) =>
	new Promise<void>((resolve, reject) => {
		if (signal?.aborted) return reject(signal.reason);
		const t = setTimeout(resolve, ms);
		signal?.addEventListener("abort", () => {
			clearTimeout(t);
			reject(signal.reason);
		});
	});

/** The one backoff: half to all of a capped exponential, and never less than the server asked for. */
export function backoffMs(retry: number, serverAskedMs: number | undefined, baseMs: number, maxMs: number, random = Math.random): number {
	const exp = Math.min(maxMs, baseMs * 2 ** retry);
	const jittered = exp / 2 + random() * (exp / 2);
	return Math.max(jittered, serverAskedMs ?? 0);
}

export class GeminiClient {
	private readonly endpoint: Endpoint;

	constructor(private readonly opts: GeminiClientOptions) {
		this.endpoint = opts.endpoint ?? geminiEndpoint(opts.baseUrl ?? "", opts.apiKey ?? "");
	}

	/** Backoff before retry number `retry` (0-based): full jitter under a capped exponential. */
	backoffMs(retry: number, serverAskedMs: number | undefined): number {
		return backoffMs(retry, serverAskedMs, this.opts.retryBaseMs, this.opts.retryMaxMs, this.opts.random);
	}

	url(model: string, action: GeminiAction): string {
		return this.endpoint.url(model, action);
	}

	/**
	 * POST generateContent and return the parsed body, retrying per the policy above.
	 * Throws a GeminiError subclass on every failure.
	 */
	async generateContent(
		model: string,
		body: GenerateContentRequest,
		signal?: AbortSignal,
	): Promise<{ response: GenerateContentResponse; info: CallInfo }> {
		const { result, info } = await this.call(model, body, readBuffered, signal);
		return { response: result, info };
	}

	/**
	 * POST generateContent and hand the successful response to `consume`, inside the
	 * retry loop: a body cut off while being consumed is retried like any network error.
	 * `consume` must clean up after itself when it throws.
	 */
	call<T>(
		model: string,
		body: GenerateContentRequest,
		consume: (res: Response) => Promise<T>,
		signal?: AbortSignal,
	): Promise<{ result: T; info: CallInfo }> {
		return this.send(this.url(model, "generateContent"), JSON.stringify(body), consume, signal);
	}

	/** POST countTokens (same retry policy). */
	async countTokens(model: string, body: unknown, signal?: AbortSignal): Promise<{ result: unknown; info: CallInfo }> {
		return this.send(this.url(model, "countTokens"), JSON.stringify(body), readBuffered, signal);
	}

	/** One page of GET /v1beta/models. */
	async listModels(pageSize: number, pageToken?: string, signal?: AbortSignal): Promise<ModelsPage> {
		const q = new URLSearchParams({ pageSize: String(pageSize) });
		if (pageToken) q.set("pageToken", pageToken);
		if (!this.endpoint.listUrl) throw new GeminiBadRequestError("This upstream has no models.list", { status: 400 });
		const { result } = await this.send(this.endpoint.listUrl(q), undefined, readBuffered, signal);
		return result as ModelsPage;
	}

	/**
	 * models.get for one id: true when Google answers 200, false on a 404 NOT_FOUND; throws
	 * on any other failure (nothing can be concluded then) or when the upstream has no models.get.
	 */
	async modelExists(model: string, signal?: AbortSignal): Promise<boolean> {
		if (!this.endpoint.modelUrl) throw new GeminiBadRequestError("This upstream has no models.get", { status: 400 });
		try {
			await this.send(this.endpoint.modelUrl(model), undefined, async (res) => void (await res.arrayBuffer()), signal);
			return true;
		} catch (error) {
			if (error instanceof GeminiError && error.status === 404 && (error.rpcStatus ?? "NOT_FOUND") === "NOT_FOUND") return false;
			throw error;
		}
	}

	/**
	 * POST models/{model}:batchGenerateContent with a prepared body (its inline requests
	 * can be megabytes, so the caller builds the text once). Answers the batch Operation.
	 */
	async createBatch(model: string, payload: string, signal?: AbortSignal): Promise<BatchOperation> {
		return (await this.send(this.batchUrl(model), payload, readBuffered<BatchOperation>, signal)).result;
	}

	/** GET batches/{id}; `consume` reads the answer (a finished batch carries every result). */
	async getBatch<T>(name: string, consume: (res: Response) => Promise<T>, signal?: AbortSignal): Promise<T> {
		return (await this.send(this.batchItemUrl(name), undefined, consume, signal)).result;
	}

	/**
	 * GET batches: one page of this key's batches (without their results), as Google's
	 * ListOperationsResponse: `operations` and, when there are more, `nextPageToken`.
	 */
	async listBatches(pageToken?: string, signal?: AbortSignal): Promise<{ operations?: BatchOperation[]; nextPageToken?: string }> {
		const query = `?pageSize=100${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ""}`;
		const url = this.batchItemUrl("x").replace(/\/batches\/x$/, `/batches${query}`);
		return (await this.send(url, undefined, readBuffered<{ operations?: BatchOperation[]; nextPageToken?: string }>, signal)).result;
	}

	/** POST batches/{id}:cancel. */
	async cancelBatch(name: string, signal?: AbortSignal): Promise<void> {
		await this.send(this.batchItemUrl(name, ":cancel"), "{}", readBuffered, signal);
	}

	private batchUrl(model: string): string {
		if (!this.endpoint.batchUrl) throw new GeminiBadRequestError("This upstream has no Batch API", { status: 400 });
		return this.endpoint.batchUrl(model);
	}

	private batchItemUrl(name: string, suffix?: "" | ":cancel"): string {
		if (!this.endpoint.batchItemUrl) throw new GeminiBadRequestError("This upstream has no Batch API", { status: 400 });
		return this.endpoint.batchItemUrl(name, suffix);
	}

	/** One request under the retry policy and the deadline: POST with `payload`, or GET without. */
	private async send<T>(
		url: string,
		payload: string | undefined,
		consume: (res: Response) => Promise<T>,
		signal?: AbortSignal,
	): Promise<{ result: T; info: CallInfo }> {
		const started = Date.now();
		const deadline = started + this.opts.deadlineMs;
		const deadlineSignal = AbortSignal.timeout(this.opts.deadlineMs);
		const callSignal = signal ? AbortSignal.any([signal, deadlineSignal]) : deadlineSignal;
		const doFetch = this.opts.fetch ?? fetch;
		let attempt = 0;
		for (;;) {
			attempt++;
			let error: GeminiError;
			try {
				const headers: Record<string, string> = { ...(await this.endpoint.headers()) };
				if (payload !== undefined) headers["content-type"] = "application/json";
				// Uncompressed, on purpose: gzip saves a quarter of the bytes between Google and the
				// edge, where they cost nothing, but inflating it runs on the isolate's CPU, 1.8 ms of
				// 7.5 per 1K answer (`npm run bench -- cpu`, 2026-12-03). Said outright so no hop adds it.
				headers["accept-encoding"] = "identity";
				let res: Response;
				try {
					res = await doFetch(url, { method: payload === undefined ? "GET" : "POST", headers, body: payload, signal: callSignal });
				} catch (cause) {
					// fetch fails only when no response arrived: DNS, refused, reset, or workerd's
					// plain `Error("Network connection lost.")`. All of them are worth a retry.
					if (deadlineSignal.aborted || signal?.aborted) throw cause;
					throw new GeminiConnectionError(`Could not reach Gemini: ${cause instanceof Error ? cause.message : String(cause)}`, {
						retryable: true,
						cause,
					});
				}
				if (res.ok) {
					const result = await consume(res);
					return { result, info: { attempts: attempt, latencyMs: Date.now() - started } };
				}
				let parsed: GoogleRpcStatus | undefined;
				try {
					parsed = (await res.json()) as GoogleRpcStatus;
				} catch {
					parsed = undefined;
				}
				error = errorFromResponse(res.status, parsed, res.headers.get("retry-after"));
			} catch (cause) {
				if (deadlineSignal.aborted) {
					throw new GeminiTimeoutError(`Gemini did not answer within ${this.opts.deadlineMs} ms`, { cause });
				}
				if (signal?.aborted) throw cause;
				if (cause instanceof GeminiError) error = cause;
				else if (cause instanceof TypeError || (cause instanceof Error && cause.name === "AbortError")) {
					error = new GeminiConnectionError("Could not reach Gemini or the response was cut off", { retryable: true, cause });
				} else throw cause; // not Gemini's doing (e.g. storage): never retried here
			}
			if (!error.retryable || attempt > this.opts.maxRetries) throw error;
			const wait = this.backoffMs(attempt - 1, error.retryAfterMs);
			if (Date.now() + wait >= deadline) throw error; // waiting would blow the deadline
			try {
				await sleep(wait, callSignal);
			} catch (cause) {
				if (deadlineSignal.aborted) throw new GeminiTimeoutError(`Gemini did not answer within ${this.opts.deadlineMs} ms`, { cause });
				throw cause;
			}
		}
	}
}

/** `batches/{id}` with the id percent-encoded (it comes from Gemini, but goes into a URL). */
function batchPath(name: string): string {
	return `batches/${encodeURIComponent(name.replace(/^batches\//, ""))}`;
}

/** A page of models.list as Google sends it. */
export interface ModelsPage {
	models?: Array<{ name: string; displayName?: string; supportedGenerationMethods?: string[] }>;
	nextPageToken?: string;
}

/** The buffered reader: the whole body as text, then JSON.parse. */
export async function readBuffered<T = GenerateContentResponse>(res: Response): Promise<T> {
	let text: string;
	try {
		text = await res.text();
	} catch (cause) {
		throw new GeminiConnectionError("The response from Gemini was cut off", { retryable: true, cause });
	}
	try {
		return JSON.parse(text) as T;
	} catch (cause) {
		// A 200 that is not JSON is not retried: Gemini may already have billed it.
		throw new GeminiMalformedResponseError("Gemini returned a body that is not valid JSON", { status: 200, cause });
	}
}
