/**
 * Retention: one bounded pass per cron run over every object of both buckets, resuming
 * where the last pass stopped, so any number of objects is eventually looked at (a pass
 * that restarted at the first key each time would never reach the ones past its bound).
 *
 * What expires, by prefix:
 *   IMAGES  generated/      uploaded more than RETENTION_DAYS ago (unset: kept)
 *   IMAGES  jobs/ turns/ conversations/ idempotency/   left by a gateway from before the
 *           private bucket: moved to PRIVATE (or deleted when their own rule below says so)
 *   PRIVATE turns/          with their images: older than RETENTION_DAYS (unset: kept)
 *   PRIVATE conversations/  not written for RETENTION_DAYS (unset: kept), or whose
 *           conversation was deleted; an expired conversation's D1 row goes too (GET: 404)
 *   PRIVATE idempotency/    after the Idempotency-Key's replay window (24 h) and an hour
 *   PRIVATE jobs/           once the job has ended (or its row is gone an hour on)
 *   anything else           kept (the pass's own state: PRIVATE retention/state.json)
 *
 * Where each bucket's pass stopped is the last key it looked at, kept in PRIVATE at
 * `retention/state.json`; a pass that reaches a bucket's end starts the next from its first
 * key. Keys are visited in order, so a key is looked at once per cycle through the bucket.
 */
import { IDEMPOTENCY_TTL } from "./account/key-account";
import type { GatewayConfig } from "./config";
import { type JobStatus, TERMINAL } from "./storage/jobs";
import { isPrivateKey } from "./storage/private";

/** Objects looked at per bucket per pass (five R2 list calls). */
export const KEYS_PER_PASS = 5_000;
/** Legacy objects moved per pass: each is a get, a head, a put and a delete (subrequests). */
const MOVES_PER_PASS = 100;
const STATE_KEY = "retention/state.json";
const HOUR = 3_600_000;

interface PassState {
	/** The last key each bucket's pass looked at ("": start from the first). */
	images: string;
	private: string;
}

export interface BucketPass {
	scanned: number;
	deleted: number;
	moved: number;
	/** The pass reached the bucket's last key (the next starts from the first). */
	wrapped: boolean;
}

export interface RetentionReport {
	images: BucketPass;
	private: BucketPass;
}

/** What the rules need to know about the objects of one listed page. */
interface Page {
	/** Status of each job named by a `jobs/{id}/` key on the page (absent: no row). */
	jobs: Map<string, string>;
	/** Conversation ids on the page that still have their D1 row. */
	conversations: Set<string>;
}

type Fate = "keep" | "delete" | "move";

interface Rules {
	at: number;
	/** Images, turns and idle conversations uploaded before this expire; undefined: never. */
	imageCutoff: number | undefined;
}

const jobIdOf = (key: string) => key.split("/")[1] ?? "";
/** `conversations/{keyId}/{id}.json` -> [keyId, id]. */
function conversationOf(key: string): [string, string] {
	const [, keyId = "", file = ""] = key.split("/");
	return [keyId, file.replace(/\.json$/, "")];
}

/** The rule for one private object, wherever it is. */
function privateFate(o: R2Object, rules: Rules, page: Page): "keep" | "delete" {
	const uploaded = o.uploaded.getTime();
	const old = rules.imageCutoff !== undefined && uploaded < rules.imageCutoff;
	if (o.key.startsWith("idempotency/")) return uploaded < rules.at - IDEMPOTENCY_TTL - HOUR ? "delete" : "keep";
	if (o.key.startsWith("turns/")) return old ? "delete" : "keep";
	if (o.key.startsWith("conversations/")) return old || !page.conversations.has(conversationOf(o.key)[1]) ? "delete" : "keep";
	if (o.key.startsWith("jobs/")) {
		const status = page.jobs.get(jobIdOf(o.key));
		// Inputs are written just before their job's row: a missing row is only trusted an hour on.
		if (status === undefined) return uploaded < rules.at - HOUR ? "delete" : "keep";
		return TERMINAL.has(status as JobStatus) ? "delete" : "keep";
	}
	return "keep";
}

function fateIn(bucket: "images" | "private", o: R2Object, rules: Rules, page: Page): Fate {
	if (bucket === "images") {
		if (o.key.startsWith("generated/"))
			return rules.imageCutoff !== undefined && o.uploaded.getTime() < rules.imageCutoff ? "delete" : "keep";
		if (!isPrivateKey(o.key)) return "keep";
		return privateFate(o, rules, page) === "delete" ? "delete" : "move";
	}
	return privateFate(o, rules, page);
}

/** Looks up, in two queries, the D1 rows the page's job and conversation keys need. */
async function pageFacts(db: D1Database, objects: R2Object[]): Promise<Page> {
	const jobIds = [...new Set(objects.filter((o) => o.key.startsWith("jobs/")).map((o) => jobIdOf(o.key)))];
	const convIds = [...new Set(objects.filter((o) => o.key.startsWith("conversations/")).map((o) => conversationOf(o.key)[1]))];
	const page: Page = { jobs: new Map(), conversations: new Set() };
	// One query per page, its ids bound through json_each (D1 caps bound parameters at 100).
	if (jobIds.length > 0) {
		const rows = await db
			.prepare("SELECT id, status FROM jobs WHERE id IN (SELECT value FROM json_each(?))")
			.bind(JSON.stringify(jobIds))
			.all<{ id: string; status: string }>();
		for (const r of rows.results) page.jobs.set(r.id, r.status);
	}
	if (convIds.length > 0) {
		const rows = await db
			.prepare("SELECT id FROM conversations WHERE id IN (SELECT value FROM json_each(?))")
			.bind(JSON.stringify(convIds))
			.all<{ id: string }>();
		for (const r of rows.results) page.conversations.add(r.id);
	}
	return page;
}

/** Copies a legacy object into PRIVATE (unless a newer copy is there) and removes it from IMAGES. */
async function moveToPrivate(env: Env, key: string): Promise<void> {
	const obj = await env.IMAGES.get(key);
	if (obj && !(await env.PRIVATE.head(key))) {
		await env.PRIVATE.put(key, await obj.arrayBuffer(), { httpMetadata: obj.httpMetadata, customMetadata: obj.customMetadata });
	}
	await env.IMAGES.delete(key);
}

async function passOver(
	env: Env,
	which: "images" | "private",
	startAfter: string,
	rules: Rules,
	maxKeys: number,
): Promise<{ report: BucketPass; last: string }> {
	const bucket = which === "images" ? env.IMAGES : env.PRIVATE;
	const report: BucketPass = { scanned: 0, deleted: 0, moved: 0, wrapped: false };
	let last = startAfter;
	while (report.scanned < maxKeys) {
		const list = await bucket.list({ startAfter: last || undefined, limit: Math.min(1000, maxKeys - report.scanned) });
		const page = await pageFacts(env.DB, list.objects);
		const doomed: string[] = [];
		let stopped = false;
		for (const o of list.objects) {
			const fate = fateIn(which, o, rules, page);
			if (fate === "move") {
				if (report.moved >= MOVES_PER_PASS) {
					stopped = true; // resume at this key next time
					break;
				}
				await moveToPrivate(env, o.key);
				report.moved++;
			} else if (fate === "delete") doomed.push(o.key);
			report.scanned++;
			last = o.key;
		}
		if (doomed.length > 0) {
			await bucket.delete(doomed);
			report.deleted += doomed.length;
			// A deleted conversation's row goes too: GET answers 404, not an empty history.
			const convs = doomed.filter((k) => k.startsWith("conversations/")).map((k) => conversationOf(k)[1]);
			if (convs.length > 0) {
				await env.DB.prepare("DELETE FROM conversations WHERE id IN (SELECT value FROM json_each(?))").bind(JSON.stringify(convs)).run();
			}
		}
		if (stopped) break;
		if (!list.truncated) {
			report.wrapped = true;
			last = "";
			break;
		}
	}
	return { report, last };
}

/** Where the last pass stopped; from the start when there is no (readable) record. */
async function readState(env: Env): Promise<PassState> {
	const fresh = { images: "", private: "" };
	try {
		const stored = await (await env.PRIVATE.get(STATE_KEY))?.json<Partial<PassState>>();
		return { images: String(stored?.images ?? ""), private: String(stored?.private ?? "") };
	} catch {
		return fresh; // a damaged record costs one extra cycle, never a stuck pass
	}
}

/**
 * One retention pass: at most `maxKeys` objects of each bucket looked at, from where the
 * last pass stopped. Safe to run concurrently with itself (the worst is a key seen twice).
 */
export async function retentionPass(env: Env, at: Date, config: GatewayConfig, maxKeys = KEYS_PER_PASS): Promise<RetentionReport> {
	const state = await readState(env);
	const rules: Rules = {
		at: at.getTime(),
		imageCutoff: config.retentionDays === undefined ? undefined : at.getTime() - config.retentionDays * 86_400_000,
	};
	const images = await passOver(env, "images", state.images, rules, maxKeys);
	const priv = await passOver(env, "private", state.private, rules, maxKeys);
	const next: PassState = { images: images.last, private: priv.last };
	await env.PRIVATE.put(STATE_KEY, JSON.stringify(next), { httpMetadata: { contentType: "application/json" } });
	return { images: images.report, private: priv.report };
}
