/**
 * The operator's endpoints (Bearer ADMIN_TOKEN) for the OpenAPI document.
 */

import { CatalogQuery } from "../routes/admin-catalog";
import { CreateKey, Grant, KeysQuery, PatchKey } from "../routes/admin-keys";
import { StatsQuery } from "../routes/admin-usage";
import { AdminUsageQuery } from "../routes/usage-query";
import type { Operation } from "./operation";
import * as R from "./responses";

const KEY_ID = { id: "Key id (key_...)" };
const ADMIN_ERRORS = [401, 403] as const;

/** Keys, usage, stats and the catalog, for the operator. */
export const ADMIN_OPERATIONS: Operation[] = [
	{
		method: "post",
		path: "/admin/keys",
		tag: "Admin",
		summary: "Create an API key",
		description: "The plaintext key is in this answer only; the gateway keeps its SHA-256.",
		auth: "admin",
		body: { json: CreateKey, required: true },
		responses: { 201: { description: "The new key", schema: R.CreatedKey } },
		errors: [...ADMIN_ERRORS, 400, 413, 415],
	},
	{
		method: "get",
		path: "/admin/keys",
		tag: "Admin",
		summary: "List keys, newest first",
		auth: "admin",
		query: KeysQuery,
		responses: { 200: { description: "A page of keys with live balances", schema: R.KeyList } },
		errors: [...ADMIN_ERRORS, 400],
	},
	{
		method: "get",
		path: "/admin/keys/{id}",
		tag: "Admin",
		summary: "Get a key",
		auth: "admin",
		params: KEY_ID,
		responses: { 200: { description: "The key", schema: R.Key } },
		errors: [...ADMIN_ERRORS, 404],
	},
	{
		method: "patch",
		path: "/admin/keys/{id}",
		tag: "Admin",
		summary: "Rename, revoke or restore a key, or change its limits",
		description: "A limit set to null returns to the default.",
		auth: "admin",
		params: KEY_ID,
		body: { json: PatchKey, required: true },
		responses: { 200: { description: "The key", schema: R.Key } },
		errors: [...ADMIN_ERRORS, 400, 404, 413, 415],
	},
	{
		method: "delete",
		path: "/admin/keys/{id}",
		tag: "Admin",
		summary: "Revoke a key",
		description: "Its very next request is refused with 403 key_revoked.",
		auth: "admin",
		params: KEY_ID,
		responses: { 200: { description: "The revoked key", schema: R.Key } },
		errors: [...ADMIN_ERRORS, 404],
	},
	{
		method: "post",
		path: "/admin/keys/{id}/credits",
		tag: "Admin",
		summary: "Grant or adjust credits",
		description: "A positive amount is a grant; either sign an adjustment, never below zero (400 balance_would_go_negative).",
		auth: "admin",
		params: KEY_ID,
		body: { json: Grant, required: true },
		responses: { 200: { description: "The new balance", schema: R.Balance } },
		errors: [...ADMIN_ERRORS, 400, 404, 413, 415],
	},
	{
		method: "get",
		path: "/admin/usage",
		tag: "Admin",
		summary: "Usage totals by key, model, day and upstream",
		auth: "admin",
		query: AdminUsageQuery,
		responses: { 200: { description: "Totals", schema: R.AdminUsage } },
		errors: [...ADMIN_ERRORS, 400],
	},
	{
		method: "get",
		path: "/admin/stats",
		tag: "Admin",
		summary: "Success rate, safety blocks and latency over a window, and over time",
		description:
			"Latency percentiles are nearest-rank over successful requests' total time. `series` cuts the window into buckets (5 min, 1 h, 6 h or 1 day).",
		auth: "admin",
		query: StatsQuery,
		responses: { 200: { description: "The figures", schema: R.Stats } },
		errors: [...ADMIN_ERRORS, 400],
	},
	{
		method: "get",
		path: "/admin/health",
		tag: "Admin",
		summary: "Every dependency checked for real",
		description:
			"D1 (the newest migration), R2, a KeyAccount Durable Object, the queues' backlogs and every upstream of the pool (models.list, or countTokens on Vertex), in parallel, each within 5 s.",
		auth: "admin",
		responses: {
			200: { description: "All dependencies answer", schema: R.HealthReport },
			503: { description: "At least one does not (named, with its error)", schema: R.HealthReport },
		},
		errors: ADMIN_ERRORS,
	},
	{
		method: "get",
		path: "/admin/catalog",
		tag: "Admin",
		summary: "Catalog health",
		description:
			"Each alias, the upstream id it resolves to now, and what discovery and 404s have shown about every id of its chain, at one upstream of the pool.",
		auth: "admin",
		query: CatalogQuery,
		responses: { 200: { description: "The catalog against Gemini", schema: R.CatalogHealth } },
		errors: ADMIN_ERRORS,
	},
	{
		method: "post",
		path: "/admin/catalog/refresh",
		tag: "Admin",
		summary: "Run model discovery now",
		auth: "admin",
		responses: { 200: { description: "What Gemini lists, per Gemini API upstream", schema: R.Discovery } },
		errors: [...ADMIN_ERRORS, 502],
	},
	{
		method: "get",
		path: "/admin/upstreams",
		tag: "Admin",
		summary: "The upstream pool",
		description:
			"Each upstream (Gemini API keys, Vertex AI projects): a fingerprint of its credential (never the credential), state, calls in flight, the last hour's requests, successes, 429s and 5xx, cooldowns and the last error.",
		auth: "admin",
		responses: { 200: { description: "The pool", schema: R.UpstreamPool } },
		errors: ADMIN_ERRORS,
	},
	{
		method: "post",
		path: "/admin/upstreams/{id}/reset",
		tag: "Admin",
		summary: "Forget an upstream's cooldowns and close its breaker",
		description: "In every isolate, e.g. after a quota increase.",
		auth: "admin",
		params: { id: "Upstream id" },
		responses: { 200: { description: "The upstream", schema: R.UpstreamView } },
		errors: [...ADMIN_ERRORS, 404],
	},
];
