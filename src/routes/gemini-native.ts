/**
 * Gemini's own API, so `@google/genai` works with `httpOptions.baseUrl` at the gateway
 * (mounted under /v1beta/models and /v1/models, the SDK's default version):
 *   POST {model}:generateContent
 *   POST {model}:streamGenerateContent          ?alt=sse: server-sent events; otherwise a JSON array
 *   POST {model}:countTokens                     checked the same way, then passed through; not metered
 * The body is read in camelCase and snake_case, as Google reads it, and rebuilt from the
 * fields the gateway understands (src/gemini/native-request.ts: anything else is a 400
 * naming the field, before any call), with the gateway's maxOutputTokens cap and an
 * alias's default image size; it goes with the gateway's key to the first upstream id of
 * the model's chain that exists. The answer comes back in Gemini's shape, and so do errors
 * ({"error":{"code","message","status","details"}}). Image parts are metered like every
 * other dialect. A stream carries one event (or array element) holding the whole
 * response: metering needs the complete answer, and Gemini sends each image part whole in
 * one event anyway.
 */
import { Hono } from "hono";
import { nativeFeatures } from "../billing/controls";
import type { ImageSize, ModelSpec } from "../catalog/catalog";
import type { GatewayConfig } from "../config";
import { ApiError, apiError, invalidParam } from "../errors";
import { GeminiError } from "../gemini/errors";
import { type NativeBounds, type NativeRequest, nativePolicy, readCountTokensRequest, readNativeRequest } from "../gemini/native-request";
import { billedSearchQueries, checkImages, embeddedError, readOutcome } from "../gemini/result";
import type { GenerateContentRequest } from "../gemini/types";
import { checkImageBytes, type InputLimits, inputLimitsFrom } from "../inputs/images";
import { readJsonBody } from "../lib/body";
import { type Execution, runBilled } from "../pipeline/billed";
import { upstreamToError } from "../pipeline/failures";
import { tokenUsage } from "../pipeline/generate";
import { chargeOf, emptySpend, recordAnswer } from "../pipeline/meter";
import { type Metered, nativeWorstCredits } from "../pipeline/metering";
import { checkAspectRatio, checkImageSize } from "../pipeline/request";
import type { CallScope } from "../pipeline/scope";
import { type ModelAsk, onChain } from "../pipeline/upstream";
import { routeFacts } from "../route-facts";
import type { AppEnv } from "../types";
import { callScope } from "./common";

/**
 * Route facts (src/route-facts.ts): Gemini's dialect and error shape. Generations are
 * admitted; countTokens, which makes no image and is not billed, has its key checked up front.
 */
const ROUTE_FACTS = routeFacts((c) => ({
	dialect: "gemini",
	errorStyle: "google",
	admitted: c.req.path.endsWith(":generateContent") || c.req.path.endsWith(":streamGenerateContent"),
}));

/** The request schema, for the OpenAPI document. */
export { NativeBody } from "../gemini/native-request";

/**
 * What the route asks of the model: checked as every dialect is checked, with the
 * request's cost bounds for the meter's hold (src/gemini/native-request.ts, NativeBounds:
 * the output-token cap sent, search, thinking, text output, input text and images).
 */
export type NativeAsk = ModelAsk & { imageSize?: ImageSize; bounds: NativeBounds };

const METHODS = ["generateContent", "streamGenerateContent", "countTokens"] as const;
type Method = (typeof METHODS)[number];

/** `{model}:{method}` from the path; the model name as Google would read it. */
function parseTarget(target: string): { model: string; method: Method } {
	const at = target.lastIndexOf(":");
	const method = at === -1 ? "" : target.slice(at + 1);
	if (!(METHODS as readonly string[]).includes(method)) {
		throw apiError(
			"unsupported_method",
			`Method '${method || target}' is not served here: use generateContent, streamGenerateContent or countTokens`,
		);
	}
	return { model: target.slice(0, at), method: method as Method };
}

export const geminiNative = new Hono<AppEnv>().use(ROUTE_FACTS).post("/:target{[^/]+}", async (c) => {
	const config = c.get("config");
	const { model: name, method } = parseTarget(c.req.param("target"));
	const model = config.catalog.find(name);
	if (!model) {
		throw apiError(
			"model_not_found",
			`models/${name} is not found, or is not supported for ${method}. Available: ${config.catalog.ids().join(", ")}`,
			{ param: "model", status: 404 },
		);
	}
	const { value, raw } = await readJsonBody(c.req.raw, config.maxUploadBytes);
	if (method === "countTokens") return c.json((await countTokens(c.env, config, model, value, c.get("requestId"))) as object);

	// Read, checked and rebuilt before anything is held or sent.
	const native = readNativeRequest(value, nativePolicy(config), outputTokenLimit(config, model));
	const ask = nativeAsk(config, model, native);
	const encoding = method !== "streamGenerateContent" ? "json" : c.req.query("alt") === "sse" ? "sse" : "array";
	const scope = callScope(c, raw);
	const { aspectRatio, imageSize, inputImages } = ask;
	const metered: Metered = {
		endpoint: `gemini.${method}`,
		model,
		mode: inputImages > 0 ? "edit" : "generate",
		images: 1,
		aspectRatio,
		imageSize,
		// One call: held at the most its rebuilt request lets Google bill (every output token
		// up to maxOutputTokens, which bounds how many images it can carry), or its price.
		worstCallCredits: nativeWorstCredits(config, model, native.bounds),
		features: nativeFeatures(native.request),
	};
	return runBilled(scope, metered, (price) => generateNative(scope, ask, native.request, encoding, price));
});

/** countTokens on the model's chain: not metered (it makes no image); a wrapped request's model name is rewritten. */
async function countTokens(
	env: Env,
	config: GatewayConfig,
	model: ModelSpec,
	value: Record<string, unknown>,
	requestId: string,
): Promise<unknown> {
	const ask: ModelAsk = { model, inputImages: 0 };
	// Checked and rebuilt like a generation, so what is counted is what could be sent.
	const checked = readCountTokensRequest(value, nativePolicy(config));
	try {
		const { value: counted } = await onChain(env, config, ask, async (id, client) => {
			const body =
				"generateContentRequest" in checked
					? { generateContentRequest: { ...checked.generateContentRequest, model: `models/${id}` } }
					: checked;
			return (await client.countTokens(id, body)).result;
		});
		return counted;
	} catch (error) {
		if (error instanceof GeminiError) throw nativeError(error, requestId);
		throw error;
	}
}

/**
 * The lowest output-token limit of the upstream ids the model's chain may reach: Google
 * refuses a maxOutputTokens above a model's limit. Undefined when none is known.
 */
function outputTokenLimit(config: GatewayConfig, model: ModelSpec): number | undefined {
	const limits = model.chain.flatMap((id) => config.catalog.upstream(id)?.outputTokenLimit ?? []);
	return limits.length > 0 ? Math.min(...limits) : undefined;
}

/**
 * What a checked native request asks of the model, checked as every dialect is checked:
 * its ratio and size, and its inline images (real image bytes, within the model's count).
 * An alias's default size is written into the request (nano-banana-hd promises 4K;
 * Gemini would pick 1K). Fields are named as the caller spelled them.
 */
function nativeAsk(config: GatewayConfig, model: ModelSpec, native: NativeRequest): NativeAsk {
	const { request, param } = native;
	const imageConfig = request.generationConfig?.imageConfig;
	const ratioParam = param(["generationConfig", "imageConfig", "aspectRatio"]);
	const sizeParam = param(["generationConfig", "imageConfig", "imageSize"]);
	const aspectRatio = imageConfig?.aspectRatio !== undefined ? checkAspectRatio(model, imageConfig.aspectRatio, ratioParam) : undefined;
	const imageSize = imageConfig?.imageSize !== undefined ? checkImageSize(model, imageConfig.imageSize, sizeParam) : model.defaultImageSize;
	if (aspectRatio || imageSize) {
		// The checked (normalized) values are what is sent, so what is priced is what Google renders.
		request.generationConfig = {
			...request.generationConfig,
			imageConfig: { ...imageConfig, ...(aspectRatio ? { aspectRatio } : {}), ...(imageSize ? { imageSize } : {}) },
		};
	}
	const inputImages = countInputImages(native, inputLimitsFrom(config));
	if (inputImages > model.maxInputImages) {
		throw invalidParam(
			"contents",
			`${model.id} accepts at most ${model.maxInputImages} input images; got ${inputImages}`,
			"too_many_images",
		);
	}
	return {
		model,
		aspectRatio,
		imageSize,
		inputImages,
		params: { aspectRatio: ratioParam, imageSize: sizeParam, images: "contents" },
		bounds: native.bounds,
	};
}

/** The inline images of the request, each checked as image bytes. */
function countInputImages({ request, param }: NativeRequest, limits: InputLimits): number {
	let inputImages = 0;
	for (const [ci, content] of request.contents.entries()) {
		for (const [pi, part] of content.parts.entries()) {
			const inline = part.inlineData;
			if (!inline) continue;
			inputImages++;
			const at = param(["contents", ci, "parts", pi, "inlineData"]);
			let bytes: Uint8Array;
			try {
				bytes = Uint8Array.fromBase64(inline.data);
			} catch {
				throw invalidParam(`${at}.data`, `${at}.data is not valid base64`, "invalid_image");
			}
			checkImageBytes(bytes, at, limits);
		}
	}
	return inputImages;
}

/**
 * The billed execution: the rebuilt request sent to the chain, the answer checked and
 * metered, and sent back as JSON, a one-element JSON array, or one server-sent event.
 */
async function generateNative(
	scope: CallScope,
	ask: ModelAsk,
	request: GenerateContentRequest,
	encoding: "json" | "array" | "sse",
	price: number,
): Promise<Execution> {
	const started = Date.now();
	const failed = (error: ApiError): Execution => ({
		delivered: 0,
		usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
		upstreamMs: Date.now() - started,
		upstreamModel: null,
		finishReason: null,
		r2Keys: [],
		error,
	});
	try {
		const {
			value: r,
			upstreamModel,
			upstream,
		} = await onChain(scope.env, scope.config, ask, (id, client) => client.generateContent(id, request));
		const embedded = embeddedError(r.response);
		if (embedded) throw embedded;
		const outcome = readOutcome(r.response);
		// Passed through as Google sent it, so checked as the other dialects check what they store.
		checkImages(outcome);
		const json = JSON.stringify(r.response);
		// Every image of the answer is delivered (passed through), and the whole answer metered.
		const spend = emptySpend();
		const fate = outcome.images.length > 0 ? "delivered" : "refused";
		// Web and image search queries alike, as every dialect counts them.
		recordAnswer(spend, scope.config.rates, upstreamModel, outcome.usage, fate, billedSearchQueries(r.response));
		return {
			// One call priced at one image; every other image of the answer through its tokens.
			charge: chargeOf(scope.config, outcome.images.length, price, spend, 1),
			spend,
			delivered: outcome.images.length,
			upstreams: outcome.images.map(() => upstream),
			usage: tokenUsage(outcome.usage),
			upstreamMs: Date.now() - started,
			upstreamModel,
			finishReason: outcome.blockReason ?? outcome.finishReason ?? null,
			r2Keys: [],
			body: r.response,
			raw:
				encoding === "sse"
					? { text: `data: ${json}\r\n\r\n`, contentType: "text/event-stream" }
					: encoding === "array"
						? { text: `[${json}]`, contentType: "application/json" }
						: undefined,
		};
	} catch (error) {
		if (error instanceof GeminiError) return failed(nativeError(error, scope.requestId));
		if (error instanceof ApiError) return failed(error);
		throw error;
	}
}

/**
 * An upstream failure for a Gemini-native caller: the gateway's status and message, with
 * Google's own status name and its RetryInfo / QuotaFailure details where it sent them.
 * A 400 INVALID_ARGUMENT about the caller's body keeps Google's message.
 */
function nativeError(e: GeminiError, requestId: string): ApiError {
	const mapped = upstreamToError(e, requestId);
	const details = (e.body?.details ?? []).filter(
		(d) => d["@type"]?.endsWith("google.rpc.RetryInfo") || d["@type"]?.endsWith("google.rpc.BadRequest"),
	);
	mapped.google = { status: e.rpcStatus && mapped.status < 500 && mapped.status !== 429 ? e.rpcStatus : undefined, details };
	return mapped;
}
