// The emulator's Batch API and its thought-signature check, driven in Node: the gateway's
// batch and multi-turn tests prove only as much as these behaviours are Google's.
import { describe, expect, it } from "vitest";
import { BatchEmulator, INLINE_LIMIT_BYTES } from "../../emulator/batch.ts";
import { GeminiEmulator } from "../../emulator/gemini.ts";

const KEY = "k";

function submit(batches: BatchEmulator, prompts: string[], model = "gemini-3-pro-image") {
	const requests = prompts.map((text, i) => ({ request: { contents: [{ role: "user", parts: [{ text }] }] }, metadata: { key: `r${i}` } }));
	return batches.create(model, KEY, JSON.stringify({ batch: { display_name: "t", input_config: { requests: { requests } } } }));
}

interface Operation {
	name: string;
	done?: boolean;
	metadata: { state: string; batchStats: Record<string, string> };
	response?: {
		inlinedResponses: { inlinedResponses: Array<{ metadata?: { key: string }; response?: unknown; error?: { code: number } }> };
	};
	error?: unknown;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("emulated Batch API", () => {
	it("lists the key's batches as Google does: operations newest first with display names, no results, paged by nextPageToken", async () => {
		const batches = new BatchEmulator(new GeminiEmulator({ requiredKey: KEY }), 0);
		const names = [0, 1, 2].map((i) => {
			const requests = [{ request: { contents: [{ role: "user", parts: [{ text: `p${i}` }] }] }, metadata: { key: "r0" } }];
			const body = JSON.stringify({ batch: { display_name: `gw bat_${i}`, input_config: { requests: { requests } } } });
			return (JSON.parse(batches.create("gemini-3-pro-image", KEY, body).body) as Operation).name;
		});
		const page1 = JSON.parse(batches.list(KEY, new URLSearchParams("pageSize=2")).body) as {
			operations: Array<Operation & { metadata: { displayName: string } }>;
			nextPageToken?: string;
		};
		expect(page1.operations.map((o) => [o.name, o.metadata.displayName])).toEqual([
			[names[2], "gw bat_2"],
			[names[1], "gw bat_1"],
		]);
		expect(page1.operations[0]).toMatchObject({ done: true, metadata: { state: "BATCH_STATE_SUCCEEDED" } });
		expect(page1.operations[0].response).toBeUndefined(); // the list leaves results out
		const page2 = JSON.parse(batches.list(KEY, new URLSearchParams(`pageSize=2&pageToken=${page1.nextPageToken}`)).body) as typeof page1;
		expect([page2.operations.map((o) => o.name), page2.nextPageToken]).toEqual([[names[0]], undefined]);
		expect(batches.list("wrong", new URLSearchParams()).status).not.toBe(200);
	});

	it("goes PENDING -> RUNNING -> SUCCEEDED and answers every request by key, in shuffled order", async () => {
		const batches = new BatchEmulator(new GeminiEmulator({ requiredKey: KEY }), 200);
		const prompts = Array.from({ length: 6 }, (_, i) => `picture ${i}`);
		const created = JSON.parse(submit(batches, prompts).body) as Operation;
		expect(created.name).toMatch(/^batches\//);
		expect(created.metadata.state).toBe("BATCH_STATE_PENDING");
		expect(created.done).toBeUndefined();
		const id = created.name.slice("batches/".length);
		await sleep(120);
		expect((JSON.parse(batches.get(id, KEY).body) as Operation).metadata.state).toBe("BATCH_STATE_RUNNING");
		await sleep(120);
		const done = JSON.parse(batches.get(id, KEY).body) as Operation;
		expect(done).toMatchObject({ done: true, metadata: { state: "BATCH_STATE_SUCCEEDED" } });
		const answers = done.response?.inlinedResponses.inlinedResponses ?? [];
		const keys = answers.map((a) => a.metadata?.key);
		expect([...keys].sort()).toEqual(prompts.map((_, i) => `r${i}`));
		expect(keys).not.toEqual(prompts.map((_, i) => `r${i}`)); // never in submission order
		expect(batches.inspect(id)?.answerKeys).toEqual(keys);
		expect(done.metadata.batchStats).toMatchObject({ requestCount: "6", successfulRequestCount: "6", failedRequestCount: "0" });
	});

	it("per-request failures are errors inside a successful batch; batch-no-key drops an answer's metadata", async () => {
		const batches = new BatchEmulator(new GeminiEmulator({ requiredKey: KEY }), 0);
		const op = JSON.parse(submit(batches, ["fine", "no [emu:fail=400]", "lost [emu:batch-no-key]"]).body) as Operation;
		const done = JSON.parse(batches.get(op.name.slice(8), KEY).body) as Operation;
		const answers = done.response?.inlinedResponses.inlinedResponses ?? [];
		expect(answers.find((a) => a.metadata?.key === "r0")?.response).toBeDefined();
		expect(answers.find((a) => a.metadata?.key === "r1")?.error?.code).toBe(400);
		expect(answers.filter((a) => !a.metadata)).toHaveLength(1);
	});

	it("ends EXPIRED, FAILED or CANCELLED without results when told; cancel stops a running batch", async () => {
		const batches = new BatchEmulator(new GeminiEmulator({ requiredKey: KEY }), 0);
		for (const end of ["EXPIRED", "FAILED", "CANCELLED"]) {
			const op = JSON.parse(submit(batches, [`x [emu:batch-end=${end}]`]).body) as Operation;
			const done = JSON.parse(batches.get(op.name.slice(8), KEY).body) as Operation;
			expect(done).toMatchObject({ done: true, metadata: { state: `BATCH_STATE_${end}` } });
			expect(done.response).toBeUndefined();
		}
		const slow = new BatchEmulator(new GeminiEmulator({ requiredKey: KEY }), 60_000);
		const op = JSON.parse(submit(slow, ["long"]).body) as Operation;
		const id = op.name.slice(8);
		expect(slow.cancel(id, KEY).status).toBe(200);
		expect((JSON.parse(slow.get(id, KEY).body) as Operation).metadata.state).toBe("BATCH_STATE_CANCELLED");
		expect(slow.get("nope", KEY).status).toBe(404);
	});

	it("refuses over 20 MB of inline requests, an empty batch, a gone model and a missing key", () => {
		const batches = new BatchEmulator(new GeminiEmulator({ requiredKey: KEY }), 0);
		expect(submit(batches, ["x".repeat(INLINE_LIMIT_BYTES)]).status).toBe(400);
		expect(
			batches.create("gemini-3-pro-image", KEY, JSON.stringify({ batch: { input_config: { requests: { requests: [] } } } })).status,
		).toBe(400);
		expect(submit(batches, ["x"], "gemini-2.5-flash-image").status).toBe(404);
		expect(batches.create("gemini-3-pro-image", null, "{}").status).toBe(403);
	});
});

describe("thought signatures on Gemini 3 image models", () => {
	const turn = (sig?: string) =>
		JSON.stringify({
			contents: [
				{ role: "user", parts: [{ text: "a cat" }] },
				{
					role: "model",
					parts: [
						{ text: "here" },
						{ inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" }, ...(sig ? { thoughtSignature: sig } : {}) },
					],
				},
				{ role: "user", parts: [{ text: "make it red" }] },
			],
		});

	it("refuses a model turn whose image lost its signature, with Google's message and 1-based positions", () => {
		const emu = new GeminiEmulator({ requiredKey: KEY });
		const reply = emu.handle("gemini-3-pro-image", "generateContent", KEY, turn());
		expect(reply.status).toBe(400);
		expect(JSON.parse(reply.body).error).toEqual({
			code: 400,
			status: "INVALID_ARGUMENT",
			message:
				"Image part is missing a thought_signature in content position 2, part position 2. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures#model-behavior for more details.",
		});
	});

	it("accepts a signature it issued and Google's placeholder; refuses an invented one", () => {
		const emu = new GeminiEmulator({ requiredKey: KEY });
		const first = JSON.parse(
			emu.handle("gemini-3-pro-image", "generateContent", KEY, JSON.stringify({ contents: [{ parts: [{ text: "a cat" }] }] })).body,
		);
		const sig = first.candidates[0].content.parts.find((p: { thoughtSignature?: string }) => p.thoughtSignature).thoughtSignature;
		expect(emu.handle("gemini-3-pro-image", "generateContent", KEY, turn(sig)).status).toBe(200);
		expect(emu.handle("gemini-3-pro-image", "generateContent", KEY, turn("skip_thought_signature_validator")).status).toBe(200);
		expect(emu.handle("gemini-3-pro-image", "generateContent", KEY, turn(btoa("made up"))).status).toBe(400);
	});
});
