import { describe, expect, it } from "vitest";
import { verify } from "../../src/jobs/webhooks";
import { auth, call, createKey, expectError, postJson, uniquePrompt } from "../helpers/http";
import { type Job, waitForJob } from "../helpers/jobs";
import { webhookReceiver } from "../helpers/webhooks";

describe("webhooks", () => {
	it("delivers the finished job signed the Standard Webhooks way, retrying after a 500", async () => {
		const k = await createKey();
		const { secret } = await (await call("/v1/account/webhook-secret", { headers: auth(k.key) })).json<{ secret: string }>();
		expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
		// The receiver: fails the first delivery, accepts the next, and records both.
		const deliveries = webhookReceiver("hooks.example.com");

		const res = await postJson(
			"/v1/images/generations",
			{ prompt: uniquePrompt("hooked"), async: true, webhook_url: "https://hooks.example.com/nbg" },
			auth(k.key),
		);
		const id = (await res.json<Job>()).id;
		const job = await waitForJob(k.key, id, (j) => j.webhook_status === "delivered");
		expect(job.status).toBe("SUCCEEDED");
		expect(deliveries.map((d) => d.status)).toEqual([500, 204]);
		const [first, second] = deliveries;
		expect(second.headers.get("webhook-id")).toBe(first.headers.get("webhook-id")); // same message, retried
		expect(await verify(secret, second.headers, second.body)).toBe(true);
		expect(await verify(secret, second.headers, `${second.body} `)).toBe(false);
		const payload = JSON.parse(second.body) as { type: string; data: Job };
		expect(payload.type).toBe("job.succeeded");
		expect(payload.data).toMatchObject({ id, status: "SUCCEEDED" });

		const rotated = await (await call("/v1/account/webhook-secret/rotate", { method: "POST", headers: auth(k.key) })).json<{
			secret: string;
		}>();
		expect(rotated.secret).not.toBe(secret);
		expect(await verify(rotated.secret, second.headers, second.body)).toBe(false);
	});

	it("refuses webhook URLs that are not public https, and webhooks on sync requests", async () => {
		const k = await createKey();
		for (const url of ["http://hooks.example.com/x", "https://10.0.0.7/x", "https://localhost/x"]) {
			expect(
				(
					await expectError(
						await postJson("/v1/images/generations", { prompt: "x", async: true, webhook_url: url }, auth(k.key)),
						400,
						"invalid_url",
					)
				).param,
			).toBe("webhook_url");
		}
		expect(
			(
				await expectError(
					await postJson("/v1/images/generations", { prompt: "x", webhook_url: "https://hooks.example.com/x" }, auth(k.key)),
					400,
					"invalid_parameter",
				)
			).param,
		).toBe("webhook_url");
		expect((await (await call("/v1/jobs", { headers: auth(k.key) })).json<{ data: unknown[] }>()).data).toEqual([]);
	});
});
