/**
 * The Hono app: middleware, routes and the one error handler.
 */
import { Hono } from "hono";
import { contextStorage } from "hono/context-storage";
import { apiCors, imageCors } from "./cors";
import { ApiError, apiError, notFound } from "./errors";
import { discardUnreadBody } from "./lib/body";
import { adminAuth, apiKeyAuth, requestId, withConfig } from "./middleware";
import { noteRequest, observe } from "./observe";
import { apiRoot } from "./route-facts";
import { account } from "./routes/account";
import { adminCatalog } from "./routes/admin-catalog";
import { adminHealth } from "./routes/admin-health";
import { adminKeys } from "./routes/admin-keys";
import { adminUpstreams } from "./routes/admin-upstreams";
import { adminUsage } from "./routes/admin-usage";
import { chatCompletions } from "./routes/chat-completions";
import { conversations } from "./routes/conversations";
import { geminiNative } from "./routes/gemini-native";
import { images } from "./routes/images";
import { interactions } from "./routes/interactions";
import { jobs } from "./routes/jobs";
import { models } from "./routes/models";
import { openAiImages } from "./routes/openai-images";
import { openRouterImages, openRouterModels } from "./routes/openrouter-images";
import { pipelines } from "./routes/pipelines";
import { nanoBananaApi, vydra } from "./routes/resellers";
import { web } from "./routes/web";
import type { AppEnv } from "./types";

export function buildApp(): Hono<AppEnv> {
	const app = new Hono<AppEnv>();
	// The context is reachable from anywhere in the request's async flow (src/observe.ts).
	app.use("*", contextStorage());
	// First: the id, and the facts each sub-app declares at its top (src/route-facts.ts),
	// read from the router's match so they hold before authentication runs.
	app.use("*", requestId);
	app.use("*", observe);
	// Images are served whatever the configuration says: they are customers' public URLs.
	app.use("/images/*", imageCors);
	app.route("/images", images);
	app.use("*", withConfig);
	// Before any authentication: a browser's preflight carries no key.
	app.use("*", apiCors);
	app.get("/health", (c) => c.json({ ok: true }));
	app.route("/", web);

	// The API's roots: answers carry Server-Timing, a path no sub-app answers is a 404 in the
	// root's style, and a key is needed (checked up front, or by admission on admitted
	// routes) except for the reads the sub-apps declare public.
	app.use("/v1/*", apiRoot({ dialect: "openai", errorStyle: "openai" }), apiKeyAuth);
	app.use("/v1beta/*", apiRoot({ dialect: "gemini", errorStyle: "google" }), apiKeyAuth);
	app.use("/api/v1/*", apiRoot({ dialect: "openrouter", errorStyle: "openai" }), apiKeyAuth);
	app.route("/v1/images", openAiImages);
	// The openai SDK with baseURL .../v1, and clients set up for OpenRouter's .../api/v1.
	app.route("/v1/chat", chatCompletions);
	app.route("/api/v1/chat", chatCompletions);
	app.route("/v1/images", nanoBananaApi);
	app.route("/v1/conversations", conversations);
	app.route("/v1/jobs", jobs);
	app.route("/v1/pipelines", pipelines);
	// @google/genai calls {baseUrl}/{apiVersion}/models...; it uses v1 by default, v1beta when asked.
	app.route("/v1/models", models);
	app.route("/v1beta/models", models);
	app.route("/v1/models", geminiNative);
	app.route("/v1beta/models", geminiNative);
	app.route("/api/v1/models", openRouterModels);
	// Google's Interactions API (image models): @google/genai uses v1 by default, the AI SDK v1beta.
	app.route("/v1/interactions", interactions);
	app.route("/v1beta/interactions", interactions);
	app.route("/api/v1/models", vydra);
	app.route("/api/v1/images", openRouterImages);
	app.route("/v1", account);

	app.use("/admin/*", adminAuth);
	app.route("/admin/keys", adminKeys);
	app.route("/admin/catalog", adminCatalog);
	app.route("/admin/health", adminHealth);
	app.route("/admin/upstreams", adminUpstreams);
	app.route("/admin", adminUsage);

	// An error answered before the body was read (401, 415, ...) drains it first, so a
	// client still uploading hears the answer instead of a reset connection.
	app.notFound(async (c) => {
		await discardUnreadBody(c.req.raw);
		noteRequest({ errorCode: "not_found" });
		return notFound(`No route for ${c.req.method} ${c.req.path}`).getResponse(c.get("requestId") ?? "unknown", c.get("errorStyle"));
	});
	app.onError(async (err, c) => {
		const id = c.get("requestId") ?? "unknown";
		await discardUnreadBody(c.req.raw);
		if (err instanceof ApiError) return err.getResponse(id, c.get("errorStyle"));
		// Unknown failure: full detail to the log, nothing internal to the client.
		console.error(
			JSON.stringify({ requestId: id, event: "unhandled_error", error: String(err), stack: err instanceof Error ? err.stack : undefined }),
		);
		return apiError("internal_error", `Internal error (request ${id})`).getResponse(id, c.get("errorStyle"));
	});
	return app;
}
