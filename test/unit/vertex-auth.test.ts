// Vertex AI service-account auth: the RS256 JWT verified with the public key, and the
// access-token cache (one mint shared, refreshed before expiry, refusals typed).
import { describe, expect, it } from "vitest";
import { GeminiAuthError, GeminiConnectionError, GeminiServerError } from "../../src/gemini/errors";
import {
	CLOUD_PLATFORM_SCOPE,
	importSigningKey,
	type ServiceAccount,
	serviceAccountProblem,
	signAssertion,
} from "../../src/upstreams/service-account";
import { accessToken, CredentialError, refreshAt, tokenState } from "../../src/upstreams/vertex-token";
import { serviceAccount } from "../helpers/vertex";

const TOKEN_URL = "https://oauth2.example/token";

async function account(): Promise<{ sa: ServiceAccount; publicKey: CryptoKey }> {
	const t = await serviceAccount({ register: false });
	const sa = serviceAccountProblem(t.json);
	if (typeof sa === "string") throw new Error(sa);
	return { sa, publicKey: t.publicKey };
}

const decode = (part: string) => JSON.parse(new TextDecoder().decode(Uint8Array.fromBase64(part, { alphabet: "base64url" })));

describe("the JWT a service account signs", () => {
	it("is RS256 over header.claims, verifies with the account's public key, and asks for an hour of cloud-platform", async () => {
		const { sa, publicKey } = await account();
		const now = Date.UTC(2026, 10, 22, 12, 0, 0);
		const jwt = await signAssertion(sa, await importSigningKey(sa), TOKEN_URL, now);
		const [h, c, s] = jwt.split(".");
		expect(decode(h)).toEqual({ alg: "RS256", typ: "JWT", kid: sa.privateKeyId });
		expect(decode(c)).toEqual({
			iss: sa.clientEmail,
			scope: CLOUD_PLATFORM_SCOPE,
			aud: TOKEN_URL,
			iat: now / 1000,
			exp: now / 1000 + 3600,
		});
		const signature = Uint8Array.fromBase64(s, { alphabet: "base64url" });
		const data = new TextEncoder().encode(`${h}.${c}`);
		expect(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", publicKey, signature, data)).toBe(true);
		// Any change to the claims breaks it.
		const forged = new TextEncoder().encode(`${h}.${c.slice(0, -2)}AA`);
		expect(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", publicKey, signature, forged)).toBe(false);
	});

	it("reads key files whose PEM newlines are escaped, as Google's JSON has them", async () => {
		const t = await serviceAccount({ register: false });
		const escaped = t.json; // JSON.stringify escapes the newlines: "\\n" inside the file
		expect(escaped).toContain("\\n");
		const sa = serviceAccountProblem(escaped);
		expect(typeof sa).toBe("object");
		await expect(importSigningKey(sa as ServiceAccount)).resolves.toBeDefined();
	});
});

/** A token endpoint that counts mints and answers as told. */
function tokenEndpoint(answer: (n: number) => Response | Error) {
	let mints = 0;
	const bodies: string[] = [];
	const fn = (async (_: RequestInfo | URL, init?: RequestInit) => {
		bodies.push(String(init?.body));
		const a = answer(++mints);
		if (a instanceof Error) throw a;
		await new Promise((r) => setTimeout(r, 5));
		return a;
	}) as typeof fetch;
	return { fn, mints: () => mints, bodies };
}

const granted = (n: number, expiresIn = 3599) => Response.json({ access_token: `tok-${n}`, expires_in: expiresIn, token_type: "Bearer" });

describe("the access-token cache", () => {
	it("mints once for concurrent and later requests, then again shortly before expiry", async () => {
		const { sa } = await account();
		const scope = `unit#${crypto.randomUUID()}`;
		const ep = tokenEndpoint((n) => granted(n, 1)); // 1 s tokens: renewed after 0.75 s
		const first = await Promise.all(Array.from({ length: 5 }, () => accessToken(scope, sa, TOKEN_URL, "v", ep.fn)));
		expect(first).toEqual(Array(5).fill("tok-1"));
		expect(await accessToken(scope, sa, TOKEN_URL, "v", ep.fn)).toBe("tok-1");
		expect(ep.mints()).toBe(1);
		expect(new URLSearchParams(ep.bodies[0]).get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:jwt-bearer");
		await new Promise((r) => setTimeout(r, 800));
		expect(await accessToken(scope, sa, TOKEN_URL, "v", ep.fn)).toBe("tok-2");
		expect(tokenState(scope).mints).toBe(2);
	});

	it("renews an hour-long token five minutes before it ends", () => {
		expect(refreshAt(0, 3600)).toBe(3_300_000);
		expect(refreshAt(0, 60)).toBe(45_000);
	});

	it("a refusal is an auth error, an outage a retryable one, and the next call tries again", async () => {
		const { sa } = await account();
		const scope = `unit#${crypto.randomUUID()}`;
		const answers = [
			Response.json({ error: "invalid_grant", error_description: "Invalid JWT Signature." }, { status: 400 }),
			Response.json({}, { status: 503 }),
			new TypeError("network down"),
			granted(4),
		];
		const ep = tokenEndpoint((n) => answers[n - 1]);
		await expect(accessToken(scope, sa, TOKEN_URL, "v", ep.fn)).rejects.toBeInstanceOf(GeminiAuthError);
		await expect(accessToken(scope, sa, TOKEN_URL, "v", ep.fn)).rejects.toBeInstanceOf(GeminiServerError);
		await expect(accessToken(scope, sa, TOKEN_URL, "v", ep.fn)).rejects.toBeInstanceOf(GeminiConnectionError);
		expect(await accessToken(scope, sa, TOKEN_URL, "v", ep.fn)).toBe("tok-4");
	});

	it("a private key WebCrypto cannot import is a credential error, never an upstream failure", async () => {
		const { sa } = await account();
		const junk = { ...sa, privateKey: `-----BEGIN PRIVATE KEY-----\n${new Uint8Array(300).fill(9).toBase64()}\n-----END PRIVATE KEY-----` };
		const ep = tokenEndpoint((n) => granted(n));
		await expect(accessToken(`unit#${crypto.randomUUID()}`, junk, TOKEN_URL, "v", ep.fn)).rejects.toBeInstanceOf(CredentialError);
		expect(ep.mints()).toBe(0);
	});
});
