/**
 * Access tokens for Vertex AI service accounts, minted from a signed JWT and cached per
 * upstream in the isolate: every request of the isolate shares one token until shortly
 * before it expires (a quarter of its life, at most five minutes, before), and concurrent
 * requests that find none wait for the same mint instead of each minting one. Google's
 * tokens live about an hour, so an isolate mints about once an hour per upstream.
 */
import { GeminiAuthError, GeminiConnectionError, GeminiServerError } from "../gemini/errors";
import { importSigningKey, type ServiceAccount, signAssertion } from "./service-account";

/** The key itself could not be used (not RSA, not PKCS#8): the upstream is unusable. */
export class CredentialError extends Error {}

interface Entry {
	key?: Promise<CryptoKey>;
	token?: { value: string; refreshAt: number; expiresAt: number };
	minting?: Promise<string>;
	/** Mints so far (tests and /admin/upstreams read it). */
	mints: number;
}

const entries = new Map<string, Entry>();

/** When to mint again: before expiry by a quarter of the token's life, at most five minutes. */
export function refreshAt(issuedAt: number, expiresInSeconds: number): number {
	const life = expiresInSeconds * 1000;
	return issuedAt + life - Math.min(300_000, life / 4);
}

async function mint(entry: Entry, account: ServiceAccount, tokenUrl: string, doFetch: typeof fetch, upstream: string): Promise<string> {
	entry.key ??= importSigningKey(account);
	let key: CryptoKey;
	try {
		key = await entry.key;
	} catch {
		entry.key = undefined;
		throw new CredentialError(`the private key of upstream ${upstream} cannot be imported as an RSA PKCS#8 key`);
	}
	const issuedAt = Date.now();
	const assertion = await signAssertion(account, key, tokenUrl, issuedAt);
	let res: Response;
	try {
		res = await doFetch(tokenUrl, {
			method: "POST",
			headers: { "content-type": "application/x-www-form-urlencoded" },
			body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }).toString(),
		});
	} catch (cause) {
		throw new GeminiConnectionError(`Could not reach the token endpoint of upstream ${upstream}`, { retryable: true, cause });
	}
	const body = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string };
	if (!res.ok || !body.access_token) {
		// OAuth errors carry a code (`invalid_grant`) and a description; neither holds the key.
		const why = `token endpoint of upstream ${upstream} answered ${res.status}${body.error ? ` ${body.error}` : ""}`;
		if (res.status >= 500) throw new GeminiServerError(`Vertex ${why}`, { status: res.status, retryable: true });
		throw new GeminiAuthError(`Vertex ${why}`, { status: res.status === 400 ? 401 : res.status, reason: "TOKEN_REFUSED" });
	}
	const expiresIn = Math.max(1, Number(body.expires_in ?? 3600));
	entry.token = { value: body.access_token, refreshAt: refreshAt(issuedAt, expiresIn), expiresAt: issuedAt + expiresIn * 1000 };
	entry.mints++;
	return body.access_token;
}

/**
 * A valid access token for this upstream (`scope` identifies it and its credential),
 * minted when there is none or it is due for refresh. Throws CredentialError or a
 * GeminiError (network, refusal) for the pool to act on.
 */
export async function accessToken(
	scope: string,
	account: ServiceAccount,
	tokenUrl: string,
	upstream: string,
	doFetch: typeof fetch = fetch,
): Promise<string> {
	let entry = entries.get(scope);
	if (!entry) {
		entry = { mints: 0 };
		entries.set(scope, entry);
	}
	const now = Date.now();
	if (entry.token && now < entry.token.refreshAt) return entry.token.value;
	let minting = entry.minting;
	if (!minting) {
		const e = entry;
		minting = mint(e, account, tokenUrl, doFetch, upstream).finally(() => {
			e.minting = undefined;
		});
		e.minting = minting;
		// Nobody may await a refresh started while the old token still serves.
		minting.catch(() => undefined);
	}
	// A token still valid while its successor is being minted is good enough.
	if (entry.token && now < entry.token.expiresAt - 5_000) return entry.token.value;
	return minting;
}

/** How many tokens this isolate minted for an upstream, and when the current one expires. */
export function tokenState(scope: string): { mints: number; expiresAt: number | null } {
	const e = entries.get(scope);
	return { mints: e?.mints ?? 0, expiresAt: e?.token?.expiresAt ?? null };
}
