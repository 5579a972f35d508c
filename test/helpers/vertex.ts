// Vertex AI service accounts for tests: a fresh RSA key pair, the JSON key file Google
// would issue (its token_uri pointing at the emulator), registered with the emulator.
import { env } from "cloudflare:workers";
import { expect } from "vitest";

export interface TestServiceAccount {
	email: string;
	project: string;
	/** The key file, as an operator would store it in a secret. */
	json: string;
	privateKeyPem: string;
	publicKey: CryptoKey;
}

function pem(label: string, der: ArrayBuffer): string {
	const b64 = new Uint8Array(der).toBase64();
	return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)?.join("\n")}\n-----END ${label}-----\n`;
}

export async function serviceAccount(opts: { tokenTtlSeconds?: number; register?: boolean } = {}): Promise<TestServiceAccount> {
	const pair = (await crypto.subtle.generateKey(
		{ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
		true,
		["sign", "verify"],
	)) as CryptoKeyPair;
	const id = crypto.randomUUID().slice(0, 8);
	const email = `gateway-${id}@test-project-${id}.iam.gserviceaccount.com`;
	const project = `test-project-${id}`;
	const privateKeyPem = pem("PRIVATE KEY", (await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
	const publicPem = pem("PUBLIC KEY", (await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
	if (opts.register !== false) {
		const res = await fetch(`${env.EMULATOR_URL}/__emulator/service-accounts`, {
			method: "POST",
			body: JSON.stringify({ client_email: email, public_key: publicPem, project_id: project, token_ttl_seconds: opts.tokenTtlSeconds }),
		});
		expect(res.status).toBe(200);
	}
	const json = JSON.stringify({
		type: "service_account",
		project_id: project,
		private_key_id: crypto.getRandomValues(new Uint8Array(20)).toHex(),
		private_key: privateKeyPem,
		client_email: email,
		client_id: "100000000000000000000",
		auth_uri: "https://accounts.google.com/o/oauth2/auth",
		token_uri: `${env.EMULATOR_URL}/token`,
	});
	return { email, project, json, privateKeyPem, publicKey: pair.publicKey };
}

/** Tokens the emulator issued to this account so far. */
export async function mints(email: string): Promise<number> {
	return (await (await fetch(`${env.EMULATOR_URL}/__emulator/service-accounts/${encodeURIComponent(email)}`)).json<{ mints: number }>())
		.mints;
}
