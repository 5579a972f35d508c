/**
 * `GET|HEAD /images/{key}`: serves generated images from R2 when no public bucket domain
 * is configured. Keys never change content, so responses are immutable-cacheable, with
 * ETag revalidation (304) and byte ranges (206).
 *
 * `GET /images/{key}?thumb`: the gallery's thumbnail, a WebP THUMB_WIDTH pixels wide made
 * on the fly by the Images binding and kept in the edge cache (Cache API). On the fly
 * rather than a second object per image at store time: generation pays nothing for images
 * nobody browses, every image stored before thumbnails existed has one, and retention and
 * deletion have no extra object to track. The cost is one transform per cache miss.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { notFound } from "../errors";
import { routeFacts } from "../route-facts";
import { IMMUTABLE } from "../storage/images";
import type { AppEnv } from "../types";

/** Route facts (src/route-facts.ts): public image URLs, outside the API. */
const ROUTE_FACTS = routeFacts({ dialect: "images", errorStyle: "openai" });

function headersFor(obj: R2Object): Headers {
	const h = new Headers();
	obj.writeHttpMetadata(h);
	h.set("etag", obj.httpEtag);
	h.set("cache-control", IMMUTABLE);
	h.set("accept-ranges", "bytes");
	h.set("last-modified", obj.uploaded.toUTCString());
	return h;
}

/** R2 refuses longer keys (it throws), so no image can live under one. */
const MAX_KEY_BYTES = 1024;

/** The R2 key a path names, or undefined when it cannot name one (bad %-escapes, `..`, too long). */
function keyOf(path: string): string | undefined {
	let key: string;
	try {
		key = decodeURIComponent(path.replace(/^\/images\//, ""));
	} catch {
		return undefined;
	}
	const ok = key.startsWith("generated/") && !key.includes("..") && new TextEncoder().encode(key).length <= MAX_KEY_BYTES;
	return ok ? key : undefined;
}

/** The thumbnail's width in pixels (never enlarged), and its WebP quality. */
export const THUMB_WIDTH = 256;
const THUMB_QUALITY = 70;

/** The thumbnail of `key`, from the edge cache or made now (and cached). */
async function thumbnail(c: Context<AppEnv>, key: string): Promise<Response> {
	// One cache entry per image, whatever else the query holds.
	const cacheKey = new Request(`${new URL(c.req.url).origin}/images/${encodeURI(key)}?thumb`);
	const cache = caches.default;
	const hit = await cache.match(cacheKey);
	if (hit) return c.req.method === "HEAD" ? new Response(null, hit) : hit;
	const obj = await c.env.IMAGES.get(key);
	if (!obj) throw notFound("Image not found");
	const result = await c.env.IMAGE_TRANSFORM.input(obj.body)
		.transform({ width: THUMB_WIDTH, fit: "scale-down" })
		.output({ format: "image/webp", quality: THUMB_QUALITY });
	const bytes = await new Response(result.image()).arrayBuffer();
	const headers = new Headers({
		"content-type": "image/webp",
		"content-length": String(bytes.byteLength),
		"cache-control": IMMUTABLE,
		etag: `"thumb-${obj.etag}"`,
	});
	const res = new Response(bytes, { headers });
	c.executionCtx.waitUntil(cache.put(cacheKey, res.clone()));
	return c.req.method === "HEAD" ? new Response(null, { headers }) : res;
}

export const images = new Hono<AppEnv>().use(ROUTE_FACTS).on(["GET", "HEAD"], "/*", async (c) => {
	const key = keyOf(c.req.path);
	if (!key) throw notFound("Image not found");
	if (c.req.query("thumb") !== undefined) return thumbnail(c, key);
	const bucket = c.env.IMAGES;
	if (c.req.method === "HEAD") {
		const head = await bucket.head(key);
		if (!head) throw notFound("Image not found");
		const h = headersFor(head);
		h.set("content-length", String(head.size));
		return new Response(null, { status: 200, headers: h });
	}
	const obj = await bucket.get(key, { onlyIf: c.req.raw.headers, range: c.req.raw.headers });
	if (!obj) throw notFound("Image not found");
	const h = headersFor(obj);
	if (!("body" in obj)) return new Response(null, { status: 304, headers: h }); // If-None-Match matched
	const range = obj.range as { offset?: number; length?: number } | undefined;
	if (c.req.header("range") && range && range.offset !== undefined && range.length !== undefined) {
		h.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${obj.size}`);
		h.set("content-length", String(range.length));
		return new Response(obj.body, { status: 206, headers: h });
	}
	h.set("content-length", String(obj.size));
	return new Response(obj.body, { status: 200, headers: h });
});
