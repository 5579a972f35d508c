// ApiError takes its status and type from the registry; the factory's types keep a code to
// the statuses the registry lists for it (the @ts-expect-error lines fail the typecheck
// when a wrong call would compile).
import { describe, expect, it } from "vitest";
import { ApiError, apiError, invalidParam, notFound, unauthorized } from "../../src/errors";
import { ERRORS } from "../../src/errors/codes";

describe("ApiError from the registry", () => {
	it("takes status and type from the code", () => {
		const e = apiError("insufficient_credits", "no money", { headers: { "x-credits-remaining": "3" } });
		expect(e).toBeInstanceOf(ApiError);
		expect([e.status, e.type, e.code, e.param, e.headers]).toEqual([
			402,
			"insufficient_quota",
			"insufficient_credits",
			null,
			{ "x-credits-remaining": "3" },
		]);
		expect(e.toJSON()).toEqual({ error: { message: "no money", type: "insufficient_quota", code: "insufficient_credits", param: null } });
	});

	it("answers a code's alternative status with that status's type", () => {
		expect([apiError("model_not_found", "m").status, apiError("model_not_found", "m").type]).toEqual([400, "invalid_request_error"]);
		const path = apiError("model_not_found", "m", { param: "model", status: 404 });
		expect([path.status, path.type, path.param]).toEqual([404, "not_found_error", "model"]);
	});

	it("keeps the cause for logs, out of the body", () => {
		const cause = new Error("socket closed");
		const e = apiError("upstream_error", "Gemini failed", { cause });
		expect(e.cause).toBe(cause);
		expect(e.body()).not.toContain("socket");
	});

	it("the helpers go through the registry", () => {
		expect(invalidParam("n", "bad n").toJSON().error).toMatchObject({
			code: "invalid_parameter",
			type: "invalid_request_error",
			param: "n",
		});
		expect(invalidParam(null, "not json", "invalid_json").status).toBe(400);
		expect([notFound().status, notFound().code]).toEqual([404, "not_found"]);
		expect(unauthorized("no key").headers["www-authenticate"]).toContain("Bearer");
		expect(unauthorized("no key").status).toBe(ERRORS.invalid_api_key.status);
	});

	it("writes Google's shape with the code as ErrorInfo's reason", () => {
		const g = apiError("upstreams_unavailable", "cooling", { headers: { "retry-after": "7" } }).toGoogleJSON().error;
		expect([g.code, g.status]).toEqual([503, "UNAVAILABLE"]);
		expect(g.details.map((d) => d.reason ?? d.retryDelay)).toEqual(["UPSTREAMS_UNAVAILABLE", "7s"]);
	});

	it("refuses, at compile time, what the registry does not say", () => {
		// @ts-expect-error not a registered code
		expect(() => apiError("no_such_code", "x")).toThrow();
		// @ts-expect-error insufficient_credits is only ever a 402
		expect(apiError("insufficient_credits", "x", { status: 404 }).status).toBe(402);
		// @ts-expect-error invalidParam answers 400; rate_limit_exceeded is a 429
		expect(invalidParam("n", "x", "rate_limit_exceeded").status).toBe(429);
	});
});
