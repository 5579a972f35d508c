import { GOOGLE_RATES, type GoogleRates } from "../../src/catalog/rates.ts";

/** The PRICES the test Worker runs with (credits per image), shared by config and tests. */
export const TEST_PRICES = {
	"nano-banana": 5,
	"nano-banana-2": { "512": 5, "1K": 7, "2K": 10, "4K": 16 },
	"nano-banana-2.1": { "1K": 4, "2K": 6, "4K": 12 },
	"nano-banana-2-lite": 3,
	"nano-banana-pro": { "1K": 14, "2K": 14, "4K": 24 },
	"nano-banana-hd": { "1K": 14, "2K": 14, "4K": 24 },
} as const;

/**
 * The RATES the test Worker runs with: Google's, in US dollars divided by 200, so the small
 * round TEST_PRICES above are at or above what "Google" bills (a price below cost is a
 * configuration error) and the tests' arithmetic stays readable: an image is charged its
 * price, as its token cost is below it. The meter at Google's real rates is tested against a
 * gateway process started with the defaults (test/node/meter.test.ts).
 */
export const TEST_RATE_SCALE = 1 / 1000;

const scaleSizes = (sizes: GoogleRates["listPerImage"]) =>
	Object.fromEntries(Object.entries(sizes).map(([size, usd]) => [size, (usd ?? 0) * TEST_RATE_SCALE]));

export const TEST_RATES = Object.fromEntries(
	Object.entries(GOOGLE_RATES).map(([id, r]) => [
		id,
		{
			inputText: r.inputText * TEST_RATE_SCALE,
			inputImage: r.inputImage * TEST_RATE_SCALE,
			outputImage: r.outputImage * TEST_RATE_SCALE,
			outputText: r.outputText * TEST_RATE_SCALE,
			cachedInput: r.cachedInput * TEST_RATE_SCALE,
			listPerImage: scaleSizes(r.listPerImage),
			searchPer1000: r.searchPer1000 * TEST_RATE_SCALE,
			source: "tests: Google's rates / 1000",
		},
	]),
);
