// The OpenAPI document from a running gateway (`wrangler dev`), checked two ways: a real
// OpenAPI 3.1 validator accepts it (its JSON Schemas compiled as JSON Schema 2020-12), and
// real answers from every kind of endpoint match the schemas it documents for them.
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, createApiKey, type GatewayProcess, startGateway } from "./gateway-process.ts";

interface Doc {
	paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
	components: { schemas: Record<string, unknown> };
}

let gw: GatewayProcess;
let doc: Doc;
let key: string;
const ajv = new Ajv2020({ strict: false, allErrors: true });
// OpenAPI's annotation for file parts of multipart bodies; nothing to check in JSON.
ajv.addFormat("binary", true);

beforeAll(async () => {
	gw = await startGateway();
	doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as Doc;
	for (const [name, schema] of Object.entries(doc.components.schemas)) ajv.addSchema(schema as object, `#/components/schemas/${name}`);
	key = await createApiKey(gw, "openapi");
}, 120_000);

afterAll(async () => {
	await gw?.stop();
});

describe("the document", () => {
	it("is valid OpenAPI 3.1 for a real validator, and every $ref resolves", async () => {
		const validator = new Validator();
		const result = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
		expect(result.errors ?? []).toEqual([]);
		expect(result.valid).toBe(true);
		expect(validator.version).toBe("3.1");
		expect(() => validator.resolveRefs()).not.toThrow();
	});

	it("every component schema compiles as JSON Schema 2020-12", () => {
		for (const name of Object.keys(doc.components.schemas)) {
			expect(() => ajv.getSchema(`#/components/schemas/${name}`), name).not.toThrow();
			expect(ajv.getSchema(`#/components/schemas/${name}`), name).toBeDefined();
		}
	});
});

/** Calls the gateway and checks the answer against what the document says for that status. */
async function conforms(method: string, template: string, path: string, init: RequestInit = {}): Promise<unknown> {
	const res = await fetch(`${gw.url}${path}`, { method: method.toUpperCase(), ...init });
	const body = await res.json();
	const op = doc.paths[template]?.[method];
	expect(op, `${method} ${template} documented`).toBeDefined();
	const answer = op.responses[String(res.status)] ?? op.responses.default;
	const schema = answer.content?.["application/json"]?.schema;
	expect(schema, `${method} ${template} ${res.status} has a JSON schema`).toBeDefined();
	const validate = ajv.compile({ $schema: "https://json-schema.org/draft/2020-12/schema", ...(schema as object) });
	expect(validate(body) ? [] : validate.errors, `${method} ${path} -> ${res.status}`).toEqual([]);
	return body;
}

const json = (token: string, body: unknown): RequestInit => ({
	headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
	body: JSON.stringify(body),
});
const bearer = (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } });

describe("real answers match the documented schemas", () => {
	it("generation in three dialects, sync and async, and the Gemini route", async () => {
		await conforms("post", "/v1/images/generations", "/v1/images/generations", json(key, { prompt: "documented banana", n: 2 }));
		await conforms("post", "/v1/images/generate", "/v1/images/generate", json(key, { prompt: "documented", model: "nano-banana" }));
		await conforms("post", "/api/v1/models/{model}/edit", "/api/v1/models/nano-banana/edit", json(key, { prompt: "documented" }));
		const job = (await conforms(
			"post",
			"/v1/images/generations",
			"/v1/images/generations",
			json(key, { prompt: "later", async: true }),
		)) as { id: string };
		await conforms("get", "/v1/jobs/{id}", `/v1/jobs/${job.id}`, bearer(key));
		await conforms("get", "/v1/jobs", "/v1/jobs", bearer(key));
		await conforms("post", "/v1beta/models/{model}:generateContent", "/v1beta/models/nano-banana-2:generateContent", {
			headers: { "x-goog-api-key": key, "content-type": "application/json" },
			body: JSON.stringify({ contents: [{ parts: [{ text: "native banana" }] }] }),
		});
	});

	it("chat completions (both paths), OpenRouter's Images API, and a batch-tier job", async () => {
		const chat = { model: "nano-banana-2", messages: [{ role: "user", content: "documented chat" }] };
		await conforms("post", "/v1/chat/completions", "/v1/chat/completions", json(key, chat));
		await conforms("post", "/api/v1/chat/completions", "/api/v1/chat/completions", json(key, { ...chat, n: 2 }));
		await conforms("post", "/api/v1/images", "/api/v1/images", json(key, { prompt: "documented", response_format: "url" }));
		await conforms("post", "/api/v1/images", "/api/v1/images", json(key, { prompt: "documented b64" }));
		await conforms("get", "/api/v1/images/models", "/api/v1/images/models", bearer(key));
		await conforms("get", "/api/v1/models", "/api/v1/models", bearer(key));
		const job = (await conforms(
			"post",
			"/v1/images/generations",
			"/v1/images/generations",
			json(key, { prompt: "batched", async: true, service_tier: "batch" }),
		)) as { service_tier: string };
		expect(job.service_tier).toBe("batch");
	});

	it("account, usage, models, prices, pipelines and conversations", async () => {
		await conforms("get", "/v1/account", "/v1/account", bearer(key));
		const usage = (await conforms("get", "/v1/usage", "/v1/usage", bearer(key))) as { data: Array<{ image_urls: string[] }> };
		expect(usage.data.some((r) => r.image_urls.length > 0)).toBe(true);
		await conforms("get", "/v1/models", "/v1/models");
		await conforms("get", "/v1/models", "/v1/models?pageSize=2");
		await conforms("get", "/v1/models/{model}", "/v1/models/nano-banana-2.1");
		await conforms("get", "/v1beta/models", "/v1beta/models");
		await conforms("get", "/v1/pricing", "/v1/pricing");
		await conforms(
			"post",
			"/v1/pipelines",
			"/v1/pipelines",
			json(key, { name: "daily", schedule: "0 9 * * *", prompt_template: "a banana on {date}" }),
		);
		await conforms("get", "/v1/pipelines", "/v1/pipelines", bearer(key));
		await conforms("post", "/v1/conversations", "/v1/conversations", json(key, {}));
		await conforms("get", "/v1/account/webhook-secret", "/v1/account/webhook-secret", bearer(key));
	});

	it("the admin API", async () => {
		const created = (await conforms(
			"post",
			"/admin/keys",
			"/admin/keys",
			json(ADMIN_TOKEN, { name: "documented", limits: { images_per_day: 5 } }),
		)) as { id: string };
		await conforms("get", "/admin/keys", "/admin/keys", bearer(ADMIN_TOKEN));
		await conforms("patch", "/admin/keys/{id}", `/admin/keys/${created.id}`, {
			method: "PATCH",
			...json(ADMIN_TOKEN, { name: "renamed" }),
		});
		await conforms(
			"post",
			"/admin/keys/{id}/credits",
			`/admin/keys/${created.id}/credits`,
			json(ADMIN_TOKEN, { amount: 10, reason: "docs" }),
		);
		await conforms("get", "/admin/usage", "/admin/usage", bearer(ADMIN_TOKEN));
		const stats = (await conforms("get", "/admin/stats", "/admin/stats?window=1h", bearer(ADMIN_TOKEN))) as {
			series: Array<{ requests: number }>;
		};
		expect(stats.series).toHaveLength(12);
		expect(stats.series.reduce((s, p) => s + p.requests, 0)).toBeGreaterThan(0);
		await conforms("get", "/admin/catalog", "/admin/catalog", bearer(ADMIN_TOKEN));
		await conforms("get", "/admin/health", "/admin/health", bearer(ADMIN_TOKEN));
		await conforms("post", "/admin/catalog/refresh", "/admin/catalog/refresh", { method: "POST", ...bearer(ADMIN_TOKEN) });
		await conforms("get", "/admin/upstreams", "/admin/upstreams", bearer(ADMIN_TOKEN));
		await conforms("post", "/admin/upstreams/{id}/reset", "/admin/upstreams/gemini-1/reset", { method: "POST", ...bearer(ADMIN_TOKEN) });
		await conforms("delete", "/admin/keys/{id}", `/admin/keys/${created.id}`, bearer(ADMIN_TOKEN));
	});

	it("errors in both shapes", async () => {
		await conforms("get", "/v1/account", "/v1/account", bearer("nbk_wrong"));
		await conforms("post", "/v1/images/generations", "/v1/images/generations", json(key, { prompt: "x", n: 99 }));
		const google = (await conforms("post", "/v1beta/models/{model}:generateContent", "/v1beta/models/nano-banana:generateContent", {
			headers: { "x-goog-api-key": "nbk_wrong", "content-type": "application/json" },
			body: JSON.stringify({ contents: [{ parts: [{ text: "x" }] }] }),
		})) as { error: { status: string } };
		expect(google.error.status).toBe("UNAUTHENTICATED");
	});
});
