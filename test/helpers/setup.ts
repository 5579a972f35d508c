// Runs in workerd before each test file: applies schema.sql to that file's D1.
import { env } from "cloudflare:workers";
import { beforeAll } from "vitest";

/** Splits schema.sql into statements (it has no semicolons inside strings). */
export function schemaStatements(sql: string): string[] {
	return sql
		.split("\n")
		.filter((line) => !line.trim().startsWith("--"))
		.join("\n")
		.split(";")
		.map((s) => s.trim())
		.filter(Boolean);
}

beforeAll(async () => {
	await env.DB.batch(schemaStatements(env.SCHEMA_SQL).map((s) => env.DB.prepare(s)));
});
