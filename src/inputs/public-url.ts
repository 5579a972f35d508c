/**
 * SSRF guard for user-supplied URLs (reference images, webhooks): https only (plain
 * http only when ALLOW_HTTP_IMAGE_URLS is set, for local development), no credentials,
 * no IP literals in any notation, no names that can only mean something internal, and
 * only the scheme's default port. Every redirect hop is checked again by the caller.
 */
import { invalidParam } from "../errors";

const INTERNAL_SUFFIXES = [".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet", ".corp", ".private"];
const INTERNAL_NAMES = new Set(["localhost", "metadata", "metadata.google.internal", "instance-data", "kubernetes.default"]);

/** Parses and vets a URL; throws a 400 naming `param` when it is not a public https URL. */
export function publicUrl(raw: string, param: string, allowHttp: boolean): URL {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw invalidParam(param, `${param} is not a valid URL`, "invalid_url");
	}
	const refuse = (why: string) => invalidParam(param, `${param} must be a public https URL: ${why}`, "invalid_url");
	if (url.protocol !== "https:" && !(allowHttp && url.protocol === "http:")) throw refuse(`scheme ${url.protocol} is not allowed`);
	if (url.username || url.password) throw refuse("credentials in URLs are not allowed");
	if (url.port !== "") throw refuse("only the default port is allowed");
	// The WHATWG parser already turned decimal, octal and hex IPv4 forms into dotted quads.
	const host = url.hostname.toLowerCase().replace(/\.$/, "");
	if (host.startsWith("[") || /^\d{1,3}(\.\d{1,3}){3}$/.test(host)) throw refuse("IP addresses are not allowed");
	if (!host.includes(".")) throw refuse("single-label host names are not allowed");
	if (INTERNAL_NAMES.has(host) || INTERNAL_SUFFIXES.some((s) => host.endsWith(s))) throw refuse(`host ${host} is internal`);
	return url;
}
