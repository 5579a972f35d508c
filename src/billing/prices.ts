/**
 * Prices in credits per delivered image, by alias and image size. The defaults are
 * Google's list prices with 1 credit = $0.0001 (so their ratios are Google's and the
 * Batch API's half price stays a whole number); the operator sets their own with the
 * PRICES variable, e.g.
 *   PRICES='{"nano-banana": 600, "nano-banana-2": {"4K": 2000}, "batch": {"nano-banana": 250}}'
 * A number prices every size of that alias; an object prices sizes one by one. A price
 * for an alias or size the catalog does not have is a configuration error, never ignored.
 */
import { z } from "zod";
import type { Catalog, ImageSize, ModelSpec } from "../catalog/catalog";
import { DEFAULT_ALIASES, IMAGE_SIZES } from "../catalog/data";

/** Credits per image by alias and size; fixed-size models price under "1K". */
export type PriceTable = Record<string, Partial<Record<ImageSize, number>>>;

/**
 * Google's list prices per image in credits of $0.0001, checked 2026-11-22: 2.5 Flash
 * Image $0.039; 3.1 Flash Image $0.045 / 0.067 / 0.101 / 0.151; 3 Pro Image $0.134
 * (1K, 2K) / 0.24 (4K) (Google's pricing page). Nano Banana 2.1 $0.0336 / 0.0504 / 0.113
 * and 3.1 Flash Lite Image ~$0.034 are third-party figures: Google's page did not show
 * them clearly in the copies checked.
 */
export const DEFAULT_PRICES: PriceTable = {
	"nano-banana": { "1K": 390 },
	"nano-banana-2": { "512": 450, "1K": 670, "2K": 1010, "4K": 1510 },
	"nano-banana-2.1": { "1K": 336, "2K": 504, "4K": 1130 },
	"nano-banana-2-lite": { "1K": 340 },
	"nano-banana-pro": { "1K": 1340, "2K": 1340, "4K": 2400 },
	"nano-banana-hd": { "1K": 1340, "2K": 1340, "4K": 2400 },
};

const Credits = z.number().int().min(0).max(1_000_000);
const AliasPrice = z.union([Credits, z.partialRecord(z.enum(IMAGE_SIZES as [ImageSize, ...ImageSize[]]), Credits)]);
type AliasPrice = z.infer<typeof AliasPrice>;
const AliasPrices = z.record(z.string(), AliasPrice);
type AliasPrices = z.infer<typeof AliasPrices>;
/** Alias prices, plus `batch`: the same shape for the Batch lane (default: half, rounded up). */
export const PricesOverride = z.object({ batch: AliasPrices.optional() }).catchall(AliasPrice);
export type PricesOverride = z.infer<typeof PricesOverride>;

/** The sizes an alias is priced at. */
function pricedSizes(sizes: readonly ImageSize[]): ImageSize[] {
	return sizes.length > 0 ? [...sizes] : ["1K"];
}

/**
 * Defaults merged with the override, checked against the catalog: every alias has a
 * price for every size it sells. An alias added with MODELS takes the prices of the
 * built-in alias with the same upstream id unless PRICES names it. Throws an Error whose
 * message names the problem.
 */
export function buildPrices(catalog: Catalog, override: PricesOverride = {}): PriceTable {
	const aliases = catalog.aliases();
	if (aliases.some((a) => a.id === "batch")) throw new Error('"batch" names the Batch lane\'s prices here; rename the alias');
	const table: PriceTable = {};
	for (const a of aliases) {
		const builtin = DEFAULT_PRICES[a.id] ?? DEFAULT_PRICES[DEFAULT_ALIASES.find((d) => d.upstream === a.upstream)?.id ?? ""];
		table[a.id] = { ...(builtin ?? {}) };
	}
	const { batch: _batch, ...standard } = override;
	apply(catalog, table, standard as AliasPrices, "");
	for (const a of aliases) {
		const missing = pricedSizes(a.imageSizes).filter((s) => table[a.id][s] === undefined);
		if (missing.length > 0) throw new Error(`${a.id} has no price at ${missing.join(", ")}: add it to PRICES`);
	}
	return table;
}

/**
 * The Batch lane's prices: Google bills the Batch API at half the standard price, so by
 * default every price is half the standard one (rounded up to a whole credit; with the
 * default prices every half is whole already). `PRICES.batch` overrides them like PRICES.
 */
export function buildBatchPrices(catalog: Catalog, standard: PriceTable, override: PricesOverride = {}): PriceTable {
	const table: PriceTable = {};
	for (const [id, sizes] of Object.entries(standard)) {
		table[id] = Object.fromEntries(Object.entries(sizes).map(([size, credits]) => [size, Math.ceil(credits / 2)]));
	}
	apply(catalog, table, override.batch ?? {}, "batch.");
	return table;
}

/** Applies alias prices to a table; an unknown alias or a size it does not sell is an error. */
function apply(catalog: Catalog, table: PriceTable, prices: AliasPrices, path: string): void {
	const aliases = catalog.aliases();
	for (const [id, value] of Object.entries(prices) as Array<[string, AliasPrice]>) {
		const alias = aliases.find((a) => a.id === id);
		if (!alias) throw new Error(`${path}${id} is not an alias (known: ${aliases.map((a) => a.id).join(", ")})`);
		const sizes = pricedSizes(alias.imageSizes);
		if (typeof value === "number") {
			table[id] = Object.fromEntries(sizes.map((s) => [s, value]));
			continue;
		}
		for (const size of Object.keys(value) as ImageSize[]) {
			if (!sizes.includes(size)) throw new Error(`${path}${id}.${size}: ${id} is not sold at ${size} (sizes: ${sizes.join(", ")})`);
		}
		table[id] = { ...table[id], ...value };
	}
}

/** Credits for one image of this model at this size (the model's default size when none). */
export function pricePerImage(table: PriceTable, model: ModelSpec, size: ImageSize | undefined): number {
	const effective = model.imageSizes.length === 0 ? "1K" : (size ?? model.defaultImageSize ?? "1K");
	const price = table[model.priceAs]?.[effective];
	if (price === undefined) throw new Error(`no price for ${model.id} at ${effective}`);
	return price;
}
