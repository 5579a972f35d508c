/**
 * The Hono environment every route shares: bindings from `wrangler types` plus the
 * per-request variables the middleware sets.
 */
import type { Caller } from "./account/caller";
import type { GatewayConfig } from "./config";
import type { ErrorStyle } from "./errors";
import type { RequestTrace } from "./observe";

export type { Caller } from "./account/caller";

export interface AppEnv {
	Bindings: Env;
	Variables: {
		requestId: string;
		/** Parsed once per isolate (src/config.ts); a broken setting never reaches a route. */
		config: GatewayConfig;
		/** How errors are written: OpenAI's shape, or Google's on Gemini's own routes. */
		errorStyle: ErrorStyle;
		caller: Caller;
		/** Phase timings and log fields of this request (src/observe.ts). */
		trace: RequestTrace;
	};
}
