/**
 * Prices in credits per delivered image, by model and image size. Defaults live here;
 * the operator overrides any of them with the PRICES var, e.g.
 *   PRICES='{"nano-banana": 6, "nano-banana-2": {"4K": 20}}'
 * A number prices every size of that model; an object prices sizes one by one.
 */
import { z } from "zod";
import { type ImageSize, MODELS, type ModelSpec } from "../catalog";

/** Size key used for pricing: fixed-size models price under "1K". */
export type PriceTable = Record<string, Partial<Record<ImageSize, number>>>;

export const DEFAULT_PRICES: PriceTable = {
	"nano-banana": { "1K": 5 },
	"nano-banana-2": { "512": 5, "1K": 7, "2K": 10, "4K": 16 },
	"nano-banana-pro": { "1K": 14, "2K": 14, "4K": 24 },
	"nano-banana-hd": { "1K": 14, "2K": 14, "4K": 24 },
};

const Credits = z.number().int().min(0);
const Override = z.record(z.string(), z.union([Credits, z.partialRecord(z.enum(["512", "1K", "2K", "4K"]), Credits)]));

/** Defaults merged with the PRICES override. An invalid override is logged and ignored. */
export function loadPrices(raw: string | undefined): PriceTable {
	const table: PriceTable = structuredClone(DEFAULT_PRICES);
	if (!raw?.trim()) return table;
	let parsed: z.infer<typeof Override>;
	try {
		parsed = Override.parse(JSON.parse(raw));
	} catch (error) {
		console.error(JSON.stringify({ event: "invalid_prices_config", error: String(error) }));
		return table;
	}
	for (const [model, value] of Object.entries(parsed)) {
		const spec = MODELS.find((m) => m.id === model);
		if (!spec) continue;
		const sizes: ImageSize[] = spec.imageSizes.length > 0 ? [...spec.imageSizes] : ["1K"];
		table[model] = typeof value === "number" ? Object.fromEntries(sizes.map((s) => [s, value])) : { ...table[model], ...value };
	}
	return table;
}

/** The alias whose prices a model uses (raw Gemini ids price like their first alias). */
function priceKey(model: ModelSpec): string {
	return MODELS.find((m) => m.id === model.id)?.id ?? MODELS.find((m) => m.gemini === model.gemini)?.id ?? model.id;
}

/** Credits for one image of this model at this size (the model's default size when none). */
export function pricePerImage(table: PriceTable, model: ModelSpec, size: ImageSize | undefined): number {
	const effective = model.imageSizes.length === 0 ? "1K" : (size ?? model.defaultImageSize ?? "1K");
	const price = table[priceKey(model)]?.[effective];
	if (price === undefined) throw new Error(`no price for ${model.id} at ${effective}`);
	return price;
}
