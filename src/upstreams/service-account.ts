/**
 * Vertex AI service accounts: reading the JSON key file Google issues, and signing the
 * RS256 JWT that is exchanged for an access token (RFC 7523, grant type jwt-bearer) with
 * WebCrypto, which workerd provides natively: the PKCS#8 private key is imported once and
 * signs with RSASSA-PKCS1-v1_5 / SHA-256.
 */
import { z } from "zod";
import { lazy } from "../lib/lazy";

export const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";
export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";

/** The fields of a key file the gateway uses. */
export interface ServiceAccount {
	clientEmail: string;
	privateKey: string;
	privateKeyId: string;
	tokenUri: string;
	projectId?: string;
}

const KeyFile = lazy(() =>
	z.looseObject({
		type: z.literal("service_account"),
		client_email: z.string().regex(/^[^@\s]+@[^@\s]+$/),
		private_key: z.string().includes("PRIVATE KEY-----"),
		private_key_id: z.string().default(""),
		token_uri: z.url({ protocol: /^https?$/ }).optional(),
		project_id: z.string().optional(),
	}),
);

/**
 * The key file, or what is wrong with it (a phrase that never quotes the file: parser
 * messages can echo their input, and the input holds the private key).
 */
export function serviceAccountProblem(text: string): ServiceAccount | string {
	let json: unknown;
	try {
		json = JSON.parse(text);
	} catch {
		return "is not valid JSON";
	}
	const r = KeyFile().safeParse(json);
	if (!r.success) {
		const field = String(r.error.issues[0].path[0] ?? "the file");
		return field === "type" ? 'is not a service account key (type must be "service_account")' : `has a missing or malformed ${field}`;
	}
	try {
		pemToDer(r.data.private_key);
	} catch {
		return "has a private_key that is not a PEM-encoded PKCS#8 key";
	}
	return {
		clientEmail: r.data.client_email,
		privateKey: r.data.private_key,
		privateKeyId: r.data.private_key_id,
		tokenUri: r.data.token_uri ?? GOOGLE_TOKEN_URL,
		projectId: r.data.project_id,
	};
}

/** The DER bytes inside a "-----BEGIN PRIVATE KEY-----" block (key files escape newlines as \n). */
export function pemToDer(pem: string): Uint8Array {
	const m = pem.replace(/\\n/g, "\n").match(/-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/);
	if (!m) throw new Error("no PKCS#8 block");
	const der = Uint8Array.fromBase64(m[1].replace(/\s+/g, ""));
	if (der.length < 100) throw new Error("too short for an RSA key");
	return der;
}

const utf8 = new TextEncoder();

function b64url(bytes: Uint8Array): string {
	return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

function b64urlJson(value: object): string {
	return b64url(utf8.encode(JSON.stringify(value)));
}

/** Imports the key for signing; throws when it is not an RSA PKCS#8 key WebCrypto accepts. */
export function importSigningKey(account: ServiceAccount): Promise<CryptoKey> {
	return crypto.subtle.importKey("pkcs8", pemToDer(account.privateKey), { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
}

/** The signed assertion Google's token endpoint exchanges for an access token (valid one hour). */
export async function signAssertion(account: ServiceAccount, key: CryptoKey, audience: string, nowMs = Date.now()): Promise<string> {
	const iat = Math.floor(nowMs / 1000);
	const header = { alg: "RS256", typ: "JWT", ...(account.privateKeyId ? { kid: account.privateKeyId } : {}) };
	const claims = { iss: account.clientEmail, scope: CLOUD_PLATFORM_SCOPE, aud: audience, iat, exp: iat + 3600 };
	const unsigned = `${b64urlJson(header)}.${b64urlJson(claims)}`;
	const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, utf8.encode(unsigned));
	return `${unsigned}.${b64url(new Uint8Array(signature))}`;
}
