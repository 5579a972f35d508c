/**
 * Calling the upstream model a request resolved to, surviving retirements: the call goes
 * to the first id of the model's chain not known to be gone; when that id answers 404
 * NOT_FOUND the finding is remembered (src/catalog/availability.ts) and the same request
 * goes to the next id. Before each call the id's own capabilities are checked, so a
 * ratio, size or number of images the successor cannot take is a 400 before it is asked.
 */
import { firstAvailable, goneAt, rememberGone } from "../catalog/availability";
import type { ModelSpec } from "../catalog/catalog";
import type { GatewayConfig } from "../config";
import { ApiError, invalidParam } from "../errors";
import { type CallInfo, GeminiClient } from "../gemini/client";
import { GeminiError } from "../gemini/errors";
import type { GenerateContentRequest } from "../gemini/types";
import { timed } from "../observe";

export function geminiClient(config: GatewayConfig): GeminiClient {
	return new GeminiClient({
		apiKey: config.geminiApiKey,
		baseUrl: config.geminiBaseUrl,
		maxRetries: config.maxRetries,
		retryBaseMs: config.retryBaseMs,
		retryMaxMs: config.retryMaxMs,
		deadlineMs: config.deadlineMs,
	});
}

/** Which upstream endpoint findings about model ids belong to. */
export function upstreamScope(config: GatewayConfig): string {
	return config.geminiBaseUrl;
}

/** What a call asks of the model, and the names the caller's dialect gives those fields. */
export interface ModelAsk {
	model: ModelSpec;
	aspectRatio?: string;
	/** The size sent upstream (the caller's, or the alias's default). */
	imageSize?: string;
	inputImages: number;
	params?: { aspectRatio?: string; imageSize?: string; images?: string };
}

/** 400 when the upstream id cannot do what is asked (its capabilities are known). */
export function checkUpstreamSupports(config: GatewayConfig, id: string, ask: ModelAsk): void {
	const up = config.catalog.upstream(id);
	if (!up) return;
	const via = id === ask.model.chain[0] ? id : `${id}, which serves ${ask.model.id} now that ${ask.model.chain[0]} is gone upstream`;
	const p = { aspectRatio: "aspect_ratio", imageSize: "image_size", images: "image", ...ask.params };
	if (ask.aspectRatio && !up.aspectRatios.includes(ask.aspectRatio)) {
		throw invalidParam(
			p.aspectRatio,
			`${p.aspectRatio} '${ask.aspectRatio}' is not supported by ${via}. Allowed: ${up.aspectRatios.join(", ")}`,
		);
	}
	if (ask.imageSize && !(up.imageSizes as readonly string[]).includes(ask.imageSize)) {
		const allowed = up.imageSizes.length > 0 ? `Allowed: ${up.imageSizes.join(", ")}` : "it has one fixed output size (~1K)";
		throw invalidParam(p.imageSize, `${p.imageSize} '${ask.imageSize}' is not supported by ${via}. ${allowed}`);
	}
	if (ask.inputImages > up.maxInputImages) {
		throw invalidParam(p.images, `${via} accepts at most ${up.maxInputImages} input images; got ${ask.inputImages}`, "too_many_images");
	}
}

export interface UpstreamResult<T> {
	result: T;
	info: CallInfo;
	/** The Gemini id that answered. */
	upstreamModel: string;
}

/**
 * Runs `attempt` against the first available id of the model's chain, moving to the next
 * id when it throws a 404 NOT_FOUND GeminiError (remembered for every later request).
 * Throws what `attempt` throws otherwise, a 400 ApiError when the id cannot do what is
 * asked, and a 502 ApiError when no id of the chain exists any more.
 */
export async function onChain<T>(
	env: Env,
	config: GatewayConfig,
	ask: ModelAsk,
	attempt: (id: string) => Promise<T>,
): Promise<{ value: T; upstreamModel: string }> {
	const scope = upstreamScope(config);
	const chain = ask.model.chain;
	let i = firstAvailable(chain, await goneAt(env.DB, scope));
	for (;;) {
		const id = chain[i];
		checkUpstreamSupports(config, id, ask);
		try {
			return { value: await timed("upstream", () => attempt(id)), upstreamModel: id };
		} catch (error) {
			if (!(error instanceof GeminiError && error.modelNotFound)) throw error;
			await rememberGone(env.DB, scope, id, "404 NOT_FOUND");
			console.log(
				JSON.stringify({ event: "upstream_model_gone", upstream: scope, model: id, alias: ask.model.id, next: chain[i + 1] ?? null }),
			);
			if (i + 1 >= chain.length) throw modelGone(ask.model, id);
			i = firstAvailable(chain, await goneAt(env.DB, scope), i + 1);
		}
	}
}

/** generateContent on the model's chain; `consume` reads the successful answer. */
export async function callUpstream<T>(
	env: Env,
	config: GatewayConfig,
	ask: ModelAsk,
	body: GenerateContentRequest,
	consume: (res: Response) => Promise<T>,
	signal?: AbortSignal,
): Promise<UpstreamResult<T>> {
	const client = geminiClient(config);
	const { value, upstreamModel } = await onChain(env, config, ask, (id) => client.call(id, body, consume, signal));
	return { ...value, upstreamModel };
}

function modelGone(model: ModelSpec, id: string): ApiError {
	return new ApiError(
		502,
		"upstream_error",
		"upstream_model_not_found",
		`Gemini answered 404 NOT_FOUND for ${id}, the last upstream model ${model.id} can use. The operator must point ${model.id} at a current model (MODELS). You were not charged.`,
	);
}
