/**
 * The account's counters (requests, images and credits per day and month) and its
 * per-minute window (admissions per second over the last minute). Both live in memory and
 * reach the account row's `state` column at checkpoints (store.ts).
 */
import type { PeriodUsage } from "./records";

/** Periods kept in `state`: the views and quotas read only the current day and month. */
const KEPT_PERIODS = 4;

/** The counters' part of the `state` column. */
export interface CountersState {
	periods?: Record<string, PeriodUsage>;
	/** The per-second counts of the last minute, dense: `[first second, n, n+1, ...]`. */
	window?: number[];
	/** The same as `{second: count}` (written before migration 6; read only). */
	buckets?: Record<string, number>;
}

export class Counters {
	private periods = new Map<string, PeriodUsage>();
	/** Admissions per second (epoch seconds) in the last minute. */
	private buckets = new Map<number, number>();

	/** Replaces the memory with what a checkpoint saved. */
	load(state: CountersState): void {
		this.periods = new Map(Object.entries(state.periods ?? {}).map(([k, p]) => [k, { ...p }]));
		this.buckets = new Map(Object.entries(state.buckets ?? {}).map(([second, n]) => [Number(second), n]));
		const [first, ...counts] = state.window ?? [];
		counts.forEach((n, i) => {
			if (n > 0) this.buckets.set(first + i, n);
		});
	}

	/** What a checkpoint saves: the latest periods, and the window when it has anything. */
	saved(): Pick<CountersState, "periods" | "window"> {
		const periods = [...this.periods.entries()].sort((x, y) => (x[0] < y[0] ? 1 : -1));
		const days = periods.filter(([k]) => k.startsWith("d:")).slice(0, KEPT_PERIODS);
		const months = periods.filter(([k]) => k.startsWith("m:")).slice(0, KEPT_PERIODS);
		const saved: Pick<CountersState, "periods" | "window"> = { periods: Object.fromEntries([...days, ...months]) };
		if (this.buckets.size > 0) {
			// Dense from the oldest second: a busy minute is ~4 bytes a second instead of ~16.
			const seconds = [...this.buckets.keys()];
			const first = Math.min(...seconds);
			const window = new Array<number>(Math.max(...seconds) - first + 2).fill(0);
			window[0] = first;
			for (const [second, n] of this.buckets) window[second - first + 1] = n;
			saved.window = window;
		}
		return saved;
	}

	/** A period's counters (`d:yyyy-mm-dd` or `m:yyyy-mm`), created at zero when new. */
	period(period: string): PeriodUsage {
		let p = this.periods.get(period);
		if (!p) {
			p = { requests: 0, images: 0, credits: 0 };
			this.periods.set(period, p);
		}
		return p;
	}

	/** Adds to a day's and a month's counters. */
	bump(day: string, month: string, requests: number, images: number, credits: number): void {
		for (const key of [`d:${day}`, `m:${month}`]) {
			const p = this.period(key);
			p.requests += requests;
			p.images += images;
			p.credits += credits;
		}
	}

	/** Requests admitted in the last 60 seconds, and the oldest second among them. */
	recentRequests(second: number): { n: number; oldest: number | null } {
		this.pruneWindow(second);
		let n = 0;
		let oldest: number | null = null;
		for (const [s, count] of this.buckets) {
			n += count;
			if (oldest === null || s < oldest) oldest = s;
		}
		return { n, oldest };
	}

	/** Drops the buckets that have left the 60-second window. */
	pruneWindow(second: number): void {
		for (const s of this.buckets.keys()) if (s <= second - 60) this.buckets.delete(s);
	}

	/** Counts an admission in its second. */
	countRequest(second: number): void {
		this.buckets.set(second, (this.buckets.get(second) ?? 0) + 1);
	}
}
