/**
 * Building blocks shared by the answer schemas of ./responses.ts and
 * ./account-responses.ts. They live apart because every schema those modules export
 * becomes a named component of the document; these are inlined where they are used.
 */
import { z } from "zod";

/** A timestamp as the gateway writes them. */
export const Iso = z.string().describe("ISO 8601 date-time (UTC)");

/** A cursor-paged list of `item`. */
export const list = <T extends z.ZodType>(item: T) =>
	z.object({ object: z.literal("list"), data: z.array(item), has_more: z.boolean(), next_cursor: z.string().nullable() });

/** Where a model id is in its life. */
export const LifecycleStatus = z.enum(["active", "deprecated", "retired"]);
