// Runs in workerd before each test file: applies the D1 migrations to that file's database,
// as `npm run dev` and the deploy do with `wrangler d1 migrations apply`.
import { applyD1Migrations } from "cloudflare:test";
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
	await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
});
