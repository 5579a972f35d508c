/**
 * The Gemini emulator's behaviour: given a request, the response Google would send, or
 * the failure a test asked for. Pure of I/O; server.ts puts it on HTTP. Which model ids
 * exist is emulator/models.ts (Google's side, checked against its docs); any other id,
 * or one retired with `retire()`, answers Google's 404 NOT_FOUND body.
 *
 * Tests steer it with directives inside the prompt text, e.g. "a cat [emu:fail=429x1,retry=0.05s]":
 *   fail=CODE[xK]   answer CODE (400, 403, 404, 429, 500, 503, 504) for the first K calls with this prompt (default: always);
 *                   404 is Google's generic "Requested entity was not found." (about the request, not the model)
 *   notfound=model[xK] answer Google's model-not-found 404 for a model that exists (models.get still finds it):
 *                   the wording a missing model gets, sent about a request (as a glitch would)
 *   retry=Ns        RetryInfo.retryDelay on 429          retry-after=N   Retry-After header (seconds)
 *   delay=MS        wait before answering                block=REASON    promptFeedback.blockReason, no candidates
 *   finish=REASON   candidate with that finishReason and no image (NO_IMAGE, IMAGE_SAFETY, ...)
 *   text-only       a text answer, finishReason STOP      malformed       a 200 whose body is not JSON
 *   truncate[=xK]   the connection drops halfway through the body (for the first K calls; default always)
 *   format=png|jpeg output format (default: PNG for 2.5 Flash, JPEG for Gemini 3)
 *   mislabel        declare the other mimeType           noise=F          fraction of PNG rows that are noise (file size)
 *   images=N        N final images in one answer           thoughts        an interim thought image first
 *   drop[=xK]       the connection closes before any response (for the first K calls)
 *   bad-base64      the image string is not base64         not-image       base64 of bytes that are no image
 *   empty-candidates  {"candidates": []}                   error200        a 200 whose body is an error object
 * and what Google bills (usageMetadata, emulator/usage.ts; priced by emulator/rates.ts' googleBillUsd):
 *   text-tokens=N   length of a text answer (responseModalities without IMAGE; default 900), capped
 *                   by maxOutputTokens less thoughts, finishReason MAX_TOKENS when cut
 *   thought-tokens=N  thoughtsTokenCount instead of the level's (thinkingLevel / thinkingBudget)
 *   search-queries=N  Google searches run when tools has googleSearch (default 1; 0: none):
 *                   groundingMetadata.webSearchQueries and toolUsePromptTokenCount
 *   image-search-queries=N  image searches run when googleSearch.searchTypes has imageSearch
 *                   (default 0): groundingMetadata.imageSearchQueries, billed as queries too
 *   cached-tokens=N cachedContentTokenCount when cachedContent is given (default 4096)
 * images=N answers are counted whole in usage; maxOutputTokens stops images too (MAX_TOKENS).
 * The request is read in camelCase or snake_case (generation_config.image_config.image_size,
 * response_modalities, thinking_config.thinking_level, tools[].google_search, service_tier);
 * service_tier priority / flex comes back as usageMetadata.serviceTier and x-gemini-service-tier.
 * Keys registered with a profile (emulator/keys.ts) add per-key quotas, outages and models;
 * Vertex calls are authenticated by emulator/vertex.ts and answered here like the rest.
 */
import { createHash } from "node:crypto";
import { isImageData, renderImage, seedOf } from "./images.ts";
import { type KeyProfile, KeyRegistry } from "./keys.ts";
import { type EmulatedModel, MODELS, modelResource, outputDimensions, SHUT_DOWN_BY_DEFAULT, type Size, tokensPerImage } from "./models.ts";
import { type EmulatorReply, errorReply, jsonReply, MESSAGES, modelNotFound } from "./replies.ts";
import { issueSignature, missingSignature } from "./signatures.ts";
import {
	countTokens,
	DEFAULT_CACHED_TOKENS,
	DEFAULT_TEXT_TOKENS,
	GEMINI3_UNLISTED,
	groundingMetadata,
	promptTextTokens,
	readRequest,
	readServiceTier,
	TOOL_USE_TOKENS_PER_QUERY,
	textOfTokens,
	thoughtTokens,
	usageMetadata,
} from "./usage.ts";
import { VertexAuth } from "./vertex.ts";

export type { EmulatorReply } from "./replies.ts";
// The batch side (emulator/batch.ts) answers with the same helpers.
export { errorReply, jsonReply, modelNotFound } from "./replies.ts";

export type Directives = Record<string, string>;

interface Part {
	text?: string;
	inlineData?: { mimeType?: string; data?: string };
	inline_data?: { mime_type?: string; data?: string };
	thought?: boolean;
	thoughtSignature?: string;
}

interface Content {
	role?: string;
	parts?: Part[];
}

interface GenerateRequest {
	contents?: Content[];
	generationConfig?: {
		responseModalities?: string[];
		candidateCount?: number;
		imageConfig?: { aspectRatio?: string; imageSize?: string };
	};
}

/** One recorded call, for tests that check what reached "Gemini". */
export interface RecordedCall {
	at: number;
	model: string;
	/** Which API was called: the Gemini API, Vertex AI with a token, or Vertex express with a key. */
	via: Via;
	apiKey: string | null;
	body: GenerateRequest;
	/** What the emulator answered with: each final image's type, size and SHA-256 (and its signature's, hex of the string). */
	outputs: Array<{ mimeType: string; bytes: number; sha256: string; signatureSha256?: string }>;
	/** The HTTP status of the answer (0 when the connection was dropped instead). */
	status: number;
	/** The usageMetadata of a 200 (what Google bills: emulator/rates.ts prices it), and its grounding's search queries. */
	usage?: Record<string, unknown>;
	searchQueries?: number;
}

/** Notes what a 200 bills: its usageMetadata and the search queries of its grounding. */
function billed(record: RecordedCall, body: string): void {
	try {
		const answer = JSON.parse(body) as {
			usageMetadata?: Record<string, unknown>;
			candidates?: Array<{ groundingMetadata?: { webSearchQueries?: string[]; imageSearchQueries?: string[] } }>;
		};
		record.usage = answer.usageMetadata;
		// Image search queries count as queries (emulator/rates.ts: Gemini 3 bills per search query).
		const grounding = answer.candidates?.[0]?.groundingMetadata;
		record.searchQueries = (grounding?.webSearchQueries?.length ?? 0) + (grounding?.imageSearchQueries?.length ?? 0);
	} catch {
		// a malformed 200 (a test asked for one): Google would bill nothing readable
	}
}

export function parseDirectives(text: string): Directives {
	const out: Directives = {};
	for (const m of text.matchAll(/\[emu:([^\]]*)\]/g)) {
		for (const item of m[1].split(/[,\s]+/).filter(Boolean)) {
			const eq = item.indexOf("=");
			if (eq === -1) out[item] = "true";
			else out[item.slice(0, eq)] = item.slice(eq + 1);
		}
	}
	return out;
}

/** The emulator itself: keeps per-prompt failure counters and a log of calls. */
export type Via = "gemini" | "vertex" | "vertex-express";

export class GeminiEmulator {
	/** Keys with their own quotas, outages and models (emulator/keys.ts). */
	readonly keys: KeyRegistry;
	/** Vertex service accounts and the tokens issued to them (emulator/vertex.ts). */
	readonly vertex = new VertexAuth();
	readonly calls: RecordedCall[] = [];
	/** Every models.get asked, with its answer's status (tests count the gateway's confirmations). */
	readonly modelGets: Array<{ model: string; status: number; at: number }> = [];
	private readonly failures = new Map<string, number>();
	/** How many times each identical image call was answered: the k-th draws the k-th image. */
	private readonly draws = new Map<string, number>();
	private readonly requiredKey: string | undefined;
	/** Ids that answer 404 NOT_FOUND (Google shut them down), beyond those never known. */
	private readonly retired: Set<string>;

	constructor(opts: { requiredKey?: string; retired?: string[]; live?: string[]; keys?: Record<string, KeyProfile> } = {}) {
		this.requiredKey = opts.requiredKey;
		this.keys = new KeyRegistry(opts.keys);
		this.retired = new Set([...SHUT_DOWN_BY_DEFAULT, ...(opts.retired ?? [])].filter((id) => !(opts.live ?? []).includes(id)));
	}

	/** Shuts a model down: from now on it answers 404 and is no longer listed. */
	retire(id: string): void {
		this.retired.add(id);
	}

	/** Brings a retired model back. */
	restore(id: string): void {
		this.retired.delete(id);
	}

	/** The models a key (its project) can use right now. */
	live(key: string | null = null): EmulatedModel[] {
		return MODELS.filter((m) => this.keys.hasModel(key, m.id, !this.retired.has(m.id)));
	}

	/** A model a key (its project) can use right now, by id. */
	find(id: string, key: string | null = null): EmulatedModel | undefined {
		return this.live(key).find((m) => m.id === id);
	}

	/** Refuses a request without a valid key the way Google does; undefined when the key is fine. */
	checkKey(apiKey: string | null): EmulatorReply | undefined {
		if (!apiKey) {
			return errorReply(
				403,
				"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
			);
		}
		if (this.requiredKey && apiKey !== this.requiredKey && !this.keys.get(apiKey)) {
			const message = "API key not valid. Please pass a valid API key.";
			return errorReply(400, message, [
				{
					"@type": "type.googleapis.com/google.rpc.ErrorInfo",
					reason: "API_KEY_INVALID",
					domain: "googleapis.com",
					metadata: { service: "generativelanguage.googleapis.com" },
				},
				{ "@type": "type.googleapis.com/google.rpc.LocalizedMessage", locale: "en-US", message },
			]);
		}
		return undefined;
	}

	/** GET /v1beta/models: pageSize (default 50, at most 1000) and pageToken (the last name, base64). */
	listModels(apiKey: string | null, query: URLSearchParams): EmulatorReply {
		const refused = this.checkKey(apiKey) ?? (apiKey ? this.keys.outage(apiKey) : undefined);
		if (refused) return refused;
		const size = Math.min(Number(query.get("pageSize") ?? "50") || 50, 1000);
		const all = this.live(apiKey).map(modelResource);
		const token = query.get("pageToken");
		const start = token ? all.findIndex((m) => m.name === Buffer.from(token, "base64").toString("utf8")) + 1 : 0;
		if (token && start === 0) return errorReply(400, "Invalid page token.");
		const models = all.slice(start, start + size);
		const more = start + size < all.length;
		return jsonReply({ models, ...(more ? { nextPageToken: Buffer.from(models[models.length - 1].name).toString("base64") } : {}) });
	}

	/** GET /v1beta/models/{id}. */
	getModel(apiKey: string | null, id: string): EmulatorReply {
		const refused = this.checkKey(apiKey) ?? (apiKey ? this.keys.outage(apiKey) : undefined);
		if (refused) return refused;
		const m = this.find(id, apiKey);
		this.modelGets.push({ model: id, status: m ? 200 : 404, at: Date.now() });
		if (this.modelGets.length > 500) this.modelGets.shift();
		return m ? jsonReply(modelResource(m)) : errorReply(404, `Model is not found: models/${id} for api version v1beta`);
	}

	/** True for the first `times` calls with this key (always when `times` is undefined). */
	private countdown(key: string, times: string | undefined): boolean {
		const limit = times === undefined ? Number.POSITIVE_INFINITY : Number(times);
		const seen = this.failures.get(key) ?? 0;
		if (seen >= limit) return false;
		this.failures.set(key, seen + 1);
		return true;
	}

	/**
	 * POST /v1beta/models/{model}:{method}; every generate call is recorded with its answer's status.
	 * A Vertex call authenticated by a token comes with `via: "vertex"` and the account as `apiKey`.
	 */
	handle(model: string, action: string, apiKey: string | null, rawBody: string, via: Via = "gemini"): EmulatorReply {
		let req: GenerateRequest | undefined;
		try {
			req = JSON.parse(rawBody) as GenerateRequest;
		} catch {
			req = undefined;
		}
		const record: RecordedCall = { at: Date.now(), model, via, apiKey, body: req ?? {}, outputs: [], status: 0 };
		const reply = this.respond(model, action, apiKey, req, record, via);
		record.status = reply.drop ? 0 : reply.status; // 0: the connection closed with no answer
		if (record.status === 200 && action !== "countTokens") billed(record, reply.body);
		if (action !== "countTokens") {
			this.calls.push(record);
			if (this.calls.length > 500) this.calls.shift();
		}
		return reply;
	}

	private respond(
		model: string,
		action: string,
		apiKey: string | null,
		parsed: GenerateRequest | undefined,
		record: RecordedCall,
		via: Via,
	): EmulatorReply {
		const refused = via === "vertex" ? undefined : this.checkKey(apiKey);
		if (refused) return refused;
		const outage = apiKey ? this.keys.outage(apiKey) : undefined;
		if (outage) return outage;
		const known = ["generateContent", "streamGenerateContent", "countTokens"];
		if (!known.includes(action)) return errorReply(404, `Method not found: ${action}`);
		const spec = this.find(model, apiKey);
		if (!spec) return modelNotFound(model, action);
		if (!parsed) return errorReply(400, "Invalid JSON payload received. Unexpected token.");
		const req = parsed;
		if (action === "countTokens") return jsonReply(countTokens(req, spec));
		const overQuota = apiKey ? this.keys.charge(apiKey, model) : undefined;
		if (overQuota) return overQuota;
		if (!spec.image) {
			return errorReply(400, "Multi-modal output is not supported.");
		}
		const image = spec.image;

		const contents = req.contents ?? [];
		if (contents.length === 0) return errorReply(400, "* GenerateContentRequest.contents: contents is not specified\n");
		// camelCase or snake_case, as Google's JSON parser reads either (emulator/usage.ts).
		const cfg = readRequest(req);
		if ((cfg.candidateCount ?? 1) > 1) return errorReply(400, "Multiple candidates is not enabled for this model");
		const aspectRatio = cfg.aspectRatio ?? "1:1";
		const imageSize = cfg.imageSize as Size | undefined;
		if (!image.aspectRatios.includes(aspectRatio)) return errorReply(400, `Unsupported aspect ratio: ${aspectRatio}`);
		if (imageSize !== undefined && !image.imageSizes.includes(imageSize)) {
			return errorReply(400, `Unsupported image size: ${imageSize}`);
		}
		const served = readServiceTier(cfg.serviceTier, spec);
		if ("error" in served) return errorReply(400, served.error);

		// Like Gemini: every inline image, history included, must be real image bytes.
		if (contents.flatMap((c) => c.parts ?? []).some((p) => !isImageData(p.inlineData?.data ?? p.inline_data?.data))) {
			return errorReply(
				400,
				"Unable to process input image. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
			);
		}
		if (image.gemini3) {
			const unsigned = missingSignature(contents);
			if (unsigned) return errorReply(400, unsigned);
		}
		const last = contents[contents.length - 1];
		const prompt = (last.parts ?? []).map((p) => p.text ?? "").join("\n");
		const inputImages = contents.flatMap((c) => c.parts ?? []).filter((p) => p.inlineData || p.inline_data).length;
		if (inputImages > image.maxInputImages) {
			return errorReply(400, `Too many input images: ${inputImages}; ${model} accepts at most ${image.maxInputImages}.`);
		}
		const d = parseDirectives(prompt);
		const thinking = thoughtTokens(spec, cfg, d["thought-tokens"]);
		if ("error" in thinking) return errorReply(400, thinking.error);
		const delayMs = Number(d.delay ?? 0);

		const notFound = d.notfound?.match(/^model(?:x(\d+))?$/);
		if (notFound && this.countdown(`notfound ${prompt}`, notFound[1])) return { ...modelNotFound(model, action), delayMs };
		const fail = d.fail?.match(/^(\d{3})(?:x(\d+))?$/);
		if (fail) {
			const code = Number(fail[1]);
			if (this.countdown(prompt, fail[2])) {
				const details: unknown[] = [];
				const headers: Record<string, string> = {};
				if (code === 429) {
					details.push({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: d.retry ?? "2s" });
				}
				if (d["retry-after"]) headers["retry-after"] = d["retry-after"];
				return { ...errorReply(code, MESSAGES[code] ?? "Error", details, headers), delayMs };
			}
		}

		// What Google counts and bills (emulator/usage.ts; priced by emulator/rates.ts).
		const cap = cfg.maxOutputTokens ?? spec.outputTokenLimit;
		const thoughts = Math.min(thinking.tokens, cap);
		const queries = cfg.search ? Math.max(0, Number(d["search-queries"] ?? 1)) : 0;
		const imageQueries = cfg.imageSearch ? Math.max(0, Number(d["image-search-queries"] ?? 0)) : 0;
		const tokensEach = tokensPerImage(spec, imageSize);
		const usage = (images: number, textOut = 0, spent: { thoughts?: number; tools?: boolean } = {}) =>
			usageMetadata({
				promptText: promptTextTokens(contents, cfg.systemText),
				inputImages,
				inputImageTokens: image.inputImageTokens,
				cached: cfg.cachedContent ? Number(d["cached-tokens"] ?? DEFAULT_CACHED_TOKENS) : 0,
				images,
				imageTokensEach: tokensEach,
				textOut,
				unlisted: images > 0 && image.gemini3 ? GEMINI3_UNLISTED : 0,
				thoughts: spent.thoughts ?? thoughts,
				toolUse: spent.tools === false ? 0 : (queries + imageQueries) * TOOL_USE_TOKENS_PER_QUERY,
				serviceTier: served.tier,
			});
		const grounding = queries + imageQueries > 0 ? { groundingMetadata: groundingMetadata(prompt, queries, imageQueries) } : {};
		const ok = (payload: object): EmulatorReply => ({
			status: 200,
			headers: { "content-type": "application/json; charset=UTF-8", "x-gemini-service-tier": served.tier },
			body: JSON.stringify({ ...payload, modelVersion: spec.id, responseId: `emu-${seedOf(prompt, String(Date.now())).toString(36)}` }),
			delayMs,
		});
		const textAnswer = (text: string, textOut: number, finishReason: string) =>
			ok({
				candidates: [{ content: { role: "model", parts: text ? [{ text }] : [] }, finishReason, index: 0, ...grounding }],
				usageMetadata: usage(0, textOut),
			});

		if (d.drop && this.countdown(`drop:${prompt}`, d.drop.match(/^x(\d+)$/)?.[1])) return { ...ok({}), drop: true };
		if (d.malformed) return { ...ok({}), body: '{"candidates": [{"content": {"parts": [{"text": "oops' };
		if (d["empty-candidates"]) return ok({ candidates: [], usageMetadata: usage(0) });
		if (d.error200) return ok({ error: { code: 500, message: "Internal error encountered.", status: "INTERNAL" } });
		// A blocked prompt never reached the model: its prompt tokens only.
		if (d.block) return ok({ promptFeedback: { blockReason: d.block }, usageMetadata: usage(0, 0, { thoughts: 0, tools: false }) });
		if (d.finish) return textAnswer("", 0, d.finish);
		const modalities = (cfg.responseModalities ?? ["TEXT", "IMAGE"]).map((m) => m.toUpperCase());
		const wantsText = modalities.includes("TEXT");
		if (d["text-only"]) {
			const text = "I can describe that scene, but I will not draw it.";
			return textAnswer(text, Math.ceil(text.length / 4), "STOP");
		}
		if (!modalities.includes("IMAGE")) {
			// Text only, as asked: as long as the prompt wants, up to maxOutputTokens (thoughts count against it).
			const wanted = Number(d["text-tokens"] ?? DEFAULT_TEXT_TOKENS);
			const room = Math.max(0, cap - thoughts);
			const textOut = Math.min(wanted, room);
			return textAnswer(textOfTokens(textOut), textOut, wanted > room ? "MAX_TOKENS" : "STOP");
		}

		const dims = outputDimensions(spec, aspectRatio, imageSize);
		if (!dims) return errorReply(400, `Unsupported aspect ratio: ${aspectRatio}`);
		const gemini3 = image.gemini3;
		const format = d.format === "png" || d.format === "jpeg" ? d.format : gemini3 ? "jpeg" : "png";
		const noise = Number(d.noise ?? 0);
		const asked = Math.max(1, Number(d.images ?? 1));
		// Gemini 3 image models answer with the image part alone (the recorded 3.1 Flash Image
		// answer has no text part though TEXT was asked for, 2026-12-03); 2.5 Flash adds a caption.
		const caption = wantsText && !gemini3 ? "Here is the image you asked for." : "";
		const captionTokens = Math.ceil(caption.length / 4);
		// Images stop where maxOutputTokens runs out (finishReason MAX_TOKENS).
		const room = cap - thoughts - captionTokens - (gemini3 ? GEMINI3_UNLISTED : 0);
		const count = Math.max(0, Math.min(asked, Math.floor(room / tokensEach)));
		const parts: Part[] = [];
		if (d.thoughts) {
			parts.push({ text: "Planning the composition.", thought: true });
			const thumb = renderImage("png", 256, 256, seedOf(prompt, "thought"), 0);
			parts.push({ inlineData: { mimeType: "image/png", data: thumb.toString("base64") }, thought: true });
		}
		if (caption) parts.push({ text: caption });
		// Google samples afresh on every call: the gateway sends n identical calls for n images,
		// and each must come back a different picture. The k-th identical call draws the k-th
		// image, so a fresh emulator is still deterministic per (prompt, call, index).
		const drawKey = [spec.id, prompt, aspectRatio, imageSize ?? "", String(inputImages)].join("\u0000");
		const draw = this.draws.get(drawKey) ?? 0;
		if (this.draws.size > 5_000) this.draws.clear();
		this.draws.set(drawKey, draw + 1);
		for (let i = 0; i < count; i++) {
			const seed = seedOf(spec.id, prompt, aspectRatio, imageSize ?? "", String(inputImages), String(draw), String(i));
			const bytes = renderImage(format, dims.width, dims.height, seed, noise);
			const real = format === "png" ? "image/png" : "image/jpeg";
			const declared = d.mislabel ? (real === "image/png" ? "image/jpeg" : "image/png") : real;
			const output: RecordedCall["outputs"][number] = {
				mimeType: real,
				bytes: bytes.length,
				sha256: createHash("sha256").update(bytes).digest("hex"),
			};
			record.outputs.push(output);
			let data = bytes.toString("base64");
			if (d["bad-base64"]) data = `${data.slice(0, 64)}!!not*base64!!${data.slice(64)}`;
			if (d["not-image"]) data = Buffer.from("<html>this is an error page, not an image</html>".repeat(40)).toString("base64");
			const part: Part = { inlineData: { mimeType: declared, data } };
			// As Google sends it: the signature (larger than the image) right after the image data.
			if (gemini3) {
				part.thoughtSignature = issueSignature(seed, tokensEach);
				output.signatureSha256 = createHash("sha256").update(part.thoughtSignature).digest("hex");
			}
			parts.push(part);
		}
		const reply = ok({
			candidates: [{ content: { role: "model", parts }, finishReason: count < asked ? "MAX_TOKENS" : "STOP", index: 0, ...grounding }],
			usageMetadata: usage(count, captionTokens),
		});
		if (d.truncate && this.countdown(`truncate:${prompt}`, d.truncate.match(/^x(\d+)$/)?.[1])) {
			reply.truncateAt = Math.floor(reply.body.length / 2);
		}
		return reply;
	}
}
