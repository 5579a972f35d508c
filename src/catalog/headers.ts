/**
 * Response headers for a model name that is deprecated or retired: `Deprecation` (RFC
 * 9745, a structured-field date `@<unix seconds>`), `Sunset` (RFC 8594, an HTTP date)
 * where the date is known, and `Link`s to the replacement and to Google's schedule.
 */
import type { ModelSpec } from "./catalog";

const DEPRECATIONS_PAGE = "https://ai.google.dev/gemini-api/docs/deprecations";

const unix = (day: string) => Math.floor(Date.parse(`${day}T00:00:00Z`) / 1000);

/** Empty for an active model. */
export function lifecycleHeaders(model: ModelSpec, origin?: string): Record<string, string> {
	const l = model.lifecycle;
	if (l.status === "active") return {};
	const since = l.deprecatedOn ?? l.sunsetOn;
	const headers: Record<string, string> = {
		deprecation: since ? `@${unix(since)}` : `@${Math.floor(Date.now() / 86_400_000) * 86_400}`,
	};
	if (l.sunsetOn) headers.sunset = new Date(unix(l.sunsetOn) * 1000).toUTCString();
	const links = [`<${DEPRECATIONS_PAGE}>; rel="deprecation"; type="text/html"`];
	if (model.replacement && origin) links.unshift(`<${origin}/v1/models/${model.replacement}>; rel="successor-version"`);
	headers.link = links.join(", ");
	return headers;
}
