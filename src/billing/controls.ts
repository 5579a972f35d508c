/**
 * Per-key spend controls, set by the operator (`controls` on POST/PATCH /admin/keys) and
 * enforced by the key's KeyAccount at admission, so every billed request (sync, streamed,
 * async, Batch lane, pipeline runs) meets them in one place:
 *   - which models and image sizes the key may use, and which priced features (Google
 *     Search grounding, a maximum thinking level, the Batch lane, text-only answers);
 *   - daily and monthly caps on the credits it spends (charged + held);
 *   - a low-balance threshold and the URL told when a settlement takes the balance below it.
 * Absent means "no restriction at key level": the operator's global settings still apply.
 * Pure data and pure functions: the KeyAccount stores the JSON, the routes validate it.
 */
import { z } from "zod";
import { IMAGE_SIZES, type ImageSize } from "../catalog/data";
import { lazy } from "../lib/lazy";

/** Thinking levels, least to most (Gemini's `thinkingConfig.thinkingLevel`, lower-cased). */
export const THINKING_LEVELS = ["minimal", "low", "medium", "high"] as const;
export type ThinkingLevel = (typeof THINKING_LEVELS)[number];

/** Features a request may use that cost more than its images; each one a key may be refused. */
export interface RequestedFeatures {
	/** Google Search grounding (tools: googleSearch), billed per query. */
	search?: boolean;
	/** The thinking level asked for explicitly (none: the model's default). */
	thinking?: ThinkingLevel;
	/** The Batch lane (`service_tier: "batch"`). */
	batch?: boolean;
	/** An answer that may be text only (responseModalities without IMAGE). */
	text_output?: boolean;
}

/** The features a key may use; an absent field allows the feature. */
export interface AllowedFeatures {
	search?: boolean;
	/** The highest thinking level a request may ask for. */
	thinking?: ThinkingLevel;
	batch?: boolean;
	text_output?: boolean;
}

/** A key's stored controls: only what the operator set (absent = no restriction). */
export interface KeyControls {
	allowed_models?: string[];
	allowed_image_sizes?: ImageSize[];
	allowed_features?: AllowedFeatures;
	daily_spend_credits?: number;
	monthly_spend_credits?: number;
	low_balance_threshold?: number;
	low_balance_webhook_url?: string;
}

/** Names a refusal or a validation error can carry in `param`. */
export type ControlName =
	| "allowed_models"
	| "allowed_image_sizes"
	| "allowed_features.search"
	| "allowed_features.thinking"
	| "allowed_features.batch"
	| "allowed_features.text_output";
export type SpendLimitName = "daily_spend_credits" | "monthly_spend_credits";

const Credits = lazy(() => z.number().int().min(0).max(1_000_000_000));

/**
 * A change to a key's controls: each field replaces the stored one, null removes it (back
 * to no restriction); an empty model or size list also means "all". URLs and model names
 * are checked against the catalog and the public-URL rules by the route.
 */
export const ControlsPatch = lazy(() =>
	z.strictObject({
		allowed_models: z.array(z.string().trim().min(1).max(200)).max(100).nullable().optional(),
		allowed_image_sizes: z
			.array(z.enum(IMAGE_SIZES as [ImageSize, ...ImageSize[]]))
			.max(IMAGE_SIZES.length)
			.nullable()
			.optional(),
		allowed_features: z
			.strictObject({
				search: z.boolean().nullable().optional(),
				thinking: z.enum(THINKING_LEVELS).nullable().optional(),
				batch: z.boolean().nullable().optional(),
				text_output: z.boolean().nullable().optional(),
			})
			.nullable()
			.optional(),
		daily_spend_credits: Credits().nullable().optional(),
		monthly_spend_credits: Credits().nullable().optional(),
		low_balance_threshold: Credits().nullable().optional(),
		low_balance_webhook_url: z.string().max(2048).nullable().optional(),
	}),
);
export type ControlsPatch = z.infer<ReturnType<typeof ControlsPatch>>;

/** Sets (or, for null, removes) each field of `patch` in `into`. */
function patchFields<T extends object>(into: T, patch: object): void {
	const out = into as Record<string, unknown>;
	for (const [k, v] of Object.entries(patch)) {
		if (v === null) delete out[k];
		else if (v !== undefined) out[k] = v;
	}
}

/** Applies a patch to stored controls; the result keeps only restrictions. */
export function applyControls(current: KeyControls, patch: ControlsPatch): KeyControls {
	const { allowed_features, ...rest } = patch;
	const next: KeyControls = structuredClone(current);
	patchFields(next, rest);
	if (allowed_features === null) delete next.allowed_features;
	else if (allowed_features) {
		const features: AllowedFeatures = { ...next.allowed_features };
		patchFields(features, allowed_features);
		if (Object.keys(features).length > 0) next.allowed_features = features;
		else delete next.allowed_features;
	}
	if (next.allowed_models?.length === 0) delete next.allowed_models;
	if (next.allowed_image_sizes?.length === 0) delete next.allowed_image_sizes;
	return next;
}

/** The controls as GET /v1/account and /admin/keys show them: every field, null for "no restriction". */
export function presentControls(c: KeyControls) {
	const f = c.allowed_features ?? {};
	return {
		allowed_models: c.allowed_models ?? null,
		allowed_image_sizes: c.allowed_image_sizes ?? null,
		allowed_features: {
			search: f.search ?? true,
			thinking: f.thinking ?? "high",
			batch: f.batch ?? true,
			text_output: f.text_output ?? true,
		},
		daily_spend_credits: c.daily_spend_credits ?? null,
		monthly_spend_credits: c.monthly_spend_credits ?? null,
		low_balance_threshold: c.low_balance_threshold ?? null,
		low_balance_webhook_url: c.low_balance_webhook_url ?? null,
	};
}

/** What an admission asks for, as the controls see it. */
export interface ControlledUse {
	/**
	 * The names the model goes by: the one the caller used and the alias it is priced as,
	 * so an alias in `allowed_models` also allows the raw Gemini ids sold under it.
	 */
	models: string[];
	/** The image size, or null for a model with no size choice (counted as 1K). */
	imageSize: string | null;
	features: RequestedFeatures;
}

/** The use of a model (id and the alias it is priced as) at a size, with features. */
export function controlledUse(
	model: { id: string; priceAs: string },
	imageSize: string | null | undefined,
	features: RequestedFeatures = {},
): ControlledUse {
	return { models: [...new Set([model.id, model.priceAs])], imageSize: imageSize ?? null, features };
}

/** A refusal by the key's controls: which one, and what to tell the caller. */
export interface ControlRefusal {
	control: ControlName;
	message: string;
}

/** Checks a use against a key's controls: null when allowed, else the first control it breaks. */
export function checkControls(c: KeyControls, use: ControlledUse): ControlRefusal | null {
	if (c.allowed_models && !use.models.some((m) => c.allowed_models?.includes(m))) {
		return {
			control: "allowed_models",
			message: `This key may not use model '${use.models[0]}'; it may use: ${c.allowed_models.join(", ")}`,
		};
	}
	const size = use.imageSize ?? "1K";
	if (c.allowed_image_sizes && !(c.allowed_image_sizes as string[]).includes(size)) {
		return {
			control: "allowed_image_sizes",
			message: `This key may not ask for ${size} images; it may ask for: ${c.allowed_image_sizes.join(", ")}`,
		};
	}
	const f = c.allowed_features ?? {};
	const u = use.features;
	if (u.search && f.search === false)
		return { control: "allowed_features.search", message: "This key may not use Google Search grounding" };
	if (u.thinking && f.thinking && THINKING_LEVELS.indexOf(u.thinking) > THINKING_LEVELS.indexOf(f.thinking)) {
		return {
			control: "allowed_features.thinking",
			message: `This key may think at most at level '${f.thinking}'; the request asks for '${u.thinking}'`,
		};
	}
	if (u.batch && f.batch === false)
		return { control: "allowed_features.batch", message: 'This key may not use the Batch lane (service_tier "batch")' };
	if (u.text_output && f.text_output === false) {
		return {
			control: "allowed_features.text_output",
			message: "This key may not ask for text-only answers (responseModalities must include IMAGE)",
		};
	}
	return null;
}

/** Credits of a period: charged so far, and held by requests still running. */
export interface PeriodSpend {
	charged: number;
	held: number;
}

/** A spend cap the request would break, or null. `hold` is what this request holds. */
export function checkSpend(
	c: KeyControls,
	day: PeriodSpend,
	month: PeriodSpend,
	hold: number,
): { limit: SpendLimitName; value: number; spent: number; required: number } | null {
	const caps: Array<[SpendLimitName, number | undefined, PeriodSpend]> = [
		["daily_spend_credits", c.daily_spend_credits, day],
		["monthly_spend_credits", c.monthly_spend_credits, month],
	];
	for (const [limit, value, p] of caps) {
		if (value !== undefined && p.charged + p.held + hold > value) return { limit, value, spent: p.charged + p.held, required: hold };
	}
	return null;
}

/** Did a balance change from `before` to `after` go below the key's low-balance threshold? */
export function crossesLowBalance(c: KeyControls, before: number, after: number): boolean {
	const t = c.low_balance_threshold;
	return t !== undefined && c.low_balance_webhook_url !== undefined && before >= t && after < t;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined);
/** A field as Google's JSON parser reads it: camelCase or snake_case. */
const field = (o: Json | undefined, camel: string): unknown => o?.[camel] ?? o?.[camel.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`)];

/**
 * The priced features a Gemini-native body uses (camelCase or snake_case): a search tool,
 * an explicit thinking level, responseModalities without IMAGE. For the native route's
 * admission (`Metered.features`); the Batch lane is known from `service_tier`, not the body.
 */
export function nativeFeatures(body: unknown): RequestedFeatures {
	const b = obj(body);
	const out: RequestedFeatures = {};
	const tools = field(b, "tools");
	if (Array.isArray(tools) && tools.some((t) => field(obj(t), "googleSearch") ?? field(obj(t), "googleSearchRetrieval"))) out.search = true;
	const config = obj(field(b, "generationConfig"));
	const level = field(obj(field(config, "thinkingConfig")), "thinkingLevel");
	if (typeof level === "string" && (THINKING_LEVELS as readonly string[]).includes(level.toLowerCase())) {
		out.thinking = level.toLowerCase() as ThinkingLevel;
	}
	const modalities = field(config, "responseModalities");
	if (Array.isArray(modalities) && !modalities.some((m) => typeof m === "string" && m.toUpperCase() === "IMAGE")) out.text_output = true;
	return out;
}
