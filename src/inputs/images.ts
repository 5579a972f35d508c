/**
 * Reference images, however they arrive: multipart uploads, https URLs (fetched with
 * the SSRF guard on every redirect hop, a timeout and a byte cap), data URLs and bare
 * base64. Whatever the label says, the bytes must be PNG, JPEG, WebP, HEIC or HEIF.
 */
import { tryGetContext } from "hono/context-storage";
import type { GatewayConfig } from "../config";
import { ApiError, apiError, invalidParam } from "../errors";
import { readStreamCapped } from "../lib/body";
import { sniffImage } from "../lib/image-bytes";
import type { AppEnv } from "../types";
import { ownImageKey } from "./own-images";
import { publicUrl } from "./public-url";

export interface InputImage {
	mimeType: string;
	data: Uint8Array;
}

export interface InputLimits {
	maxImageBytes: number;
	maxTotalBytes: number;
	allowHttp: boolean;
	fetchTimeoutMs: number;
	maxRedirects: number;
	fetch?: typeof fetch;
}

/** The limits configured for reference images. */
export function inputLimitsFrom(config: GatewayConfig): InputLimits {
	return {
		maxImageBytes: config.maxImageBytes,
		maxTotalBytes: config.maxTotalImageBytes,
		allowHttp: config.allowHttpImageUrls,
		fetchTimeoutMs: config.imageFetchTimeoutMs,
		maxRedirects: 3,
	};
}

const ACCEPTED = new Set(["image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"]);

function tooLarge(param: string, max: number, reason?: string): ApiError {
	return apiError("image_too_large", `${param} is larger than ${max} bytes`, { param, reason });
}

/** Why a download failed, as `error.reason`: stable words a client can branch on. */
export type FetchFailure = "dns" | "connect" | "tls" | "timeout" | "http_status" | "redirects" | "not_image" | "too_large" | "network";

/**
 * Names the cause of a fetch that threw. Runtimes word these differently (workerd, Node's
 * undici), so the thrown error and its causes are read for the usual markers.
 */
export function fetchFailureOf(err: unknown, timedOut: boolean): { reason: FetchFailure; detail: string } {
	if (timedOut) return { reason: "timeout", detail: "timed out" };
	const parts: string[] = [];
	for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
		if (e instanceof Error) {
			parts.push(`${(e as { code?: string }).code ?? ""} ${e.message}`);
			e = e.cause;
		} else {
			parts.push(String(e));
			break;
		}
	}
	const text = parts.join(" | ");
	const first = parts[0]?.trim() || "unknown error";
	if (/ENOTFOUND|EAI_AGAIN|getaddrinfo|dns|name not resolved|no such host|could not resolve|not known/i.test(text))
		return { reason: "dns", detail: `its host name could not be resolved (${first})` };
	if (/certificate|tls|ssl|handshake/i.test(text)) return { reason: "tls", detail: `the TLS connection failed (${first})` };
	if (/ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|refused|unreachable|connect/i.test(text))
		return { reason: "connect", detail: `no connection could be made (${first})` };
	return { reason: "network", detail: `the request failed (${first})` };
}

/** Checks the magic bytes and returns the image with its real type. */
export function checkImageBytes(bytes: Uint8Array, param: string, limits: InputLimits): InputImage {
	if (bytes.byteLength > limits.maxImageBytes) throw tooLarge(param, limits.maxImageBytes);
	const kind = sniffImage(bytes);
	if (!kind || !ACCEPTED.has(kind.mimeType)) {
		throw invalidParam(
			param,
			`${param} is not a PNG, JPEG, WebP, HEIC or HEIF image${kind ? ` (it is ${kind.mimeType})` : ""}`,
			"invalid_image",
		);
	}
	return { mimeType: kind.mimeType, data: bytes };
}

/**
 * Cloudflare's own answers for an origin it could not reach (developers.cloudflare.com,
 * "5xx errors", checked 2026-12-03): a Worker's subrequest meets these instead of an exception.
 */
const EDGE_ERRORS: Record<number, { reason: FetchFailure; detail: string }> = {
	521: { reason: "connect", detail: "its server refused the connection (Cloudflare 521)" },
	522: { reason: "connect", detail: "the connection timed out (Cloudflare 522)" },
	523: { reason: "connect", detail: "its server is unreachable (Cloudflare 523)" },
	524: { reason: "timeout", detail: "its server took too long to answer (Cloudflare 524)" },
	525: { reason: "tls", detail: "the TLS handshake failed (Cloudflare 525)" },
	526: { reason: "tls", detail: "its TLS certificate is invalid (Cloudflare 526)" },
	530: { reason: "dns", detail: "its host name could not be resolved (Cloudflare 530/1016)" },
};

/**
 * After an unexplained connection failure, one DNS-over-HTTPS lookup (2 s) tells a name that
 * does not exist from a host that did not answer; when DNS cannot be asked either, the
 * network itself is down and the message says so.
 */
async function diagnose(doFetch: typeof fetch, host: string, detail: string): Promise<{ reason: FetchFailure; detail: string }> {
	try {
		const res = await doFetch(`https://cloudflare-dns.com/dns-query?name=${encodeURIComponent(host)}&type=A`, {
			headers: { accept: "application/dns-json" },
			signal: AbortSignal.timeout(2000),
		});
		const dns = (await res.json()) as { Status?: number; Answer?: unknown[] };
		if (dns.Status === 3) return { reason: "dns", detail: "its host name does not exist (DNS NXDOMAIN)" };
		if (dns.Status === 0 && !dns.Answer?.length) return { reason: "dns", detail: "its host name has no address (DNS)" };
		if (dns.Status === 0)
			return {
				reason: "connect",
				detail: `its host resolves but no connection could be made (${detail.replace(/^the request failed \(|\)$/g, "")})`,
			};
	} catch {
		return { reason: "network", detail: "no connection could be made, and DNS could not be asked either: is this machine offline?" };
	}
	return { reason: "network", detail };
}

/** Fetches a public image URL, re-checking every redirect hop. */
export async function fetchImageUrl(raw: string, param: string, limits: InputLimits): Promise<InputImage> {
	const doFetch = limits.fetch ?? fetch;
	let url = publicUrl(raw, param, limits.allowHttp);
	const signal = AbortSignal.timeout(limits.fetchTimeoutMs);
	for (let hop = 0; ; hop++) {
		let res: Response;
		try {
			res = await doFetch(url.toString(), { redirect: "manual", signal, headers: { accept: "image/*" } });
		} catch (err) {
			let { reason, detail } = fetchFailureOf(err, signal.aborted);
			// workerd words every failed connection "internal error": ask DNS which it was.
			if (reason === "network") ({ reason, detail } = await diagnose(doFetch, url.hostname, detail));
			const host = url.host;
			throw invalidParam(
				param,
				reason === "timeout"
					? `${param} could not be fetched: ${host} took longer than ${limits.fetchTimeoutMs} ms to answer`
					: `${param} could not be fetched from ${host}: ${detail}`,
				"image_fetch_failed",
				reason,
			);
		}
		if (res.status >= 300 && res.status < 400 && res.headers.get("location")) {
			await res.body?.cancel();
			if (hop >= limits.maxRedirects)
				throw invalidParam(param, `${param} redirected more than ${limits.maxRedirects} times`, "image_fetch_failed", "redirects");
			url = publicUrl(new URL(res.headers.get("location") as string, url).toString(), param, limits.allowHttp);
			continue;
		}
		const edge = EDGE_ERRORS[res.status];
		if (edge) {
			await res.body?.cancel();
			throw invalidParam(param, `${param} could not be fetched from ${url.host}: ${edge.detail}`, "image_fetch_failed", edge.reason);
		}
		if (!res.ok) {
			await res.body?.cancel();
			throw invalidParam(
				param,
				`${param} could not be fetched: ${url.host} answered HTTP ${res.status}`,
				"image_fetch_failed",
				"http_status",
			);
		}
		const type = (res.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
		if (type && !type.startsWith("image/") && type !== "application/octet-stream") {
			await res.body?.cancel();
			throw invalidParam(param, `${param} is not an image: ${url.host} answered content-type ${type}`, "invalid_image", "not_image");
		}
		let bytes: Uint8Array;
		try {
			bytes = await readStreamCapped(res.body, res.headers.get("content-length"), limits.maxImageBytes, () =>
				tooLarge(param, limits.maxImageBytes, "too_large"),
			);
		} catch (err) {
			if (err instanceof ApiError) throw err;
			// The body broke off or the deadline struck while it was arriving.
			const { reason, detail } = fetchFailureOf(err, signal.aborted);
			throw invalidParam(param, `${param} could not be fetched from ${url.host}: ${detail}`, "image_fetch_failed", reason);
		}
		return checkImageBytes(bytes, param, limits);
	}
}

/** A data URL (`data:image/png;base64,...`) or bare base64. */
export function decodeInlineImage(raw: string, param: string, limits: InputLimits): InputImage {
	const m = raw.match(/^data:([\w/+.-]+)?(;[\w=-]+)*;base64,(.*)$/s);
	const b64 = (m ? m[3] : raw).replace(/\s+/g, "");
	// base64 inflates by 4/3: refuse before decoding anything too large.
	if (Math.floor((b64.length * 3) / 4) > limits.maxImageBytes + 2) throw tooLarge(param, limits.maxImageBytes);
	let bytes: Uint8Array;
	try {
		bytes = Uint8Array.fromBase64(b64.replace(/-/g, "+").replace(/_/g, "/"));
	} catch {
		throw invalidParam(param, `${param} is neither an https URL, a data URL nor valid base64`, "invalid_image");
	}
	return checkImageBytes(bytes, param, limits);
}

/** A reference the gateway downloads. */
const URL_REF = /^https?:\/\//i;

/**
 * Checks the key of the request being served, if it is not checked yet (401/403 otherwise).
 * Outside a request (a queued job's inputs) the key was checked when the job was admitted.
 */
async function keyCheckedFirst(): Promise<void> {
	await tryGetContext<AppEnv>()?.var.caller?.identify();
}

/**
 * An image of this gateway named by its URL, read from R2 when the request being served
 * can tell (its origin and bucket); undefined when the URL is not one of ours.
 */
async function ownImage(url: string, param: string, limits: InputLimits): Promise<InputImage | undefined> {
	const c = tryGetContext<AppEnv>();
	const config = c?.var.config;
	if (!c || !config) return undefined;
	const key = ownImageKey(url, config, new URL(c.req.url).origin);
	if (!key) return undefined;
	const obj = await c.env.IMAGES.get(key);
	if (!obj) throw invalidParam(param, `${param} names an image of this gateway that no longer exists`, "image_fetch_failed", "http_status");
	return checkImageBytes(new Uint8Array(await obj.arrayBuffer()), param, limits);
}

/** One reference given as a string: URL (this gateway's own read from R2), data URL or base64. */
export async function resolveImageString(raw: string, param: string, limits: InputLimits): Promise<InputImage> {
	const s = raw.trim();
	if (URL_REF.test(s)) return (await ownImage(s, param, limits)) ?? fetchImageUrl(s, param, limits);
	return decodeInlineImage(s, param, limits);
}

export async function resolveUpload(file: File, param: string, limits: InputLimits): Promise<InputImage> {
	if (file.size > limits.maxImageBytes) throw tooLarge(param, limits.maxImageBytes);
	return checkImageBytes(new Uint8Array(await file.arrayBuffer()), param, limits);
}

/** Resolves every reference (in order, concurrently) and enforces the count and total caps. */
export async function resolveImages(
	refs: Array<{ param: string; value: string | File }>,
	maxCount: number,
	modelId: string,
	limits: InputLimits,
): Promise<InputImage[]> {
	if (refs.length > maxCount) {
		throw invalidParam(
			refs[maxCount].param.replace(/\[\d+\]$/, ""),
			`${modelId} accepts at most ${maxCount} input images; got ${refs.length}`,
			"too_many_images",
		);
	}
	// Nothing is fetched for a key that is not valid: a live request's key is checked first
	// (one Durable Object call before admission's, paid only by requests with URL inputs).
	if (refs.some((r) => typeof r.value === "string" && URL_REF.test(r.value.trim()))) await keyCheckedFirst();
	const images = await Promise.all(
		refs.map((r) => (typeof r.value === "string" ? resolveImageString(r.value, r.param, limits) : resolveUpload(r.value, r.param, limits))),
	);
	const total = images.reduce((s, i) => s + i.data.byteLength, 0);
	if (total > limits.maxTotalBytes) {
		throw apiError("images_too_large", `Input images total ${total} bytes; the limit is ${limits.maxTotalBytes}`, { param: "image" });
	}
	return images;
}
