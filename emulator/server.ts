/**
 * The Gemini emulator on HTTP, the real wire format on loopback:
 *   Gemini API (under /v1beta and /v1), key in x-goog-api-key or ?key=:
 *     POST models/{model}:generateContent | :streamGenerateContent (?alt=sse) | :countTokens
 *     GET  models (pageSize, pageToken)      GET models/{model}
 *     POST models/{model}:batchGenerateContent   GET batches   GET batches/{id}   POST batches/{id}:cancel  (emulator/batch.ts)
 *   Vertex AI, with a bearer token from the token endpoint:
 *     POST /v1/projects/{project}/locations/{location}/publishers/google/models/{model}:{method}
 *   Vertex AI express mode, with an API key:  POST /v1/publishers/google/models/{model}:{method}
 *   OAuth token endpoint (JWT bearer grant):  POST /token
 * `npm run emulator` starts it alone (EMULATOR_RETIRED / EMULATOR_LIVE: comma-separated
 * ids to shut down or bring back; EMULATOR_KEYS: JSON of keys and their profiles, see
 * emulator/keys.ts); scripts/dev.ts, the test setup and the benchmark start it through
 * `startEmulator()`.
 *
 * Control endpoints for tests: `GET /__emulator/calls?contains=TEXT` lists recorded
 * requests whose prompt contains TEXT; `GET /__emulator/model-gets?model=ID` lists the
 * models.get calls asked (with their status); `POST /__emulator/models/{id}/retire` and
 * `/restore` shut a model down or bring it back; `GET /__emulator/batches/{id}` shows a
 * batch's request keys in submission order and its answers' keys in returned order;
 * `POST /__emulator/keys` registers a key (`{key, ...profile}`);
 * `POST /__emulator/service-accounts` registers a Vertex service account
 * (`{client_email, public_key, project_id, token_ttl_seconds?}`) and
 * `GET /__emulator/service-accounts/{email}` says how many tokens it was issued;
 * `GET /health`. EMULATOR_BATCH_DELAY_MS sets how long a batch takes (default 1000).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createGzip, type Gzip, constants as zlibConstants } from "node:zlib";
import { BatchEmulator } from "./batch.ts";
import { type EmulatorReply, GeminiEmulator, type Via } from "./gemini.ts";
import type { KeyProfile } from "./keys.ts";

export interface RunningEmulator {
	url: string;
	emulator: GeminiEmulator;
	batches: BatchEmulator;
	server: Server;
	close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of req) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks).toString("utf8");
}

/** Starts the emulator on 127.0.0.1 (port 0 picks a free one). */
export async function startEmulator(
	opts: {
		port?: number;
		requiredKey?: string;
		retired?: string[];
		live?: string[];
		batchDelayMs?: number;
		keys?: Record<string, KeyProfile>;
	} = {},
): Promise<RunningEmulator> {
	const emulator = new GeminiEmulator(opts);
	const batches = new BatchEmulator(emulator, opts.batchDelayMs);
	const server = createServer(async (req, res) => {
		const url = new URL(req.url ?? "/", "http://emulator");
		if (req.method === "GET" && url.pathname === "/health") {
			res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
			return;
		}
		if (req.method === "GET" && url.pathname === "/__emulator/calls") {
			const needle = url.searchParams.get("contains") ?? "";
			const calls = emulator.calls.filter((c) => JSON.stringify(c.body.contents ?? []).includes(needle));
			res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ calls }));
			return;
		}
		if (req.method === "GET" && url.pathname === "/__emulator/model-gets") {
			const model = url.searchParams.get("model");
			const gets = emulator.modelGets.filter((g) => !model || g.model === model);
			res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ gets }));
			return;
		}
		const inspect = url.pathname.match(/^\/__emulator\/batches\/([^/]+)$/);
		if (req.method === "GET" && inspect) {
			const view = batches.inspect(decodeURIComponent(inspect[1]));
			res.writeHead(view ? 200 : 404, { "content-type": "application/json" }).end(JSON.stringify(view ?? { error: "no such batch" }));
			return;
		}
		const json = (status: number, value: unknown) =>
			res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
		if (req.method === "POST" && url.pathname === "/__emulator/keys") {
			const { key, ...profile } = JSON.parse(await readBody(req)) as KeyProfile & { key: string };
			emulator.keys.set(key, profile);
			return json(200, { key });
		}
		if (req.method === "POST" && url.pathname === "/__emulator/service-accounts") {
			const r = JSON.parse(await readBody(req));
			emulator.vertex.register(r);
			return json(200, { client_email: r.client_email });
		}
		const account = url.pathname.match(/^\/__emulator\/service-accounts\/([^/]+)$/);
		if (req.method === "GET" && account) return json(200, { mints: emulator.vertex.mints(decodeURIComponent(account[1])) });
		const control = url.pathname.match(/^\/__emulator\/models\/([^/]+)\/(retire|restore)$/);
		if (req.method === "POST" && control) {
			const id = decodeURIComponent(control[1]);
			if (control[2] === "retire") emulator.retire(id);
			else emulator.restore(id);
			res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ live: emulator.live().map((x) => x.id) }));
			return;
		}
		const apiKey = (req.headers["x-goog-api-key"] as string | undefined) ?? url.searchParams.get("key");
		const list = url.pathname.match(/^\/v1(?:beta)?\/models\/?$/);
		const get = url.pathname.match(/^\/v1(?:beta)?\/models\/([^/:]+)$/);
		const m = url.pathname.match(/^\/v1(?:beta)?\/models\/([^/:]+):(\w+)$/);
		const batch = url.pathname.match(/^\/v1(?:beta)?\/batches\/([^/:]+)(:cancel)?$/);
		const vertex = url.pathname.match(/^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([^/:]+):(\w+)$/);
		const express = url.pathname.match(/^\/v1\/publishers\/google\/models\/([^/:]+):(\w+)$/);
		let reply: EmulatorReply;
		const generate = async (model: string, method: string, principal: string | null, via: Via): Promise<EmulatorReply> => {
			let r = emulator.handle(model, method, principal, await readBody(req), via);
			if (via !== "gemini" && r.status === 404 && vertex) {
				// Vertex names the model by its full resource path.
				const name = `projects/${vertex[1]}/locations/${vertex[2]}/publishers/google/models/${model}`;
				r = {
					...r,
					body: JSON.stringify({
						error: {
							code: 404,
							message: `Publisher Model \`${name}\` was not found or your project does not have access to it. Please ensure you are using a valid model version.`,
							status: "NOT_FOUND",
						},
					}),
				};
			}
			return r;
		};
		if (req.method === "POST" && url.pathname === "/token") {
			reply = emulator.vertex.token(await readBody(req), `http://${req.headers.host}/token`);
		} else if (req.method === "GET" && /^\/v1(?:beta)?\/batches\/?$/.test(url.pathname)) reply = batches.list(apiKey, url.searchParams);
		else if (batch && req.method === "GET" && !batch[2]) reply = batches.get(decodeURIComponent(batch[1]), apiKey);
		else if (batch && req.method === "POST" && batch[2]) reply = batches.cancel(decodeURIComponent(batch[1]), apiKey);
		else if (req.method === "POST" && m && m[2] === "batchGenerateContent") {
			reply = batches.create(decodeURIComponent(m[1]), apiKey, await readBody(req));
		} else if (req.method === "GET" && list) reply = emulator.listModels(apiKey, url.searchParams);
		else if (req.method === "GET" && get) reply = emulator.getModel(apiKey, decodeURIComponent(get[1]));
		else if (req.method === "POST" && (m || vertex || express)) {
			let method: string;
			if (vertex) {
				method = vertex[4];
				const who = emulator.vertex.principal(req.headers.authorization, decodeURIComponent(vertex[1]));
				reply = typeof who === "string" ? await generate(decodeURIComponent(vertex[3]), method, who, "vertex") : who;
			} else if (express) {
				method = express[2];
				reply = await generate(decodeURIComponent(express[1]), method, apiKey, "vertex-express");
			} else {
				const g = m as RegExpMatchArray;
				method = g[2];
				reply = await generate(decodeURIComponent(g[1]), method, apiKey, "gemini");
			}
			// The stream forms carry the same answer as one event (alt=sse) or a one-element array.
			if (method === "streamGenerateContent" && reply.status === 200) {
				reply =
					url.searchParams.get("alt") === "sse"
						? { ...reply, headers: { ...reply.headers, "content-type": "text/event-stream" }, body: `data: ${reply.body}\r\n\r\n` }
						: { ...reply, body: `[${reply.body}]` };
			}
		} else {
			res.writeHead(404, { "content-type": "text/html; charset=UTF-8" });
			res.end("<!DOCTYPE html><title>Error 404 (Not Found)!!1</title><p>The requested URL was not found on this server.");
			return;
		}
		if (reply.delayMs > 0) await new Promise((r) => setTimeout(r, reply.delayMs).unref());
		if (res.destroyed) return;
		if (reply.drop) {
			req.socket.destroy();
			return;
		}
		const body = Buffer.from(reply.body);
		if (reply.status !== 200) {
			res.writeHead(reply.status, { ...reply.headers, "content-length": String(body.length) });
			if (reply.truncateAt !== undefined) res.write(body.subarray(0, reply.truncateAt), () => res.destroy());
			else res.end(body);
			return;
		}
		// A 200 goes out as Google's frontend sends it: chunked (no Content-Length) and
		// gzip-encoded when the client accepts it (the gateway's client asks). Huffman-only deflate
		// compresses base64 as well as any level does (no repeats to find) at a fraction of the
		// CPU, on zlib's thread pool, so the emulator stays responsive while a 4K answer goes out.
		const gzip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
		res.writeHead(200, { ...reply.headers, ...(gzip ? { "content-encoding": "gzip" } : {}) });
		const sent = reply.truncateAt === undefined ? body : body.subarray(0, reply.truncateAt);
		const out: NodeJS.WritableStream = gzip ? createGzip({ level: 1, strategy: zlibConstants.Z_HUFFMAN_ONLY, chunkSize: 64 * 1024 }) : res;
		if (gzip) (out as Gzip).pipe(res, { end: reply.truncateAt === undefined });
		// In pieces, as a network delivers them.
		for (let at = 0; at < sent.length; at += 64 * 1024) out.write(sent.subarray(at, at + 64 * 1024));
		if (reply.truncateAt === undefined) out.end();
		else if (gzip) (out as Gzip).flush(() => res.destroy());
		else res.write(Buffer.alloc(0), () => res.destroy());
	});
	server.keepAliveTimeout = 60_000;
	await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		emulator,
		batches,
		server,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}

if (import.meta.main) {
	const port = Number(process.env.EMULATOR_PORT ?? process.argv[2] ?? 8790);
	const list = (v: string | undefined) =>
		(v ?? "")
			.split(",")
			.map((x) => x.trim())
			.filter(Boolean);
	const keys = process.env.EMULATOR_KEYS ? (JSON.parse(process.env.EMULATOR_KEYS) as Record<string, KeyProfile>) : undefined;
	const running = await startEmulator({
		port,
		retired: list(process.env.EMULATOR_RETIRED),
		live: list(process.env.EMULATOR_LIVE),
		batchDelayMs: process.env.EMULATOR_BATCH_DELAY_MS ? Number(process.env.EMULATOR_BATCH_DELAY_MS) : undefined,
		keys,
	});
	console.log(`Gemini emulator listening on ${running.url}`);
}
