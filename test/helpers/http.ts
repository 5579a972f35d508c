// Helpers that drive the Worker through its HTTP surface, as a client would.
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";

export const BASE = "https://gateway.test";
export const ADMIN = { authorization: "Bearer test-admin-token" };

export function call(path: string, init: RequestInit = {}): Promise<Response> {
	return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
	return call(path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

export interface CreatedKey {
	id: string;
	key: string;
	name: string;
	created_at: string;
}

export async function createKey(name = `test-${crypto.randomUUID()}`): Promise<CreatedKey> {
	const res = await postJson("/admin/keys", { name }, ADMIN);
	expect(res.status).toBe(201);
	return res.json<CreatedKey>();
}

export function auth(key: string): Record<string, string> {
	return { authorization: `Bearer ${key}` };
}

export interface ErrorBody {
	error: { message: string; type: string; code: string; param: string | null };
}

/** Asserts the one error shape and returns it. */
export async function expectError(res: Response, status: number, code: string): Promise<ErrorBody["error"]> {
	const body = await res.json<ErrorBody>();
	expect({ status: res.status, code: body.error?.code }).toEqual({ status, code });
	expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
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
export async function emulatorCalls(
	needle: string,
): Promise<Array<{ model: string; body: { contents: unknown[]; generationConfig?: Record<string, unknown> } }>> {
	const res = await fetch(`${env.EMULATOR_URL}/__emulator/calls?contains=${encodeURIComponent(needle)}`);
	return (await res.json<{ calls: Array<{ model: string; body: { contents: unknown[]; generationConfig?: Record<string, unknown> } }> }>())
		.calls;
}

/** A prompt unique to this test, so emulator fault counters never collide. */
export function uniquePrompt(text: string, directives = ""): string {
	return `${text} #${crypto.randomUUID().slice(0, 8)}${directives ? ` [emu:${directives}]` : ""}`;
}
