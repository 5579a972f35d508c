/**
 * The MODELS variable: JSON that adds aliases or overrides any field of an existing one,
 *   MODELS='{"nano-banana-2":{"upstream":"gemini-3.2-flash-image","successors":["gemini-3.1-flash-image"]},
 *            "poster":{"upstream":"gemini-3-pro-image","default_image_size":"2K"}}'
 * A new alias takes the capabilities of its upstream id when the gateway knows that id,
 * and must state `aspect_ratios` otherwise. Validated strictly: an unknown field, an
 * empty upstream id or a successor cycle is a configuration error naming MODELS.
 */
import { z } from "zod";
import { lazy } from "../lib/lazy";
import { IMAGE_SIZES, type ImageSize } from "./data";

const Day = lazy(() => z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date YYYY-MM-DD"));
const UpstreamId = lazy(() =>
	z
		.string()
		.trim()
		.min(1, "must not be empty")
		.max(128)
		.regex(/^[a-z0-9][a-z0-9._-]*$/, "must be a Gemini model id like gemini-3-pro-image"),
);

export const AliasOverride = lazy(() =>
	z.strictObject({
		upstream: UpstreamId().optional(),
		successors: z.array(UpstreamId()).max(8).optional(),
		description: z.string().max(500).optional(),
		aspect_ratios: z
			.array(z.string().regex(/^\d{1,2}:\d{1,2}$/, "must be a ratio like 16:9"))
			.min(1)
			.optional(),
		image_sizes: z.array(z.enum(IMAGE_SIZES as [ImageSize, ...ImageSize[]])).optional(),
		default_image_size: z
			.enum(IMAGE_SIZES as [ImageSize, ...ImageSize[]])
			.nullable()
			.optional(),
		max_input_images: z.number().int().min(0).max(32).optional(),
		/** true, or the date the alias was deprecated (Deprecation header). */
		deprecated: z.union([z.boolean(), Day()]).optional(),
		/** The date after which the alias stops working (Sunset header). */
		sunset: Day().optional(),
	}),
);
export type AliasOverride = z.infer<ReturnType<typeof AliasOverride>>;

export const ModelsOverride = lazy(() =>
	z.record(z.string(), AliasOverride()).superRefine((models, ctx) => {
		for (const name of Object.keys(models)) {
			if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) {
				ctx.addIssue({ code: "custom", path: [name], message: "alias names are lowercase letters, digits, '.', '_' and '-'" });
			}
		}
	}),
);
export type ModelsOverride = z.infer<ReturnType<typeof ModelsOverride>>;
