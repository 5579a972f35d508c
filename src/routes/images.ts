/**
 * `GET|HEAD /images/{key}`: serves generated images from R2 when no public bucket domain
 * is configured. Keys never change content, so responses are immutable-cacheable, with
 * ETag revalidation (304) and byte ranges (206).
 */
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

export const images = new Hono<AppEnv>().use(ROUTE_FACTS).on(["GET", "HEAD"], "/*", async (c) => {
	const key = keyOf(c.req.path);
	if (!key) throw notFound("Image not found");
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
