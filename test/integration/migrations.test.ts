// The D1 migrations and schema.sql describe the same database: every migration applied in
// order to an empty database gives exactly the tables, columns, constraints and indexes of
// schema.sql. Two empty databases (vitest.config.ts) take one each.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { schemaStatements } from "../helpers/setup";

/** Tables D1, SQLite and the migrations runner keep for themselves. */
const INTERNAL = /^(sqlite_|_cf_|d1_migrations$)/;

/**
 * CREATE statements as SQLite stores them, made comparable: comments dropped, whitespace
 * and quoting normalised, `IF NOT EXISTS` removed (schema.sql is idempotent).
 */
function normalise(sql: string): string {
	return sql
		.replace(/--[^\n]*/g, " ")
		.replace(/\bIF NOT EXISTS\b/gi, " ")
		.replace(/["`[\]]/g, "")
		.replace(/\s+/g, " ")
		.replace(/\s*([(),])\s*/g, "$1")
		.trim()
		.toLowerCase();
}

interface SchemaObject {
	type: string;
	name: string;
	tbl_name: string;
	sql: string | null;
}

/** Everything about a database's schema that queries can depend on. */
async function describeSchema(db: D1Database) {
	const objects = (
		await db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").all<SchemaObject>()
	).results.filter((o) => !INTERNAL.test(o.name) && !INTERNAL.test(o.tbl_name));
	const tables: Record<string, unknown> = {};
	for (const t of objects.filter((o) => o.type === "table")) {
		const pragma = async (p: string, arg = t.name) => (await db.prepare(`PRAGMA ${p}("${arg}")`).all()).results;
		const indexes = await pragma("index_list");
		tables[t.name] = {
			columns: await pragma("table_info"),
			foreignKeys: await pragma("foreign_key_list"),
			indexes: await Promise.all(
				(indexes as Array<{ name: string }>)
					.sort((a, b) => a.name.localeCompare(b.name))
					.map(async (i) => ({ ...i, seq: undefined, columns: await pragma("index_xinfo", i.name) })),
			),
		};
	}
	return { objects: objects.map((o) => ({ ...o, sql: o.sql === null ? null : normalise(o.sql) })), tables };
}

async function isEmpty(db: D1Database): Promise<boolean> {
	const rows = (await db.prepare("SELECT name FROM sqlite_master").all<{ name: string }>()).results;
	return rows.every((r) => INTERNAL.test(r.name));
}

describe("migrations", () => {
	it("applied in order to an empty database give exactly schema.sql", async () => {
		const migrated = env.MIGRATIONS_CHECK_DB;
		const reference = env.SCHEMA_CHECK_DB;
		expect(await isEmpty(migrated)).toBe(true);
		expect(await isEmpty(reference)).toBe(true);

		await applyD1Migrations(migrated, env.TEST_MIGRATIONS);
		await reference.batch(schemaStatements(env.SCHEMA_SQL).map((s) => reference.prepare(s)));

		const [got, want] = await Promise.all([describeSchema(migrated), describeSchema(reference)]);
		expect(Object.keys(want.tables).length).toBeGreaterThan(5);
		expect(got).toEqual(want);
	});

	it("are numbered from 0001 without gaps, recorded once each, and applying them again changes nothing", async () => {
		const names = env.TEST_MIGRATIONS.map((m) => m.name);
		expect(names[0]).toBe("0001_initial.sql");
		names.forEach((name, i) => {
			expect(name).toMatch(/^\d{4}_[a-z0-9_]+\.sql$/);
			expect(Number(name.slice(0, 4))).toBe(i + 1);
		});
		const db = env.MIGRATIONS_CHECK_DB;
		await applyD1Migrations(db, env.TEST_MIGRATIONS);
		const before = await describeSchema(db);
		await applyD1Migrations(db, env.TEST_MIGRATIONS);
		const recorded = (await db.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>()).results;
		expect(recorded.map((r) => r.name)).toEqual(names);
		expect(await describeSchema(db)).toEqual(before);
	});

	it("are what every test file's database was built from", async () => {
		const recorded = (await env.DB.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>()).results;
		expect(recorded.map((r) => r.name)).toEqual(env.TEST_MIGRATIONS.map((m) => m.name));
	});
});

describe("the comparison", () => {
	it("notices an extra column, index or constraint, and ignores comments and quoting", async () => {
		const db = env.SCHEMA_CHECK_DB;
		const want = await describeSchema(env.MIGRATIONS_CHECK_DB);
		expect(await describeSchema(db)).toEqual(want);
		for (const [change, undo] of [
			["ALTER TABLE usage ADD COLUMN extra TEXT", "ALTER TABLE usage DROP COLUMN extra"],
			["CREATE INDEX extra_index ON usage (model)", "DROP INDEX extra_index"],
			["CREATE TABLE extra_table (id TEXT PRIMARY KEY CHECK (id <> ''))", "DROP TABLE extra_table"],
		]) {
			await db.prepare(change).run();
			expect(await describeSchema(db), change).not.toEqual(want);
			await db.prepare(undo).run();
			expect(await describeSchema(db), undo).toEqual(want);
		}
		expect(normalise("CREATE TABLE IF NOT EXISTS a (\n  x TEXT -- note\n)")).toBe(normalise('CREATE TABLE "a" ( x TEXT )'));
		expect(normalise("CREATE TABLE a (x TEXT CHECK (x <> ''))")).not.toBe(normalise("CREATE TABLE a (x TEXT)"));
	});
});
