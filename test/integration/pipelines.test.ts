import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { auth, balanceOf, call, createKey, emulatorCalls, expectError, postJson } from "../helpers/http";
import { waitForJob } from "../helpers/jobs";

interface Pipeline {
	id: string;
	next_run_at: string;
	runs: number;
	enabled: boolean;
}
interface Run {
	id: string;
	slot: string;
	status: string;
	prompt: string;
	job_id: string;
	images: string[];
	credits_charged: number;
	reason: string | null;
}

async function fireCron(at: Date, overrides: Partial<Env> = {}): Promise<void> {
	const ctx = createExecutionContext();
	await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "* * * * *" }), { ...env, ...overrides }, ctx);
	await waitOnExecutionContext(ctx);
}

async function runsOf(key: string, id: string): Promise<Run[]> {
	return (await (await call(`/v1/pipelines/${id}/runs`, { headers: auth(key) })).json<{ data: Run[] }>()).data;
}

const base = {
	name: "daily cover",
	schedule: "0 9 * * *",
	prompt_template: "Cover for {{date}}, a {{weekday}}: {{topic}} [emu:x]",
	variables: { topic: ["bananas", "kiwis"] },
	model: "nano-banana-2",
	aspect_ratio: "16:9",
	image_size: "1K",
	n: 2,
	output_prefix: "covers/daily",
};

describe("content pipelines", () => {
	it("a due slot runs exactly once even when the trigger fires twice, billed to the owner", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const created = await postJson("/v1/pipelines", base, auth(k.key));
		expect(created.status).toBe(201);
		const p = await created.json<Pipeline>();
		const slot = new Date(p.next_run_at);
		expect(slot.getUTCHours()).toBe(9);
		await fireCron(slot);
		await fireCron(slot); // the same slot again
		let runs = await runsOf(k.key, p.id);
		expect(runs).toHaveLength(1);
		const job = await waitForJob(k.key, runs[0].job_id);
		expect(job.status).toBe("SUCCEEDED");
		runs = await runsOf(k.key, p.id);
		const weekday = slot.toLocaleDateString("en-US", { weekday: "long", timeZone: "UTC" });
		expect(runs[0]).toMatchObject({
			status: "succeeded",
			slot: slot.toISOString(),
			credits_charged: 14,
			prompt: `Cover for ${slot.toISOString().slice(0, 10)}, a ${weekday}: bananas [emu:x]`,
		});
		expect(runs[0].images).toHaveLength(2);
		for (const url of runs[0].images) expect(new URL(url).pathname).toContain(`/generated/nano-banana-2/${k.id}/covers/daily/`);
		expect(await balanceOf(k.key)).toBe(86);
		expect(await emulatorCalls(runs[0].prompt)).toHaveLength(2);

		const after = await (await call(`/v1/pipelines/${p.id}`, { headers: auth(k.key) })).json<Pipeline>();
		expect(after.runs).toBe(1);
		expect(new Date(after.next_run_at).getTime()).toBe(slot.getTime() + 86_400_000);
		await fireCron(new Date(after.next_run_at)); // the next day: the list rotates
		const next = (await runsOf(k.key, p.id)).find((r) => r.slot === after.next_run_at);
		expect(next?.prompt).toContain(": kiwis");
	});

	it("a run that cannot be paid for is recorded as skipped with the reason", async () => {
		const k = await createKey(undefined, { credits: 3 });
		const p = await (await postJson("/v1/pipelines", { ...base, n: 1 }, auth(k.key))).json<Pipeline>();
		await fireCron(new Date(p.next_run_at));
		const [run] = await runsOf(k.key, p.id);
		await waitForJob(k.key, run.job_id);
		const [done] = await runsOf(k.key, p.id);
		expect(done).toMatchObject({ status: "skipped", reason: "insufficient_credits", credits_charged: 0 });
		expect(await balanceOf(k.key)).toBe(3);
	});

	it("disabled pipelines do not run; PATCH re-enables and DELETE removes", async () => {
		const k = await createKey();
		const p = await (await postJson("/v1/pipelines", { ...base, enabled: false }, auth(k.key))).json<Pipeline>();
		expect(p.next_run_at).toBeNull();
		const patched = await (
			await call(`/v1/pipelines/${p.id}`, {
				method: "PATCH",
				headers: { ...auth(k.key), "content-type": "application/json" },
				body: JSON.stringify({ enabled: true, schedule: "30 6 * * 1" }),
			})
		).json<Pipeline & { schedule: string }>();
		expect(patched.enabled).toBe(true);
		expect(new Date(patched.next_run_at).getUTCDay()).toBe(1);
		const other = await createKey();
		await expectError(await call(`/v1/pipelines/${p.id}`, { headers: auth(other.key) }), 404, "not_found");
		expect((await call(`/v1/pipelines/${p.id}`, { method: "DELETE", headers: auth(k.key) })).status).toBe(200);
		await expectError(await call(`/v1/pipelines/${p.id}`, { headers: auth(k.key) }), 404, "not_found");
	});

	it.each([
		[{ schedule: "61 9 * * *" }, "schedule", "invalid_schedule"],
		[{ schedule: "*/5 * * * *" }, "schedule", "schedule_too_frequent"],
		[{ prompt_template: "{{date}} {{mood}}" }, "prompt_template", "unknown_template_variable"],
		// Prototype names are not variables: a plain `in` would have found Object.prototype's.
		[{ prompt_template: "{{constructor}} at {{toString}}" }, "prompt_template", "unknown_template_variable"],
		[{ webhook_url: "http://hooks.example.com/x" }, "webhook_url", "invalid_url"],
		[{ reference_images: ["https://127.0.0.1/a.png"] }, "reference_images[0]", "invalid_url"],
		[{ aspect_ratio: "3:1" }, "aspect_ratio", "invalid_parameter"],
		[{ n: 10 }, "n", "invalid_parameter"],
		[{ n: 6 }, "n", "exceeds_key_limits"],
		[{ output_prefix: "../escape" }, "output_prefix", "invalid_parameter"],
	])("refuses %j naming %s, storing nothing", async (patch, param, code) => {
		const k = await createKey(undefined, {
			limits: { images_per_day: 5, requests_per_minute: 1000, concurrent_requests: 100, images_per_month: 1000 },
		});
		const err = await expectError(await postJson("/v1/pipelines", { ...base, ...patch }, auth(k.key)), 400, code);
		expect(err.param).toBe(param);
		expect((await (await call("/v1/pipelines", { headers: auth(k.key) })).json<{ data: unknown[] }>()).data).toEqual([]);
	});

	it("a template that renders past MAX_PROMPT_CHARS is a 400 naming prompt_template, on create and on update", async () => {
		const k = await createKey();
		// 8,000 characters is the default cap; the template itself is short, one rotating value is long.
		const long = { ...base, prompt_template: "Cover: {{topic}} on {{weekday}}", variables: { topic: ["short", "x".repeat(7_990)] } };
		const err = await expectError(await postJson("/v1/pipelines", long, auth(k.key)), 400, "prompt_too_long");
		expect(err.param).toBe("prompt_template");
		expect((await (await call("/v1/pipelines", { headers: auth(k.key) })).json<{ data: unknown[] }>()).data).toEqual([]);
		const p = await (await postJson("/v1/pipelines", base, auth(k.key))).json<Pipeline>();
		const patch = await call(`/v1/pipelines/${p.id}`, {
			method: "PATCH",
			headers: { ...auth(k.key), "content-type": "application/json" },
			body: JSON.stringify({ variables: { topic: "y".repeat(8_000) } }),
		});
		expect((await expectError(patch, 400, "prompt_too_long")).param).toBe("prompt_template");
	});
});
