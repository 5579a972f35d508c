/**
 * A value built on first use instead of at module load. The Worker's cold start evaluates
 * every module before it can answer (`wrangler check startup` measures it), and zod 4
 * builds each schema eagerly, dozens of closures per instance: a schema wrapped in `lazy`
 * costs nothing until a request needs it, so a cold start that serves one route builds
 * only that route's schemas. The value is built once per isolate and shared afterwards.
 */
export function lazy<T>(build: () => T): () => T {
	let made: { value: T } | undefined;
	return () => {
		made ??= { value: build() };
		return made.value;
	};
}
