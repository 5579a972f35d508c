import { describe, expect, it } from "vitest";
import { buildBatchPrices, buildPrices, costFloor, type PricesOverride } from "../../src/billing/prices";
import { Catalog } from "../../src/catalog/catalog";
import { GOOGLE_RATES } from "../../src/catalog/rates";

const catalog = Catalog.build();
const basis = { rates: GOOGLE_RATES, marginPercent: 0 };

function refusal(fn: () => unknown): string {
	try {
		fn();
	} catch (e) {
		return e instanceof Error ? e.message : String(e);
	}
	throw new Error("expected an error");
}

describe("prices derived from what Google bills", () => {
	it("prices an alias at the dearest model it can be served by: nano-banana is served by 3.1 Flash Image, not at 2.5's $0.039", () => {
		expect(costFloor(catalog, "nano-banana", "1K", GOOGLE_RATES)).toEqual({
			credits: expect.closeTo(672, 3),
			model: "gemini-3.1-flash-image",
		});
		const prices = buildPrices(catalog, {}, basis);
		expect(prices["nano-banana"]).toEqual({ "1K": 672 });
		// nano-banana-2 fails over to 2.1, whose 4K costs less than 3.1's: 3.1's price holds.
		expect(prices["nano-banana-2"]).toEqual({ "512": 450, "1K": 672, "2K": 1010, "4K": 1512 });
		expect(prices["nano-banana-2.1"]).toEqual({ "1K": 336, "2K": 504, "4K": 1134 });
		expect(prices["nano-banana-2-lite"]).toEqual({ "1K": 340 });
		expect(prices["nano-banana-pro"]).toEqual({ "1K": 1344, "2K": 1344, "4K": 2400 });
	});

	it("adds the operator's margin and rounds up to a whole credit", () => {
		const prices = buildPrices(catalog, {}, { rates: GOOGLE_RATES, marginPercent: 25 });
		expect(prices["nano-banana-2"]).toEqual({ "512": 563, "1K": 840, "2K": 1263, "4K": 1890 });
		expect(prices["nano-banana-pro"]["4K"]).toBe(3000);
	});

	it("keeps explicit prices at or above cost, and refuses one below, naming the alias, the size and the model", () => {
		expect(buildPrices(catalog, { "nano-banana": 700 }, basis)["nano-banana"]).toEqual({ "1K": 700 });
		expect(refusal(() => buildPrices(catalog, { "nano-banana": 390 }, basis))).toMatch(
			/^nano-banana at 1K is 390 credits, below the 672 Google bills for it on gemini-3.1-flash-image/,
		);
		expect(refusal(() => buildPrices(catalog, { "nano-banana-pro": { "4K": 2000 } }, basis))).toMatch(/nano-banana-pro at 4K is 2000/);
	});

	it("derives the Batch lane at half and refuses a batch price below Google's Batch rate", () => {
		const standard = buildPrices(catalog, {}, basis);
		const batch = buildBatchPrices(catalog, standard, {}, basis);
		expect(batch["nano-banana-pro"]).toEqual({ "1K": 672, "2K": 672, "4K": 1200 });
		expect(refusal(() => buildBatchPrices(catalog, standard, { batch: { "nano-banana-pro": 600 } } as PricesOverride, basis))).toMatch(
			/^batch\.nano-banana-pro at 1K is 600 credits, below the 672/,
		);
	});

	it("refuses an alias whose chain reaches a model with no rates", () => {
		const custom = Catalog.build({ "my-banana": { upstream: "gemini-9-image", aspect_ratios: ["1:1"] } });
		expect(refusal(() => buildPrices(custom, {}, basis))).toMatch(
			/my-banana can be served by gemini-9-image, which has no rates: add them to RATES/,
		);
	});
});
