/**
 * A request's trace: its phase timings and the fields of its log line. A leaf module (it
 * imports nothing), so the Hono environment (src/types.ts) can name the trace's type
 * while src/observe.ts, which reads that environment, keeps the middleware.
 */

/** The phases of a billed request, in the order they happen. */
export const PHASES = ["auth", "admit", "upstream", "store", "convert", "settle"] as const;
export type Phase = (typeof PHASES)[number];

/** What the billed path knows about a request; the rest of the log line comes from the context. */
export interface TraceFields {
	dialect?: string;
	model?: string;
	upstreamModel?: string | null;
	/** The pool member that served each delivered image (its id; never a credential). */
	upstreams?: string[];
	errorCode?: string | null;
	creditsCharged?: number;
	images?: number;
	upstreamMs?: number | null;
}

/** Now, in milliseconds since the isolate started (monotonic, sub-millisecond). */
export const now = () => performance.now();
/** Milliseconds to one decimal, as logged and sent in Server-Timing. */
export const ms = (v: number) => Math.round(v * 10) / 10;

/** One request's phase timings and log fields. */
export class RequestTrace {
	readonly started = now();
	readonly fields: TraceFields = {};
	/** Per phase, from its first start to its last end: the n parallel calls of a fan-out count once. */
	private readonly spans = new Map<Phase, { start: number; end: number }>();

	async time<T>(phase: Phase, fn: () => Promise<T>): Promise<T> {
		const start = now();
		try {
			return await fn();
		} finally {
			const end = now();
			const span = this.spans.get(phase);
			if (!span) this.spans.set(phase, { start, end });
			else {
				span.start = Math.min(span.start, start);
				span.end = Math.max(span.end, end);
			}
		}
	}

	note(fields: TraceFields): void {
		Object.assign(this.fields, fields);
	}

	/** Milliseconds per phase that ran, in phase order. */
	phases(): Partial<Record<Phase, number>> {
		const out: Partial<Record<Phase, number>> = {};
		for (const p of PHASES) {
			const span = this.spans.get(p);
			if (span) out[p] = ms(span.end - span.start);
		}
		return out;
	}

	/** `auth;dur=1.2, admit;dur=3, ..., total;dur=812.4`: the W3C Server Timing format browsers' devtools show. */
	serverTiming(totalMs: number): string {
		return [...Object.entries(this.phases()).map(([p, d]) => `${p};dur=${d}`), `total;dur=${ms(totalMs)}`].join(", ");
	}
}
