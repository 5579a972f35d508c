/**
 * The Hono environment every route shares: bindings from `wrangler types` plus the
 * per-request variables the middleware sets.
 */
import type { KeyAccountStub } from "./account/key-account";
import type { GatewayConfig } from "./config";
import type { ErrorStyle } from "./errors";
import type { RequestTrace } from "./observe";

/** Who is calling, set by the API-key middleware on every /v1 route. */
export interface Caller {
	keyId: string;
	name: string;
	keyHash: string;
	account: KeyAccountStub;
}

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
