/**
 * Several Gemini keys (or Vertex principals), each playing its own Google Cloud project:
 * its own per-model quotas per minute and per day (answered with Google's 429 body,
 * QuotaFailure naming the window in its quotaId, RetryInfo), its own outage (a status,
 * a dropped connection, or no answer at all), a suspension whose message quotes the key as
 * Google's does, and its own view of which models exist. Registered at start
 * (`keys`, EMULATOR_KEYS) or at run time (`POST /__emulator/keys`).
 */
import { type EmulatorReply, errorReply } from "./replies.ts";

export interface KeyProfile {
	/** Requests per model per window before 429 with a PerMinute quotaId. */
	perMinute?: number;
	/** Length of the "minute" window in ms (default 60 000; shorter in tests). A window opens with its first call. */
	windowMs?: number;
	/** Requests per model per day before 429 with a PerDay quotaId (the day ends at midnight Pacific). */
	perDay?: number;
	/** RetryInfo.retryDelay on quota 429s (default: the rest of the window; "59s" for per-day, as Google sends). */
	retryDelay?: string;
	/** Every call fails: with this status, by dropping the connection, or by never answering. */
	down?: number | "drop" | "hang";
	/** The project is suspended: 403 CONSUMER_SUSPENDED, the key quoted in the message. */
	suspended?: boolean;
	/** Ids this project cannot use (404), and ids only it can use. */
	retired?: string[];
	live?: string[];
}

interface Usage {
	/** When the current per-minute window opened. */
	window: number;
	minute: Map<string, number>;
	day: string;
	daily: Map<string, number>;
}

const QUOTA_MESSAGE =
	"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.";

const pacificDay = (now: number) => new Date(now).toLocaleDateString("en-CA", { timeZone: "America/Los_Angeles" });

function quota429(model: string, window: "Minute" | "Day", limit: number, retryDelay: string): EmulatorReply {
	const metric = "generativelanguage.googleapis.com/generate_content_paid_tier_requests";
	return errorReply(
		429,
		`${QUOTA_MESSAGE}\n* Quota exceeded for metric: ${metric}, limit: ${limit}, model: ${model}\nPlease retry in ${retryDelay}.`,
		[
			{
				"@type": "type.googleapis.com/google.rpc.Help",
				links: [{ description: "Learn more about Gemini API quotas", url: "https://ai.google.dev/gemini-api/docs/rate-limits" }],
			},
			{
				"@type": "type.googleapis.com/google.rpc.QuotaFailure",
				violations: [
					{
						quotaMetric: metric,
						quotaId: `GenerateRequestsPer${window}PerProjectPerModel-PaidTier`,
						quotaDimensions: { model, location: "global" },
						quotaValue: String(limit),
					},
				],
			},
			{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay },
		],
	);
}

export class KeyRegistry {
	private readonly profiles = new Map<string, KeyProfile>();
	private readonly usage = new Map<string, Usage>();

	constructor(initial: Record<string, KeyProfile> = {}) {
		for (const [key, p] of Object.entries(initial)) this.set(key, p);
	}

	/** Registers (or replaces) a key; its counters start again. */
	set(key: string, profile: KeyProfile): void {
		this.profiles.set(key, profile);
		this.usage.delete(key);
	}

	get(key: string | null): KeyProfile | undefined {
		return key === null ? undefined : this.profiles.get(key);
	}

	/** The failure this key answers with before looking at the request, if it is down or suspended. */
	outage(key: string): EmulatorReply | undefined {
		const p = this.profiles.get(key);
		if (!p) return undefined;
		if (p.suspended) {
			return errorReply(403, `Permission denied: Consumer 'api_key:${key}' has been suspended.`, [
				{
					"@type": "type.googleapis.com/google.rpc.ErrorInfo",
					reason: "CONSUMER_SUSPENDED",
					domain: "googleapis.com",
					metadata: { consumer: "projects/000000000000", service: "generativelanguage.googleapis.com" },
				},
			]);
		}
		if (p.down === "drop") return { status: 503, headers: {}, body: "", delayMs: 0, drop: true };
		if (p.down === "hang") return { ...errorReply(504, "Deadline expired before operation could complete."), delayMs: 600_000 };
		if (typeof p.down === "number")
			return errorReply(p.down, p.down === 503 ? "The model is overloaded. Please try again later." : "Error");
		return undefined;
	}

	/** Whether this key's project has the model, given what Google serves to everyone (`live`). */
	hasModel(key: string | null, model: string, live: boolean): boolean {
		const p = this.get(key);
		if (p?.retired?.includes(model)) return false;
		return live || (p?.live?.includes(model) ?? false);
	}

	/** Counts a call against the key's quotas for the model; the 429 Google would send when one is used up. */
	charge(key: string, model: string, now = Date.now()): EmulatorReply | undefined {
		const p = this.profiles.get(key);
		if (!p || (p.perMinute === undefined && p.perDay === undefined)) return undefined;
		const windowMs = p.windowMs ?? 60_000;
		let u = this.usage.get(key);
		if (!u) {
			u = { window: now, minute: new Map(), day: pacificDay(now), daily: new Map() };
			this.usage.set(key, u);
		}
		if (now >= u.window + windowMs) {
			u.window = now;
			u.minute.clear();
		}
		if (u.day !== pacificDay(now)) {
			u.day = pacificDay(now);
			u.daily.clear();
		}
		const daily = u.daily.get(model) ?? 0;
		if (p.perDay !== undefined && daily >= p.perDay) return quota429(model, "Day", p.perDay, p.retryDelay ?? "59s");
		const minute = u.minute.get(model) ?? 0;
		if (p.perMinute !== undefined && minute >= p.perMinute) {
			const left = (u.window + windowMs - now) / 1000;
			return quota429(model, "Minute", p.perMinute, p.retryDelay ?? `${left.toFixed(3).replace(/\.?0+$/, "")}s`);
		}
		u.daily.set(model, daily + 1);
		u.minute.set(model, minute + 1);
		return undefined;
	}
}
