/**
 * `npm run build`: the static files Workers serves from `public/` (wrangler.toml [assets]).
 *   public/console/  the web console: web/console/*.tsx bundled with esbuild (Preact), its
 *                    page and stylesheet
 *   public/docs/     the API reference: Swagger UI's prebuilt bundle from swagger-ui-dist,
 *                    pointed at /openapi.json
 * The output is not committed (the Swagger UI bundle alone is 1.7 MB); dev, test and
 * deploy build it first.
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";

const root = join(import.meta.dirname, "..");
const out = join(root, "public");
const swagger = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

/** Headers for every page (Workers static assets' `_headers` file). */
const HEADERS = `/console/*
  X-Content-Type-Options: nosniff
  Referrer-Policy: no-referrer
  Content-Security-Policy: default-src 'self'; img-src 'self' data: blob: https: http:; connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'
/docs/*
  X-Content-Type-Options: nosniff
  Referrer-Policy: no-referrer
`;

export async function buildWeb(): Promise<void> {
	const started = Date.now();
	rmSync(out, { recursive: true, force: true });
	mkdirSync(join(out, "console"), { recursive: true });
	mkdirSync(join(out, "docs"), { recursive: true });
	await build({
		entryPoints: { app: join(root, "web/console/main.tsx"), style: join(root, "web/console/style.css") },
		outdir: join(out, "console"),
		bundle: true,
		minify: true,
		format: "esm",
		target: "es2022",
		jsx: "automatic",
		jsxImportSource: "preact",
		logLevel: "warning",
	});
	copyFileSync(join(root, "web/console/index.html"), join(out, "console/index.html"));
	copyFileSync(join(root, "web/docs/index.html"), join(out, "docs/index.html"));
	copyFileSync(join(root, "web/docs/init.js"), join(out, "docs/init.js"));
	for (const f of ["swagger-ui-bundle.js", "swagger-ui.css"]) copyFileSync(join(swagger, f), join(out, "docs", f));
	writeFileSync(join(out, "_headers"), HEADERS);
	console.log(`built public/ (console and docs) in ${Date.now() - started} ms`);
}

if (import.meta.url === `file://${process.argv[1]}`) await buildWeb();
