/**
 * Benchmark-only Worker (never deployed): a day of usage and ledger rows through the real
 * outbox path (src/account/outbox.ts: rows queued in a Durable Object's SQLite, flushed to
 * D1 in multi-row statements by the same usageUpserts / ledgerInserts), then the usage
 * archive (src/storage/archive.ts) over them. Started by bench/run.ts (section `d1`) with
 * bench/wrangler.d1.toml.
 */
import { DurableObject } from "cloudflare:workers";
import schema from "../schema.sql";
import { Outbox, type OutboxRow } from "../src/account/outbox";
import { usageRow } from "../src/account/records";
import { sqlOf } from "../src/account/sql";
import { archiveUsage } from "../src/storage/archive";

interface BenchEnv {
	OUTBOX: DurableObjectNamespace<OutboxBench>;
	DB: D1Database;
	IMAGES: R2Bucket;
}

/**
 * The rows one request leaves, as the KeyAccount's checkpoint writes them: the ledger's
 * reserve, release and charge, and the usage row (one in 20 refused by Gemini's safety
 * filter: no charge row, status 422).
 */
function requestRows(keyId: string, i: number, at: number): OutboxRow[] {
	const token = `${keyId.slice(4, 10)}${i.toString(36).padStart(8, "0")}${crypto.getRandomValues(new Uint8Array(6)).toHex()}`;
	const requestId = `req_${token}`;
	const blocked = i % 20 === 7;
	const model = i % 3 === 0 ? "nano-banana-pro" : "nano-banana-2";
	const credits = model === "nano-banana-pro" ? 1_340 : 670;
	const day = new Date(at).toISOString().slice(0, 10).replaceAll("-", "/");
	const r2 = blocked ? [] : [`generated/${model}/${keyId}/${day}/${requestId}-0.jpg`];
	const usage = usageRow(
		keyId,
		{ requestId, endpoint: "openai.images.generations", model, mode: "generate", n: 1, aspectRatio: "1:1", imageSize: "1K", startedAt: at },
		credits,
		blocked ? 0 : credits,
		{
			imagesDelivered: blocked ? 0 : 1,
			promptTokens: 14,
			outputTokens: blocked ? 0 : 1_290,
			totalTokens: blocked ? 14 : 1_304,
			upstreamMs: 9_800,
			upstreamModel: model === "nano-banana-pro" ? "gemini-3-pro-image" : "gemini-3.1-flash-image",
			upstreams: blocked ? [] : ["gemini-1"],
			status: blocked ? 422 : 200,
			errorCode: blocked ? "content_policy_violation" : null,
			finishReason: blocked ? "IMAGE_SAFETY" : "STOP",
			r2Keys: r2,
			googleCost: blocked ? 3.2 : 670.4,
			metered: {
				input_text: 14,
				input_image: 0,
				cached_input: 0,
				output_image: blocked ? 0 : 1_120,
				output_text: blocked ? 0 : 170,
				thoughts: 0,
				search_queries: 0,
				service_tier: "standard",
				models: { [model === "nano-banana-pro" ? "gemini-3-pro-image" : "gemini-3.1-flash-image"]: 1 },
				cost: { delivered: blocked ? 0 : 670.4, refused: blocked ? 3.2 : 0, faulted: 0 },
			},
		},
		at + 9_900,
	);
	const iso = new Date(at).toISOString();
	const balance = 10_000_000_000 - i * credits;
	const ledger = (kind: "reserve" | "release" | "charge", amount: number, seq: number): OutboxRow => [
		"ledger",
		{
			id: `led_${token}_${kind}`,
			seq,
			key_id: keyId,
			request_id: requestId,
			kind,
			amount,
			balance_after: balance,
			reason: null,
			created_at: iso,
		},
	];
	const rows: OutboxRow[] = [ledger("reserve", -credits, i * 3), ledger("release", credits, i * 3 + 1)];
	if (!blocked) rows.push(ledger("charge", -credits, i * 3 + 2));
	rows.push(["usage", usage]);
	return rows;
}

/** One key's outbox: queue `count` requests' rows (starting at request `from`), then flush them to D1. */
export class OutboxBench extends DurableObject<BenchEnv> {
	private readonly outbox: Outbox;

	constructor(ctx: DurableObjectState, env: BenchEnv) {
		super(ctx, env);
		ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS outbox (
			seq INTEGER PRIMARY KEY AUTOINCREMENT,
			kind TEXT NOT NULL CHECK (kind IN ('usage', 'ledger')),
			payload TEXT NOT NULL,
			created_at INTEGER NOT NULL
		)`);
		this.outbox = new Outbox(sqlOf(ctx.storage.sql));
	}

	async fill(
		keyId: string,
		from: number,
		count: number,
		dayStart: number,
		stride: number,
		keys: number,
		offset: number,
	): Promise<{ rows: number }> {
		const rows: OutboxRow[] = [];
		// Requests of all keys interleave over the day: this key's i-th request is at (i * keys + offset) * stride.
		for (let i = from; i < from + count; i++) rows.push(...requestRows(keyId, i, dayStart + Math.floor((i * keys + offset) * stride)));
		this.outbox.enqueue(rows);
		const { pending } = await this.outbox.flush(this.env.DB);
		if (pending > 0) throw new Error(`${pending} rows left in the outbox`);
		return { rows: rows.length };
	}
}

let schemaApplied: Promise<unknown> | undefined;

async function dbSize(db: D1Database): Promise<{ bytes: number; free_bytes: number | null; usage: number; ledger: number }> {
	// Pages freed by deletes are reused by later inserts; the file does not shrink.
	let free: number | null = null;
	try {
		const f = await db
			.prepare("SELECT freelist_count * page_size AS free FROM pragma_freelist_count(), pragma_page_size()")
			.first<number>("free");
		free = f ?? null;
	} catch {}
	const r = await db
		.prepare("SELECT (SELECT COUNT(*) FROM usage) AS usage, (SELECT COUNT(*) FROM credit_ledger) AS ledger")
		.run<{ usage: number; ledger: number }>();
	return { bytes: r.meta.size_after, free_bytes: free, usage: r.results[0].usage, ledger: r.results[0].ledger };
}

export default {
	async fetch(req: Request, env: BenchEnv): Promise<Response> {
		const url = new URL(req.url);
		schemaApplied ??= env.DB.batch(
			schema
				.replace(/--.*$/gm, "")
				.split(";")
				.map((q) => q.trim())
				.filter(Boolean)
				.map((q) => env.DB.prepare(q)),
		);
		await schemaApplied;
		if (url.pathname === "/size") return Response.json(await dbSize(env.DB));
		if (url.pathname === "/exports") {
			const r = await env.DB.prepare(
				"SELECT tbl, COUNT(*) AS objects, SUM(rows) AS rows, SUM(bytes) AS bytes FROM usage_exports GROUP BY tbl ORDER BY tbl",
			).all();
			const rollup = await env.DB.prepare("SELECT COUNT(*) AS n FROM usage_daily").first<number>("n");
			return Response.json({ exports: r.results, usage_daily_rows: rollup });
		}
		if (url.pathname === "/fill") {
			// requests over the day starting at `day`, spread over `keys` keys, `chunk` requests per outbox flush.
			const requests = Number(url.searchParams.get("requests") ?? 1000);
			const keys = Number(url.searchParams.get("keys") ?? 8);
			const chunk = Number(url.searchParams.get("chunk") ?? 250);
			const from = Number(url.searchParams.get("from") ?? 0);
			const dayStart = Date.parse(`${url.searchParams.get("day") ?? "2026-09-01"}T00:00:00Z`);
			const total = Number(url.searchParams.get("total") ?? requests);
			const stride = 86_400_000 / total;
			const perKey = Math.ceil(requests / keys);
			const t0 = performance.now();
			const done = await Promise.all(
				Array.from({ length: keys }, async (_, k) => {
					const keyId = `key_bench${String(k).padStart(4, "0")}`;
					const stub = env.OUTBOX.get(env.OUTBOX.idFromName(keyId));
					let rows = 0;
					const start = Math.floor(from / keys);
					for (let i = start; i < start + perKey; i += chunk)
						rows += (await stub.fill(keyId, i, Math.min(chunk, start + perKey - i), dayStart, stride, keys, k)).rows;
					return rows;
				}),
			);
			const ms = performance.now() - t0;
			return Response.json({ requests: perKey * keys, rows: done.reduce((a, b) => a + b, 0), ms, ...(await dbSize(env.DB)) });
		}
		if (url.pathname === "/prune") {
			// One archive run as the cron trigger makes it, with a clock far enough ahead that every row is past the window.
			const at = new Date(Date.parse(url.searchParams.get("at") ?? "2027-06-01T00:00:00Z"));
			const maxHours = Number(url.searchParams.get("hours") ?? 1);
			const t0 = performance.now();
			const r = await archiveUsage(env as unknown as Env, at, { retentionDays: 90, maxHours, budgetMs: 600_000 });
			const ms = performance.now() - t0;
			return Response.json({ ms, result: r, ...(await dbSize(env.DB)) });
		}
		return new Response("not found", { status: 404 });
	},
};
