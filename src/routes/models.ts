/**
 * `GET /v1/models`: the catalog as clients see it, with prices.
 */
import { Hono } from "hono";
import { loadPrices } from "../billing/prices";
import { MODELS } from "../catalog";
import type { AppEnv } from "../types";

export const models = new Hono<AppEnv>().get("/", (c) => {
	const prices = loadPrices(c.env.PRICES);
	return c.json({
		object: "list",
		data: MODELS.map((m) => ({
			id: m.id,
			object: "model",
			owned_by: "google",
			gemini_model: m.gemini,
			description: m.description,
			aspect_ratios: m.aspectRatios,
			image_sizes: m.imageSizes,
			default_image_size: m.defaultImageSize ?? null,
			max_input_images: m.maxInputImages,
			prices: prices[m.id],
		})),
	});
});
