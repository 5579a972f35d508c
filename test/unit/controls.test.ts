import { describe, expect, it } from "vitest";
import { applyControls, checkControls, checkSpend, controlledUse, crossesLowBalance, nativeFeatures } from "../../src/billing/controls";
import { Catalog } from "../../src/catalog/catalog";

const catalog = Catalog.build();
const model = (id: string) => {
	const m = catalog.find(id);
	if (!m) throw new Error(`no ${id}`);
	return m;
};

describe("key controls", () => {
	it("an alias in allowed_models allows the raw ids sold under it, a raw id only itself", () => {
		const alias = model("nano-banana-2");
		const raw = model(alias.chain[0]);
		expect(raw.kind).toBe("upstream");
		expect(checkControls({ allowed_models: ["nano-banana-2"] }, controlledUse(raw, "1K"))).toBeNull();
		expect(checkControls({ allowed_models: [raw.id] }, controlledUse(raw, "1K"))).toBeNull();
		expect(checkControls({ allowed_models: [raw.id] }, controlledUse(model("nano-banana-pro"), "1K"))?.control).toBe("allowed_models");
	});

	it("checks sizes (no size choice counts as 1K), features and the thinking ceiling", () => {
		const m = model("nano-banana");
		expect(checkControls({ allowed_image_sizes: ["1K"] }, controlledUse(m, null))).toBeNull();
		expect(checkControls({ allowed_image_sizes: ["2K"] }, controlledUse(m, null))?.control).toBe("allowed_image_sizes");
		const f = { allowed_features: { search: false, thinking: "low" as const, text_output: false } };
		expect(checkControls(f, controlledUse(m, null, { search: true }))?.control).toBe("allowed_features.search");
		expect(checkControls(f, controlledUse(m, null, { thinking: "low" }))).toBeNull();
		expect(checkControls(f, controlledUse(m, null, { thinking: "medium" }))?.control).toBe("allowed_features.thinking");
		expect(checkControls(f, controlledUse(m, null, { text_output: true }))?.control).toBe("allowed_features.text_output");
		expect(checkControls(f, controlledUse(m, null, { batch: true }))).toBeNull();
	});

	it("patches field by field: null and empty lists remove a restriction", () => {
		const c = applyControls({}, { allowed_models: ["nano-banana"], allowed_features: { search: false }, daily_spend_credits: 10 });
		expect(c).toEqual({ allowed_models: ["nano-banana"], allowed_features: { search: false }, daily_spend_credits: 10 });
		expect(applyControls(c, { allowed_models: [], allowed_features: { search: null }, monthly_spend_credits: 50 })).toEqual({
			daily_spend_credits: 10,
			monthly_spend_credits: 50,
		});
		expect(c.allowed_models).toEqual(["nano-banana"]); // the stored value is not changed in place
	});

	it("caps count charged and held credits plus the request's hold", () => {
		const c = { daily_spend_credits: 10, monthly_spend_credits: 100 };
		expect(checkSpend(c, { charged: 5, held: 0 }, { charged: 5, held: 0 }, 5)).toBeNull();
		expect(checkSpend(c, { charged: 5, held: 1 }, { charged: 5, held: 1 }, 5)).toMatchObject({ limit: "daily_spend_credits", spent: 6 });
		expect(checkSpend(c, { charged: 0, held: 0 }, { charged: 96, held: 0 }, 5)?.limit).toBe("monthly_spend_credits");
	});

	it("a low balance is crossed only going from at-or-above to below, with a URL set", () => {
		const c = { low_balance_threshold: 10, low_balance_webhook_url: "https://x.example/h" };
		expect(crossesLowBalance(c, 10, 9)).toBe(true);
		expect(crossesLowBalance(c, 9, 5)).toBe(false);
		expect(crossesLowBalance(c, 12, 10)).toBe(false);
		expect(crossesLowBalance({ low_balance_threshold: 10 }, 10, 9)).toBe(false);
	});

	it("reads a native body's features in camelCase and snake_case", () => {
		expect(nativeFeatures({ contents: [] })).toEqual({});
		expect(
			nativeFeatures({
				tools: [{ googleSearch: {} }],
				generationConfig: { thinkingConfig: { thinkingLevel: "HIGH" }, responseModalities: ["TEXT"] },
			}),
		).toEqual({ search: true, thinking: "high", text_output: true });
		expect(
			nativeFeatures({
				tools: [{ google_search: {} }],
				generation_config: { thinking_config: { thinking_level: "low" }, response_modalities: ["TEXT", "IMAGE"] },
			}),
		).toEqual({ search: true, thinking: "low" });
	});
});
