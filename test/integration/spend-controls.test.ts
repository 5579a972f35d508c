// Per-key spend controls through HTTP: allowed models, sizes and features, daily and monthly
// spend caps, and the signed low-balance webhook. Prices: nano-banana 5, nano-banana-2 1K 7,
// 2K 10 (test/node/prices.ts).
import { describe, expect, it } from "vitest";
import { verify } from "../../src/jobs/webhooks";
import {
	ADMIN,
	accountOf,
	auth,
	balanceOf,
	call,
	createKey,
	expectError,
	flushUsage,
	postJson,
	ROOMY_LIMITS,
	uniquePrompt,
	usageRows,
} from "../helpers/http";
import { webhookReceiver } from "../helpers/webhooks";

const GEN = "/v1/images/generations";

/** A key created with `controls`, and `credits`. */
async function keyWith(controls: Record<string, unknown>, credits = 1_000) {
	const res = await postJson("/admin/keys", { name: `spend-${crypto.randomUUID()}`, credits, limits: ROOMY_LIMITS, controls }, ADMIN);
	expect(res.status).toBe(201);
	return res.json<{ id: string; key: string; controls: Record<string, unknown> }>();
}

const patchKey = (id: string, body: unknown) =>
	call(`/admin/keys/${id}`, { method: "PATCH", headers: { ...ADMIN, "content-type": "application/json" }, body: JSON.stringify(body) });

/** Nothing held, and the balance is `credits`. */
async function expectNothingHeld(key: string, credits: number): Promise<void> {
	expect(await balanceOf(key)).toBe(credits);
	expect((await (await accountOf(key)).describe())?.reservedCredits).toBe(0);
}

describe("allowed models, sizes and features", () => {
	it("refuses with 403 not_allowed_for_key naming the control, holds nothing, and lets an allowed request through", async () => {
		const k = await keyWith({
			allowed_models: ["nano-banana-2"],
			allowed_image_sizes: ["512", "1K"],
			allowed_features: { batch: false, thinking: "low" },
		});
		const shown = await (await call("/v1/account", { headers: auth(k.key) })).json<{ controls: Record<string, unknown> }>();
		expect(shown.controls).toEqual({
			allowed_models: ["nano-banana-2"],
			allowed_image_sizes: ["512", "1K"],
			allowed_features: { search: true, thinking: "low", batch: false, text_output: true },
			daily_spend_credits: null,
			monthly_spend_credits: null,
			low_balance_threshold: null,
			low_balance_webhook_url: null,
		});

		const refused: Array<[Record<string, unknown>, string]> = [
			[{ model: "nano-banana" }, "allowed_models"],
			[{ model: "nano-banana-2", image_size: "2K" }, "allowed_image_sizes"],
			[{ model: "nano-banana-2", image_size: "1K", async: true, service_tier: "batch" }, "allowed_features.batch"],
		];
		for (const [body, control] of refused) {
			const err = await expectError(
				await postJson(GEN, { prompt: uniquePrompt("refused"), ...body }, auth(k.key)),
				403,
				"not_allowed_for_key",
			);
			expect(err.param).toBe(control);
			expect(err.type).toBe("permission_error");
		}
		// Gemini's own route: the thinking level its body asks for is checked against the key's ceiling.
		const native = await call("/v1beta/models/nano-banana-2:generateContent", {
			method: "POST",
			headers: { "content-type": "application/json", "x-goog-api-key": k.key },
			body: JSON.stringify({
				contents: [{ parts: [{ text: uniquePrompt("thinks hard") }] }],
				generationConfig: { thinkingConfig: { thinkingLevel: "HIGH" } },
			}),
		});
		expect(native.status).toBe(403);
		const nativeErr = await native.json<{
			error: { status: string; details: Array<{ reason?: string; metadata?: Record<string, string> }> };
		}>();
		expect(nativeErr.error.status).toBe("PERMISSION_DENIED");
		expect(JSON.stringify(nativeErr.error.details)).toContain("allowed_features.thinking");
		await expectNothingHeld(k.key, 1_000);
		const usage = (await (await call("/v1/account", { headers: auth(k.key) })).json<{ usage: { today: { requests: number } } }>()).usage;
		expect(usage.today.requests).toBe(0); // a refusal counts nothing

		const ok = await postJson(GEN, { model: "nano-banana-2", image_size: "1K", prompt: uniquePrompt("allowed") }, auth(k.key));
		expect(ok.status).toBe(200);
		expect(ok.headers.get("x-credits-charged")).toBe("7");
		const job = await postJson(GEN, { model: "nano-banana-2", prompt: uniquePrompt("allowed async"), async: true }, auth(k.key));
		expect(job.status).toBe(202);

		// The refusals are recorded as usage rows (as rate limits are), charged nothing.
		await flushUsage(k.key);
		const rows = await usageRows(k.id);
		expect(
			rows.filter((r) => r.error_code === "not_allowed_for_key").map((r) => [r.status, r.credits_reserved, r.credits_charged]),
		).toEqual([
			[403, 0, 0],
			[403, 0, 0],
			[403, 0, 0],
			[403, 0, 0],
		]);

		// Removing the restriction (null, or an empty list) lets every model through again.
		const patched = await patchKey(k.id, { controls: { allowed_models: [], allowed_features: { batch: null } } });
		expect(patched.status).toBe(200);
		const view = await patched.json<{ controls: { allowed_models: unknown; allowed_features: Record<string, unknown> } }>();
		expect(view.controls.allowed_models).toBeNull();
		expect(view.controls.allowed_features).toEqual({ search: true, thinking: "low", batch: true, text_output: true });
		expect((await postJson(GEN, { model: "nano-banana", prompt: uniquePrompt("now allowed") }, auth(k.key))).status).toBe(200);
	});
});

describe("spend caps", () => {
	it("counts charged credits across requests and refuses the one that would pass the daily cap with 429 naming it", async () => {
		const k = await keyWith({ daily_spend_credits: 12 });
		for (let i = 0; i < 2; i++) {
			const ok = await postJson(GEN, { prompt: uniquePrompt(`capped ${i}`) }, auth(k.key));
			expect(ok.status).toBe(200);
			expect(ok.headers.get("x-credits-charged")).toBe("5");
		}
		// A failed request is charged nothing, so it spends nothing of the cap.
		const failed = await postJson(GEN, { prompt: uniquePrompt("capped fail", "fail=400") }, auth(k.key));
		expect(failed.status).toBeGreaterThanOrEqual(400);
		await expectNothingHeld(k.key, 990);

		const over = await postJson(GEN, { prompt: uniquePrompt("capped over") }, auth(k.key));
		const retryAfter = Number(over.headers.get("retry-after"));
		const err = await expectError(over, 429, "spend_limit_exceeded");
		expect(err.param).toBe("daily_spend_credits");
		expect(err.type).toBe("insufficient_quota");
		expect(err.message).toContain("10 charged or held");
		expect(retryAfter).toBeGreaterThan(0);
		expect(retryAfter).toBeLessThanOrEqual(86_400);
		await expectNothingHeld(k.key, 990);

		// n = 2 holds 10: refused even though one image would fit (the hold is the worst case).
		await patchKey(k.id, { controls: { daily_spend_credits: 19 } });
		expect((await postJson(GEN, { prompt: uniquePrompt("capped n2"), n: 2 }, auth(k.key))).status).toBe(429);
		expect((await postJson(GEN, { prompt: uniquePrompt("capped fits") }, auth(k.key))).status).toBe(200);

		// Lifting the cap (null) lets it spend again.
		await patchKey(k.id, { controls: { daily_spend_credits: null } });
		expect((await postJson(GEN, { prompt: uniquePrompt("uncapped") }, auth(k.key))).status).toBe(200);
	});

	it("refuses past the monthly cap, counting credits held by requests in flight", async () => {
		const k = await keyWith({ monthly_spend_credits: 9 });
		const [slow, second] = await Promise.all([
			postJson(GEN, { prompt: uniquePrompt("monthly slow", "delay=300") }, auth(k.key)),
			new Promise((r) => setTimeout(r, 100)).then(() => postJson(GEN, { prompt: uniquePrompt("monthly second") }, auth(k.key))),
		]);
		expect(slow.status).toBe(200);
		expect((await expectError(second, 429, "spend_limit_exceeded")).param).toBe("monthly_spend_credits");
		await expectNothingHeld(k.key, 995);
	});
});

describe("low-balance webhook", () => {
	it("sends one signed key.balance_low per crossing, re-armed when the balance goes back above, retried after a failure", async () => {
		const deliveries = webhookReceiver("balance-hooks.example.com");
		const k = await keyWith({ low_balance_threshold: 12, low_balance_webhook_url: "https://balance-hooks.example.com/low" }, 20);
		const { secret } = await (await call("/v1/account/webhook-secret", { headers: auth(k.key) })).json<{ secret: string }>();
		const spend = async (tag: string) => {
			const res = await postJson(GEN, { prompt: uniquePrompt(tag) }, auth(k.key));
			expect(res.status).toBe(200);
			await (await accountOf(k.key)).maintain(); // hands pending events to the queue now
		};
		const until = async (n: number) => {
			for (let i = 0; i < 200 && deliveries.filter((d) => d.status === 204).length < n; i++) await new Promise((r) => setTimeout(r, 50));
			expect(deliveries.filter((d) => d.status === 204)).toHaveLength(n);
		};

		await spend("low 1"); // 20 -> 15: above
		await spend("low 2"); // 15 -> 10: crosses
		await spend("low 3"); // 10 -> 5: already below, no new event
		await until(1);
		expect(deliveries.map((d) => d.status)).toEqual([500, 204]);
		const [first, second] = deliveries;
		expect(second.headers.get("webhook-id")).toBe(first.headers.get("webhook-id"));
		expect(await verify(secret, second.headers, second.body)).toBe(true);
		expect(JSON.parse(second.body)).toMatchObject({
			type: "key.balance_low",
			data: { key_id: k.id, credits: 10, reserved_credits: 0, low_balance_threshold: 12 },
		});

		// A grant back above re-arms it; an adjustment below fires it again, once.
		const grant = (amount: number) => postJson(`/admin/keys/${k.id}/credits`, { amount, reason: "test" }, ADMIN);
		expect((await grant(15)).status).toBe(200); // 5 -> 20
		expect((await grant(-9)).status).toBe(200); // 20 -> 11: crosses
		await (await accountOf(k.key)).maintain();
		await until(2);
		const third = deliveries[2];
		expect(third.headers.get("webhook-id")).not.toBe(first.headers.get("webhook-id"));
		expect(await verify(secret, third.headers, third.body)).toBe(true);
		expect(JSON.parse(third.body)).toMatchObject({ type: "key.balance_low", data: { credits: 11 } });
		await new Promise((r) => setTimeout(r, 300));
		expect(deliveries).toHaveLength(3);
	});
});

describe("PATCH /admin/keys/{id} controls", () => {
	it("answers 400 naming the field for each invalid control, and changes nothing", async () => {
		const k = await createKey();
		const cases: Array<[Record<string, unknown>, string, string]> = [
			[{ allowed_models: ["no-such-model"] }, "model_not_found", "controls.allowed_models.0"],
			[{ allowed_image_sizes: ["3K"] }, "invalid_parameter", "controls.allowed_image_sizes.0"],
			[{ allowed_features: { thinking: "max" } }, "invalid_parameter", "controls.allowed_features.thinking"],
			[{ allowed_features: { search: "yes" } }, "invalid_parameter", "controls.allowed_features.search"],
			[{ daily_spend_credits: -1 }, "invalid_parameter", "controls.daily_spend_credits"],
			[{ monthly_spend_credits: 1.5 }, "invalid_parameter", "controls.monthly_spend_credits"],
			[{ low_balance_threshold: "10" }, "invalid_parameter", "controls.low_balance_threshold"],
			[{ low_balance_webhook_url: "https://10.0.0.7/hook" }, "invalid_url", "controls.low_balance_webhook_url"],
			[{ low_balance_webhook_url: "not a url" }, "invalid_url", "controls.low_balance_webhook_url"],
		];
		for (const [controls, code, param] of cases) {
			const err = await expectError(await patchKey(k.id, { controls }), 400, code);
			expect(err.param).toBe(param);
		}
		const view = await (await call(`/admin/keys/${k.id}`, { headers: ADMIN })).json<{ controls: Record<string, unknown> }>();
		expect(view.controls).toMatchObject({ allowed_models: null, allowed_image_sizes: null, daily_spend_credits: null });
		// The same rules on creation.
		const created = await postJson("/admin/keys", { name: "bad", controls: { allowed_models: ["nope"] } }, ADMIN);
		expect((await expectError(created, 400, "model_not_found")).param).toBe("controls.allowed_models.0");
	});
});
