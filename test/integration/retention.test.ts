// Own file: retention deletes every old image in this file's (isolated) bucket.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { auth, call, createKey, expectError, postJson, uniquePrompt } from "../helpers/http";

describe("retention", () => {
	it("deletes generated images older than RETENTION_DAYS; their URLs then answer 404", async () => {
		const k = await createKey();
		const res = await postJson("/v1/images/generations", { prompt: uniquePrompt("short-lived"), n: 2 }, auth(k.key));
		const urls = (await res.json<{ data: Array<{ url: string }> }>()).data.map((d) => new URL(d.url).pathname);
		for (const u of urls) expect((await call(u)).status).toBe(200);
		// A trigger at the next five-minute mark with a retention of about 0.9 s.
		const at = new Date(Math.ceil((Date.now() + 1_000) / 300_000) * 300_000);
		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "* * * * *" }), { ...env, RETENTION_DAYS: "0.00001" }, ctx);
		await waitOnExecutionContext(ctx);
		for (const u of urls) await expectError(await call(u), 404, "not_found");
	});

	it("keeps images when no retention is configured", async () => {
		const k = await createKey();
		const res = await postJson("/v1/images/generations", { prompt: uniquePrompt("kept") }, auth(k.key));
		const url = new URL((await res.json<{ data: Array<{ url: string }> }>()).data[0].url).pathname;
		const ctx = createExecutionContext();
		await worker.scheduled(
			createScheduledController({ scheduledTime: new Date(Math.ceil(Date.now() / 300_000) * 300_000 + 300_000), cron: "* * * * *" }),
			env,
			ctx,
		);
		await waitOnExecutionContext(ctx);
		expect((await call(url)).status).toBe(200);
	});
});
