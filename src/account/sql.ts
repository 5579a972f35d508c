/**
 * A tagged template over a Durable Object's SQLite: ``sql`SELECT credits FROM holds WHERE id = ${id}` ``
 * runs the statement with a `?` where each value was written and the values bound to them,
 * so a value never becomes SQL text and a statement reads as the SQL it runs.
 *
 * Building the statement is the only work it adds to `SqlStorage.exec`: the text is joined
 * from the template's pieces on every call (workerd's SQLite API has no prepared statements
 * to keep, and caching the text would save less than a map lookup costs).
 */

/** A value a statement can bind. */
export type SqlValue = SqlStorageValue;

/** A row as `exec` returns it. */
export type SqlRow = Record<string, SqlStorageValue>;

/** A piece of statement with its own parameters, spliced in where it is interpolated. */
export class SqlFragment {
	constructor(
		readonly text: string,
		readonly params: readonly SqlValue[],
	) {}
}

/** Runs a statement written as a tagged template; see the module comment. */
export type Sql = <T extends SqlRow = SqlRow>(strings: TemplateStringsArray, ...values: (SqlValue | SqlFragment)[]) => SqlStorageCursor<T>;

/** The `sql` tag over `storage`. */
export function sqlOf(storage: SqlStorage): Sql {
	return <T extends SqlRow>(strings: TemplateStringsArray, ...values: (SqlValue | SqlFragment)[]) => {
		let text = strings[0];
		const params: SqlValue[] = [];
		for (let i = 0; i < values.length; i++) {
			const value = values[i];
			if (value instanceof SqlFragment) {
				text += value.text;
				params.push(...value.params);
			} else {
				text += "?";
				params.push(value);
			}
			text += strings[i + 1];
		}
		return storage.exec<T>(text, ...params);
	};
}

/** `(?, ?, ?), (?, ?, ?)` binding `rows`: several rows in one INSERT's VALUES. */
export function valueRows(rows: readonly (readonly SqlValue[])[]): SqlFragment {
	const params: SqlValue[] = [];
	const groups: string[] = [];
	for (const row of rows) {
		groups.push(`(${row.map(() => "?").join(", ")})`);
		params.push(...row);
	}
	return new SqlFragment(groups.join(", "), params);
}
