/**
 * The self-describing surface: `GET /openapi.json` (generated from the routes' zod
 * schemas), and the two pages served from Workers static assets (`public/`, built by
 * `npm run build`): the API reference at /docs and the web console at /console.
 * Deployed, existing asset files are served before the Worker runs (wrangler.toml
 * `run_worker_first` excludes /docs/* and /console/*); these routes serve the pages'
 * entry points and the console's deep links, which have no file of their own.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { type ApiError, apiError } from "../errors";
import { openApiDocument } from "../openapi/document";
import type { AppEnv } from "../types";

/** An asset as a response the middleware may add headers to (fetched headers are immutable). */
async function asset(c: Context<AppEnv>, url: string | Request): Promise<Response> {
	const res = await c.env.ASSETS.fetch(typeof url === "string" ? new URL(url, c.req.url) : url);
	return new Response(res.body, res);
}

function notBuilt(page: string): ApiError {
	return apiError("not_built", `The ${page} is not built into this deployment: run npm run build before deploying`);
}

/** `/openapi.json`, `/docs` and `/console/*` (mounted at the root, after CORS). */
export const web = new Hono<AppEnv>()
	.get("/openapi.json", (c) => c.json(openApiDocument(new URL(c.req.url).origin)))
	.get("/docs", async (c) => {
		const res = await asset(c, "/docs/");
		if (res.status === 404) throw notBuilt("API reference");
		return res;
	})
	.get("/console/*", async (c) => {
		// A file (script, style) when there is one; otherwise the console's page, whose
		// client-side router reads the path (a deep link such as /console/keys).
		const file = c.req.path.startsWith("/console/") && c.req.path !== "/console/" ? await asset(c, c.req.raw) : undefined;
		if (file && file.status !== 404) return file;
		const page = await asset(c, "/console/");
		if (page.status === 404) throw notBuilt("console");
		return page;
	});
