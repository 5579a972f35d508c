/**
 * What a failed upstream call says about the upstream: read from the typed GeminiError
 * and, for 429s, from Google's google.rpc.QuotaFailure details. Gemini's quotas are per
 * project and per model, with per-minute and per-day windows; the window is named inside
 * each violation's quotaId (`GenerateRequestsPerMinutePerProjectPerModel-PaidTier`,
 * `GenerateRequestsPerDayPerProjectPerModel-FreeTier`, ...). A per-minute limit cools the
 * upstream for that model briefly (RetryInfo's delay); a per-day limit benches it until
 * the quota resets at midnight Pacific time, whatever RetryInfo says (Google has been seen
 * to send "59s" with a per-day violation).
 */
import {
	GeminiAuthError,
	GeminiConnectionError,
	type GeminiError,
	GeminiRateLimitError,
	GeminiServerError,
	GeminiTimeoutError,
} from "../gemini/errors";

export type QuotaWindow = "minute" | "day" | "unknown";

export type Verdict =
	/** A quota (429): this upstream may not serve this model until `until`. */
	| { kind: "quota"; window: QuotaWindow; until: number; quotaId?: string }
	/** The upstream is failing (5xx, 408, no answer, too slow): counts toward opening its breaker. */
	| { kind: "server" | "network" | "timeout"; retryAfterMs?: number }
	/** The credential was refused (401, 403, API_KEY_INVALID): the breaker opens at once. */
	| { kind: "auth" }
	/** 404 NOT_FOUND in Google's model-not-found words: this upstream may no longer have the model (models.get confirms). */
	| { kind: "gone" }
	/** The request itself was refused (other 4xx) or the answer was unreadable: no other upstream will do better. */
	| { kind: "request" };

/** Cooldown for a per-minute quota when Google sends no delay. */
export const MINUTE_COOLDOWN_MS = 60_000;
/** Cooldown for a 429 that names no window and no delay. */
export const UNKNOWN_QUOTA_COOLDOWN_MS = 30_000;
/** A per-minute cooldown never lasts longer than this, whatever the delay says. */
const MINUTE_COOLDOWN_CAP_MS = 5 * 60_000;

/** Built on first use: a time-zone formatter loads ICU's zone data, a cold start's cost otherwise. */
let pacific: Intl.DateTimeFormat | undefined;
const PACIFIC_FORMAT: Intl.DateTimeFormatOptions = {
	timeZone: "America/Los_Angeles",
	hourCycle: "h23",
	year: "numeric",
	month: "numeric",
	day: "numeric",
	hour: "numeric",
	minute: "numeric",
	second: "numeric",
};

/** Pacific wall-clock time at `at`, as if it were UTC (so offsets can be subtracted). */
function pacificWallClock(at: number): number {
	pacific ??= new Intl.DateTimeFormat("en-US", PACIFIC_FORMAT);
	const p = Object.fromEntries(pacific.formatToParts(new Date(at)).map((x) => [x.type, Number(x.value)]));
	return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
}

/** The next midnight in America/Los_Angeles after `now` (daylight saving included): when Google's per-day quotas reset. */
export function nextPacificMidnight(now: number): number {
	const wall = pacificWallClock(now);
	const offset = wall - Math.floor(now / 1000) * 1000; // Pacific minus UTC, in ms (-7 h or -8 h)
	const d = new Date(wall);
	const midnightWall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
	let at = midnightWall - offset;
	// The offset may change between now and midnight (the night DST begins or ends).
	const check = pacificWallClock(at) - at;
	if (check !== offset) at = midnightWall - check;
	return at;
}

/** The quota windows a 429's QuotaFailure names, and its first day-window quotaId. */
function quotaWindow(e: GeminiError): { window: QuotaWindow; quotaId?: string } {
	const violations = (e.body?.details ?? [])
		.filter((d) => d["@type"]?.endsWith("google.rpc.QuotaFailure"))
		.flatMap((d) => d.violations ?? []);
	const day = violations.find((v) => /PerDay/i.test(v.quotaId ?? "") || /per_day|PerDay/i.test(v.quotaMetric ?? ""));
	if (day) return { window: "day", quotaId: day.quotaId };
	const minute = violations.find((v) => /PerMinute/i.test(v.quotaId ?? "") || /per_minute/i.test(v.quotaMetric ?? ""));
	if (minute) return { window: "minute", quotaId: minute.quotaId };
	return { window: "unknown", quotaId: violations[0]?.quotaId };
}

/** Reads a failure. */
export function triage(e: GeminiError, now = Date.now()): Verdict {
	if (e instanceof GeminiRateLimitError) {
		const { window, quotaId } = quotaWindow(e);
		const asked = e.retryAfterMs;
		if (window === "day") return { kind: "quota", window, quotaId, until: Math.max(nextPacificMidnight(now), now + (asked ?? 0)) };
		const wait = window === "minute" ? Math.min(asked ?? MINUTE_COOLDOWN_MS, MINUTE_COOLDOWN_CAP_MS) : (asked ?? UNKNOWN_QUOTA_COOLDOWN_MS);
		return { kind: "quota", window, quotaId, until: now + wait };
	}
	if (e instanceof GeminiAuthError) return { kind: "auth" };
	if (e instanceof GeminiTimeoutError) return { kind: "timeout" };
	if (e instanceof GeminiConnectionError) return { kind: "network" };
	if (e instanceof GeminiServerError) return { kind: "server", retryAfterMs: e.retryAfterMs };
	if (e.modelNotFound) return { kind: "gone" };
	return { kind: "request" };
}
