/**
 * `npm run dev`: the whole gateway locally with no Cloudflare account and no Gemini key.
 * - settings: every name in .dev.vars.example, from .dev.vars and from the environment
 *   (the environment wins), all of them handed to the Worker (scripts/lib/dev-settings.ts);
 * - starts the Gemini emulator when no key (GEMINI_API_KEY, GEMINI_API_KEYS, UPSTREAMS) and
 *   no GEMINI_BASE_URL are set, or when EMULATOR_KEYS asks it to play a pool's keys, and
 *   says so;
 * - applies the D1 migrations to the local database;
 * - runs `wrangler dev` (simulated R2, D1, Durable Objects, Queues), waits for it, and
 *   prints a demo API key (kept in .wrangler/ and reused while it still works) and a first
 *   request to copy.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { startEmulator } from "../emulator/server.ts";
import { BindingsOnce, DEV_ONLY, documentedSettings, readDevVars, resolveSettings, varArgs } from "./lib/dev-settings.ts";

const DEMO_KEY_FILE = ".wrangler/dev-demo-key.json";
const DEMO_CREDITS = 100_000;

const example = readFileSync(new URL("../.dev.vars.example", import.meta.url), "utf8");
const { values, source } = resolveSettings(readDevVars(".dev.vars"), process.env, documentedSettings(example));
const list = (v: string | undefined) =>
	(v ?? "")
		.split(",")
		.map((x) => x.trim())
		.filter(Boolean);
const port = Number(values.PORT ?? 8787);
const worker: Record<string, string> = Object.fromEntries(Object.entries(values).filter(([k]) => !DEV_ONLY.has(k)));
const banner: string[] = [];

let emulatorClose: (() => Promise<void>) | undefined;
const pooled = Boolean(worker.GEMINI_API_KEYS || worker.UPSTREAMS);
if (!worker.GEMINI_BASE_URL && (values.EMULATOR_KEYS || (!worker.GEMINI_API_KEY && !pooled))) {
	const emu = await startEmulator({
		port: Number(values.EMULATOR_PORT ?? 0),
		retired: list(values.EMULATOR_RETIRED),
		live: list(values.EMULATOR_LIVE),
		batchDelayMs: values.EMULATOR_BATCH_DELAY_MS ? Number(values.EMULATOR_BATCH_DELAY_MS) : undefined,
		keys: values.EMULATOR_KEYS ? JSON.parse(values.EMULATOR_KEYS) : undefined,
	});
	emulatorClose = emu.close;
	worker.GEMINI_BASE_URL = emu.url;
	if (!worker.GEMINI_API_KEY && !pooled) worker.GEMINI_API_KEY = "emulator";
	banner.push(
		pooled
			? `!!! The upstream pool's keys are played by the LOCAL GEMINI EMULATOR at ${emu.url} (EMULATOR_KEYS)`
			: `!!! No GEMINI_API_KEY configured: using the LOCAL GEMINI EMULATOR at ${emu.url}`,
		"!!! Images are synthetic test patterns. Set GEMINI_API_KEY in .dev.vars for real Gemini.",
	);
} else if (worker.GEMINI_BASE_URL) {
	if (!pooled) worker.GEMINI_API_KEY ||= "local";
	banner.push(`Gemini: ${worker.GEMINI_BASE_URL}`);
} else if (pooled) {
	banner.push("Gemini: the upstream pool (GEMINI_API_KEY(S), UPSTREAMS); see GET /admin/upstreams");
} else {
	banner.push(`Gemini: the real API (generativelanguage.googleapis.com), GEMINI_API_KEY from ${source.GEMINI_API_KEY}`);
}
worker.ADMIN_TOKEN ||= "dev-admin-token";
const fromUser = Object.keys(values).filter((k) => !DEV_ONLY.has(k));
if (fromUser.length > 0) banner.push(`Settings: ${fromUser.map((k) => `${k} (${source[k]})`).join(", ")}`);

const migrations = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local"], {
	stdio: ["ignore", "pipe", "pipe"],
	encoding: "utf8",
});
if (migrations.status !== 0) {
	process.stderr.write(`${migrations.stdout}${migrations.stderr}\nApplying the D1 migrations to the local database failed.\n`);
	await emulatorClose?.();
	process.exit(1);
}
const applied = [...new Set([...migrations.stdout.matchAll(/│\s*(\S+\.sql)\s*│\s*✅/g)].map((m) => m[1]))];
banner.push(`Local D1: ${applied.length > 0 ? `applied ${applied.join(", ")}` : "migrations up to date"}`);

const args = ["dev", "--port", String(port), "--ip", "127.0.0.1", "--show-interactive-dev-session=false", "--test-scheduled"];
if (values.INSPECTOR_PORT) args.push("--inspector-port", values.INSPECTOR_PORT);
// With a .dev.vars, wrangler would read only it; as an env file it is read together with the
// environment below, which carries the required secrets, so wrangler finds none missing.
if (existsSync(".dev.vars")) args.push("--env-file", ".dev.vars");
args.push(...varArgs(worker));
const wrangler = spawn("wrangler", args, { stdio: ["inherit", "pipe", "inherit"], env: { ...process.env, ...worker } });
const filter = new BindingsOnce();
wrangler.stdout.on("data", (chunk: Buffer) => process.stdout.write(filter.push(chunk.toString("utf8"))));

let stopping = false;
async function shutdown(code: number): Promise<never> {
	if (!stopping) {
		stopping = true;
		process.stdout.write(filter.flush());
		wrangler.kill("SIGTERM");
		await emulatorClose?.();
	}
	process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));
wrangler.on("exit", (code) => void shutdown(code ?? 0));

const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 600; i++) {
	try {
		if ((await fetch(`${base}/health`)).ok) break;
	} catch {
		// not up yet
	}
	await new Promise((r) => setTimeout(r, 250));
}

/** The demo key of an earlier run when this local state still knows it, else a new one. */
async function demoKey(): Promise<{ key: string; credits: number | null; reused: boolean }> {
	if (existsSync(DEMO_KEY_FILE)) {
		const saved = JSON.parse(readFileSync(DEMO_KEY_FILE, "utf8")) as { key: string };
		const res = await fetch(`${base}/v1/account`, { headers: { authorization: `Bearer ${saved.key}` } });
		if (res.ok) return { key: saved.key, credits: ((await res.json()) as { credits: number }).credits, reused: true };
	}
	const created = await fetch(`${base}/admin/keys`, {
		method: "POST",
		headers: { authorization: `Bearer ${worker.ADMIN_TOKEN}`, "content-type": "application/json" },
		// A starting grant, so the first request below is paid for (local credits cost nothing).
		body: JSON.stringify({ name: "dev demo key", credits: DEMO_CREDITS }),
	});
	if (!created.ok) throw new Error(`creating the demo key failed: ${created.status} ${await created.text()}`);
	const key = ((await created.json()) as { key: string }).key;
	mkdirSync(dirname(DEMO_KEY_FILE), { recursive: true });
	writeFileSync(DEMO_KEY_FILE, `${JSON.stringify({ key, created_at: new Date().toISOString() })}\n`, { mode: 0o600 });
	return { key, credits: DEMO_CREDITS, reused: false };
}

let demo: Awaited<ReturnType<typeof demoKey>> | undefined;
try {
	demo = await demoKey();
} catch (error) {
	banner.push(`(no demo key: ${error instanceof Error ? error.message : String(error)}; create one with POST /admin/keys)`);
}
const key = demo?.key ?? "<your key>";
console.log(
	[
		"",
		"=".repeat(78),
		...banner,
		`Nano Banana Gateway on ${base}  (admin token: ${source.ADMIN_TOKEN ? `from ${source.ADMIN_TOKEN}` : worker.ADMIN_TOKEN})`,
		demo
			? `Demo API key (${demo.reused ? "kept from an earlier run" : "new"}, ${demo.credits?.toLocaleString("en-US")} credits left): ${demo.key}`
			: "",
		"",
		"First request:",
		`  curl -s ${base}/v1/images/generations \\`,
		`    -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" \\`,
		`    -d '{"model":"nano-banana","prompt":"a nano banana on a plate"}'`,
		`Run the cron trigger (pipelines, retention) once: curl "${base}/cdn-cgi/local/scheduled"`,
		"=".repeat(78),
		"",
	].join("\n"),
);
