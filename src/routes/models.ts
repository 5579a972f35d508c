/**
 * The catalog as clients see it, in two shapes on the same paths:
 *   GET /v1/models, GET /v1/models/{model}          OpenAI's list/retrieve shape, with the
 *                                                    gateway's fields (ratios, sizes, prices, lifecycle)
 *   GET /v1beta/models, GET /v1beta/models/{model}  Google's models.list / models.get shape
 * `@google/genai` calls `GET /v1/models` too (its default API version), so /v1 answers in
 * Google's shape when the request looks like that SDK's: an `x-goog-api-key` or
 * `x-goog-api-client` header, or a `pageSize`/`pageToken` query.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import type { ModelSpec } from "../catalog/catalog";
import { lifecycleHeaders } from "../catalog/headers";
import { type ApiError, apiError, invalidParam } from "../errors";
import { lazy } from "../lib/lazy";
import { parseWith } from "../lib/validate";
import { routeFacts } from "../route-facts";
import type { AppEnv } from "../types";

/**
 * Route facts (src/route-facts.ts): every read is public. A request that looks like
 * @google/genai's is Gemini's dialect, errors included; any other, OpenAI's.
 */
const ROUTE_FACTS = routeFacts((c) =>
	wantsGoogleShape(c)
		? { dialect: "gemini", errorStyle: "google", publicReads: true }
		: { dialect: "openai", errorStyle: "openai", publicReads: true },
);

export function wantsGoogleShape(c: Context<AppEnv>): boolean {
	return (
		c.req.path.startsWith("/v1beta/") ||
		c.req.header("x-goog-api-key") !== undefined ||
		c.req.header("x-goog-api-client") !== undefined ||
		c.req.query("pageSize") !== undefined ||
		c.req.query("pageToken") !== undefined
	);
}

function openAiModel(c: Context<AppEnv>, m: ModelSpec) {
	const config = c.get("config");
	return {
		id: m.id,
		object: "model",
		owned_by: "google",
		kind: m.kind,
		description: m.description,
		upstream_model: m.chain[0],
		upstream_chain: m.chain,
		aspect_ratios: m.aspectRatios,
		image_sizes: m.imageSizes,
		default_image_size: m.defaultImageSize ?? null,
		max_input_images: m.maxInputImages,
		prices: config.prices[m.priceAs] ?? null,
		batch_prices: config.batchPrices[m.priceAs] ?? null,
		deprecated: m.lifecycle.status !== "active",
		lifecycle: {
			status: m.lifecycle.status,
			deprecated_on: m.lifecycle.deprecatedOn ?? null,
			sunset_on: m.lifecycle.sunsetOn ?? null,
			replacement: m.replacement ?? null,
		},
	};
}

/** A Model as Google's models.list sends it, built from the catalog. */
function googleModel(c: Context<AppEnv>, m: ModelSpec) {
	const up = c.get("config").catalog.upstream(m.chain[0]);
	return {
		name: `models/${m.id}`,
		baseModelId: m.chain[0],
		version: m.kind === "alias" ? m.chain[0] : m.id,
		displayName: m.kind === "alias" ? `${up?.displayName ?? m.id} (${m.id})` : (up?.displayName ?? m.id),
		description: m.description,
		inputTokenLimit: up?.inputTokenLimit ?? 32_768,
		outputTokenLimit: up?.outputTokenLimit ?? 32_768,
		supportedGenerationMethods: ["generateContent", "countTokens"],
		temperature: 1,
		topP: 0.95,
		topK: 64,
		maxTemperature: 2,
		...(m.chain[0].startsWith("gemini-2.5") ? {} : { thinking: true }),
	};
}

function notFoundModel(id: string, google: boolean): ApiError {
	return google
		? apiError("model_not_found", `Model is not found: models/${id} for api version v1beta`, { param: "model", status: 404 })
		: apiError("model_not_found", `The model '${id}' does not exist`, { param: "model", status: 404 });
}

/** Google's models.list query: pageSize 0 to any (0 means the default 50, more than 1000 means 1000). */
export const GoogleModelsQuery = lazy(() =>
	z.object({
		pageSize: z.coerce
			.number({ error: "pageSize must be a non-negative integer" })
			.int("pageSize must be a non-negative integer")
			.min(0, "pageSize must be a non-negative integer")
			.optional(),
		pageToken: z.string().optional(),
	}),
);

/** Google pages: pageSize 1 to 1000 (default 50); the token is the last name returned. */
function page<T extends { name: string }>(items: T[], query: Record<string, string>) {
	const { pageSize, pageToken } = parseWith(GoogleModelsQuery(), query);
	const limit = Math.min(pageSize || 50, 1000);
	let start = 0;
	if (pageToken) {
		let after: string;
		try {
			after = atob(pageToken);
		} catch {
			throw invalidParam("pageToken", "pageToken is not one this API returned");
		}
		start = items.findIndex((m) => m.name === after) + 1;
		if (start === 0) throw invalidParam("pageToken", "pageToken is not one this API returned");
	}
	const models = items.slice(start, start + limit);
	const more = start + limit < items.length;
	return { models, ...(more ? { nextPageToken: btoa(models[models.length - 1].name) } : {}) };
}

export const models = new Hono<AppEnv>()
	.use(ROUTE_FACTS)
	.get("/", (c) => {
		const specs = c.get("config").catalog.specs();
		if (!wantsGoogleShape(c)) return c.json({ object: "list", data: specs.map((m) => openAiModel(c, m)) });
		// Google lists what can be called today: retired ids still work here, but are not listed.
		const live = specs.filter((m) => m.lifecycle.status !== "retired").map((m) => googleModel(c, m));
		return c.json(page(live, c.req.query()));
	})
	.get("/:model{[^:]+}", (c) => {
		const google = wantsGoogleShape(c);
		const id = c.req.param("model");
		const m = c.get("config").catalog.find(id);
		if (!m) throw notFoundModel(id, google);
		const headers = lifecycleHeaders(m, new URL(c.req.url).origin);
		return c.json(google ? googleModel(c, m) : openAiModel(c, m), 200, headers);
	});
