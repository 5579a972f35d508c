/**
 * Prices in credits per delivered image, by alias and image size. By default each is
 * derived from what Google bills (src/catalog/rates.ts): the dearest model the alias can
 * be served by (its upstream id and every successor it fails over to) at that size, times
 * (1 + MARGIN_PERCENT / 100), rounded up to a whole credit of $0.0001. The operator sets
 * their own with the PRICES variable, e.g.
 *   PRICES='{"nano-banana": 900, "nano-banana-2": {"4K": 2000}, "batch": {"nano-banana": 450}}'
 * A number prices every size of that alias; an object prices sizes one by one. A price
 * for an alias or size the catalog does not have is a configuration error, never ignored,
 * and so is a price below what Google bills for an image the alias can be served by.
 */
import { z } from "zod";
import type { Catalog, ImageSize, ModelSpec } from "../catalog/catalog";
import { IMAGE_SIZES } from "../catalog/data";
import type { GoogleRates } from "../catalog/rates";
import { lazy } from "../lib/lazy";
import { imageListCredits } from "./cost";
import { servingModels } from "./serving";

/** Credits per image by alias and size; fixed-size models price under "1K". */
export type PriceTable = Record<string, Partial<Record<ImageSize, number>>>;

/** What prices are derived from: Google's rates by upstream id and the operator's margin. */
export interface PriceBasis {
	rates: Readonly<Record<string, GoogleRates>>;
	marginPercent: number;
}

const Credits = lazy(() => z.number().int().min(0).max(1_000_000));
const AliasPrice = lazy(() => z.union([Credits(), z.partialRecord(z.enum(IMAGE_SIZES as [ImageSize, ...ImageSize[]]), Credits())]));
type AliasPrice = z.infer<ReturnType<typeof AliasPrice>>;
const AliasPrices = lazy(() => z.record(z.string(), AliasPrice()));
type AliasPrices = z.infer<ReturnType<typeof AliasPrices>>;
/** Alias prices, plus `batch`: the same shape for the Batch lane (default: half, rounded up). */
export const PricesOverride = lazy(() => z.object({ batch: AliasPrices().optional() }).catchall(AliasPrice()));
export type PricesOverride = z.infer<ReturnType<typeof PricesOverride>>;

/** The sizes an alias is priced at. */
function pricedSizes(sizes: readonly ImageSize[]): ImageSize[] {
	return sizes.length > 0 ? [...sizes] : ["1K"];
}

/** An alias can reach a model the gateway has no rates for (the RATES setting's problem). */
export class MissingRates extends Error {}

/**
 * What Google bills for one image of this alias at this size (credits, a fraction): the
 * dearest model of the alias's chain that can serve the size. A model the gateway has no
 * rates for is an error: its cost would be unknown.
 */
export function costFloor(
	catalog: Catalog,
	aliasId: string,
	size: ImageSize,
	rates: PriceBasis["rates"],
): { credits: number; model: string } {
	const spec = catalog.find(aliasId);
	if (!spec) throw new Error(`${aliasId} is not an alias`);
	let floor = { credits: 0, model: spec.chain[0] };
	for (const { id, caps, rates: r } of servingModels(catalog, rates, spec.chain)) {
		// A successor that does not sell the size cannot serve it (Google refuses the call).
		if (caps && caps.imageSizes.length > 0 && !caps.imageSizes.includes(size)) continue;
		if (!r) throw new MissingRates(`${aliasId} can be served by ${id}, which has no rates: add them to RATES`);
		const credits = imageListCredits(r, caps && caps.imageSizes.length === 0 ? "1K" : size) ?? imageListCredits(r, "1K") ?? 0;
		if (credits > floor.credits) floor = { credits, model: id };
	}
	return floor;
}

/**
 * Every alias priced at every size it sells: derived from Google's rates and the margin,
 * then the operator's PRICES applied. Throws an Error whose message names the problem:
 * an unknown alias or size, a missing price, or a price below Google's.
 */
export function buildPrices(catalog: Catalog, override: PricesOverride, basis: PriceBasis): PriceTable {
	const aliases = catalog.aliases();
	if (aliases.some((a) => a.id === "batch")) throw new Error('"batch" names the Batch lane\'s prices here; rename the alias');
	const factor = 1 + basis.marginPercent / 100;
	const table: PriceTable = {};
	for (const a of aliases) {
		table[a.id] = Object.fromEntries(
			pricedSizes(a.imageSizes).map((s) => [s, Math.ceil(costFloor(catalog, a.id, s, basis.rates).credits * factor - 1e-9)]),
		);
	}
	const { batch: _batch, ...standard } = override;
	apply(catalog, table, standard as AliasPrices, "");
	checkAboveCost(catalog, table, basis.rates, 1, "");
	return table;
}

/** Refuses a price below what Google bills for an image the alias can be served by. */
function checkAboveCost(catalog: Catalog, table: PriceTable, rates: PriceBasis["rates"], tierFactor: number, path: string): void {
	for (const [id, sizes] of Object.entries(table)) {
		for (const [size, credits] of Object.entries(sizes) as Array<[ImageSize, number]>) {
			const floor = costFloor(catalog, id, size, rates);
			const cost = Math.ceil(floor.credits * tierFactor - 1e-9);
			if (credits < cost) {
				throw new Error(
					`${path}${id} at ${size} is ${credits} credits, below the ${cost} Google bills for it on ${floor.model}: the operator would pay more than the customer`,
				);
			}
		}
	}
}

/**
 * The Batch lane's prices: Google bills the Batch API at half the standard price, so by
 * default every price is half the standard one (rounded up to a whole credit; with the
 * default prices every half is whole already). `PRICES.batch` overrides them like PRICES.
 */
export function buildBatchPrices(catalog: Catalog, standard: PriceTable, override: PricesOverride, basis: PriceBasis): PriceTable {
	const table: PriceTable = {};
	for (const [id, sizes] of Object.entries(standard)) {
		table[id] = Object.fromEntries(Object.entries(sizes).map(([size, credits]) => [size, Math.ceil(credits / 2)]));
	}
	apply(catalog, table, override.batch ?? {}, "batch.");
	checkAboveCost(catalog, table, basis.rates, 0.5, "batch.");
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
