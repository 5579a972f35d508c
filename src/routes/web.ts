/**
 * The self-describing surface: a home page at `/` pointing at the rest, `GET /openapi.json`
 * (generated from the routes' zod schemas), and the two pages served from Workers static
 * assets (`public/`, built by `npm run build`): the API reference at /docs and the web
 * console at /console.
 * Deployed, existing asset files are served before the Worker runs (wrangler.toml
 * `run_worker_first` excludes /docs/* and /console/*); these routes serve the pages'
 * entry points and the console's deep links, which have no file of their own.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { type ApiError, apiError } from "../errors";
import type { AppEnv } from "../types";

/** An asset as a response the middleware may add headers to (fetched headers are immutable). */
async function asset(c: Context<AppEnv>, url: string | Request): Promise<Response> {
	const res = await c.env.ASSETS.fetch(typeof url === "string" ? new URL(url, c.req.url) : url);
	return new Response(res.body, res);
}

function notBuilt(page: string): ApiError {
	return apiError("not_built", `The ${page} is not built into this deployment: run npm run build before deploying`);
}

/**
 * The home page: a person who opens the gateway's address finds what it is and where to go,
 * not a JSON 404. Self-contained (no script, style sheet or font from elsewhere) and the
 * same for every deployment, so it needs no build step.
 */
const HOME = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Nano Banana Gateway</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; }
li { margin: 0.4rem 0; }
code { background: #f3f3f3; padding: 0 0.2rem; }
</style>
</head>
<body>
<h1>Nano Banana Gateway</h1>
<p>A metered HTTPS API for Google's Nano Banana image models (Gemini image generation and
editing). It speaks the OpenAI Images API, chat completions with image output, Gemini's own
<code>generateContent</code>, OpenRouter's Images API and the reseller dialects, with async
jobs, webhooks and scheduled pipelines. Calls need an API key from this gateway's operator.</p>
<ul>
<li><a href="/console">Console</a>: try a prompt, see your images, balance and usage (sign in with your API key or the admin token).</li>
<li><a href="/docs">API reference</a>: every endpoint, with "Try it out".</li>
<li><a href="/openapi.json">OpenAPI document</a>: the same, for tools and SDK generators.</li>
</ul>
</body>
</html>
`;

/** `/`, `/openapi.json`, `/docs` and `/console/*` (mounted at the root, after CORS). */
export const web = new Hono<AppEnv>()
	.get("/", (c) => c.html(HOME))
	// Loaded on first use: the answers' schemas (src/openapi/) are built only when someone
	// asks for the document, not at every isolate's start (a cold start's CPU).
	.get("/openapi.json", async (c) => c.json((await import("../openapi/document")).openApiDocument(new URL(c.req.url).origin)))
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
