/**
 * Vertex AI's side of authentication, as the emulator plays it: service accounts are
 * registered with their public key (`POST /__emulator/service-accounts`), the token
 * endpoint (`POST /token`) verifies the RS256 JWT a client signed with the private key
 * (signature, issuer, audience, scope, lifetime, as Google's does) and issues an access
 * token with a configurable lifetime, and Vertex calls must carry a token it issued and
 * not yet expired, for the account's own project. Counts mints per account so tests can
 * see that tokens are cached and refreshed.
 */
import { createPublicKey, type KeyObject, randomBytes, verify } from "node:crypto";
import { type EmulatorReply, errorReply, jsonReply } from "./replies.ts";

export interface ServiceAccountRegistration {
	client_email: string;
	/** SPKI PEM of the account's key pair. */
	public_key: string;
	project_id: string;
	/** Lifetime of the tokens issued (default 3599 s, like Google's). */
	token_ttl_seconds?: number;
}

interface Account {
	key: KeyObject;
	project: string;
	ttl: number;
	mints: number;
}

const SCOPE = "https://www.googleapis.com/auth/cloud-platform";

const oauthError = (error: string, description: string): EmulatorReply => ({
	status: 400,
	headers: { "content-type": "application/json; charset=utf-8" },
	body: JSON.stringify({ error, error_description: description }),
	delayMs: 0,
});

const fromB64url = (s: string) => Buffer.from(s, "base64url");

export class VertexAuth {
	private readonly accounts = new Map<string, Account>();
	private readonly tokens = new Map<string, { email: string; expiresAt: number }>();

	register(r: ServiceAccountRegistration): void {
		const prior = this.accounts.get(r.client_email);
		this.accounts.set(r.client_email, {
			key: createPublicKey(r.public_key),
			project: r.project_id,
			ttl: r.token_ttl_seconds ?? 3599,
			mints: prior?.mints ?? 0,
		});
	}

	/** Tokens issued to an account so far. */
	mints(email: string): number {
		return this.accounts.get(email)?.mints ?? 0;
	}

	/** POST /token: grant_type jwt-bearer with an assertion whose audience is `tokenUrl`. */
	token(form: string, tokenUrl: string, now = Date.now()): EmulatorReply {
		const q = new URLSearchParams(form);
		if (q.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") {
			return oauthError("unsupported_grant_type", `Invalid grant_type: ${q.get("grant_type") ?? ""}`);
		}
		const parts = (q.get("assertion") ?? "").split(".");
		if (parts.length !== 3) return oauthError("invalid_request", "Invalid JWT: not three parts");
		let header: { alg?: string };
		let claims: { iss?: string; aud?: string; scope?: string; iat?: number; exp?: number };
		try {
			header = JSON.parse(fromB64url(parts[0]).toString("utf8"));
			claims = JSON.parse(fromB64url(parts[1]).toString("utf8"));
		} catch {
			return oauthError("invalid_request", "Invalid JWT: cannot decode");
		}
		const account = this.accounts.get(claims.iss ?? "");
		if (header.alg !== "RS256") return oauthError("invalid_grant", "Invalid JWT: alg must be RS256");
		if (!account) return oauthError("invalid_grant", "Invalid JWT Signature.");
		if (!verify("RSA-SHA256", Buffer.from(`${parts[0]}.${parts[1]}`), account.key, fromB64url(parts[2]))) {
			return oauthError("invalid_grant", "Invalid JWT Signature.");
		}
		if (claims.aud !== tokenUrl) return oauthError("invalid_grant", `Invalid JWT: audience must be ${tokenUrl}`);
		if (!(claims.scope ?? "").split(" ").includes(SCOPE))
			return oauthError("invalid_scope", "Invalid OAuth scope or ID token audience provided.");
		const t = Math.floor(now / 1000);
		const { iat = 0, exp = 0 } = claims;
		if (iat > t + 60 || exp <= t || exp - iat > 3600) {
			return oauthError("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.");
		}
		const token = `ya29.emu-${randomBytes(24).toString("base64url")}`;
		this.tokens.set(token, { email: claims.iss as string, expiresAt: now + account.ttl * 1000 });
		account.mints++;
		return jsonReply({ access_token: token, expires_in: account.ttl, token_type: "Bearer" });
	}

	/** The account behind `Authorization: Bearer ...` for a call on `project`, or Google's refusal. */
	principal(authorization: string | undefined, project: string, now = Date.now()): string | EmulatorReply {
		const token = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
		const t = token ? this.tokens.get(token) : undefined;
		if (!t || t.expiresAt <= now) {
			return errorReply(
				401,
				"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
			);
		}
		if (this.accounts.get(t.email)?.project !== project) {
			return errorReply(
				403,
				`Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/projects/${project}' (or it may not exist).`,
			);
		}
		return t.email;
	}
}
