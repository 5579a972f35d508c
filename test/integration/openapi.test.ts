// GET /openapi.json: generated from the routes' own zod schemas, and complete: every route
// the Hono app registers is documented (a route added without docs fails here), and every
// documented operation reaches a route. The document is validated against the OpenAPI 3.1
// schema by a real validator in test/node/openapi.test.ts (the validator compiles code,
// which workerd forbids).
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { buildApp } from "../../src/app";
import { NativeBody } from "../../src/routes/gemini-native";
import { ImagesBody } from "../../src/routes/openai-images";
import { UsageQuery } from "../../src/routes/usage-query";
import { call } from "../helpers/http";

interface Doc {
	openapi: string;
	servers: Array<{ url: string }>;
	paths: Record<
		string,
		Record<
			string,
			{
				security: unknown[];
				parameters?: Array<{ name: string; in: string }>;
				responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
				requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
			}
		>
	>;
	components: { schemas: Record<string, Record<string, unknown>>; securitySchemes: Record<string, unknown> };
}

const doc = async (): Promise<Doc> => {
	const res = await call("/openapi.json");
	expect(res.status).toBe(200);
	return res.json<Doc>();
};

/** A Hono route path as a regex of the concrete paths it serves (`:p{re}`, `:p`, a trailing `/*`). */
function honoRegex(path: string): RegExp {
	const re = path.replace(/\/\*$|:\w+(?:\{((?:[^{}]|\{[^}]*\})+)\})?|[.+?^$()|[\]\\]/g, (token, custom: string | undefined) => {
		if (token === "/*") return "(?:/.*)?";
		if (token.startsWith(":")) return `(?:${custom ?? "[^/]+"})`;
		return `\\${token}`;
	});
	return new RegExp(`^${re}$`);
}

/** An OpenAPI path template made concrete (each parameter becomes a sample value). */
const concrete = (template: string) => template.replace(/\{[^}]+\}/g, "x1");

describe("GET /openapi.json", () => {
	it("is OpenAPI 3.1 with this origin as its server, needs no key, and is readable cross-origin", async () => {
		const res = await call("/openapi.json", { headers: { origin: "https://elsewhere.example" } });
		expect(res.headers.get("access-control-allow-origin")).toBe("*");
		const d = await res.json<Doc>();
		expect(d.openapi).toBe("3.1.0");
		expect(d.servers).toEqual([{ url: "https://gateway.test" }]);
	});

	it("documents every route the app registers, and every documented operation is routed", async () => {
		const d = await doc();
		const routes = buildApp()
			.routes.filter((r) => r.method !== "ALL") // app.use middleware
			.map((r) => ({ method: r.method.toLowerCase(), path: r.path, re: honoRegex(r.path) }));
		const ops = Object.entries(d.paths).flatMap(([path, item]) => Object.keys(item).map((method) => ({ method, path })));
		const undocumented = routes.filter((r) => !ops.some((o) => o.method === r.method && r.re.test(concrete(o.path))));
		expect(undocumented.map((r) => `${r.method} ${r.path}`)).toEqual([]);
		const unrouted = ops.filter((o) => !routes.some((r) => r.method === o.method && r.re.test(concrete(o.path))));
		expect(unrouted.map((o) => `${o.method} ${o.path}`)).toEqual([]);
		expect(ops.length).toBeGreaterThanOrEqual(45);
	});

	it("request schemas are the routes' own zod schemas, converted as inputs", async () => {
		const d = await doc();
		const same = (schema: z.ZodType) => {
			const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
			return rest;
		};
		expect(d.components.schemas.ImagesRequest).toEqual(same(ImagesBody()));
		expect(d.components.schemas.GenerateContentRequest).toEqual(same(NativeBody()));
		expect(d.components.schemas.ImagesRequest).toMatchObject({
			required: ["prompt"],
			properties: { response_format: { enum: ["url", "b64_json"] } },
		});
		// Nested named schemas become references.
		expect((d.components.schemas.CreateKeyRequest.properties as Record<string, unknown>).limits).toEqual({
			$ref: "#/components/schemas/LimitsPatch",
		});
		const usage = d.paths["/v1/usage"].get.parameters?.map((p) => `${p.in}:${p.name}`);
		expect(usage).toEqual(Object.keys(UsageQuery().shape).map((k) => `query:${k}`));
	});

	it("covers every dialect, multipart edits, both error shapes and the security schemes", async () => {
		const d = await doc();
		for (const p of [
			"/v1/images/generations",
			"/v1/images/edits",
			"/v1/images/generate",
			"/api/v1/models/{model}/edit",
			"/v1beta/models/{model}:generateContent",
			"/v1/models/{model}:streamGenerateContent",
			"/v1beta/models/{model}:countTokens",
			"/v1/jobs/{id}",
			"/v1/pipelines/{id}/runs",
			"/v1/conversations/{id}",
			"/admin/keys/{id}/credits",
			"/admin/stats",
			"/admin/catalog",
		]) {
			expect(d.paths[p], p).toBeDefined();
		}
		expect(Object.keys(d.paths["/v1/images/edits"].post.requestBody?.content ?? {})).toEqual(["application/json", "multipart/form-data"]);
		expect(d.components.schemas.ImagesEditForm).toMatchObject({
			properties: { image: { anyOf: [{ type: "string", format: "binary" }, { type: "array" }] } },
		});
		expect(Object.keys(d.components.securitySchemes).sort()).toEqual(["AdminToken", "ApiKey", "GoogleApiKey"]);
		expect(d.paths["/v1/account"].get.security).toEqual([{ ApiKey: [] }, { GoogleApiKey: [] }]);
		expect(d.paths["/admin/keys"].post.security).toEqual([{ AdminToken: [] }]);
		expect(d.paths["/v1/models"].get.security).toContainEqual({});
		const errorRef = (path: string, method: string, status: string) =>
			d.paths[path][method].responses[status].content?.["application/json"].schema.$ref;
		expect(errorRef("/v1/images/generations", "post", "402")).toBe("#/components/schemas/ErrorBody");
		expect(errorRef("/v1beta/models/{model}:generateContent", "post", "429")).toBe("#/components/schemas/GoogleErrorBody");
		expect(errorRef("/admin/keys", "get", "default")).toBe("#/components/schemas/ErrorBody");
		expect(d.paths["/v1/images/generations"].post.responses["202"].content?.["application/json"].schema.$ref).toBe(
			"#/components/schemas/Job",
		);
	});

	it("every $ref points at a schema the document has", async () => {
		const d = await doc();
		const refs = [...JSON.stringify(d).matchAll(/"\$ref":"#\/components\/(\w+)\/([^"]+)"/g)];
		expect(refs.length).toBeGreaterThan(100);
		for (const [, kind, name] of refs)
			expect((d.components as unknown as Record<string, Record<string, unknown>>)[kind]?.[name], `${kind}/${name}`).toBeDefined();
	});
});
