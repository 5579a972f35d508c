/**
 * Nano Banana's own controls in every dialect: a thinking level and Google Search grounding
 * (web and image search), each under the names a dialect's clients already send:
 *   OpenAI Images, OpenRouter Images, NanoBananaAPI:  thinking_level, google_search
 *   Vydra:                                            thinkingLevel, googleSearch
 *   chat completions:  reasoning_effort or reasoning.effort (OpenAI's and OpenRouter's
 *                      names), image_config.thinking_level; web_search_options (OpenAI's)
 *                      or image_config.google_search
 * Gemini's native route takes generationConfig.thinkingConfig and tools as Google does.
 * A level outside the four Gemini knows is a 400 from the schema; one the operator has not
 * enabled, or search while NATIVE_ALLOW_SEARCH is off, a 400 `feature_not_allowed`
 * naming the caller's field (src/pipeline/request.ts), before anything is held or called.
 */
import { z } from "zod";
import { THINKING_LEVELS } from "../billing/controls";
import { lazy } from "../lib/lazy";

/** What a caller is told of a level that is none of Gemini's (a non-string too). */
const THINKING_LEVEL_ERROR = `must be one of ${THINKING_LEVELS.join(", ")}`;

/** A thinking level as JSON or a multipart string, any case. */
export const ThinkingField = lazy(() =>
	z
		.string({ error: THINKING_LEVEL_ERROR })
		.transform((v) => v.trim().toLowerCase())
		.pipe(z.enum(THINKING_LEVELS, { error: THINKING_LEVEL_ERROR })),
);

/** Search on or off: a JSON boolean, or "true"/"false" in a multipart form. */
export const SearchField = lazy(() => z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]));
