import { describe, expect, it } from "vitest";
import { pricePerImage } from "../../src/billing/prices";
import { firstAvailable } from "../../src/catalog/availability";
import { Catalog, type ModelSpec } from "../../src/catalog/catalog";
import { lifecycleHeaders } from "../../src/catalog/headers";
import { configError, configOf } from "../helpers/config";

const catalog = Catalog.build();
const find = (id: string, c = catalog): ModelSpec => {
	const m = c.find(id);
	if (!m) throw new Error(`no ${id}`);
	return m;
};

describe("catalog", () => {
	it("sells the aliases of DESIGN.md section 2 (plus Nano Banana 2.1), each on a current upstream id", () => {
		expect(
			catalog.aliases().map((a) => [a.id, find(a.id).chain.join(" > "), a.aspectRatios.length, a.imageSizes.join(","), a.maxInputImages]),
		).toEqual([
			["nano-banana", "gemini-2.5-flash-image > gemini-3.1-flash-image > gemini-nano-banana-2.1", 10, "", 3],
			["nano-banana-2", "gemini-3.1-flash-image > gemini-nano-banana-2.1", 14, "512,1K,2K,4K", 14],
			["nano-banana-2.1", "gemini-nano-banana-2.1", 14, "1K,2K,4K", 14],
			["nano-banana-2-lite", "gemini-3.1-flash-lite-image", 10, "1K", 3],
			["nano-banana-pro", "gemini-3-pro-image", 10, "1K,2K,4K", 14],
			["nano-banana-hd", "gemini-3-pro-image", 10, "1K,2K,4K", 14],
		]);
		expect(find("nano-banana-hd").defaultImageSize).toBe("4K");
		// No alias starts at an id Google has shut down.
		for (const a of catalog.aliases()) expect(catalog.upstream(a.upstream)?.lifecycle.status).not.toBe("retired");
	});

	it("routes retired raw ids to their successors and marks them", () => {
		const flash = find("gemini-3.1-flash-image-preview");
		expect(flash.chain).toEqual(["gemini-3.1-flash-image", "gemini-nano-banana-2.1"]);
		expect(flash.lifecycle).toEqual({ status: "retired", deprecatedOn: "2026-05-28", sunsetOn: "2026-06-25" });
		expect(flash.replacement).toBe("gemini-3.1-flash-image");
		expect(flash.priceAs).toBe("nano-banana-2");
		expect(find("gemini-3-pro-image-preview").chain).toEqual(["gemini-3-pro-image"]);
		expect(find("gemini-3-pro-image-preview").priceAs).toBe("nano-banana-pro");
		expect(find("models/gemini-2.5-flash-image-preview").chain).toEqual([
			"gemini-2.5-flash-image",
			"gemini-3.1-flash-image",
			"gemini-nano-banana-2.1",
		]);
		expect(find("gemini-2.5-flash-image").lifecycle.status).toBe("deprecated");
		expect(find("gemini-3-pro-image").lifecycle.status).toBe("active");
		expect(find("gemini-3-pro-image").defaultImageSize).toBeUndefined();
		expect(catalog.find("dall-e-3")).toBeUndefined();
		expect(catalog.ids()).toContain("gemini-3.1-flash-image-preview");
	});

	it("skips ids known to be gone, and keeps the last one when all are", () => {
		const chain = ["a", "b", "c"];
		expect(firstAvailable(chain, new Set())).toBe(0);
		expect(firstAvailable(chain, new Set(["a"]))).toBe(1);
		expect(firstAvailable(chain, new Set(["a", "b", "c"]))).toBe(2);
		expect(firstAvailable(chain, new Set(["b"]), 1)).toBe(2);
	});

	it("writes Deprecation (RFC 9745), Sunset (RFC 8594) and Link headers", () => {
		expect(lifecycleHeaders(find("nano-banana-2"), "https://gw")).toEqual({});
		const h = lifecycleHeaders(find("gemini-3-pro-image-preview"), "https://gw");
		expect(h.deprecation).toBe(`@${Date.UTC(2026, 4, 28) / 1000}`);
		expect(h.sunset).toBe("Thu, 25 Jun 2026 00:00:00 GMT");
		expect(h.link).toContain('<https://gw/v1/models/gemini-3-pro-image>; rel="successor-version"');
		expect(h.link).toContain('rel="deprecation"');
		const deprecated = lifecycleHeaders(find("gemini-3.1-flash-image"), "https://gw");
		expect(deprecated.deprecation).toBe(`@${Date.UTC(2026, 9, 6) / 1000}`);
		expect(deprecated).not.toHaveProperty("sunset"); // Google announced no date
	});
});

describe("MODELS overrides", () => {
	it("renames an upstream id with the old chain kept as its fallback", () => {
		const c = Catalog.build({ "nano-banana-2": { upstream: "gemini-3.2-flash-image" } });
		expect(find("nano-banana-2", c).chain).toEqual(["gemini-3.2-flash-image", "gemini-3.1-flash-image", "gemini-nano-banana-2.1"]);
		expect(find("nano-banana-2", c).imageSizes).toEqual(["512", "1K", "2K", "4K"]);
		expect(find("gemini-3.2-flash-image", c).priceAs).toBe("nano-banana-2");
		const explicit = Catalog.build({ "nano-banana-2": { upstream: "gemini-3.2-flash-image", successors: [] } });
		expect(find("nano-banana-2", explicit).chain).toEqual(["gemini-3.2-flash-image"]);
	});

	it("adds an alias that inherits its upstream's capabilities and its sibling's prices", () => {
		const config = configOf({ MODELS: JSON.stringify({ poster: { upstream: "gemini-3-pro-image", default_image_size: "2K" } }) });
		const poster = find("poster", config.catalog);
		expect(poster.aspectRatios).toHaveLength(10);
		expect(poster.defaultImageSize).toBe("2K");
		expect(pricePerImage(config.prices, poster, undefined)).toBe(config.prices["nano-banana-pro"]["2K"]);
		expect(config.prices.poster).toEqual(config.prices["nano-banana-pro"]); // priced like the model it is served by
	});

	it("overrides any field, and can mark an alias deprecated", () => {
		const c = Catalog.build({
			"nano-banana": { max_input_images: 2, aspect_ratios: ["1:1"], deprecated: "2026-12-01", sunset: "2027-03-01" },
		});
		const m = find("nano-banana", c);
		expect([m.maxInputImages, m.aspectRatios]).toEqual([2, ["1:1"]]);
		expect(lifecycleHeaders(m, "https://gw").sunset).toBe("Mon, 01 Mar 2027 00:00:00 GMT");
	});

	it.each([
		["not JSON", "{nope", /MODELS: is not valid JSON/],
		["an unknown field", { "nano-banana": { upstrem: "x" } }, /MODELS: nano-banana: Unrecognized key/],
		["an empty upstream id", { "nano-banana": { upstream: "" } }, /MODELS: nano-banana.upstream: must not be empty/],
		[
			"a successor cycle",
			{ x: { upstream: "gemini-3-pro-image", successors: ["gemini-3.1-flash-image", "gemini-3-pro-image"] } },
			/successor cycle/,
		],
		["an unknown upstream without ratios", { x: { upstream: "gemini-9-image" } }, /give "aspect_ratios"/],
		["a new alias without upstream", { x: { aspect_ratios: ["1:1"] } }, /needs "upstream"/],
		["a default size it does not sell", { "nano-banana-2": { default_image_size: "4K", image_sizes: ["1K"] } }, /default_image_size 4K/],
		["a bad alias name", { "Big Model": { upstream: "gemini-3-pro-image" } }, /alias names/],
	])("refuses %s, naming MODELS", (_what, value, message) => {
		const e = configError({ MODELS: typeof value === "string" ? value : JSON.stringify(value) });
		expect(e.variable).toBe("MODELS");
		expect(e.message).toMatch(message);
		expect(e.status).toBe(500);
		expect(e.code).toBe("configuration_error");
	});
});

describe("configuration", () => {
	it("parses every setting once per env object, with defaults when unset", () => {
		const env = { GEMINI_DEADLINE_MS: "5000", ALLOW_HTTP_IMAGE_URLS: "true", RETENTION_DAYS: "0.5", PUBLIC_BASE_URL: "" };
		const a = configOf(env);
		expect([a.deadlineMs, a.allowHttpImageUrls, a.retentionDays, a.publicBaseUrl, a.maxRetries]).toEqual([5000, true, 0.5, undefined, 3]);
		expect(configOf(env)).toBe(a);
		expect(configOf({ GEMINI_DEADLINE_MS: 7000 }).deadlineMs).toBe(7000); // wrangler.toml may give numbers
	});

	it("applies PRICES and DEFAULT_LIMITS, as JSON text or objects", () => {
		const c = configOf({ PRICES: '{"nano-banana": 700, "nano-banana-2": {"4K": 2000}}', DEFAULT_LIMITS: { requests_per_minute: 5 } });
		expect(c.prices["nano-banana"]).toEqual({ "1K": 700 });
		expect(c.prices["nano-banana-2"]).toEqual({ ...configOf({}).prices["nano-banana-2"], "4K": 2000 });
		expect(c.defaultLimits.requests_per_minute).toBe(5);
		expect(c.defaultLimits.concurrent_requests).toBe(8);
	});

	it("batch prices are half the standard ones (rounded up) unless PRICES.batch sets them", () => {
		const d = configOf({});
		expect(d.batchPrices["nano-banana"]).toEqual({ "1K": 336 });
		expect(d.batchPrices["nano-banana-pro"]).toEqual({ "1K": 672, "2K": 672, "4K": 1200 });
		const c = configOf({ PRICES: { "nano-banana": 701, batch: { "nano-banana-2": { "4K": 800 }, "nano-banana-hd": 1200 } } });
		expect(c.batchPrices["nano-banana"]).toEqual({ "1K": 351 }); // follows the standard override
		expect(c.batchPrices["nano-banana-2"]).toEqual({ "512": 225, "1K": 336, "2K": 505, "4K": 800 });
		expect(c.batchPrices["nano-banana-hd"]).toEqual({ "1K": 1200, "2K": 1200, "4K": 1200 });
		expect(c.prices["nano-banana-2"]).toEqual(d.prices["nano-banana-2"]); // batch prices leave the standard ones alone
	});

	it.each([
		[{ GEMINI_DEADLINE_MS: "soon" }, "GEMINI_DEADLINE_MS", /must be a number/],
		[{ GEMINI_DEADLINE_MS: "0" }, "GEMINI_DEADLINE_MS", /Too small/],
		[{ MAX_PROMPT_CHARS: "1.5" }, "MAX_PROMPT_CHARS", /must be a whole number/],
		[{ ALLOW_HTTP_IMAGE_URLS: "yes" }, "ALLOW_HTTP_IMAGE_URLS", /"true" or "false"/],
		[{ GEMINI_BASE_URL: "not a url" }, "GEMINI_BASE_URL", /URL/],
		[{ GEMINI_READ_MODE: "turbo" }, "GEMINI_READ_MODE", /Invalid option/],
		[{ RETENTION_DAYS: "-1" }, "RETENTION_DAYS", /Too small/],
		[{ USAGE_RETENTION_DAYS: "7" }, "USAGE_RETENTION_DAYS", /Too small/],
		[{ GEMINI_RETRY_BASE_MS: "9000" }, "GEMINI_RETRY_BASE_MS", /larger than GEMINI_RETRY_MAX_MS/],
		[{ PRICES: '{"nano-banana": 5' }, "PRICES", /not valid JSON/],
		[{ PRICES: '{"nano-bananna": 5}' }, "PRICES", /nano-bananna is not an alias/],
		[{ PRICES: '{"nano-banana": {"4K": 5}}' }, "PRICES", /not sold at 4K/],
		[{ PRICES: '{"nano-banana": -1}' }, "PRICES", /Too small/],
		[{ PRICES: '{"nano-banana": "5"}' }, "PRICES", /Invalid input/],
		[{ PRICES: '{"batch": {"nano-bananna": 5}}' }, "PRICES", /batch\.nano-bananna is not an alias/],
		[{ PRICES: '{"batch": {"nano-banana": {"2K": 5}}}' }, "PRICES", /batch\.nano-banana\.2K: nano-banana is not sold at 2K/],
		[{ PRICES: '{"batch": 5}' }, "PRICES", /batch/],
		[{ BATCH_MAX_INLINE_BYTES: "30000000" }, "BATCH_MAX_INLINE_BYTES", /Too big/],
		[{ DEFAULT_LIMITS: '{"requests_per_minute": "60"}' }, "DEFAULT_LIMITS", /requests_per_minute/],
		[{ DEFAULT_LIMITS: '{"per_hour": 6}' }, "DEFAULT_LIMITS", /Unrecognized key/],
		[
			{ MODELS: JSON.stringify({ extra: { upstream: "gemini-9-image", aspect_ratios: ["1:1"] } }) },
			"RATES",
			/extra can be served by gemini-9-image, which has no rates/,
		],
	])("refuses %o, naming %s, never falling back to defaults", (vars, variable, message) => {
		const e = configError(vars);
		expect(e.variable).toBe(variable);
		expect(e.message).toMatch(message);
		expect(e.message).toContain(variable);
	});
});

describe("default prices", () => {
	it("are Google's prices at the dearest model each alias reaches, plus MARGIN_PERCENT; a price below Google's is a configuration error", () => {
		const p = configOf({}).prices;
		expect(p["nano-banana"]["1K"]).toBe(672); // served by 3.1 Flash Image ($0.0672), not at 2.5's $0.039
		expect(p["nano-banana-2"]).toEqual({ "512": 450, "1K": 672, "2K": 1010, "4K": 1512 });
		expect(p["nano-banana-pro"]).toEqual({ "1K": 1344, "2K": 1344, "4K": 2400 });
		expect(configOf({ MARGIN_PERCENT: "50" }).prices["nano-banana-pro"]).toEqual({ "1K": 2016, "2K": 2016, "4K": 3600 });
		const e = configError({ PRICES: { "nano-banana": 390 } });
		expect(e.variable).toBe("PRICES");
		expect(e.message).toMatch(/nano-banana at 1K is 390 credits, below the 672 Google bills for it on gemini-3.1-flash-image/);
		expect(configError({ MARGIN_PERCENT: "-5" }).variable).toBe("MARGIN_PERCENT");
	});

	it("take the operator's RATES: a changed rate moves the derived prices, a bad one is named", () => {
		expect(configOf({ RATES: { "gemini-3-pro-image": { outputImage: 150 } } }).prices["nano-banana-pro"]["4K"]).toBe(3000);
		const bad = configError({ RATES: { "gemini-3-pro-image": { outputImage: -1 } } });
		expect([bad.variable, bad.message]).toEqual(["RATES", expect.stringMatching(/gemini-3-pro-image\.outputImage/)]);
		const unknown = configError({ MODELS: { "my-banana": { upstream: "gemini-9-image", aspect_ratios: ["1:1"] } } });
		expect([unknown.variable, unknown.message]).toEqual([
			"RATES",
			expect.stringMatching(/my-banana can be served by gemini-9-image, which has no rates/),
		]);
		const added = configOf({
			MODELS: { "my-banana": { upstream: "gemini-9-image", aspect_ratios: ["1:1"] } },
			RATES: {
				"gemini-9-image": {
					inputText: 1,
					inputImage: 1,
					outputImage: 50,
					outputText: 5,
					cachedInput: 0.1,
					imageTokens: { "1K": 1000 },
					inputImageTokens: 500,
					searchPer1000: 14,
				},
			},
		});
		expect(added.prices["my-banana"]).toEqual({ "1K": 500 });
	});
});
