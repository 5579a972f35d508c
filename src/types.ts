/**
 * The Hono environment every route shares: bindings from `wrangler types` plus the
 * per-request variables the middleware sets.
 */
import type { KeyAccountStub } from "./account/key-account";

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
		caller: Caller;
	};
}
