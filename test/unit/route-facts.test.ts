// How a request finds its route's facts (src/route-facts.ts) from the router's match, on a
// small app shaped like the gateway's: overlapping mounts, an API root, a sub-app without facts.
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { apiRoot, resolveRoute, routeFacts } from "../../src/route-facts";
import type { AppEnv, RequestRoute } from "../../src/types";

function buildApp(): Hono<AppEnv> {
	const catalog = new Hono<AppEnv>()
		.use(
			routeFacts((c) =>
				c.req.header("x-goog-api-key") !== undefined || c.req.path.startsWith("/v1beta/")
					? { dialect: "gemini", errorStyle: "google", publicReads: true }
					: { dialect: "openai", errorStyle: "openai", publicReads: true },
			),
		)
		.get("/", (c) => c.text("list"))
		.get("/:model{[^:]+}", (c) => c.text("one"));
	const native = new Hono<AppEnv>()
		.use(routeFacts((c) => ({ dialect: "gemini", errorStyle: "google", admitted: c.req.path.endsWith(":generate") })))
		.post("/:target{[^/]+}", (c) => c.text("native"));
	const images = new Hono<AppEnv>()
		.use(routeFacts({ dialect: "openai", errorStyle: "openai", admitted: true }))
		.post("/generations", (c) => c.text("gen"));
	const reseller = new Hono<AppEnv>()
		.use(routeFacts({ dialect: "reseller", errorStyle: "openai", admitted: true }))
		.post("/generate", (c) => c.text("gen"));
	const account = new Hono<AppEnv>()
		.use(routeFacts({ dialect: "openai", errorStyle: "openai", publicReads: ["/pricing"] }))
		.get("/account", (c) => c.text("me"))
		.get("/pricing", (c) => c.text("prices"));
	const pages = new Hono<AppEnv>().get("/docs", (c) => c.text("docs"));

	const app = new Hono<AppEnv>();
	// The facts are read where the gateway reads them, in the first middleware; every answer
	// (404s included) reports them.
	app.use("*", async (c, next) => {
		const route = resolveRoute(c);
		await next();
		c.res.headers.set("x-facts", JSON.stringify(route));
	});
	app.get("/health", (c) => c.text("ok"));
	app.route("/", pages);
	app.use("/v1/*", apiRoot({ dialect: "openai", errorStyle: "openai" }));
	app.use("/v1beta/*", apiRoot({ dialect: "gemini", errorStyle: "google" }));
	app.route("/v1/images", images);
	app.route("/v1/images", reseller);
	app.route("/v1/models", catalog);
	app.route("/v1/models", native);
	app.route("/v1beta/models", catalog);
	app.route("/v1beta/models", native);
	app.route("/v1", account);
	return app;
}

const app = buildApp();

/** The facts the request was given, whichever route answered. */
async function factsOf(path: string, init: RequestInit = {}): Promise<RequestRoute> {
	const res = await app.request(path, init);
	return JSON.parse(res.headers.get("x-facts") ?? "null") as RequestRoute;
}

const POST = { method: "POST" };

describe("the facts of the route that answers", () => {
	it("are its own sub-app's, even when another sub-app is mounted at the same path", async () => {
		expect(await factsOf("/v1/images/generations", POST)).toEqual({
			dialect: "openai",
			errorStyle: "openai",
			admitted: true,
			publicRead: false,
			api: true,
		});
		expect(await factsOf("/v1/images/generate", POST)).toMatchObject({ dialect: "reseller", admitted: true });
		expect(await factsOf("/v1/models/m:generate", POST)).toMatchObject({ dialect: "gemini", errorStyle: "google", admitted: true });
		expect(await factsOf("/v1/models/m:count", POST)).toMatchObject({ dialect: "gemini", errorStyle: "google", admitted: false });
	});

	it("may depend on the request, and say which reads are public", async () => {
		expect(await factsOf("/v1/models")).toMatchObject({ dialect: "openai", errorStyle: "openai", publicRead: true });
		expect(await factsOf("/v1/models/m", { headers: { "x-goog-api-key": "k" } })).toMatchObject({
			dialect: "gemini",
			errorStyle: "google",
			publicRead: true,
		});
		expect(await factsOf("/v1/pricing")).toMatchObject({ dialect: "openai", publicRead: true });
		expect(await factsOf("/v1/pricing", { method: "HEAD" })).toMatchObject({ publicRead: true });
		expect(await factsOf("/v1/account")).toMatchObject({ dialect: "openai", publicRead: false });
	});

	it("admit only POSTs, and make only reads public", async () => {
		expect(await factsOf("/v1/images/generations", { method: "GET" })).toMatchObject({ admitted: false });
		expect(await factsOf("/v1/pricing", POST)).toMatchObject({ publicRead: false });
	});

	it("are none outside every declared route, and no API root's there", async () => {
		const none = { dialect: null, errorStyle: "openai", admitted: false, publicRead: false, api: false };
		expect(await factsOf("/health")).toEqual(none);
		expect(await factsOf("/docs")).toEqual(none);
		expect(await factsOf("/elsewhere")).toEqual(none);
	});
});

describe("when no route answers (a 404)", () => {
	it("the deepest sub-app the path falls under gives its facts, never admitted or public", async () => {
		expect(await factsOf("/v1/images/nowhere", POST)).toMatchObject({ dialect: "openai", admitted: false, api: true });
		// Both the catalog and Gemini's route are mounted at /v1/models: the first mounted wins.
		expect(await factsOf("/v1/models", POST)).toMatchObject({ dialect: "openai", errorStyle: "openai", admitted: false });
		expect(await factsOf("/v1/models", { method: "POST", headers: { "x-goog-api-key": "k" } })).toMatchObject({ errorStyle: "google" });
		expect(await factsOf("/v1/models/m:generate")).toMatchObject({ dialect: "openai", publicRead: false });
	});

	it("else the API root's", async () => {
		expect(await factsOf("/v1beta/nowhere")).toEqual({
			dialect: "gemini",
			errorStyle: "google",
			admitted: false,
			publicRead: false,
			api: true,
		});
		// Under /v1beta/models the catalog's own facts say Google's shape, as the root's do.
		expect(await factsOf("/v1beta/models/a/b")).toMatchObject({ dialect: "gemini", errorStyle: "google", api: true });
	});
});
