/**
 * The Gemini emulator on HTTP: `POST /v1beta/models/{model}:generateContent`, the real
 * wire format, on loopback. `npm run emulator` starts it alone; scripts/dev.mjs, the
 * test setup and the benchmark start it through `startEmulator()`.
 *
 * Control endpoints for tests: `GET /__emulator/calls?contains=TEXT` lists recorded
 * requests whose prompt contains TEXT; `GET /health`.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { GeminiEmulator } from "./gemini.ts";

export interface RunningEmulator {
	url: string;
	emulator: GeminiEmulator;
	server: Server;
	close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of req) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks).toString("utf8");
}

/** Starts the emulator on 127.0.0.1 (port 0 picks a free one). */
export async function startEmulator(opts: { port?: number; requiredKey?: string } = {}): Promise<RunningEmulator> {
	const emulator = new GeminiEmulator(opts.requiredKey);
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
		const m = url.pathname.match(/^\/v1beta\/models\/([^/:]+):(\w+)$/);
		if (req.method !== "POST" || !m) {
			res.writeHead(404, { "content-type": "application/json" });
			res.end(JSON.stringify({ error: { code: 404, message: "Not found", status: "NOT_FOUND" } }));
			return;
		}
		const apiKey = (req.headers["x-goog-api-key"] as string | undefined) ?? url.searchParams.get("key");
		const reply = emulator.handle(decodeURIComponent(m[1]), m[2], apiKey, await readBody(req));
		if (reply.delayMs > 0) await new Promise((r) => setTimeout(r, reply.delayMs));
		if (res.destroyed) return;
		const body = Buffer.from(reply.body);
		res.writeHead(reply.status, { ...reply.headers, "content-length": String(body.length) });
		if (reply.truncateAt !== undefined) {
			res.write(body.subarray(0, reply.truncateAt), () => res.destroy());
			return;
		}
		res.end(body);
	});
	server.keepAliveTimeout = 60_000;
	await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		emulator,
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
	const running = await startEmulator({ port });
	console.log(`Gemini emulator listening on ${running.url}`);
}
