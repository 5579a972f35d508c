/**
 * A dialect's `output_format` and `output_compression`, checked before anything is held or
 * called (src/storage/convert.ts converts the stored images).
 */
import { z } from "zod";
import { invalidParam } from "../errors";
import { lazy } from "../lib/lazy";
import { OUTPUT_FORMATS, type OutputAsk, type OutputFormat } from "../storage/convert";

/** The dialect's names of the two fields, for the 400 that names the one at fault. */
export interface OutputParams {
	format: string;
	compression: string;
}

/**
 * Checks a dialect's `output_format` and `output_compression` (before anything is held or
 * called): a format outside OUTPUT_FORMATS or a compression that is no integer in 0-100 is
 * a 400 naming the field. A compression alone (no format) is refused too: it has nothing
 * to apply to (OpenAI's default format, png, takes none). `jpg` is read as `jpeg`.
 */
export function checkOutput(format: unknown, compression: unknown, params: OutputParams): OutputAsk | undefined {
	if (format === undefined || format === null) {
		if (compression === undefined || compression === null) return undefined;
		throw invalidParam(params.compression, `${params.compression} needs ${params.format} (jpeg, webp or avif)`);
	}
	const name = typeof format === "string" ? format.toLowerCase() : format;
	const f = name === "jpg" ? "jpeg" : name;
	if (typeof f !== "string" || !(OUTPUT_FORMATS as readonly string[]).includes(f)) {
		throw invalidParam(
			params.format,
			`${params.format} must be one of ${OUTPUT_FORMATS.join(", ")} (the formats this gateway's image conversion produces); got ${JSON.stringify(format)}`,
		);
	}
	const ask: OutputAsk = { format: f as OutputFormat };
	if (compression === undefined || compression === null) return ask;
	const c = typeof compression === "string" && /^\d+$/.test(compression) ? Number(compression) : compression;
	if (typeof c !== "number" || !Number.isInteger(c) || c < 0 || c > 100) {
		throw invalidParam(params.compression, `${params.compression} must be an integer from 0 to 100; got ${JSON.stringify(compression)}`);
	}
	// PNG is lossless: a compression level changes nothing (OpenAI applies it to jpeg and webp only).
	if (ask.format !== "png") ask.compression = c;
	return ask;
}

/**
 * The two fields in a dialect's body schema: any value passes the parse, so checkOutput
 * writes the 400 (naming the field and the formats); the OpenAPI document shows the types.
 */
export const OutputFormatField = lazy(() =>
	z.unknown().meta({
		type: "string",
		enum: [...OUTPUT_FORMATS],
		description:
			"Converts the stored images to this format (Cloudflare Images, once, at store time); unset: as Gemini made them. The charge is the same.",
	}),
);
export const OutputCompressionField = lazy(() =>
	z.unknown().meta({
		type: "integer",
		minimum: 0,
		maximum: 100,
		description: "With output_format jpeg, webp or avif: the encoder's quality (100: the least compression); ignored for png.",
	}),
);
