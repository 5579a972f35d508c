// GET /v1/usage carries each request's prompt (its first 1,000 characters), so the console's
// gallery can say what each image was asked for; the rest of the row's shape is unchanged.
import { describe, expect, it } from "vitest";
import { auth, call, createKey, flushUsage, postJson, uniquePrompt } from "../helpers/http";

interface Row {
	request_id: string;
	prompt: string | null;
	images_delivered: number;
	credits_charged: number;
	image_urls: string[];
}

describe("GET /v1/usage: the prompt of each request", () => {
	it("lists the prompt beside the images it made, cut to 1,000 characters", async () => {
		const k = await createKey(undefined, { credits: 100_000 });
		const short = uniquePrompt("a banana in a gallery");
		const long = `${uniquePrompt("a very long banana")} ${"and more detail ".repeat(100)}`;
		const a = await postJson("/v1/images/generations", { prompt: short, n: 2 }, auth(k.key));
		const b = await postJson("/v1/images/generations", { prompt: long }, auth(k.key));
		expect([a.status, b.status]).toEqual([200, 200]);
		await flushUsage(k.key);
		const page = await (await call("/v1/usage", { headers: auth(k.key) })).json<{ data: Row[] }>();
		const byId = new Map(page.data.map((r) => [r.request_id, r]));
		const rowA = byId.get(a.headers.get("x-request-id") ?? "");
		const rowB = byId.get(b.headers.get("x-request-id") ?? "");
		expect(rowA).toMatchObject({ prompt: short, images_delivered: 2 });
		expect(rowA?.image_urls).toHaveLength(2);
		expect(rowB?.prompt).toBe(long.trim().slice(0, 1000));
	});

	it("keeps the prompt of an async job's row too", async () => {
		const k = await createKey(undefined, { credits: 100_000 });
		const prompt = uniquePrompt("a queued banana for the gallery");
		const res = await postJson("/v1/images/generations", { prompt, async: true }, auth(k.key));
		expect(res.status).toBe(202);
		const job = await res.json<{ id: string }>();
		let status = "";
		for (let i = 0; i < 100 && status !== "SUCCEEDED"; i++) {
			await new Promise((r) => setTimeout(r, 100));
			status = (await (await call(`/v1/jobs/${job.id}`, { headers: auth(k.key) })).json<{ status: string }>()).status;
		}
		expect(status).toBe("SUCCEEDED");
		await flushUsage(k.key);
		const page = await (await call("/v1/usage", { headers: auth(k.key) })).json<{ data: Row[] }>();
		expect(page.data.map((r) => r.prompt)).toContain(prompt);
	});
});
