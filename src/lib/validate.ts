/**
 * zod results turned into the gateway's 400: the first issue, its path as `param`.
 */
import type { z } from "zod";
import { invalidParam } from "../errors";

export function parseWith<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
	const result = schema.safeParse(value);
	if (result.success) return result.data;
	const issue = result.error.issues[0];
	const param = issue.path.length > 0 ? issue.path.join(".") : null;
	throw invalidParam(param, param ? `${param}: ${issue.message}` : issue.message);
}
