// Vertex AI upstreams through the HTTP surface, against the emulator's Vertex endpoints:
// a service account's RS256 JWT verified by the token endpoint, the access token cached
// and shared (one mint for many requests, concurrent ones included) and refreshed before
// it expires; express mode with an API key; a model gone on the Gemini API still served
// by Vertex; a refused account failing over; the private key never shown.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildApp } from "../../src/app";
import { ADMIN, auth, createKey, emulatorCalls, flushUsage, uniquePrompt, usageRows } from "../helpers/http";
import { mints, serviceAccount } from "../helpers/vertex";

const app = buildApp();

function poolEnv(upstreams: Record<string, unknown>, secrets: Record<string, string>, keys: string[] = []): Env {
	return { ...env, GEMINI_API_KEY: "", GEMINI_API_KEYS: keys.join(","), UPSTREAMS: JSON.stringify(upstreams), ...secrets } as Env;
}

function send(e: Env, path: string, init: RequestInit = {}): Promise<Response> {
	return Promise.resolve(app.fetch(new Request(`https://gateway.test${path}`, init), e, createExecutionContext()));
}

function generate(e: Env, key: string, prompt: string, model = "nano-banana-2"): Promise<Response> {
	return send(e, "/v1/images/generations", {
		method: "POST",
		headers: { ...auth(key), "content-type": "application/json" },
		body: JSON.stringify({ model, prompt }),
	});
}

interface Call {
	model: string;
	status: number;
	via: string;
	apiKey: string | null;
}

async function calls(prompt: string): Promise<Call[]> {
	return (await emulatorCalls(prompt, { all: true })) as unknown as Call[];
}

async function googleKey(profile: Record<string, unknown> = {}): Promise<string> {
	const key = `AIzaVertex${crypto.randomUUID().replaceAll("-", "")}`;
	await fetch(`${env.EMULATOR_URL}/__emulator/keys`, { method: "POST", body: JSON.stringify({ key, ...profile }) });
	return key;
}

const vertexA = (extra: Record<string, unknown> = {}) => ({
	"vertex-a": { kind: "vertex", secret: "VERTEX_SA", location: "us-central1", base_url: env.EMULATOR_URL, ...extra },
});

afterEach(() => {
	vi.restoreAllMocks();
});

describe("Vertex AI with a service account", () => {
	it("mints one token with a JWT the token endpoint verifies, and every request shares it", async () => {
		const sa = await serviceAccount();
		const e = poolEnv(vertexA(), { VERTEX_SA: sa.json });
		const k = await createKey();
		for (let i = 0; i < 3; i++) {
			const prompt = uniquePrompt(`vertex ${i}`);
			expect((await generate(e, k.key, prompt)).status).toBe(200);
			expect(await calls(prompt)).toEqual([expect.objectContaining({ via: "vertex", apiKey: sa.email, status: 200 })]);
		}
		const parallel = await Promise.all(Array.from({ length: 4 }, (_, i) => generate(e, k.key, uniquePrompt(`parallel ${i}`))));
		expect(parallel.map((r) => r.status)).toEqual([200, 200, 200, 200]);
		expect(await mints(sa.email)).toBe(1);

		await flushUsage(k.key);
		expect((await usageRows(k.id)).map((r) => JSON.parse(r.upstreams))).toEqual(Array(7).fill(["vertex-a"]));
		const view = await (await send(e, "/admin/upstreams", { headers: ADMIN })).json<{ upstreams: Array<Record<string, unknown>> }>();
		expect(view.upstreams[0]).toMatchObject({
			id: "vertex-a",
			kind: "vertex",
			auth: "service_account",
			project: sa.project,
			location: "us-central1",
			state: "healthy",
			credential: { source: "secret VERTEX_SA", fingerprint: expect.stringContaining(sa.email) },
			vertex_token: { minted_here: 1 },
		});
		const text = JSON.stringify(view);
		expect(text).not.toContain("PRIVATE KEY");
		expect(text).not.toContain(sa.privateKeyPem.split("\n")[1]);
	});

	it("mints a new token shortly before the old one expires", async () => {
		const sa = await serviceAccount({ tokenTtlSeconds: 2 });
		const e = poolEnv(vertexA(), { VERTEX_SA: sa.json });
		const k = await createKey();
		expect((await generate(e, k.key, uniquePrompt("ttl 1"))).status).toBe(200);
		expect((await generate(e, k.key, uniquePrompt("ttl 2"))).status).toBe(200);
		expect(await mints(sa.email)).toBe(1);
		// A 2 s token is renewed a quarter of its life (0.5 s) before it ends.
		await new Promise((r) => setTimeout(r, 1600));
		expect((await generate(e, k.key, uniquePrompt("ttl 3"))).status).toBe(200);
		expect(await mints(sa.email)).toBe(2);
	});

	it("a model gone for the Gemini API key's project is still served by Vertex, and later requests go straight there", async () => {
		vi.spyOn(Math, "random").mockReturnValue(0); // the Gemini key first
		const sa = await serviceAccount();
		const studio = await googleKey({ retired: ["gemini-3.1-flash-image"] });
		const e = poolEnv(vertexA(), { VERTEX_SA: sa.json }, [studio]);
		const k = await createKey();
		const first = uniquePrompt("gone at studio");
		expect((await generate(e, k.key, first)).status).toBe(200);
		expect((await calls(first)).map((c) => [c.via, c.model, c.status])).toEqual([
			["gemini", "gemini-3.1-flash-image", 404],
			["vertex", "gemini-3.1-flash-image", 200], // the same model, not its successor
		]);
		const second = uniquePrompt("straight to vertex");
		expect((await generate(e, k.key, second)).status).toBe(200);
		expect((await calls(second)).map((c) => [c.via, c.model, c.status])).toEqual([["vertex", "gemini-3.1-flash-image", 200]]);
		// The Gemini key still serves what its project has.
		const pro = uniquePrompt("pro at studio");
		expect((await generate(e, k.key, pro, "nano-banana-pro")).status).toBe(200);
		expect((await calls(pro)).map((c) => c.via)).toEqual(["gemini"]);
		await flushUsage(k.key);
		expect((await usageRows(k.id)).map((r) => [r.upstream_model, JSON.parse(r.upstreams)[0]])).toEqual([
			["gemini-3.1-flash-image", "vertex-a"],
			["gemini-3.1-flash-image", "vertex-a"],
			["gemini-3-pro-image", "gemini-1"],
		]);
	});

	it("an account the token endpoint refuses opens the breaker and the request fails over", async () => {
		vi.spyOn(Math, "random").mockReturnValue(0);
		const sa = await serviceAccount({ register: false }); // Google does not know this key
		const studio = await googleKey();
		// Both from UPSTREAMS, Vertex listed first, so it is asked first.
		const vertexFirst = poolEnv(
			{ ...vertexA(), studio: { kind: "gemini", secret: "STUDIO", base_url: env.EMULATOR_URL } },
			{ VERTEX_SA: sa.json, STUDIO: studio },
		);
		const k = await createKey();
		const prompt = uniquePrompt("refused account");
		expect((await generate(vertexFirst, k.key, prompt)).status).toBe(200);
		expect((await calls(prompt)).map((c) => c.via)).toEqual(["gemini"]);
		const view = await (await send(vertexFirst, "/admin/upstreams", { headers: ADMIN })).json<{
			upstreams: Array<Record<string, unknown>>;
		}>();
		expect(view.upstreams[0]).toMatchObject({ id: "vertex-a", state: "open", last_error: { kind: "auth", status: 401 } });
	});
});

describe("Vertex AI express mode", () => {
	it("calls publishers/google/models with the API key in x-goog-api-key", async () => {
		const key = await googleKey();
		const e = poolEnv({ express: { kind: "vertex", secret: "VERTEX_KEY", base_url: env.EMULATOR_URL } }, { VERTEX_KEY: key });
		const k = await createKey();
		const prompt = uniquePrompt("express");
		expect((await generate(e, k.key, prompt)).status).toBe(200);
		expect(await calls(prompt)).toEqual([expect.objectContaining({ via: "vertex-express", apiKey: key, status: 200 })]);
		const view = await (await send(e, "/admin/upstreams", { headers: ADMIN })).json<{ upstreams: Array<Record<string, unknown>> }>();
		expect(view.upstreams[0]).toMatchObject({ id: "express", auth: "express_api_key", base_url: env.EMULATOR_URL });
	});
});
