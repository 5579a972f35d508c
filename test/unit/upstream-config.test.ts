// The pool's configuration: GEMINI_API_KEY(S) and UPSTREAMS resolved into upstreams; a
// mistake in UPSTREAMS is a configuration error naming the field; a missing or malformed
// credential only marks its own upstream unusable, in words that never quote it.
import { describe, expect, it } from "vitest";
import { configError, configOf } from "../helpers/config";

const SA = JSON.stringify({
	type: "service_account",
	project_id: "key-file-project",
	private_key_id: "abcdef0123456789",
	private_key: `-----BEGIN PRIVATE KEY-----\\n${"A".repeat(200)}\\n-----END PRIVATE KEY-----\\n`,
	client_email: "gw@key-file-project.iam.gserviceaccount.com",
	token_uri: "https://oauth2.googleapis.com/token",
});

describe("the pool from GEMINI_API_KEY and GEMINI_API_KEYS", () => {
	it("GEMINI_API_KEY alone is a pool of one", () => {
		const c = configOf({ GEMINI_API_KEY: "k-one" });
		expect(c.upstreams.map((u) => [u.id, u.kind, u.source, u.baseUrl, u.weight])).toEqual([
			["gemini-1", "gemini", "GEMINI_API_KEY", "https://generativelanguage.googleapis.com", 1],
		]);
	});

	it("GEMINI_API_KEYS adds one upstream per key, in order, each key once", () => {
		const c = configOf({ GEMINI_API_KEY: "k-b", GEMINI_API_KEYS: "k-a, k-b,,\nk-c", GEMINI_BASE_URL: "http://127.0.0.1:1/" });
		expect(c.upstreams.map((u) => [u.id, u.source, u.credential])).toEqual([
			["gemini-1", "GEMINI_API_KEY", { type: "api_key", apiKey: "k-b" }],
			["gemini-2", "GEMINI_API_KEYS[0]", { type: "api_key", apiKey: "k-a" }],
			["gemini-3", "GEMINI_API_KEYS[2]", { type: "api_key", apiKey: "k-c" }],
		]);
		expect(c.upstreams.every((u) => u.baseUrl === "http://127.0.0.1:1")).toBe(true);
	});

	it("no key at all parses (images are still served) and routes answer configuration_error", () => {
		expect(configOf({}).upstreams).toEqual([]);
	});
});

describe("UPSTREAMS", () => {
	it("resolves Gemini keys and Vertex projects, each credential read from the secret it names", () => {
		const c = configOf({
			GEMINI_API_KEY: "shared-key",
			UPSTREAMS: JSON.stringify({
				studio: { kind: "gemini", secret: "STUDIO_KEY", weight: 3, max_concurrency: 4 },
				"vertex-us": { kind: "vertex", secret: "VERTEX_SA", location: "us-central1", models: ["gemini-3-pro-image"] },
				"vertex-global": { kind: "vertex", secret: "VERTEX_SA", project: "other-project" },
				express: { kind: "vertex", secret: "EXPRESS_KEY" },
				same: { kind: "gemini", secret: "GEMINI_API_KEY" },
			}),
			STUDIO_KEY: "studio-key",
			VERTEX_SA: SA,
			EXPRESS_KEY: "express-key",
		});
		const byId = new Map(c.upstreams.map((u) => [u.id, u]));
		// The key UPSTREAMS names ("same") is not listed twice as gemini-1.
		expect([...byId.keys()]).toEqual(["studio", "vertex-us", "vertex-global", "express", "same"]);
		expect(byId.get("studio")).toMatchObject({
			weight: 3,
			maxConcurrency: 4,
			credential: { apiKey: "studio-key" },
			source: "secret STUDIO_KEY",
		});
		expect(byId.get("vertex-us")).toMatchObject({
			baseUrl: "https://us-central1-aiplatform.googleapis.com",
			project: "key-file-project",
			location: "us-central1",
			tokenUrl: "https://oauth2.googleapis.com/token",
			models: ["gemini-3-pro-image"],
			credential: { type: "service_account", account: { clientEmail: "gw@key-file-project.iam.gserviceaccount.com" } },
		});
		expect(byId.get("vertex-global")).toMatchObject({
			baseUrl: "https://aiplatform.googleapis.com",
			project: "other-project",
			location: "global",
		});
		expect(byId.get("express")).toMatchObject({
			baseUrl: "https://aiplatform.googleapis.com",
			credential: { type: "api_key", apiKey: "express-key" },
		});
		expect(c.upstreams.every((u) => u.problem === undefined)).toBe(true);
	});

	it.each([
		["not JSON", "{", /UPSTREAMS: is not valid JSON/],
		["an unknown kind", { a: { kind: "azure", secret: "S" } }, /UPSTREAMS: a\.kind: Invalid option/],
		["a misspelt field", { a: { kind: "gemini", secret: "S", wieght: 2 } }, /UPSTREAMS: a: Unrecognized key: "wieght"/],
		["a weight of zero", { a: { kind: "gemini", secret: "S", weight: 0 } }, /UPSTREAMS: a\.weight: Too small/],
		["a secret that is not a name", { a: { kind: "gemini", secret: "my key" } }, /UPSTREAMS: a\.secret: must be the name of a secret/],
		[
			"an unknown model",
			{ a: { kind: "gemini", secret: "S", models: ["gemini-9-image"] } },
			/UPSTREAMS: a\.models\[0\]: gemini-9-image is not/,
		],
		[
			"a project on a Gemini upstream",
			{ a: { kind: "gemini", secret: "S", project: "p-123456" } },
			/a: project, location and token_url apply to vertex/,
		],
		["a bad location", { a: { kind: "vertex", secret: "S", location: "us central" } }, /UPSTREAMS: a\.location: must be a location/],
		["a bad id", { "a b": { kind: "gemini", secret: "S" } }, /UPSTREAMS: a b: upstream ids are/],
		["an id the key list already uses", { "gemini-1": { kind: "gemini", secret: "S" } }, /gemini-1: this id is already taken/],
	])("refuses %s, naming the field", (_, value, message) => {
		const e = configError({ GEMINI_API_KEY: "k", S: "s-key", UPSTREAMS: typeof value === "string" ? value : JSON.stringify(value) });
		expect(e.variable).toBe("UPSTREAMS");
		expect(e.message).toMatch(message);
	});

	it.each([
		["a secret that is not set", { kind: "vertex", secret: "NOPE" }, {}, "v: the secret NOPE is not set"],
		[
			"a key file that is not JSON",
			{ kind: "vertex", secret: "V" },
			{ V: '{"type": "service_account", "private_key": "-----BEGIN' },
			"v: the service account key in V is not valid JSON",
		],
		[
			"a user credential",
			{ kind: "vertex", secret: "V" },
			{ V: JSON.stringify({ ...JSON.parse(SA), type: "authorized_user" }) },
			'v: the service account key in V is not a service account key (type must be "service_account")',
		],
		[
			"no client_email",
			{ kind: "vertex", secret: "V" },
			{ V: JSON.stringify({ ...JSON.parse(SA), client_email: undefined }) },
			"v: the service account key in V has a missing or malformed client_email",
		],
		[
			"a private key that is not PEM",
			{ kind: "vertex", secret: "V" },
			{ V: JSON.stringify({ ...JSON.parse(SA), private_key: "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----" }) },
			"v: the service account key in V has a private_key that is not a PEM-encoded PKCS#8 key",
		],
		[
			"no project anywhere",
			{ kind: "vertex", secret: "V" },
			{ V: JSON.stringify({ ...JSON.parse(SA), project_id: undefined }) },
			'v: no project: set "project" (the key file names none)',
		],
		[
			"a list where one key belongs",
			{ kind: "gemini", secret: "K" },
			{ K: "a,b" },
			"v: K holds several values; an upstream takes one API key",
		],
	])("%s marks that upstream unusable, the others serve", (_, entry, secrets, problem) => {
		const c = configOf({ GEMINI_API_KEY: "good", UPSTREAMS: JSON.stringify({ v: entry }), ...secrets });
		expect(c.upstreams.map((u) => [u.id, u.problem])).toEqual([
			["gemini-1", undefined],
			["v", problem],
		]);
		expect(problem).not.toContain("AAAA");
	});

	it("GEMINI_ATTEMPT_TIMEOUT_MS defaults to half the deadline; UPSTREAM_HEALTH_SYNC_MS to 5 s, 0 allowed", () => {
		const c = configOf({ GEMINI_API_KEY: "k", GEMINI_DEADLINE_MS: "60000", UPSTREAM_HEALTH_SYNC_MS: "0" });
		expect([c.attemptTimeoutMs, c.healthSyncMs]).toEqual([30_000, 0]);
		expect(configOf({ GEMINI_API_KEY: "k2" }).healthSyncMs).toBe(5_000);
		expect(configError({ GEMINI_ATTEMPT_TIMEOUT_MS: "soon" }).variable).toBe("GEMINI_ATTEMPT_TIMEOUT_MS");
	});
});
