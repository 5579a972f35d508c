/**
 * How a setting's text is read: numbers with bounds and defaults, flags, URLs, JSON, the
 * CORS origin list. src/config.ts's SETTINGS table is made of these. The shared ones are
 * built on first use (./lazy.ts), like the table itself, so a cold start builds no schema.
 */
import { z } from "zod";
import { lazy } from "./lazy";

/** Unset, null or only blanks: the setting takes its default. */
export const blank = (v: unknown) => v === undefined || v === null || (typeof v === "string" && v.trim() === "");

/** "must be a number" for text that is not one; zod's own words for bounds. */
const isNumber = {
	error: (issue: { code: string; expected?: string }) =>
		issue.code !== "invalid_type" ? undefined : issue.expected === "int" ? "must be a whole number" : "must be a number",
};

/** A number from a string or number; blank means the default. */
export function num(fallback: number, min: number, max: number, int = true) {
	const n = z.number(isNumber).min(min).max(max);
	return z.preprocess((v) => (blank(v) ? undefined : typeof v === "string" ? Number(v.trim()) : v), (int ? n.int() : n).default(fallback));
}

/** A number above `min`, or unset. */
export function optionalNum(min: number, max: number) {
	return z.preprocess(
		(v) => (blank(v) ? undefined : typeof v === "string" ? Number(v.trim()) : v),
		z.number(isNumber).gt(min).max(max).optional(),
	);
}

/** "true"/"false"/"1"/"0" (or a boolean); unset: false. */
export const flag = lazy(() =>
	z.preprocess(
		(v) => (blank(v) ? undefined : typeof v === "string" ? v.trim().toLowerCase() : v),
		z
			.union([z.boolean(), z.enum(["true", "false", "1", "0"])], { error: 'must be "true" or "false"' })
			.transform((v) => v === true || v === "true" || v === "1")
			.default(false),
	),
);

/** An http(s) URL without its trailing slashes, or unset. */
export const url = lazy(() =>
	z.preprocess(
		(v) => (blank(v) ? undefined : v),
		z
			.url({ protocol: /^https?$/, error: "must be an http(s) URL" })
			.transform((u) => u.replace(/\/+$/, ""))
			.optional(),
	),
);

/** Any text, or unset. */
export const text = lazy(() => z.preprocess((v) => (blank(v) ? undefined : v), z.string().optional()));

/** JSON given as a string (or already an object, from wrangler.toml). */
export function json<T extends z.ZodType>(schema: T) {
	return z.preprocess((v, ctx) => {
		if (blank(v)) return undefined;
		if (typeof v !== "string") return v;
		try {
			return JSON.parse(v);
		} catch {
			ctx.addIssue({ code: "custom", message: "is not valid JSON" });
			return z.NEVER;
		}
	}, schema.optional());
}

/**
 * CORS_ORIGINS: "*" (any origin; API keys are bearer tokens, never cookies) or a comma-
 * or space-separated list of exact origins (`https://app.example.com`), no paths.
 */
export const corsOrigins = lazy(() =>
	z.preprocess(
		(v) => (blank(v) ? undefined : typeof v === "string" ? v.trim() : v),
		z
			.union([
				z.literal("*"),
				z
					.string()
					.transform((s) => s.split(/[\s,]+/).filter(Boolean))
					.pipe(
						z
							.array(
								z.string().refine((o) => {
									try {
										const u = new URL(o);
										return (u.protocol === "https:" || u.protocol === "http:") && u.origin === o;
									} catch {
										return false;
									}
								}, "each entry must be an origin like https://app.example.com (scheme, host, optional port; no path or trailing slash)"),
							)
							.min(1, 'must be "*" or a list of origins'),
					),
			])
			.default("*"),
	),
);
