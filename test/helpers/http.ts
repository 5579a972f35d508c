// Helpers that drive the Worker through its HTTP surface, as a client would.
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import type { UsageDraft, UsageOutcome, UsageRow } from "../../src/account/records";

export const BASE = "https://gateway.test";
export const ADMIN = { authorization: "Bearer test-admin-token" };

export function call(path: string, init: RequestInit = {}): Promise<Response> {
	return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
	return call(path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

/**
 * `postJson` to a freshly built app whose bindings differ from the Worker's (a setting, a
 * recording queue); with `ctx` when the test waits on what the request left running.
 */
export async function postJsonWith(
	worker: { env: Partial<Env>; ctx?: ExecutionContext },
	path: string,
	body: unknown,
	headers: Record<string, string> = {},
): Promise<Response> {
	const { buildApp } = await import("../../src/app");
	const request = new Request(`${BASE}${path}`, {
		method: "POST",
		headers: { "content-type": "application/json", ...headers },
		body: JSON.stringify(body),
	});
	return buildApp().fetch(request, { ...env, ...worker.env }, worker.ctx);
}

export interface CreatedKey {
	id: string;
	key: string;
	name: string;
	created_at: string;
}

/** Generous defaults so tests not about billing never trip a limit. */
export const ROOMY_LIMITS = {
	requests_per_minute: 100_000,
	concurrent_requests: 1_000,
	concurrent_batch_jobs: 1_000,
	images_per_day: 1_000_000,
	images_per_month: 10_000_000,
};

export async function createKey(
	name = `test-${crypto.randomUUID()}`,
	opts: { credits?: number; limits?: Record<string, number | null> } = {},
): Promise<CreatedKey> {
	const res = await postJson("/admin/keys", { name, credits: opts.credits ?? 1_000_000, limits: opts.limits ?? ROOMY_LIMITS }, ADMIN);
	expect(res.status).toBe(201);
	return res.json<CreatedKey>();
}

export function auth(key: string): Record<string, string> {
	return { authorization: `Bearer ${key}` };
}

export interface ErrorBody {
	error: { message: string; type: string; code: string; param: string | null; reason?: string };
}

/** Asserts the one error shape and returns it. */
export async function expectError(res: Response, status: number, code: string): Promise<ErrorBody["error"]> {
	const body = await res.json<ErrorBody>();
	expect({ status: res.status, code: body.error?.code }).toEqual({ status, code });
	// `reason` is the optional sub-code (why a reference URL failed); nothing else may appear.
	expect(
		Object.keys(body.error)
			.filter((k) => k !== "reason")
			.sort(),
	).toEqual(["code", "message", "param", "type"]);
	expect(res.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{24}$/);
	return body.error;
}

/** Every R2 object under a prefix (test files have isolated storage). */
export async function listObjects(prefix = "generated/"): Promise<R2Object[]> {
	const out: R2Object[] = [];
	let cursor: string | undefined;
	do {
		const page = await env.IMAGES.list({ prefix, cursor });
		out.push(...page.objects);
		cursor = page.truncated ? page.cursor : undefined;
	} while (cursor);
	return out;
}

/** Requests the emulator recorded whose contents mention `needle`. */
export interface EmulatorCall {
	model: string;
	status: number;
	body: { contents: unknown[]; generationConfig?: Record<string, unknown> };
	outputs: Array<{ mimeType: string; bytes: number; sha256: string; signatureSha256?: string }>;
	/** What a 200 bills (emulator/gemini.ts RecordedCall): its usageMetadata and search queries. */
	usage?: Record<string, unknown>;
	searchQueries?: number;
}

/**
 * Calls the emulator recorded whose contents mention `needle`. Calls that met a model Google
 * has shut down (404 NOT_FOUND, followed by the successor) are left out unless `all`.
 */
export async function emulatorCalls(needle: string, opts: { all?: boolean; url?: string } = {}): Promise<EmulatorCall[]> {
	const res = await fetch(`${opts.url ?? env.EMULATOR_URL}/__emulator/calls?contains=${encodeURIComponent(needle)}`);
	const calls = (await res.json<{ calls: EmulatorCall[] }>()).calls;
	return opts.all ? calls : calls.filter((c) => c.status !== 404);
}

/** A prompt unique to this test, so emulator fault counters never collide. */
export function uniquePrompt(text: string, directives = ""): string {
	return `${text} #${crypto.randomUUID().slice(0, 8)}${directives ? ` [emu:${directives}]` : ""}`;
}

/** The KeyAccount stub behind a plaintext key. */
export async function accountOf(key: string) {
	const { accountFor } = await import("../../src/account/key-account");
	const { sha256Hex } = await import("../../src/account/keys");
	return accountFor(env, await sha256Hex(key));
}

/** Pushes a key's outbox to D1 now (the DO's alarm would do it a moment later). */
export async function flushUsage(key: string): Promise<{ flushed: number; pending: number }> {
	return (await accountOf(key)).flush();
}

export async function balanceOf(key: string): Promise<number> {
	return (await (await accountOf(key)).describe())?.credits ?? -1;
}

export type UsageRowView = UsageRow;

export async function usageRows(keyId: string): Promise<UsageRowView[]> {
	return (await env.DB.prepare("SELECT * FROM usage WHERE key_id = ? ORDER BY created_at").bind(keyId).all<UsageRowView>()).results;
}

export interface LedgerRowView {
	id: string;
	kind: string;
	amount: number;
	balance_after: number;
	request_id: string | null;
	reason: string | null;
	seq: number;
}

export async function ledgerRows(keyId: string): Promise<LedgerRowView[]> {
	return (await env.DB.prepare("SELECT * FROM credit_ledger WHERE key_id = ? ORDER BY seq").bind(keyId).all<LedgerRowView>()).results;
}

/** A usage draft for calling KeyAccount's RPC methods directly. */
export function testDraft(requestId: string, n = 1): UsageDraft {
	return {
		requestId,
		endpoint: "test",
		model: "nano-banana",
		mode: "generate",
		n,
		aspectRatio: null,
		imageSize: null,
		startedAt: Date.now(),
	};
}

/** A successful outcome that delivered `images` images, for settling directly. */
export function deliveredOutcome(images: number): UsageOutcome {
	return {
		imagesDelivered: images,
		promptTokens: 1,
		outputTokens: 1,
		totalTokens: 2,
		upstreamMs: 1,
		status: 200,
		errorCode: null,
		finishReason: "STOP",
		r2Keys: [],
	};
}
