/**
 * `npm run dev`: the whole gateway locally with no Cloudflare account and no Gemini key.
 * - reads .dev.vars and the environment (GEMINI_API_KEY, GEMINI_BASE_URL, ADMIN_TOKEN, PORT);
 * - starts the Gemini emulator when no key and no base URL are configured, and says so;
 * - applies schema.sql to the local D1;
 * - runs `wrangler dev` (simulated R2, D1, Durable Objects), waits for it, creates a
 *   demo API key and prints a first request to copy.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { startEmulator } from "../emulator/server.ts";

function readDevVars(path: string): Record<string, string> {
	if (!existsSync(path)) return {};
	const out: Record<string, string> = {};
	for (const line of readFileSync(path, "utf8").split("\n")) {
		const m = line.match(/^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/);
		if (m) out[m[1]] = m[2].replace(/^(["'])(.*)\1$/, "$2");
	}
	return out;
}

const devVars = readDevVars(".dev.vars");
const setting = (name: string): string | undefined => process.env[name] || devVars[name] || undefined;
const port = Number(process.env.PORT ?? 8787);
const vars: Record<string, string> = {};
const banner: string[] = [];

let emulatorClose: (() => Promise<void>) | undefined;
if (!setting("GEMINI_API_KEY") && !setting("GEMINI_BASE_URL")) {
	const list = (v: string | undefined) =>
		(v ?? "")
			.split(",")
			.map((x) => x.trim())
			.filter(Boolean);
	const emu = await startEmulator({
		port: Number(process.env.EMULATOR_PORT ?? 0),
		retired: list(setting("EMULATOR_RETIRED")),
		live: list(setting("EMULATOR_LIVE")),
	});
	emulatorClose = emu.close;
	vars.GEMINI_BASE_URL = emu.url;
	vars.GEMINI_API_KEY = "emulator";
	banner.push(
		`!!! No GEMINI_API_KEY configured: using the LOCAL GEMINI EMULATOR at ${emu.url}`,
		"!!! Images are synthetic test patterns. Set GEMINI_API_KEY in .dev.vars for real Gemini.",
	);
} else if (setting("GEMINI_BASE_URL")) {
	vars.GEMINI_BASE_URL = setting("GEMINI_BASE_URL") as string;
	if (!setting("GEMINI_API_KEY")) vars.GEMINI_API_KEY = "local";
	banner.push(`Gemini: ${vars.GEMINI_BASE_URL}`);
} else {
	banner.push("Gemini: real API (generativelanguage.googleapis.com) with GEMINI_API_KEY from your settings");
}
if (process.env.GEMINI_API_KEY) vars.GEMINI_API_KEY = process.env.GEMINI_API_KEY;
const adminToken = setting("ADMIN_TOKEN") ?? "dev-admin-token";
vars.ADMIN_TOKEN = adminToken;

const schema = spawnSync("wrangler", ["d1", "execute", "nano-banana-gateway", "--local", "--file=schema.sql"], {
	stdio: ["ignore", "ignore", "inherit"],
});
if (schema.status !== 0) {
	console.error("Applying schema.sql to the local D1 failed");
	process.exit(1);
}

const args = ["dev", "--port", String(port), "--ip", "127.0.0.1", "--show-interactive-dev-session=false"];
for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
const wrangler = spawn("wrangler", args, { stdio: "inherit" });

async function shutdown(code: number): Promise<never> {
	wrangler.kill("SIGTERM");
	await emulatorClose?.();
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

const created = await fetch(`${base}/admin/keys`, {
	method: "POST",
	headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
	// A starting grant, so the first request below is paid for (local credits cost nothing).
	body: JSON.stringify({ name: `dev ${new Date().toISOString()}`, credits: 100_000 }),
});
const key = created.ok ? ((await created.json()) as { key: string }).key : "<create one with POST /admin/keys>";
console.log(
	[
		"",
		"=".repeat(78),
		...banner,
		`Nano Banana Gateway on ${base}  (admin token: ${adminToken})`,
		`Demo API key (100,000 credits, $10 at list prices): ${key}`,
		"",
		"First request:",
		`  curl -s ${base}/v1/images/generations \\`,
		`    -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" \\`,
		`    -d '{"model":"nano-banana","prompt":"a nano banana on a plate"}'`,
		"=".repeat(78),
		"",
	].join("\n"),
);
