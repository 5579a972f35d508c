/**
 * The Hono environment every route shares: bindings from `wrangler types` plus the
 * per-request variables the middleware sets.
 */
import type { Caller } from "./account/caller";
import type { GatewayConfig } from "./config";
import type { ErrorStyle } from "./errors";
import type { RequestTrace } from "./trace";

export type { Caller } from "./account/caller";

/**
 * The facts of the route a request is for, as its sub-app declared them (src/route-facts.ts),
 * known before any middleware runs: the router matched the whole request up front.
 */
export interface RequestRoute {
	/** The dialect of the log line when the billed path has not named it; null outside any. */
	dialect: string | null;
	/** How errors are written: OpenAI's shape, or Google's on Gemini's own routes. */
	errorStyle: ErrorStyle;
	/** A POST whose key is checked by admission itself (credits held), not up front. */
	admitted: boolean;
	/** A read that answers without a key (a key that is sent is still checked). */
	publicRead: boolean;
	/** Under one of the API's roots: the answer carries Server-Timing. */
	api: boolean;
}

export interface AppEnv {
	Bindings: Env;
	Variables: {
		requestId: string;
		/** Parsed once per isolate (src/config.ts); a broken setting never reaches a route. */
		config: GatewayConfig;
		/** The route's facts (src/route-facts.ts), set before anything else runs. */
		route: RequestRoute;
		/** How errors are written: `route.errorStyle`, kept apart because error paths read it alone. */
		errorStyle: ErrorStyle;
		caller: Caller;
		/** Phase timings and log fields of this request (src/trace.ts, src/observe.ts). */
		trace: RequestTrace;
	};
}
