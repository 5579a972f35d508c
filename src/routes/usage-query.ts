/**
 * Query-string parsing shared by the usage endpoints: dates, model filter, page size.
 * Callers see their own rows only, so only the admin form accepts `key_id`.
 */
import { z } from "zod";
import { lazy } from "../lib/lazy";

const Day = lazy(() => z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date YYYY-MM-DD"));

export const UsageQuery = lazy(() =>
	z.strictObject({
		from: Day().optional(),
		to: Day().optional(),
		model: z.string().min(1).max(100).optional(),
		limit: z.coerce.number().int().min(1).max(200).default(50),
		cursor: z.string().optional(),
	}),
);

export const AdminUsageQuery = lazy(() =>
	UsageQuery().extend({
		key_id: z.string().min(1).max(100).optional(),
		upstream: z.string().min(1).max(40).optional(),
	}),
);
