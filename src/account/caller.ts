/**
 * Who is calling: the key's hash, its KeyAccount, and its identity (key id and name).
 *
 * Routes that only read or manage things learn the identity up front (one `authorize`
 * call). Billed routes do not: admission checks the key in the same Durable Object call
 * that holds the credits, so a generation enters with one call, not two, and a revoked
 * key still fails on its very next request. Code in those routes that needs the identity
 * before admission (a conversation's owner, a chat history's stored turns) asks for it
 * with `identify()`.
 */
import { type ApiError, apiError, unauthorized } from "../errors";
import type { KeyAccountStub } from "./key-account";

export interface Identity {
	keyId: string;
	name: string;
}

export class Caller {
	private known: Identity | undefined;
	private checking: Promise<Identity> | undefined;

	constructor(
		readonly keyHash: string,
		readonly account: KeyAccountStub,
		identity?: Identity,
	) {
		this.known = identity;
	}

	/** The key's id; only read once the key is known to be valid (a bug otherwise). */
	get keyId(): string {
		return this.identity().keyId;
	}

	get name(): string {
		return this.identity().name;
	}

	/** The key's id if it is known yet (for log lines: a request refused before admission has none). */
	get knownKeyId(): string | null {
		return this.known?.keyId ?? null;
	}

	private identity(): Identity {
		if (!this.known) throw new Error("the caller's key has not been checked yet");
		return this.known;
	}

	/** Records what admission learnt about the key. */
	resolve(identity: Identity): void {
		this.known = identity;
	}

	/** The identity, checking the key now (401 unknown, 403 revoked) when admission has not. */
	identify(): Promise<Identity> {
		if (this.known) return Promise.resolve(this.known);
		// Concurrent askers (several inputs fetched at once) share one check.
		this.checking ??= this.account.authorize().then((auth) => {
			if (!auth.ok) throw refusedKey(auth.reason);
			this.known = { keyId: auth.keyId, name: auth.name };
			return this.known;
		});
		return this.checking;
	}
}

/** The answer for a key that is unknown (401) or revoked (403). */
export function refusedKey(reason: "unknown_key" | "key_revoked"): ApiError {
	return reason === "key_revoked" ? apiError("key_revoked", "This API key has been revoked") : unauthorized("Invalid API key");
}
