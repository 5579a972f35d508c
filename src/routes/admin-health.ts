/**
 * `GET /admin/health`: every dependency checked for real, each with its latency, in
 * parallel and each within a time limit, so one hung dependency cannot hang the answer.
 * 200 when all are fine, 503 naming what is not. (`GET /health` stays a constant answer
 * for load balancers and uptime checks: it touches nothing.)
 *   d1           the newest applied migration (fails when migrations were never applied)
 *   r2           a HEAD of a key that need not exist
 *   key_account  an RPC to a KeyAccount Durable Object no key ever maps to
 *   queue        the jobs queue's and dead-letter queue's backlogs (Queue.metrics())
 *   upstream     every upstream of the pool, no retries: a Gemini API key lists one page of
 *                models.list, a Vertex upstream counts the tokens of "ok" (free); ok when all
 *                answered, each named in `upstreams` (the first one's fields at the top)
 */
import { Hono } from "hono";
import { accountFor } from "../account/key-account";
import type { GatewayConfig } from "../config";
import { GeminiClient } from "../gemini/client";
import { ADMIN_FACTS } from "../route-facts";
import { lastMigration } from "../storage/db";
import type { AppEnv } from "../types";
import { type Member, poolOf, scrub, unusable } from "../upstreams/pool";

/** No check may take longer; a dependency slower than this is reported as failing. */
const CHECK_TIMEOUT_MS = 5_000;

/** Not a sha256 hex string, so no API key's object can ever have this name. */
const PROBE_ACCOUNT = "health-probe";

type Check = { ok: true; ms: number } & Record<string, unknown>;
type Failed = { ok: false; ms: number; error: string };

async function check(run: () => Promise<Record<string, unknown>>): Promise<Check | Failed> {
	const started = Date.now();
	let timer: ReturnType<typeof setTimeout> | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
	});
	try {
		const details = await Promise.race([run(), timeout]);
		return { ok: true, ms: Date.now() - started, ...details };
	} catch (error) {
		return { ok: false, ms: Date.now() - started, error: error instanceof Error ? error.message : String(error) };
	} finally {
		clearTimeout(timer);
	}
}

/** One upstream answering with its credential: models.list for the Gemini API, countTokens for Vertex. */
async function probe(m: Member, config: GatewayConfig): Promise<Record<string, unknown>> {
	const problem = unusable(m);
	if (problem) throw new Error(problem);
	const client = new GeminiClient({
		endpoint: m.endpoint,
		maxRetries: 0,
		retryBaseMs: 0,
		retryMaxMs: 0,
		deadlineMs: Math.min(config.deadlineMs, CHECK_TIMEOUT_MS),
	});
	try {
		if (m.spec.kind === "gemini") {
			const page = await client.listModels(1000);
			return { url: m.spec.baseUrl, models: page.models?.length ?? 0 };
		}
		const model = m.spec.models?.[0] ?? config.catalog.aliases()[0]?.upstream ?? "gemini-3-pro-image";
		await client.countTokens(model, { contents: [{ role: "user", parts: [{ text: "ok" }] }] });
		return { url: m.spec.baseUrl, model };
	} catch (error) {
		// Google has quoted keys in its messages; nothing of the credential leaves.
		throw new Error(scrub(error instanceof Error ? error.message : String(error), m.secrets));
	}
}

export const adminHealth = new Hono<AppEnv>().use(ADMIN_FACTS).get("/", async (c) => {
	const env = c.env;
	const config = c.get("config");
	const [d1, r2, keyAccount, queue, upstream] = await Promise.all([
		check(async () => ({ migration: await lastMigration(env.DB) })),
		check(async () => {
			// Both buckets: images, and the private one (job inputs, turns, conversations, replays).
			await Promise.all([env.IMAGES.head("health/probe"), env.PRIVATE.head("health/probe")]);
			return {};
		}),
		check(async () => {
			await accountFor(env, PROBE_ACCOUNT).describe();
			return {};
		}),
		check(async () => {
			const [jobs, dead] = await Promise.all([env.JOBS.metrics(), env.JOBS_DLQ.metrics()]);
			return { backlog: jobs.backlogCount, dead_letter_backlog: dead.backlogCount };
		}),
		check(async () => {
			const members = await poolOf(config);
			if (members.length === 0) throw new Error("no upstream is configured (GEMINI_API_KEY, GEMINI_API_KEYS or UPSTREAMS)");
			const each = await Promise.all(members.map(async (m) => ({ id: m.spec.id, ...(await check(() => probe(m, config))) })));
			const failed = each.filter((u) => !u.ok);
			if (failed.length > 0) throw new Error(failed.map((u) => `${u.id}: ${"error" in u ? u.error : ""}`).join("; "));
			const { id: _, ok: __, ms: ___, ...first } = each[0];
			return { ...first, upstreams: each };
		}),
	]);
	const checks = { d1, r2, key_account: keyAccount, queue, upstream };
	const ok = Object.values(checks).every((x) => x.ok);
	return c.json({ ok, checked_at: new Date().toISOString(), checks }, ok ? 200 : 503);
});
