/**
 * The upstream pool as configured: which Gemini API keys and Vertex AI projects the
 * gateway may call. Two sources, merged:
 *   - GEMINI_API_KEY and GEMINI_API_KEYS (comma-separated) become `gemini-1` ... `gemini-N`
 *     against GEMINI_BASE_URL, weight 1, every model;
 *   - UPSTREAMS (JSON, keyed by id) names each upstream's kind, the secret holding its
 *     credential, base URL, Vertex project and location, weight, models, concurrency cap.
 * Mistakes in UPSTREAMS itself are configuration errors (the gateway answers 500 until
 * fixed). A credential that is missing or malformed only marks its own upstream unusable:
 * secrets are rotated one at a time without a deploy, and one bad rotation must not take
 * the others down. Problem texts never quote a credential.
 */
import { z } from "zod";
import type { Catalog } from "../catalog/catalog";
import { lazy } from "../lib/lazy";
import { type ServiceAccount, serviceAccountProblem } from "./service-account";

export const DEFAULT_GEMINI_BASE_URL = "https://generativelanguage.googleapis.com";

/** One entry of UPSTREAMS, as the operator writes it. */
const UpstreamEntry = lazy(() =>
	z.strictObject({
		kind: z.enum(["gemini", "vertex"]),
		/** The NAME of the secret (or variable) that holds the credential. */
		secret: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be the name of a secret, e.g. VERTEX_SERVICE_ACCOUNT"),
		base_url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
		token_url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
		project: z
			.string()
			.regex(/^[a-z][a-z0-9.:-]{4,61}[a-z0-9]$/, "must be a Google Cloud project id")
			.optional(),
		location: z
			.string()
			.regex(/^[a-z0-9-]{1,40}$/, "must be a location such as global or us-central1")
			.optional(),
		weight: z.number().gt(0).max(1000).default(1),
		models: z.array(z.string().min(1)).min(1).optional(),
		max_concurrency: z.number().int().min(1).max(100_000).optional(),
	}),
);

/** UPSTREAMS: `{ "<id>": { kind, secret, ... }, ... }` (ids are checked in buildPool, to name them). */
export const UpstreamsSetting = lazy(() => z.record(z.string(), UpstreamEntry()));
export type UpstreamsSetting = z.infer<ReturnType<typeof UpstreamsSetting>>;

export type Credential = { type: "api_key"; apiKey: string } | { type: "service_account"; account: ServiceAccount };

/** One upstream, resolved. */
export interface UpstreamSpec {
	id: string;
	kind: "gemini" | "vertex";
	/** Where the credential came from, for operators (never the credential itself). */
	source: string;
	baseUrl: string;
	/** Vertex with a service account: project and location in the path. */
	project?: string;
	location?: string;
	/** Vertex service accounts: where tokens are minted (the key file's token_uri unless overridden). */
	tokenUrl?: string;
	weight: number;
	/** Gemini ids this upstream may serve; undefined: all. */
	models?: readonly string[];
	maxConcurrency?: number;
	credential: Credential | null;
	/** Set when the upstream cannot be used: what is wrong with its credential. */
	problem?: string;
}

/** A mistake in the pool's configuration: the variable and the problem. */
export class PoolConfigError extends Error {
	constructor(
		readonly variable: string,
		readonly problem: string,
	) {
		super(`${variable}: ${problem}`);
	}
}

const blank = (v: unknown): v is undefined | null | "" => v === undefined || v === null || (typeof v === "string" && v.trim() === "");

/** The keys in GEMINI_API_KEY and GEMINI_API_KEYS, in that order, each once, with where each came from. */
export function keyList(single: unknown, list: unknown): Array<{ key: string; source: string }> {
	const out: Array<{ key: string; source: string }> = [];
	if (!blank(single)) out.push({ key: String(single).trim(), source: "GEMINI_API_KEY" });
	const many = blank(list)
		? []
		: String(list)
				.split(/[,\s]+/)
				.filter(Boolean);
	for (const [i, key] of many.entries()) if (!out.some((k) => k.key === key)) out.push({ key, source: `GEMINI_API_KEYS[${i}]` });
	return out;
}

function vertexBase(location: string): string {
	return location === "global" ? "https://aiplatform.googleapis.com" : `https://${location}-aiplatform.googleapis.com`;
}

/** Resolves one UPSTREAMS entry: its credential read from `env` by name. */
function fromEntry(id: string, e: UpstreamsSetting[string], env: Record<string, unknown>): UpstreamSpec {
	const where = id;
	if (e.kind === "gemini" && (e.project || e.location || e.token_url)) {
		throw new PoolConfigError("UPSTREAMS", `${id}: project, location and token_url apply to vertex upstreams only`);
	}
	const spec: UpstreamSpec = {
		id,
		kind: e.kind,
		source: `secret ${e.secret}`,
		baseUrl: (e.base_url ?? (e.kind === "gemini" ? DEFAULT_GEMINI_BASE_URL : vertexBase(e.location ?? "global"))).replace(/\/+$/, ""),
		weight: e.weight,
		models: e.models,
		maxConcurrency: e.max_concurrency,
		credential: null,
	};
	const value = env[e.secret];
	if (blank(value) || typeof value !== "string") {
		spec.problem = `${where}: the secret ${e.secret} is not set`;
		return spec;
	}
	const text = value.trim();
	if (e.kind === "vertex" && text.startsWith("{")) {
		const parsed = serviceAccountProblem(text);
		if (typeof parsed === "string") {
			spec.problem = `${where}: the service account key in ${e.secret} ${parsed}`;
			return spec;
		}
		spec.credential = { type: "service_account", account: parsed };
		spec.project = e.project ?? parsed.projectId;
		spec.location = e.location ?? "global";
		spec.tokenUrl = (e.token_url ?? parsed.tokenUri).replace(/\/+$/, "");
		if (!spec.project) spec.problem = `${where}: no project: set "project" (the key file names none)`;
		return spec;
	}
	if (/[\s,]/.test(text)) {
		spec.problem = `${where}: ${e.secret} holds several values; an upstream takes one API key`;
		return spec;
	}
	// A Vertex value that is not JSON is an express-mode API key.
	spec.credential = { type: "api_key", apiKey: text };
	return spec;
}

/**
 * The whole pool: GEMINI_API_KEY(S) first (keys an UPSTREAMS entry also uses are left
 * to that entry), then UPSTREAMS in the order written. Throws PoolConfigError.
 */
export function buildPool(
	env: Record<string, unknown>,
	setting: UpstreamsSetting | undefined,
	geminiBaseUrl: string,
	catalog: Catalog,
): UpstreamSpec[] {
	for (const id of Object.keys(setting ?? {})) {
		if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/.test(id)) {
			throw new PoolConfigError("UPSTREAMS", `${id}: upstream ids are 1 to 40 letters, digits, '.', '_' or '-'`);
		}
	}
	const named = Object.entries(setting ?? {}).map(([id, e]) => fromEntry(id, e, env));
	for (const u of named) {
		for (const [i, m] of (u.models ?? []).entries()) {
			if (!catalog.upstream(m) && !catalog.upstreamIds().includes(m)) {
				throw new PoolConfigError("UPSTREAMS", `${u.id}.models[${i}]: ${m} is not a Gemini model id the catalog knows`);
			}
		}
	}
	const taken = new Set(named.flatMap((u) => (u.credential?.type === "api_key" ? [u.credential.apiKey] : [])));
	const listed = keyList(env.GEMINI_API_KEY, env.GEMINI_API_KEYS).filter((k) => !taken.has(k.key));
	const fromKeys: UpstreamSpec[] = listed.map(({ key, source }, i) => ({
		id: `gemini-${i + 1}`,
		kind: "gemini",
		source,
		baseUrl: geminiBaseUrl,
		weight: 1,
		credential: { type: "api_key", apiKey: key },
	}));
	const all = [...fromKeys, ...named];
	const ids = new Set<string>();
	for (const u of all) {
		if (ids.has(u.id)) throw new PoolConfigError("UPSTREAMS", `${u.id}: this id is already taken by a key from GEMINI_API_KEY(S)`);
		ids.add(u.id);
	}
	return all;
}

/** The upstreams configured to serve a Gemini id (usable or not). */
export function configuredFor(pool: readonly UpstreamSpec[], model: string): UpstreamSpec[] {
	return pool.filter((u) => !u.models || u.models.includes(model));
}

/** Every secret value an upstream holds, for scrubbing texts that leave the gateway. */
export function secretsOf(u: UpstreamSpec): string[] {
	if (!u.credential) return [];
	return u.credential.type === "api_key" ? [u.credential.apiKey] : [u.credential.account.privateKey, u.credential.account.privateKeyId];
}
