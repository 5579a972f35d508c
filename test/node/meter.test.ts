/**
 * The meter against the bill, as an operator reads Google's invoice: the gateway runs as a
 * user meets it (`wrangler dev`, Google's rates and the prices derived from them, a 20%
 * margin, refused answers charged), each kind of request is sent once, and what Google
 * billed for it (every answer the emulator gave, priced by emulator/rates.ts from its
 * usageMetadata: Google's side, written apart from the gateway's own rates) is set beside
 * what the key was charged. Each row must be charged at least Google's bill x (1 + margin),
 * or refused with a 4xx before any call. The table is printed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePng } from "../../emulator/images.ts";
import { type BilledUsage, googleBillUsd, type Tier } from "../../emulator/rates.ts";
import { createApiKey, type GatewayProcess, startGateway } from "./gateway-process.ts";

const MARGIN = 20;
let gw: GatewayProcess;
let key: string;

beforeAll(async () => {
	gw = await startGateway({
		MARGIN_PERCENT: String(MARGIN),
		CHARGE_REFUSED: "true",
		NATIVE_ALLOW_TEXT_OUTPUT: "true",
		NATIVE_ALLOW_SEARCH: "true",
		BATCH_WINDOW_SECONDS: "1",
		BATCH_POLL_SECONDS: "1",
	});
	key = await createApiKey(gw, "meter", 10_000_000);
}, 120_000);

afterAll(async () => {
	await gw?.stop();
});

interface Row {
	kind: string;
	status: number;
	calls: number;
	googleCredits: number;
	charged: number;
}
const table: Row[] = [];

let seq = 0;
const marker = (kind: string) => `meter-${process.pid}-${seq++}-${kind.replace(/\W+/g, "-")}`;

/** Google's bill, in credits of $0.0001, for every answer the emulator gave to prompts holding `mark`. */
function googleBill(mark: string, tier: Tier = "standard"): { credits: number; calls: number } {
	const calls = gw.emulator.emulator.calls.filter((c) => JSON.stringify(c.body).includes(mark));
	const answered = calls.filter((c) => c.status === 200 && c.usage);
	const usd = answered.reduce(
		(sum, c) => sum + googleBillUsd(c.model, c.usage as BilledUsage, { tier, searchQueries: c.searchQueries }),
		0,
	);
	return { credits: usd / 0.0001, calls: calls.length };
}

async function send(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
	return fetch(`${gw.url}${path}`, {
		method: "POST",
		headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
		body: JSON.stringify(body),
	});
}

/** Sends one request of a kind and records its row: Google's bill beside the charge. */
async function row(kind: string, make: (mark: string) => Promise<Response>, tier: Tier = "standard"): Promise<Row> {
	const mark = marker(kind);
	const res = await make(mark);
	await res.arrayBuffer();
	const charged = Number(res.headers.get("x-credits-charged") ?? 0);
	const bill = googleBill(mark, tier);
	const r: Row = { kind, status: res.status, calls: bill.calls, googleCredits: Math.round(bill.credits * 100) / 100, charged };
	table.push(r);
	return r;
}

function expectCovered(r: Row): void {
	if (r.status >= 400 && r.status < 500) {
		expect(r.calls, `${r.kind}: a 4xx must come before any call`).toBe(0);
		return;
	}
	expect(r.calls, r.kind).toBeGreaterThan(0);
	expect(r.charged, `${r.kind}: charged ${r.charged} for a bill of ${r.googleCredits}`).toBeGreaterThanOrEqual(
		r.googleCredits * (1 + MARGIN / 100) - 1e-6,
	);
}

const generate =
	(model: string, extra: Record<string, unknown> = {}) =>
	(mark: string) =>
		send("/v1/images/generations", { model, prompt: `a lighthouse ${mark}`, ...extra });

const png = (i: number) => `data:image/png;base64,${encodePng(64, 64, i).toString("base64")}`;

describe("the meter covers Google's bill", () => {
	it("the default model, served by its successor at its successor's rates", async () => {
		const r = await row("nano-banana (2.5 gone: served by 3.1)", generate("nano-banana"));
		expect(r.status).toBe(200);
		// 3.1 Flash Image's $0.067 a 1K image and more, not 2.5's $0.039.
		expect(r.charged).toBeGreaterThanOrEqual(Math.ceil(670 * 1.2));
		expectCovered(r);
	});

	it.each([
		["nano-banana-2", "512"],
		["nano-banana-2", "1K"],
		["nano-banana-2", "2K"],
		["nano-banana-2", "4K"],
		["nano-banana-2.1", "1K"],
		["nano-banana-2.1", "2K"],
		["nano-banana-2.1", "4K"],
		["nano-banana-2-lite", "1K"],
		["nano-banana-pro", "1K"],
		["nano-banana-pro", "2K"],
		["nano-banana-pro", "4K"],
		["nano-banana-hd", "4K"],
	])("%s at %s", async (model, size) => {
		expectCovered(await row(`${model} ${size}`, generate(model, { image_size: size })));
	});

	it("several images in one answer: every one delivered, and what was billed is charged", async () => {
		const several = await row("images=3 in one answer", (mark) =>
			send("/v1/images/generations", { model: "nano-banana-2", prompt: `three lighthouses ${mark} [emu:images=3]` }),
		);
		expectCovered(several);
	});

	it("14 reference images on Pro", async () => {
		const r = await row("pro edit, 14 references", (mark) =>
			send("/v1/images/edits", {
				model: "nano-banana-pro",
				prompt: `combine these ${mark}`,
				image: Array.from({ length: 14 }, (_, i) => png(i)),
			}),
		);
		expect(r.status).toBe(200);
		expectCovered(r);
	});

	it("a long chat history with n 4", async () => {
		const history = Array.from({ length: 40 }, (_, i) => ({
			role: i % 2 === 0 ? "user" : "assistant",
			content: `turn ${i}: ${"a detailed description of a harbour at dusk, ".repeat(12)}`,
		}));
		const r = await row("chat, 40 turns of history, n 4", (mark) =>
			send("/v1/chat/completions", {
				model: "nano-banana-2",
				n: 4,
				messages: [...history, { role: "user", content: `now draw it ${mark}` }],
			}),
		);
		expect(r.status).toBe(200);
		expectCovered(r);
	});

	it("blocked and empty answers are charged their tokens (CHARGE_REFUSED on)", async () => {
		for (const finish of ["IMAGE_SAFETY", "NO_IMAGE"]) {
			const r = await row(`finish ${finish}`, (mark) =>
				send("/v1/images/generations", { model: "nano-banana-pro", prompt: `a harbour ${mark} [emu:finish=${finish}]` }),
			);
			expect(r.status).toBeGreaterThanOrEqual(400);
			expect(r.calls).toBeGreaterThan(0);
			expect(r.charged).toBeGreaterThanOrEqual(r.googleCredits * (1 + MARGIN / 100) - 1e-6);
		}
	});

	const native = (model: string, body: (mark: string) => Record<string, unknown>) => (mark: string) =>
		send(`/v1beta/models/${model}:generateContent`, body(mark), { "x-goog-api-key": key });
	const text = (mark: string) => [{ role: "user", parts: [{ text: `a harbour at dawn ${mark}` }] }];

	it.each([
		[
			"native: text only, 30,000 output tokens asked",
			"nano-banana-pro",
			(mark: string) => ({
				contents: [{ parts: [{ text: `describe a harbour at length ${mark} [emu:text-tokens=30000]` }] }],
				generationConfig: { responseModalities: ["TEXT"], maxOutputTokens: 30000 },
			}),
		],
		[
			"native: Google Search, 3 queries",
			"nano-banana-2",
			(mark: string) => ({
				contents: [{ parts: [{ text: `today's weather as a poster ${mark} [emu:search-queries=3]` }] }],
				tools: [{ googleSearch: {} }],
			}),
		],
		[
			"native: thinking HIGH",
			"nano-banana-pro",
			(mark: string) => ({
				contents: text(mark),
				generationConfig: { thinkingConfig: { thinkingLevel: "HIGH" } },
			}),
		],
		[
			"native: snake_case image_size 4K",
			"nano-banana-2",
			(mark: string) => ({
				contents: text(mark),
				generation_config: { image_config: { image_size: "4K" } },
			}),
		],
		[
			"native: 4 images in one answer",
			"nano-banana-2",
			(mark: string) => ({
				contents: [{ parts: [{ text: `four harbours ${mark} [emu:images=4]` }] }],
			}),
		],
		["native: cachedContent (refused)", "nano-banana-2", (mark: string) => ({ contents: text(mark), cachedContent: "cachedContents/x" })],
		["native: service_tier priority (refused)", "nano-banana-2", (mark: string) => ({ contents: text(mark), service_tier: "priority" })],
		[
			"native: candidateCount 2 (refused)",
			"nano-banana-2",
			(mark: string) => ({ contents: text(mark), generationConfig: { candidateCount: 2 } }),
		],
	])("%s", async (kind, model, body) => {
		const r = await row(kind, native(model, body));
		expectCovered(r);
		if (kind.endsWith("(refused)")) expect(r.status).toBe(400);
		else expect(r.status).toBe(200);
	});

	it("the Batch lane, at Google's batch rates", async () => {
		const mark = marker("batch");
		const res = await send("/v1/images/generations", {
			model: "nano-banana-2",
			prompt: `a quiet harbour ${mark}`,
			async: true,
			service_tier: "batch",
		});
		expect(res.status).toBe(202);
		const job = (await res.json()) as { id: string };
		let done: { status: string; credits_charged?: number } = { status: "CREATED" };
		for (let i = 0; i < 240 && !["SUCCEEDED", "FAILED"].includes(done.status); i++) {
			await new Promise((r) => setTimeout(r, 500));
			done = (await (await fetch(`${gw.url}/v1/jobs/${job.id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as typeof done;
		}
		expect(done.status).toBe("SUCCEEDED");
		const bill = googleBill(mark, "batch");
		const r: Row = {
			kind: "batch (async job)",
			status: 200,
			calls: Math.max(bill.calls, 1),
			googleCredits: Math.round(bill.credits * 100) / 100,
			charged: done.credits_charged ?? 0,
		};
		table.push(r);
		expectCovered(r);
	}, 150_000);

	afterAll(() => {
		console.table(table);
	});
});
