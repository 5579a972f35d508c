// The meter through the HTTP surface, at the tests' rates (Google's / 1,000, so an image is
// charged its price): Google's bill recorded beside every charge, refused answers absorbed
// by default, the operator's report, the published rules, and what customers do not see.
// At Google's own rates against the emulator's bill: test/node/meter.test.ts.
import { describe, expect, it } from "vitest";
import { ADMIN, auth, call, createKey, flushUsage, postJson, uniquePrompt, usageRows } from "../helpers/http";

const GEN = "/v1/images/generations";

describe("the meter", () => {
	it("records Google's bill for a refused answer, and charges nothing for it by default (CHARGE_REFUSED off)", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const res = await postJson(GEN, { model: "nano-banana-pro", prompt: uniquePrompt("refused", "finish=IMAGE_SAFETY") }, auth(k.key));
		expect(res.status).toBe(422);
		expect(res.headers.get("x-credits-charged")).toBe("0");
		await flushUsage(k.key);
		const [row] = await usageRows(k.id);
		expect(row.credits_charged).toBe(0);
		// Google billed the prompt and the thinking of a call that made no image: the operator's cost, recorded.
		expect(row.google_cost).toBeGreaterThan(0);
		expect(JSON.parse(row.metered).cost).toEqual({ delivered: 0, refused: row.google_cost, faulted: 0 });
	});

	it("shows the operator Google's bill beside the charge, per key, model and day; customers see neither", async () => {
		const k = await createKey(undefined, { credits: 1_000 });
		for (const model of ["nano-banana-2", "nano-banana-pro"]) {
			expect((await postJson(GEN, { model, prompt: uniquePrompt(`report ${model}`) }, auth(k.key))).status).toBe(200);
		}
		await flushUsage(k.key);
		const rows = await usageRows(k.id);
		const billed = rows.reduce((sum, r) => sum + r.google_cost, 0);
		const report = await (await call(`/admin/usage?key_id=${k.id}`, { headers: ADMIN })).json<{
			total: { credits: number; google_cost: number };
			by_model: Array<{ model: string; credits: number; google_cost: number }>;
			by_key: Array<{ key_id: string; google_cost: number }>;
			by_day: Array<{ google_cost: number }>;
		}>();
		expect(report.total.credits).toBe(7 + 14);
		expect(report.total.google_cost).toBeCloseTo(billed, 2);
		expect(report.total.google_cost).toBeLessThan(report.total.credits);
		expect(report.by_model.map((m) => m.model)).toEqual(["nano-banana-2", "nano-banana-pro"]);
		expect(report.by_model.every((m) => m.google_cost > 0 && m.google_cost < m.credits)).toBe(true);
		expect(report.by_key).toEqual([expect.objectContaining({ key_id: k.id, google_cost: report.total.google_cost })]);

		const mine = await (await call("/v1/usage", { headers: auth(k.key) })).json<{
			data: Array<Record<string, unknown>>;
			aggregates: { by_model: Array<Record<string, unknown>> };
		}>();
		expect(mine.data).toHaveLength(2);
		for (const r of mine.data) expect(Object.keys(r)).not.toEqual(expect.arrayContaining(["google_cost"]));
		expect(JSON.stringify(mine)).not.toMatch(/google_cost|"metered"|upstreams/);
	});

	it("publishes the value of a credit and the charge rule", async () => {
		const pricing = await (await call("/v1/pricing")).json<{ credit_usd: number; rules: Record<string, unknown> }>();
		expect(pricing.credit_usd).toBe(0.0001);
		expect(pricing.rules).toMatchObject({ margin_percent: 0, refused_answers: expect.stringMatching(/costs nothing/) });
	});
});
