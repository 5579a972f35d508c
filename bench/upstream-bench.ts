/**
 * Benchmark-only routes (never deployed), served by bench/admission-worker.ts, for what
 * upstream routing and shared health cost inside workerd. workerd's clock does not move
 * while code runs without I/O, so the runner (bench/run.ts) times these from outside:
 *   GET /upstreams/route?n=N&shared=1|0   N routing decisions as a request makes them (choose an
 *                                         upstream of three, record the call, and with shared=1 the
 *                                         check that may start a background sync)
 *   GET /upstreams/sync?n=N               N syncs with the UpstreamHealth object, one after another,
 *                                         each publishing a changed state (what runs in the background)
 */

import { choose } from "../src/upstreams/choose";
import { board, type Member, sharedHealth } from "../src/upstreams/pool";
import { healthStub } from "../src/upstreams/shared";

function members(): Member[] {
	const run = crypto.randomUUID();
	return ["a", "b", "c"].map((id) => ({
		spec: { id, kind: "gemini", source: "bench", baseUrl: "https://bench", weight: 1, credential: { type: "api_key", apiKey: id } },
		scope: `${id}#${run}`,
		fingerprint: "sha256:000000000000",
		endpoint: { url: () => "https://bench", headers: () => ({}) },
		secrets: [],
	}));
}

export async function upstreamBench(url: URL, env: Env): Promise<Response> {
	const n = Number(url.searchParams.get("n") ?? 1000);
	const pool = members();
	const scopes = pool.map((m) => m.scope);
	if (url.pathname === "/upstreams/route") {
		const interval = url.searchParams.get("shared") === "1" ? 5_000 : 0;
		const tried = new Set<string>();
		let served = 0;
		for (let i = 0; i < n; i++) {
			const now = Date.now();
			const c = choose(pool, "gemini-3.1-flash-image", tried, now);
			if (c.kind !== "call") continue;
			board.begin(c.member.scope, c.probe, now);
			board.succeeded(c.member.scope, "gemini-3.1-flash-image", c.probe, now);
			sharedHealth.maybeSync(env, scopes, interval, now);
			served++;
		}
		return Response.json({ n, served });
	}
	if (url.pathname === "/upstreams/sync") {
		const stub = healthStub(env);
		if (!stub) return new Response("UPSTREAM_HEALTH is not bound", { status: 500 });
		for (let i = 0; i < n; i++) {
			const now = Date.now();
			board.failed(
				scopes[i % 3],
				"gemini-3.1-flash-image",
				false,
				{ kind: "server" },
				{ at: now, status: 503, kind: "server", message: "" },
				now,
			);
			await sharedHealth.sync(stub, scopes);
		}
		return Response.json({ n, completed: sharedHealth.completed });
	}
	return new Response("not found", { status: 404 });
}
