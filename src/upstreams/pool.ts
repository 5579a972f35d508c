/**
 * The pool at run time: each configured upstream with its endpoint (Gemini API key,
 * Vertex service account or Vertex express key), its scope (the key health and model
 * availability are kept under: the id plus a hash of endpoint and credential, so two
 * upstreams never share a record and a rotated credential starts afresh) and its
 * fingerprint for operators. Built once per configuration; the isolate's HealthBoard and
 * its background sync live here too.
 */
import { sha256Hex } from "../account/keys";
import type { GatewayConfig } from "../config";
import { type Endpoint, GeminiClient, geminiEndpoint } from "../gemini/client";
import { GeminiBadRequestError } from "../gemini/errors";
import { HealthBoard } from "./health";
import { HealthSync } from "./shared";
import { secretsOf, type UpstreamSpec } from "./spec";
import { accessToken } from "./vertex-token";

export interface Member {
	spec: UpstreamSpec;
	scope: string;
	/** Identifies the credential without revealing it: `sha256:` + 12 hex, or the service account and key id. */
	fingerprint: string;
	endpoint: Endpoint;
	/** Values scrubbed from any upstream text before it is logged, stored or answered. */
	secrets: string[];
	/** Set when the credential turned out unusable at run time (a key WebCrypto refuses). */
	unusable?: string;
}

/** This isolate's health knowledge, and its link to the other isolates'. */
export const board = new HealthBoard();
export const sharedHealth = new HealthSync(board);

function endpointOf(spec: UpstreamSpec, scope: string): Endpoint {
	const c = spec.credential;
	const base = spec.baseUrl;
	if (spec.kind === "gemini") return geminiEndpoint(base, c?.type === "api_key" ? c.apiKey : "");
	const model = (id: string) => `publishers/google/models/${encodeURIComponent(id)}`;
	if (c?.type === "service_account") {
		const path = `${base}/v1/projects/${encodeURIComponent(spec.project ?? "")}/locations/${encodeURIComponent(spec.location ?? "global")}`;
		return {
			url: (id, action) => `${path}/${model(id)}:${action}`,
			headers: async () => ({
				authorization: `Bearer ${await accessToken(scope, c.account, spec.tokenUrl ?? c.account.tokenUri, spec.id)}`,
			}),
		};
	}
	// Express mode: an API key, sent like every Google API key in x-goog-api-key (the
	// documented `?key=` form would put it in URLs, which end up in logs).
	const apiKey = c?.type === "api_key" ? c.apiKey : "";
	return { url: (id, action) => `${base}/v1/${model(id)}:${action}`, headers: () => ({ "x-goog-api-key": apiKey }) };
}

async function memberOf(spec: UpstreamSpec): Promise<Member> {
	const c = spec.credential;
	const material = c?.type === "api_key" ? c.apiKey : c ? `${c.account.clientEmail}\n${c.account.privateKey}` : "";
	const hash = await sha256Hex([spec.kind, spec.baseUrl, spec.project ?? "", spec.location ?? "", material].join("\n"));
	const scope = `${spec.id}#${hash.slice(0, 12)}`;
	const fingerprint =
		c?.type === "service_account"
			? `${c.account.clientEmail}${c.account.privateKeyId ? ` key ${c.account.privateKeyId.slice(0, 8)}` : ""}`
			: c
				? `sha256:${(await sha256Hex(c.apiKey)).slice(0, 12)}`
				: "none";
	return { spec, scope, fingerprint, endpoint: endpointOf(spec, scope), secrets: secretsOf(spec) };
}

const pools = new WeakMap<GatewayConfig, Promise<Member[]>>();

/** The pool for this configuration (built on first use, then shared by every request). */
export function poolOf(config: GatewayConfig): Promise<Member[]> {
	let p = pools.get(config);
	if (!p) {
		p = Promise.all(config.upstreams.map(memberOf));
		pools.set(config, p);
		p.then((members) => {
			for (const m of members) {
				if (m.spec.problem) console.error(JSON.stringify({ event: "upstream_unusable", upstream: m.spec.id, problem: m.spec.problem }));
			}
		});
	}
	return p;
}

/** Why a member cannot be used at all (its credential), if it cannot. */
export function unusable(m: Member): string | undefined {
	return m.spec.problem ?? m.unusable;
}

/** Replaces every secret of the pool found in `text` (Google has echoed keys in error messages). */
export function scrub(text: string, secrets: readonly string[]): string {
	let out = text;
	for (const s of secrets) if (s.length >= 8) out = out.split(s).join("[redacted]");
	// Any Google API key, whoever's: they all look alike.
	return out.replace(/AIza[0-9A-Za-z_-]{35}/g, "[redacted]");
}

/**
 * A client for one member, for what must stay on the upstream that started it (a batch is
 * polled and canceled where it was accepted). `id` null: the first Gemini API upstream
 * (batches from before the pool). An id no longer in the pool is a 404: nothing there can
 * answer for it.
 */
export async function memberClient(config: GatewayConfig, id: string | null): Promise<GeminiClient> {
	const members = await poolOf(config);
	const m = id === null ? members.find((x) => x.spec.kind === "gemini") : members.find((x) => x.spec.id === id);
	if (!m) throw new GeminiBadRequestError(`upstream ${id ?? "(any Gemini API key)"} is not in the pool any more`, { status: 404 });
	return new GeminiClient({
		endpoint: m.endpoint,
		maxRetries: config.maxRetries,
		retryBaseMs: config.retryBaseMs,
		retryMaxMs: config.retryMaxMs,
		deadlineMs: config.deadlineMs,
	});
}
