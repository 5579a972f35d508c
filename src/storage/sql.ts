/**
 * Small SQL builders shared by the D1 query modules. Values are always bound; table and
 * column names only ever come from this code (a row type's keys), never from a request.
 */

type Value = string | number | null;

/** One condition and the values its `?`s take, in order. */
export type Clause = readonly [sql: string, ...params: Value[]];

/**
 * The conditions that apply, joined with AND: a condition given as a falsy value (an
 * unset filter) is left out. `sql` is empty when none applies.
 */
export function allOf(clauses: ReadonlyArray<Clause | false | "" | undefined>): { sql: string; params: Value[] } {
	const kept = clauses.filter((c): c is Clause => Boolean(c));
	return { sql: kept.map(([sql]) => sql).join(" AND "), params: kept.flatMap(([, ...params]) => params) };
}

/**
 * Changes the given columns of one row (found by id) and stamps its updated_at: one
 * partial UPDATE for every table whose rows carry both. An undefined field is written
 * as NULL, as D1 cannot bind undefined.
 */
export async function updateById<Row extends { id: string; updated_at: string }>(
	db: D1Database,
	table: string,
	id: string,
	fields: Partial<Omit<Row, "id">>,
): Promise<void> {
	const entries = Object.entries({ ...fields, updated_at: new Date().toISOString() });
	await db
		.prepare(`UPDATE ${table} SET ${entries.map(([column]) => `${column} = ?`).join(", ")} WHERE id = ?`)
		.bind(...entries.map(([, value]) => value ?? null), id)
		.run();
}
