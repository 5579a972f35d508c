// Property-based fuzzing over every route family: random methods, paths (bad %-escapes,
// `..`, prototype names, very long segments), headers (keys, huge Idempotency-Keys, wrong
// content types) and bodies (wrong types, nulls, huge numbers, deep nesting, broken
// multipart, non-image bytes, bad data URLs). Whatever arrives, the answer is never a
// 500 of ours, always carries x-request-id, and any error is in the one shape (Google's
// on Gemini's routes).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ADMIN, auth, call, createKey } from "../helpers/http";

const BAD_SEGMENTS = ["%", "%E0%A4%A", "%zz", "%%41", "..", "../..", "__proto__", "constructor", "toString", "prototype", "%00", "a%2Fb"];

const segment = fc.oneof(
	fc.constantFrom(...BAD_SEGMENTS),
	fc.string({ maxLength: 12 }),
	fc.stringMatching(/^[a-z0-9._-]{1,20}$/),
	fc.constantFrom("nano-banana", "nano-banana-2", "gemini-3-pro-image", "gemini-3-pro-image-preview", "job_x", "key_x", "pipe_x"),
	fc.nat({ max: 3000 }).map((n) => "x".repeat(n + 1000)),
);

const method = fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS");

/** Paths of every route family, with random segments in their holes. */
const path = fc.oneof(
	fc.constantFrom(
		"/health",
		"/v1/images/generations",
		"/v1/images/edits",
		"/v1/images/generate",
		"/v1/models",
		"/v1beta/models",
		"/v1/pricing",
		"/v1/account",
		"/v1/account/webhook-secret",
		"/v1/usage",
		"/v1/jobs",
		"/v1/pipelines",
		"/v1/conversations",
		"/admin/keys",
		"/admin/usage",
		"/admin/stats",
		"/admin/catalog",
		"/admin/catalog/refresh",
		"/v1/chat/completions",
		"/api/v1/chat/completions",
		"/api/v1/images",
		"/api/v1/images/models",
	),
	segment.map((s) => `/api/v1/models/${s}/edit`),
	fc
		.tuple(segment, fc.constantFrom("generateContent", "streamGenerateContent", "countTokens", "embedContent", ""))
		.map(([m, a]) => `/v1beta/models/${m}:${a}`),
	segment.map((s) => `/v1/models/${s}`),
	segment.map((s) => `/v1/jobs/${s}`),
	segment.map((s) => `/v1/jobs/${s}/cancel`),
	segment.map((s) => `/v1/pipelines/${s}`),
	segment.map((s) => `/v1/pipelines/${s}/runs`),
	segment.map((s) => `/v1/conversations/${s}`),
	segment.map((s) => `/admin/keys/${s}`),
	segment.map((s) => `/admin/keys/${s}/credits`),
	segment.map((s) => `/admin/stats?window=${s}`),
	fc.tuple(segment, segment).map(([a, b]) => `/v1/usage?from=${a}&cursor=${b}`),
	fc.tuple(segment, segment).map(([a, b]) => `/admin/usage?key_id=${a}&limit=${b}`),
	segment.map((s) => `/images/${s}`),
	segment.map((s) => `/images/generated/${s}`),
	segment.map((s) => `/${s}`),
);

const FIELDS = [
	"prompt",
	"model",
	"n",
	"size",
	"aspect_ratio",
	"image_size",
	"image",
	"images",
	"image_url",
	"response_format",
	"async",
	"webhook_url",
	"conversation_id",
	"contents",
	"generationConfig",
	"name",
	"credits",
	"limits",
	"amount",
	"reason",
	"schedule",
	"prompt_template",
	"variables",
	"imageUrl",
	"aspectRatio",
	"num",
	"ref_images",
	"messages",
	"modalities",
	"image_config",
	"image_output",
	"stream",
	"stream_options",
	"service_tier",
	"resolution",
	"input_references",
	"__proto__",
	"constructor",
];

const weird = fc.oneof(
	fc.constant(null),
	fc.boolean(),
	fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, -0, 0.5, 1e21),
	fc.integer(),
	fc.string({ maxLength: 40 }),
	fc.constantFrom(
		"data:image/png;base64,!!!",
		"data:image/png;base64,",
		"data:text/html;base64,PGh0bWw+",
		"iVBORw0KGgo=",
		btoa("<html>not an image</html>"),
		"https://127.0.0.1/a.png",
		"http://example.com/a.png",
		"https://metadata.google.internal/",
		"file:///etc/passwd",
		"nano-banana",
		"16:9",
		"4K",
		"b64_json",
	),
	fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
	fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.constant(null)), { maxKeys: 3 }),
);

/** JSON-ish bodies: field names the routes know, with values of every type. */
const jsonBody = fc.oneof(
	fc.dictionary(fc.constantFrom(...FIELDS), weird, { maxKeys: 6 }).map((o) => JSON.stringify(o)),
	fc.jsonValue().map((v) => JSON.stringify(v)),
	fc.nat({ max: 20_000 }).map((d) => `${"[".repeat(d)}${"]".repeat(d)}`),
	fc.nat({ max: 5_000 }).map((d) => `${'{"a":'.repeat(d)}1${"}".repeat(d)}`),
	fc.constantFrom("", "{", "null", "[]", '"x"', "{}", '{"prompt":', "\u0000\u0001", "nul"),
);

const MULTIPART = "multipart/form-data; boundary=XyZ";
const multipartBody = fc.oneof(
	fc.constantFrom(
		'--XyZ\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhi\r\n--XyZ--\r\n',
		'--XyZ\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\nnot a png\r\n--XyZ--\r\n',
		'--XyZ\r\nContent-Disposition: form-data; name="__proto__"\r\n\r\nx\r\n--XyZ\r\nContent-Disposition: form-data; name="__proto__"\r\n\r\ny\r\n--XyZ--\r\n',
		'--XyZ\r\nContent-Disposition: form-data; name="constructor"\r\n\r\nx\r\n--XyZ--\r\n',
		"--XyZ\r\nbroken",
		"--Other\r\n\r\n--Other--",
	),
	fc.string({ maxLength: 200 }),
);

const contentType = fc.constantFrom(
	"application/json",
	"text/plain",
	MULTIPART,
	"application/json; charset=utf-16",
	"image/png",
	undefined,
);

interface Ctx {
	key: string;
}

const request = (ctx: Ctx) =>
	fc
		.record({
			method,
			path,
			credential: fc.constantFrom("key", "admin", "wrong", "none", "goog"),
			type: contentType,
			body: fc.oneof(jsonBody, multipartBody),
			idempotency: fc.option(
				fc.oneof(
					fc.constant(""),
					fc.nat({ max: 5000 }).map((n) => "k".repeat(n + 1)),
					fc.string({ maxLength: 20 }),
				),
			),
			prefer: fc.option(fc.constant("respond-async")),
		})
		.map((r) => {
			const headers: Record<string, string> = {};
			if (r.credential === "key") Object.assign(headers, auth(ctx.key));
			if (r.credential === "admin") Object.assign(headers, ADMIN);
			if (r.credential === "wrong") headers.authorization = "Bearer nbk_wrong";
			if (r.credential === "goog") headers["x-goog-api-key"] = ctx.key;
			if (r.type) headers["content-type"] = r.type;
			if (r.idempotency !== null) headers["idempotency-key"] = r.idempotency;
			if (r.prefer) headers.prefer = r.prefer;
			const body = r.method === "GET" || r.method === "HEAD" ? undefined : r.body;
			return { method: r.method, path: r.path, headers, body };
		});

/** The one error shape, or Google's on Gemini's routes. */
function isErrorShape(body: unknown): boolean {
	if (typeof body !== "object" || body === null || !("error" in body)) return false;
	const e = (body as { error: Record<string, unknown> }).error;
	const openai = typeof e.message === "string" && typeof e.type === "string" && typeof e.code === "string" && "param" in e;
	const google = typeof e.code === "number" && typeof e.message === "string" && typeof e.status === "string";
	return openai || google;
}

describe("fuzzing every route family", () => {
	it("never answers a 500 of ours; always x-request-id; errors in the one shape", async () => {
		const k = await createKey(undefined, { credits: 1_000_000 });
		await fc.assert(
			fc.asyncProperty(request({ key: k.key }), async (r) => {
				let url: string;
				try {
					url = new URL(`https://gateway.test${r.path}`).pathname + new URL(`https://gateway.test${r.path}`).search;
				} catch {
					return; // not a URL any client could send
				}
				const res = await call(url, { method: r.method, headers: r.headers, body: r.body });
				expect(res.headers.get("x-request-id"), `${r.method} ${url}`).toMatch(/^req_[0-9a-f]{24}$/);
				const text = await res.text();
				if (res.status >= 400 && r.method !== "HEAD") {
					let parsed: unknown;
					try {
						parsed = JSON.parse(text);
					} catch {
						parsed = text;
					}
					expect(isErrorShape(parsed), `${r.method} ${url} -> ${res.status} ${text.slice(0, 200)}`).toBe(true);
					const code = (parsed as { error: { code: unknown; details?: Array<{ reason?: string }> } }).error;
					const ours = typeof code.code === "string" ? code.code : (code.details?.find((d) => d.reason)?.reason ?? "").toLowerCase();
					// A 5xx may only be Gemini's (upstream_*), never the gateway's own.
					if (res.status >= 500) expect(ours, `${r.method} ${url} -> ${res.status} ${text.slice(0, 200)}`).toMatch(/^upstream_/);
				}
			}),
			{ numRuns: 400 },
		);
	}, 240_000);
});
