/**
 * Benchmark-only Worker (never deployed): drives the real KeyAccount class through
 * native RPC inside workerd and times admissions; `/upstreams/*` exercises upstream
 * routing and the UpstreamHealth object (bench/upstream-bench.ts). Started by
 * bench/run.ts with bench/wrangler.bench.toml.
 */
import { DurableObject } from "cloudflare:workers";
import schema from "../schema.sql";
import { KeyAccount } from "../src/account/key-account";
import { UpstreamHealth } from "../src/upstreams/health-object";
import { upstreamBench } from "./upstream-bench";

export { KeyAccount, UpstreamHealth };

/**
 * The real KeyAccount with its outbox flush held back (the alarm does nothing): what the
 * object itself costs, without the local D1 simulator, which shares the one workerd thread
 * here and runs on other machines in production.
 */
export class KeyAccountUnflushed extends KeyAccount {
	override async alarm(): Promise<void> {}
}

/**
 * The floor under any Durable Object call that writes: one SQLite statement, committed.
 * A KeyAccount admit + settle pair is compared with two of these calls in the same run.
 */
export class WriteFloor extends DurableObject<Cloudflare.Env> {
	constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
		super(ctx, env);
		ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY AUTOINCREMENT, v INTEGER NOT NULL, p TEXT)");
	}

	async write(v: number, statements = 1, transaction = false, bytes = 0): Promise<number> {
		const payload = bytes > 0 ? "x".repeat(bytes) : null;
		const run = () => {
			for (let i = 0; i < statements; i++) this.ctx.storage.sql.exec("INSERT INTO t (v, p) VALUES (?, ?)", v, payload);
		};
		if (transaction) this.ctx.storage.transactionSync(run);
		else run();
		return v;
	}
}

interface BenchEnv {
	KEY_ACCOUNT: DurableObjectNamespace<KeyAccount>;
	KEY_ACCOUNT_UNFLUSHED: DurableObjectNamespace<KeyAccountUnflushed>;
	FLOOR: DurableObjectNamespace<WriteFloor>;
	DB: D1Database;
	IMAGES: R2Bucket;
}

let schemaApplied: Promise<unknown> | undefined;

async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.min(concurrency, count) }, async () => {
			while (next < count) await task(next++);
		}),
	);
}

export default {
	async fetch(req: Request, env: BenchEnv): Promise<Response> {
		const url = new URL(req.url);
		if (url.pathname.startsWith("/upstreams/")) return upstreamBench(url, env as unknown as Env);
		if (url.pathname === "/r2put") {
			// The local R2 simulation's cost for one put of this size: a floor under any
			// gateway request that stores an image.
			const bytes = new Uint8Array(Number(url.searchParams.get("size") ?? 0));
			const t = Date.now();
			await env.IMAGES.put(`bench/${crypto.randomUUID()}`, bytes);
			return Response.json({ ms: Date.now() - t });
		}
		const keys = Number(url.searchParams.get("keys") ?? 1);
		const count = Number(url.searchParams.get("count") ?? 1000);
		const concurrency = Number(url.searchParams.get("concurrency") ?? 32);
		schemaApplied ??= env.DB.batch(
			schema
				.replace(/--.*$/gm, "")
				.split(";")
				.map((q) => q.trim())
				.filter(Boolean)
				.map((q) => env.DB.prepare(q)),
		);
		await schemaApplied;
		const run = crypto.randomUUID();
		if ((url.searchParams.get("op") ?? "pair") === "floor") {
			// Two single-write calls per task, as a pair is two writing calls.
			const floors = Array.from({ length: keys }, (_, i) => env.FLOOR.get(env.FLOOR.idFromName(`floor-${run}-${i}`)));
			const n = Number(url.searchParams.get("statements") ?? 1);
			const tx = url.searchParams.get("tx") === "1";
			const bytes = Number(url.searchParams.get("bytes") ?? 0);
			const ms: number[] = [];
			const t0 = performance.now();
			await pool(count, concurrency, async (i) => {
				const stub = floors[i % keys];
				const s = performance.now();
				await stub.write(i, n, tx, bytes);
				ms.push(performance.now() - s);
				await stub.write(i, n, tx, bytes);
			});
			const wall = performance.now() - t0;
			ms.sort((a, b) => a - b);
			const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))];
			return Response.json({
				keys,
				count,
				concurrency,
				admitted: count,
				requests_per_s: count / (wall / 1000),
				admit_p50_ms: q(0.5),
				admit_p99_ms: q(0.99),
			});
		}
		const accounts = url.searchParams.get("flush") === "0" ? env.KEY_ACCOUNT_UNFLUSHED : env.KEY_ACCOUNT;
		const stubs = Array.from({ length: keys }, (_, i) => accounts.get(accounts.idFromName(`bench-${run}-${i}`)));
		await Promise.all(
			stubs.map((s, i) =>
				s.create({
					keyId: `key_bench_${i}`,
					name: "bench",
					createdAt: new Date().toISOString(),
					credits: 1_000_000_000,
					limits: {
						requests_per_minute: 10_000_000,
						concurrent_requests: 1_000_000,
						images_per_day: 10_000_000,
						images_per_month: 10_000_000,
					},
				}),
			),
		);
		const draft = (i: number) => ({
			requestId: `req_${i}`,
			endpoint: "bench",
			model: "nano-banana",
			mode: "generate" as const,
			n: 1,
			aspectRatio: null,
			imageSize: null,
			startedAt: Date.now(),
		});
		// Each task is one request's worth of Durable Object work: admit, then settle
		// (as if Gemini answered instantly), so open holds stay bounded by the concurrency.
		const admitMs: number[] = [];
		let admitted = 0;
		const op = url.searchParams.get("op") ?? "pair";
		const t0 = performance.now();
		await pool(count, concurrency, async (i) => {
			const stub = stubs[i % keys];
			if (op === "authorize") {
				const s = performance.now();
				await stub.authorize();
				admitMs.push(performance.now() - s);
				return;
			}
			const s = performance.now();
			const r = await stub.admit({ draft: draft(i), credits: 5, images: 1, ttlMs: 600_000 });
			admitMs.push(performance.now() - s);
			if (!r.ok) return;
			admitted++;
			await stub.settle({
				reservationId: r.reservationId,
				charge: 5,
				outcome: {
					imagesDelivered: 1,
					promptTokens: 1,
					outputTokens: 1,
					totalTokens: 2,
					upstreamMs: 0,
					status: 200,
					errorCode: null,
					finishReason: "STOP",
					r2Keys: [],
				},
			});
		});
		const wall = performance.now() - t0;
		admitMs.sort((a, b) => a - b);
		const q = (p: number) => admitMs[Math.min(admitMs.length - 1, Math.floor(p * admitMs.length))];
		return Response.json({
			keys,
			count,
			concurrency,
			admitted,
			requests_per_s: count / (wall / 1000),
			admit_p50_ms: q(0.5),
			admit_p99_ms: q(0.99),
		});
	},
};
