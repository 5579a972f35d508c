// `npm run dev` as a developer meets it: settings from a .dev.vars and from the environment
// reach the Worker (observed over HTTP), the output shows each binding once and no warning
// about secrets it supplies itself, and a restart keeps the demo key and the local database,
// also after a deploy wrote the real database_id into wrangler.toml.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BindingsOnce, DEV_ONLY, documentedSettings, resolveSettings, varArgs } from "../../scripts/lib/dev-settings.ts";
import { withDatabaseId } from "../../scripts/lib/wrangler.ts";
import { checkout, type Dev, ROOT, startDev } from "./dev-process.ts";

describe("npm run dev", () => {
	let dir: string;
	let dev: Dev | undefined;
	beforeAll(() => {
		dir = checkout(
			[
				"# settings a developer would set",
				"MAX_PROMPT_CHARS=40",
				'PRICES={"nano-banana":900}',
				"DEFAULT_LIMITS='{\"requests_per_minute\":3}'",
				"ADMIN_TOKEN=admin-from-dev-vars",
				"",
			].join("\n"),
		);
	});
	afterAll(async () => {
		await dev?.stop();
		rmSync(dir, { recursive: true, force: true });
	});

	it("applies settings from .dev.vars and from the environment (which wins), prints each binding once, no secrets warning", async () => {
		dev = await startDev(dir, {
			MAX_PROMPT_CHARS: "30",
			PUBLIC_BASE_URL: "https://img.example.test",
			MIN_PIPELINE_INTERVAL_MINUTES: "600",
		});
		const { url, demoKey } = dev;
		const auth = { authorization: `Bearer ${demoKey}`, "content-type": "application/json" };
		const out = dev.output();
		expect(out).not.toContain("Missing required secrets");
		expect(out).not.toContain("Scheduled Workers are not automatically triggered");
		// The local database's key (wrangler.toml's preview_database_id), printed once.
		expect(out.split("env.DB (DB)").length - 1).toBe(1);
		expect(out).toContain("LOCAL GEMINI EMULATOR");
		expect(out).toContain("Local D1: applied 0001_initial.sql");
		expect(out).toContain("MAX_PROMPT_CHARS (environment)");
		expect(out).toContain("PRICES (.dev.vars)");

		// PRICES from .dev.vars
		const pricing = (await (await fetch(`${url}/v1/pricing`, { headers: auth })).json()) as {
			data: Array<{ model: string; prices: Record<string, number> }>;
		};
		expect(pricing.data.find((p) => p.model === "nano-banana")?.prices).toEqual({ "1K": 900 });
		// MAX_PROMPT_CHARS: 40 in .dev.vars, 30 in the environment
		const tooLong = await fetch(`${url}/v1/images/generations`, {
			method: "POST",
			headers: auth,
			body: JSON.stringify({ prompt: "x".repeat(31) }),
		});
		expect(tooLong.status).toBe(400);
		expect(((await tooLong.json()) as { error: { code: string } }).error.code).toBe("prompt_too_long");
		// PUBLIC_BASE_URL from the environment, and the price charged
		const ok = await fetch(`${url}/v1/images/generations`, {
			method: "POST",
			headers: auth,
			body: JSON.stringify({ prompt: "a banana".padEnd(30, ".") }),
		});
		expect(ok.status).toBe(200);
		expect(ok.headers.get("x-credits-charged")).toBe("900"); // above the ~680 Google bills for it
		expect(((await ok.json()) as { data: Array<{ url: string }> }).data[0].url).toMatch(/^https:\/\/img\.example\.test\/generated\//);
		// DEFAULT_LIMITS from .dev.vars (quoted), for a key without its own limits
		const account = (await (await fetch(`${url}/v1/account`, { headers: auth })).json()) as { limits: Record<string, number> };
		expect(account.limits.requests_per_minute).toBe(3);
		// MIN_PIPELINE_INTERVAL_MINUTES from the environment
		const hourly = await fetch(`${url}/v1/pipelines`, {
			method: "POST",
			headers: auth,
			body: JSON.stringify({ name: "hourly", schedule: "0 * * * *", prompt_template: "a banana", model: "nano-banana" }),
		});
		expect(((await hourly.json()) as { error: { code: string } }).error.code).toBe("schedule_too_frequent");
		// ADMIN_TOKEN from .dev.vars replaces the default
		expect((await fetch(`${url}/admin/keys`, { headers: { authorization: "Bearer dev-admin-token" } })).status).toBe(401);
		expect((await fetch(`${url}/admin/keys`, { headers: { authorization: "Bearer admin-from-dev-vars" } })).status).toBe(200);
	});

	it("keeps its demo key across a restart, and the key still works", async () => {
		const first = dev?.demoKey;
		await dev?.stop();
		dev = await startDev(dir, {});
		expect(dev.demoKey).toBe(first);
		expect(dev.output()).toContain("kept from an earlier run");
		expect(dev.output()).toContain("Local D1: migrations up to date");
		const res = await fetch(`${dev.url}/v1/account`, { headers: { authorization: `Bearer ${dev.demoKey}` } });
		expect(res.status).toBe(200);
		expect(JSON.parse(readFileSync(join(dir, ".wrangler/dev-demo-key.json"), "utf8")).key).toBe(first);
	});

	it("keeps its local database after a deploy wrote the real database_id into wrangler.toml", async () => {
		const auth = { authorization: `Bearer ${dev?.demoKey}` };
		const before = (await (await fetch(`${dev?.url}/v1/usage`, { headers: auth })).json()) as { data: Array<{ request_id: string }> };
		expect(before.data.length).toBeGreaterThan(0);
		await dev?.stop();
		// What `npm run deploy` does to the checkout (scripts/deploy.ts, step 3).
		const toml = join(dir, "wrangler.toml");
		writeFileSync(toml, withDatabaseId(readFileSync(toml, "utf8"), undefined, "DB", "5e1c2a9b-0000-4000-8000-00000000abcd"));
		dev = await startDev(dir, {});
		// The same database: nothing to migrate, the usage rows and the key's listing still there.
		expect(dev.output()).toContain("Local D1: migrations up to date");
		expect(dev.output()).toContain("kept from an earlier run");
		const after = (await (await fetch(`${dev.url}/v1/usage`, { headers: auth })).json()) as { data: Array<{ request_id: string }> };
		expect(after.data.map((r) => r.request_id)).toEqual(before.data.map((r) => r.request_id));
		const keys = await fetch(`${dev.url}/admin/keys`, { headers: { authorization: "Bearer admin-from-dev-vars" } });
		expect(((await keys.json()) as { data: unknown[] }).data.length).toBeGreaterThan(0);
	});
});

describe("dev settings", () => {
	const example = readFileSync(join(ROOT, ".dev.vars.example"), "utf8");

	it(".dev.vars.example documents npm run dev's own settings in their own section", () => {
		// (That it documents every setting the Worker reads is test/unit/settings-doc.test.ts.)
		const [worker, devOnly] = example.split("# --- `npm run dev` only");
		expect(documentedSettings(devOnly).sort()).toEqual([...DEV_ONLY].sort());
		expect(documentedSettings(worker).filter((n) => DEV_ONLY.has(n))).toEqual([]);
	});

	it("hands every documented setting to the Worker, from either place", () => {
		const names = documentedSettings(example).filter((n) => !DEV_ONLY.has(n));
		const fromFile = resolveSettings(Object.fromEntries(names.map((n) => [n, `file-${n}`])), {}, names);
		const fromEnv = resolveSettings({}, Object.fromEntries(names.map((n) => [n, `env-${n}`])), names);
		for (const n of names) {
			expect(varArgs(fromFile.values)).toContain(`${n}:file-${n}`);
			expect(varArgs(fromEnv.values)).toContain(`${n}:env-${n}`);
		}
		const both = resolveSettings({ PRICES: "a", EXTRA: "kept" }, { PRICES: "b", UNRELATED: "ignored", MODELS: " " }, names);
		expect(both.values).toEqual({ PRICES: "b", EXTRA: "kept" });
		expect(both.source).toEqual({ PRICES: "environment", EXTRA: ".dev.vars" });
	});

	it("drops a repeated bindings table, keeps everything else, across chunk boundaries", () => {
		const table = "Your Worker has access to the following bindings:\nBinding  Resource\nenv.DB   D1\n\n";
		const text = `banner\n${table}starting\n${table}Ready\n`;
		const f = new BindingsOnce();
		let out = "";
		for (let i = 0; i < text.length; i += 7) out += f.push(text.slice(i, i + 7));
		out += f.flush();
		expect(out).toBe(`banner\n${table}starting\nReady\n`);
		expect(new BindingsOnce().push(`${table}${table.replace("D1", "D1 (remote)")}`)).toBe(`${table}${table.replace("D1", "D1 (remote)")}`);
	});
});
