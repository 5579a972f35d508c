// The emulator's keys (each its own project: quotas, outages, models) and its Vertex side
// (token endpoint verifying the JWT, bearer tokens per project), driven in Node: the pool
// tests in workerd rely on these answering like Google.
import { createSign, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { GeminiEmulator } from "../../emulator/gemini.ts";
import { VertexAuth } from "../../emulator/vertex.ts";

const body = JSON.stringify({ contents: [{ parts: [{ text: "a banana" }] }] });
const MODEL = "gemini-3-pro-image";

describe("keys with their own projects", () => {
	it("a per-minute quota answers Google's 429 with a PerMinute QuotaFailure and the rest of the window as RetryInfo", () => {
		const emu = new GeminiEmulator({ keys: { k: { perMinute: 1, windowMs: 10_000 } } });
		expect(emu.handle(MODEL, "generateContent", "k", body).status).toBe(200);
		const reply = emu.handle(MODEL, "generateContent", "k", body);
		const error = JSON.parse(reply.body).error;
		expect(error).toMatchObject({ code: 429, status: "RESOURCE_EXHAUSTED" });
		const quota = error.details.find((d: { "@type": string }) => d["@type"].endsWith("QuotaFailure"));
		expect(quota.violations[0]).toMatchObject({
			quotaId: "GenerateRequestsPerMinutePerProjectPerModel-PaidTier",
			quotaDimensions: { model: MODEL, location: "global" },
			quotaValue: "1",
		});
		const retry = error.details.find((d: { "@type": string }) => d["@type"].endsWith("RetryInfo")).retryDelay;
		expect(Number(retry.replace("s", ""))).toBeGreaterThan(9);
		// Quotas are per model.
		expect(emu.handle("gemini-3.1-flash-image", "generateContent", "k", body).status).toBe(200);
	});

	it("a per-day quota names the day window and, like Google, says 59s", () => {
		const emu = new GeminiEmulator({ keys: { k: { perDay: 0 } } });
		const error = JSON.parse(emu.handle(MODEL, "generateContent", "k", body).body).error;
		expect(JSON.stringify(error.details)).toContain("GenerateRequestsPerDayPerProjectPerModel-PaidTier");
		expect(error.details.at(-1)).toEqual({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "59s" });
	});

	it("outages, suspension (quoting the key, as Google does) and per-project models", () => {
		const emu = new GeminiEmulator({
			requiredKey: "main",
			keys: {
				down: { down: 503 },
				drop: { down: "drop" },
				gone: { suspended: true },
				old: { live: ["gemini-2.5-flash-image"], retired: [MODEL] },
			},
		});
		expect(emu.handle(MODEL, "generateContent", "down", body).status).toBe(503);
		expect(emu.handle(MODEL, "generateContent", "drop", body).drop).toBe(true);
		const suspended = JSON.parse(emu.handle(MODEL, "generateContent", "gone", body).body).error;
		expect(suspended).toMatchObject({
			code: 403,
			status: "PERMISSION_DENIED",
			message: "Permission denied: Consumer 'api_key:gone' has been suspended.",
		});
		expect(emu.handle("gemini-2.5-flash-image", "generateContent", "old", body).status).toBe(200);
		expect(emu.handle(MODEL, "generateContent", "old", body).status).toBe(404);
		expect(emu.handle(MODEL, "generateContent", "main", body).status).toBe(200);
		expect(emu.handle(MODEL, "generateContent", "unknown", body).status).toBe(400); // API_KEY_INVALID still
	});
});

function account(ttl?: number) {
	const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
	const auth = new VertexAuth();
	auth.register({
		client_email: "sa@p.iam.gserviceaccount.com",
		public_key: publicKey.export({ type: "spki", format: "pem" }) as string,
		project_id: "p-project",
		token_ttl_seconds: ttl,
	});
	const jwt = (claims: object, alg = "RS256") => {
		const enc = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
		const unsigned = `${enc({ alg, typ: "JWT" })}.${enc(claims)}`;
		return `${unsigned}.${createSign("RSA-SHA256").update(unsigned).sign(privateKey).toString("base64url")}`;
	};
	return { auth, jwt };
}

const URL = "http://127.0.0.1:1/token";
const now = Math.floor(Date.now() / 1000);
const good = {
	iss: "sa@p.iam.gserviceaccount.com",
	aud: URL,
	scope: "https://www.googleapis.com/auth/cloud-platform",
	iat: now,
	exp: now + 3600,
};
const grant = (assertion: string) =>
	new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }).toString();

describe("the Vertex token endpoint", () => {
	it("exchanges a correctly signed JWT for a bearer token that works on the account's project only", () => {
		const { auth, jwt } = account();
		const reply = auth.token(grant(jwt(good)), URL);
		expect(reply.status).toBe(200);
		const token = JSON.parse(reply.body);
		expect(token).toMatchObject({ expires_in: 3599, token_type: "Bearer" });
		expect(auth.principal(`Bearer ${token.access_token}`, "p-project")).toBe("sa@p.iam.gserviceaccount.com");
		expect((auth.principal(`Bearer ${token.access_token}`, "other") as { status: number }).status).toBe(403);
		expect((auth.principal("Bearer nope", "p-project") as { status: number }).status).toBe(401);
		expect(auth.mints("sa@p.iam.gserviceaccount.com")).toBe(1);
	});

	it.each([
		["a signature by another key", () => account().jwt(good), "Invalid JWT Signature."],
		["another audience", (j: (c: object) => string) => j({ ...good, aud: "https://elsewhere/token" }), "audience"],
		["no cloud-platform scope", (j: (c: object) => string) => j({ ...good, scope: "email" }), "scope"],
		["a lifetime over an hour", (j: (c: object) => string) => j({ ...good, exp: now + 7200 }), "short-lived"],
		["an expired assertion", (j: (c: object) => string) => j({ ...good, iat: now - 7200, exp: now - 3600 }), "short-lived"],
	])("refuses %s", (_, make, message) => {
		const { auth, jwt } = account();
		const reply = auth.token(grant(make(jwt)), URL);
		expect(reply.status).toBe(400);
		expect(JSON.parse(reply.body).error_description).toContain(message);
	});

	it("tokens stop working when they expire", () => {
		const { auth, jwt } = account(1);
		const token = JSON.parse(auth.token(grant(jwt(good)), URL).body).access_token;
		expect((auth.principal(`Bearer ${token}`, "p-project", Date.now() + 1_001) as { status: number }).status).toBe(401);
	});
});
