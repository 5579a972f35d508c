// Pipelines in the owner's time zone (issue 28): slots computed in an IANA zone with daylight
// saving, `next_runs` and the schedule preview, and run now (billed, idempotent per slot).
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { auth, balanceOf, call, createKey, expectError, postJson } from "../helpers/http";
import { waitForJob } from "../helpers/jobs";

interface Pipeline {
	id: string;
	timezone: string;
	next_run_at: string | null;
	next_runs: string[];
	runs: number;
}
interface Run {
	id: string;
	slot: string;
	status: string;
	prompt: string;
	job_id: string;
	images: string[];
	credits_charged: number;
}

async function fireCron(at: Date): Promise<void> {
	const ctx = createExecutionContext();
	await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "* * * * *" }), env, ctx);
	await waitOnExecutionContext(ctx);
}
const runsOf = async (key: string, id: string) =>
	(await (await call(`/v1/pipelines/${id}/runs`, { headers: auth(key) })).json<{ data: Run[] }>()).data;
const get = async (key: string, id: string) => (await call(`/v1/pipelines/${id}`, { headers: auth(key) })).json<Pipeline>();
const patch = (key: string, id: string, body: unknown) =>
	call(`/v1/pipelines/${id}`, {
		method: "PATCH",
		headers: { ...auth(key), "content-type": "application/json" },
		body: JSON.stringify(body),
	});
/** Moves the slot pointer as if the pipeline had been waiting for `at` (the clock cannot be set). */
const pointAt = (id: string, at: string) => env.DB.prepare("UPDATE pipelines SET next_run_at = ? WHERE id = ?").bind(at, id).run();

const base = { name: "berlin", schedule: "0 9 * * *", prompt_template: "{{date}} {{weekday}} [emu:x]", model: "nano-banana", n: 1 };

describe("pipelines in a time zone", () => {
	it("a daily 09:00 Europe/Berlin pipeline fires at 08:00 UTC in winter and 07:00 UTC in summer", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const res = await postJson("/v1/pipelines", { ...base, timezone: "Europe/Berlin" }, auth(k.key));
		expect(res.status).toBe(201);
		const p = await res.json<Pipeline>();
		expect(p.timezone).toBe("Europe/Berlin");
		expect(p.next_runs).toHaveLength(5);
		for (const r of p.next_runs) {
			const local = new Date(r).toLocaleTimeString("en-GB", { timeZone: "Europe/Berlin", hour: "2-digit", minute: "2-digit" });
			expect(local).toBe("09:00");
		}
		expect(p.next_runs[0]).toBe(p.next_run_at);

		await pointAt(p.id, "2027-01-15T08:00:00.000Z");
		await fireCron(new Date("2027-01-15T08:00:00Z"));
		expect((await get(k.key, p.id)).next_run_at).toBe("2027-01-16T08:00:00.000Z");
		await pointAt(p.id, "2027-07-15T07:00:00.000Z");
		await fireCron(new Date("2027-07-15T07:00:00Z"));
		expect((await get(k.key, p.id)).next_run_at).toBe("2027-07-16T07:00:00.000Z");
		const slots = (await runsOf(k.key, p.id)).map((r) => r.slot).sort();
		expect(slots).toEqual(["2027-01-15T08:00:00.000Z", "2027-07-15T07:00:00.000Z"]);
	});

	it("a local time in the spring-forward gap and in the autumn overlap fires once", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const p = await (
			await postJson("/v1/pipelines", { ...base, schedule: "30 2 * * *", timezone: "Europe/Berlin" }, auth(k.key))
		).json<Pipeline>();
		// 2027-03-28: 02:00-03:00 does not exist in Berlin; the run moves to the first minute after.
		await pointAt(p.id, "2027-03-27T01:30:00.000Z");
		await fireCron(new Date("2027-03-27T01:30:00Z"));
		expect((await get(k.key, p.id)).next_run_at).toBe("2027-03-28T01:00:00.000Z");
		await fireCron(new Date("2027-03-28T01:00:00Z"));
		expect((await get(k.key, p.id)).next_run_at).toBe("2027-03-29T00:30:00.000Z");
		// 2027-10-31: 02:30 happens twice (CEST, then CET); only the first is a slot.
		await pointAt(p.id, "2027-10-31T00:30:00.000Z");
		await fireCron(new Date("2027-10-31T00:30:00Z"));
		expect((await get(k.key, p.id)).next_run_at).toBe("2027-11-01T01:30:00.000Z");
		await fireCron(new Date("2027-10-31T01:30:00Z")); // the second 02:30: nothing due
		const slots = (await runsOf(k.key, p.id)).map((r) => r.slot).sort();
		expect(slots).toEqual(["2027-03-27T01:30:00.000Z", "2027-03-28T01:00:00.000Z", "2027-10-31T00:30:00.000Z"]);
	});

	it("{{date}} and {{weekday}} are the slot's day in the pipeline's zone", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const p = await (
			await postJson("/v1/pipelines", { ...base, schedule: "30 0 * * *", timezone: "Asia/Tokyo" }, auth(k.key))
		).json<Pipeline>();
		await pointAt(p.id, "2027-02-02T15:30:00.000Z"); // 00:30 on Wednesday 3 February in Tokyo
		await fireCron(new Date("2027-02-02T15:30:00Z"));
		const [run] = await runsOf(k.key, p.id);
		expect(run.prompt).toBe("2027-02-03 Wednesday [emu:x]");
	});

	it.each([["Mars/Olympus"], ["+01:00"], ["Europe/../etc"], [""]])(
		"refuses timezone %j on create, update and preview, storing nothing",
		async (tz) => {
			const k = await createKey();
			const err = await expectError(
				await postJson("/v1/pipelines", { ...base, timezone: tz }, auth(k.key)),
				400,
				tz === "" ? "invalid_parameter" : "invalid_timezone",
			);
			expect(err.param).toBe("timezone");
			expect((await (await call("/v1/pipelines", { headers: auth(k.key) })).json<{ data: unknown[] }>()).data).toEqual([]);
			const p = await (await postJson("/v1/pipelines", base, auth(k.key))).json<Pipeline>();
			expect(p.timezone).toBe("UTC");
			expect(
				(await expectError(await patch(k.key, p.id, { timezone: tz }), 400, tz === "" ? "invalid_parameter" : "invalid_timezone")).param,
			).toBe("timezone");
			expect((await get(k.key, p.id)).timezone).toBe("UTC");
			const q = new URLSearchParams({ schedule: "0 9 * * *", timezone: tz });
			const preview = await call(`/v1/pipelines/schedule?${q}`, { headers: auth(k.key) });
			expect((await expectError(preview, 400, tz === "" ? "invalid_parameter" : "invalid_timezone")).param).toBe("timezone");
		},
	);

	it("previews a schedule's next five runs in a zone, and refuses a bad schedule", async () => {
		const k = await createKey();
		const q = new URLSearchParams({ schedule: "15 18 * * 1-5", timezone: "America/New_York" });
		const res = await call(`/v1/pipelines/schedule?${q}`, { headers: auth(k.key) });
		expect(res.status).toBe(200);
		const body = await res.json<{ next_runs: string[]; timezone: string }>();
		expect(body.timezone).toBe("America/New_York");
		expect(body.next_runs).toHaveLength(5);
		for (const r of body.next_runs) {
			const d = new Date(r);
			expect(d.toLocaleTimeString("en-GB", { timeZone: "America/New_York", hour: "2-digit", minute: "2-digit" })).toBe("18:15");
			expect(["Sat", "Sun"]).not.toContain(d.toLocaleDateString("en-US", { timeZone: "America/New_York", weekday: "short" }));
		}
		const bad = await call(`/v1/pipelines/schedule?${new URLSearchParams({ schedule: "*/1 * * * *" })}`, { headers: auth(k.key) });
		expect((await expectError(bad, 400, "schedule_too_frequent")).param).toBe("schedule");
	});

	it("a paused pipeline has no next runs; resuming shows them again", async () => {
		const k = await createKey();
		const p = await (await postJson("/v1/pipelines", { ...base, timezone: "Europe/Berlin" }, auth(k.key))).json<Pipeline>();
		const paused = await (await patch(k.key, p.id, { enabled: false })).json<Pipeline>();
		expect(paused).toMatchObject({ next_run_at: null, next_runs: [] });
		const resumed = await (await patch(k.key, p.id, { enabled: true })).json<Pipeline>();
		expect(resumed.next_runs).toHaveLength(5);
	});
});

describe("run now", () => {
	it("queues one run for this minute, billed like a scheduled run, and a repeat answers the same run", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const p = await (await postJson("/v1/pipelines", { ...base, timezone: "Europe/Berlin" }, auth(k.key))).json<Pipeline>();
		const first = await call(`/v1/pipelines/${p.id}/run`, { method: "POST", headers: auth(k.key) });
		expect(first.status).toBe(202);
		const run = await first.json<Run & { object: string }>();
		expect(run.object).toBe("pipeline.run");
		expect(run.slot).toMatch(/:00\.000Z$/);
		const again = await call(`/v1/pipelines/${p.id}/run`, { method: "POST", headers: auth(k.key) });
		// The same minute gives the same run; across a minute boundary it is a second one.
		const sameMinute = again.status === 200;
		if (sameMinute) expect((await again.json<Run>()).id).toBe(run.id);
		else expect(again.status).toBe(202);
		const job = await waitForJob(k.key, run.job_id);
		expect(job.status).toBe("SUCCEEDED");
		const done = (await runsOf(k.key, p.id)).find((r) => r.id === run.id);
		expect(done?.status).toBe("succeeded");
		expect(done?.images).toHaveLength(1);
		expect(done?.credits_charged).toBeGreaterThan(0);
		if (sameMinute) {
			expect(await runsOf(k.key, p.id)).toHaveLength(1);
			expect(await balanceOf(k.key)).toBe(100 - (done?.credits_charged ?? 0));
		}
		const after = await get(k.key, p.id);
		expect(after.next_run_at).toBe(p.next_run_at); // the schedule is not moved
		expect(after.runs).toBeGreaterThanOrEqual(1);
	});

	it("runs a paused pipeline too, and another key's pipeline is a 404", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const p = await (await postJson("/v1/pipelines", { ...base, enabled: false }, auth(k.key))).json<Pipeline>();
		const other = await createKey();
		await expectError(await call(`/v1/pipelines/${p.id}/run`, { method: "POST", headers: auth(other.key) }), 404, "not_found");
		expect((await runsOf(k.key, p.id)).length).toBe(0);
		expect((await call(`/v1/pipelines/${p.id}/run`, { method: "POST", headers: auth(k.key) })).status).toBe(202);
		expect((await runsOf(k.key, p.id)).length).toBe(1);
	});
});
