/**
 * The operator's endpoints (Bearer ADMIN_TOKEN) for the OpenAPI document.
 */

import { CatalogQuery } from "../routes/admin-catalog";
import { CreateKey, Grant, KeysQuery, PatchKey } from "../routes/admin-keys";
import { StatsQuery } from "../routes/admin-usage";
import { AdminUsageQuery } from "../routes/usage-query";
import { answer, created, json, ok, operations } from "./declare";
import type { Operation } from "./operation";
import * as R from "./responses";

const admin = operations("Admin", "admin");
const KEY = { params: { id: "Key id (key_...)" } };

/** Keys, usage, stats and the catalog, for the operator. */
export const ADMIN_OPERATIONS: Operation[] = [
	admin.post("/admin/keys", "Create an API key", created("The new key", R.CreatedKey), {
		description: "The plaintext key is in this answer only; the gateway keeps its SHA-256.",
		body: json(CreateKey()),
	}),
	admin.get("/admin/keys", "List keys, newest first", ok("A page of keys with live balances", R.KeyList), {
		query: KeysQuery(),
	}),
	admin.get("/admin/keys/{id}", "Get a key", ok("The key", R.Key), KEY),
	admin.patch("/admin/keys/{id}", "Rename, revoke or restore a key, or change its limits or spend controls", ok("The key", R.Key), {
		...KEY,
		description:
			"A limit set to null returns to the default; a control set to null (or an empty list) removes the restriction. An unknown model or a webhook URL that is not public https is a 400 naming the field.",
		body: json(PatchKey()),
	}),
	admin.delete("/admin/keys/{id}", "Revoke a key", ok("The revoked key", R.Key), {
		...KEY,
		description: "Its very next request is refused with 403 key_revoked.",
	}),
	admin.post("/admin/keys/{id}/credits", "Grant or adjust credits", ok("The new balance", R.Balance), {
		...KEY,
		description:
			"A positive amount is a grant; a negative one an adjustment, refused when it would leave the balance below zero (400 balance_would_go_negative). A grant always lands: it first pays back a balance a late charge left below zero. With an Idempotency-Key a retried grant applies once: the same key and body within 24 h answer the first result (`idempotent-replayed: true`), another body is a 422 idempotency_key_reused.",
		body: json(Grant()),
		headerParams: ["IdempotencyKey"],
		errors: [422],
	}),
	admin.get("/admin/usage", "Usage totals by key, model, day and upstream", ok("Totals", R.AdminUsage), {
		query: AdminUsageQuery(),
	}),
	admin.get("/admin/stats", "Success rate, safety blocks and latency over a window, and over time", ok("The figures", R.Stats), {
		description:
			"Latency percentiles are nearest-rank over successful requests' total time. `series` cuts the window into buckets (5 min, 1 h, 6 h or 1 day).",
		query: StatsQuery(),
	}),
	admin.get(
		"/admin/health",
		"Every dependency checked for real",
		{
			...ok("All dependencies answer", R.HealthReport),
			...answer(503, "At least one does not (named, with its error)", R.HealthReport),
		},
		{
			description:
				"D1 (the newest migration), R2, a KeyAccount Durable Object, the queues' backlogs and every upstream of the pool (models.list, or countTokens on Vertex), in parallel, each within 5 s.",
		},
	),
	admin.get("/admin/catalog", "Catalog health", ok("The catalog against Gemini", R.CatalogHealth), {
		description:
			"Each alias, the upstream id it resolves to now, and what discovery and 404s have shown about every id of its chain, at one upstream of the pool.",
		query: CatalogQuery(),
	}),
	admin.post("/admin/catalog/refresh", "Run model discovery now", ok("What Gemini lists, per Gemini API upstream", R.Discovery), {
		errors: [502],
	}),
	admin.get("/admin/upstreams", "The upstream pool", ok("The pool", R.UpstreamPool), {
		description:
			"Each upstream (Gemini API keys, Vertex AI projects): a fingerprint of its credential (never the credential), state, calls in flight, the last hour's requests, successes, 429s and 5xx, cooldowns and the last error.",
	}),
	admin.post("/admin/upstreams/{id}/reset", "Forget an upstream's cooldowns and close its breaker", ok("The upstream", R.UpstreamView), {
		description: "In every isolate, e.g. after a quota increase.",
		params: { id: "Upstream id" },
	}),
];
