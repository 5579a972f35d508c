/**
 * The console's one way to write numbers, money, times and durations, so every page says
 * "71,430" and never "73450" beside it. Fixed to en-US grouping: the API's docs and the
 * tests read the same digits whatever the browser's locale.
 */

const INTEGER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const DECIMAL = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
const USD = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 4 });
const DATE_TIME = new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeStyle: "short" });

/** A count: grouped, no fraction ("71,430"). Fractions are kept to two places. */
export function num(n: number): string {
	return Number.isInteger(n) ? INTEGER.format(n) : DECIMAL.format(n);
}

/** Credits with their unit ("1,344 credits", "1 credit"). */
export function credits(n: number): string {
	return `${num(n)} ${n === 1 ? "credit" : "credits"}`;
}

/** What `n` credits are worth in US dollars at `creditUsd` a credit ("$0.0672"). */
export function usd(n: number, creditUsd: number): string {
	return USD.format(n * creditUsd);
}

/** A moment, in the reader's time zone ("Dec 3, 2026, 1:05 PM"). */
export function dateTime(iso: string | number | Date): string {
	return DATE_TIME.format(new Date(iso));
}

/** A duration in seconds with one decimal ("4.2 s"). */
export function seconds(ms: number): string {
	return `${(ms / 1000).toFixed(1)} s`;
}
