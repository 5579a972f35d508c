/**
 * Calling the upstream model a request resolved to, surviving retirements and failing
 * upstreams: src/upstreams/route.ts walks the model's chain across the upstream pool
 * (an id that answers 404 NOT_FOUND at an upstream is remembered there, and the request
 * moves on). Before each id is asked, its own capabilities are checked, so a ratio, size
 * or number of images a successor cannot take is a 400 before it is asked.
 */
import type { ModelSpec } from "../catalog/catalog";
import type { GatewayConfig } from "../config";
import { invalidParam } from "../errors";
import type { CallInfo, GeminiClient } from "../gemini/client";
import type { GenerateContentRequest } from "../gemini/types";
import { timed } from "../observe";
import { type Only, routeCall } from "../upstreams/route";

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
	/** The pool member that answered. */
	upstream: string;
}

/**
 * Runs `attempt` on the pool for the first available id of the model's chain, moving to
 * the next id when it is gone everywhere. Throws what `attempt` throws when every option
 * is used up, a 400 ApiError when an id cannot do what is asked, a 502 ApiError when no
 * id of the chain exists any more, UpstreamsUnavailableError, or a ConfigError.
 */
export function onChain<T>(
	env: Env,
	config: GatewayConfig,
	ask: ModelAsk,
	attempt: (id: string, client: GeminiClient) => Promise<T>,
	only?: Only,
): Promise<{ value: T; upstreamModel: string; upstream: string }> {
	return routeCall(
		env,
		config,
		ask.model,
		(id) => checkUpstreamSupports(config, id, ask),
		(client, id) => timed("upstream", () => attempt(id, client)),
		{ only },
	);
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
	const started = Date.now();
	const { value, upstreamModel, upstream, attempts } = await routeCall(
		env,
		config,
		ask.model,
		(id) => checkUpstreamSupports(config, id, ask),
		(client, id) => timed("upstream", () => client.call(id, body, consume, signal)),
		{ signal },
	);
	// Upstream time is the whole call, failovers and retries included.
	return { result: value.result, info: { attempts, latencyMs: Date.now() - started }, upstreamModel, upstream };
}
