// `npm run deploy` (scripts/deploy.ts) driven against a fake `wrangler` on the PATH that
// records every command and answers like the real one from a pretend account: it creates
// only what is missing, applies migrations before deploying, stops at the first failure,
// refuses unknown environments and says how to log in.
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { tomlEnvironments, withDatabaseId } from "../../scripts/lib/wrangler.ts";
import type { FakeAccount } from "./fake-wrangler/fake-wrangler.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const FAKE_BIN = join(ROOT, "test/node/fake-wrangler");
const temps: string[] = [];
afterAll(() => {
	for (const t of temps) rmSync(t, { recursive: true, force: true });
});

const PROD = {
	queue: "nano-banana-jobs",
	dlq: "nano-banana-jobs-dlq",
	db: "nano-banana-gateway",
	bucket: "nano-banana-images",
	private: "nano-banana-private",
	worker: "nano-banana-gateway",
};

/** A checkout of the project's deploy inputs (wrangler.toml, migrations/) and an account. */
function project(account: Partial<FakeAccount> = {}) {
	const dir = mkdtempSync(join(tmpdir(), "nbg-deploy-"));
	temps.push(dir);
	cpSync(join(ROOT, "wrangler.toml"), join(dir, "wrangler.toml"));
	cpSync(join(ROOT, "migrations"), join(dir, "migrations"), { recursive: true });
	const state: FakeAccount = { loggedIn: true, queues: [], databases: [], buckets: [], workers: {}, applied: {}, deployed: [], ...account };
	writeFileSync(join(dir, "state.json"), JSON.stringify(state));
	writeFileSync(join(dir, "log.jsonl"), "");
	return {
		dir,
		account: () => JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as FakeAccount,
		update(patch: Partial<FakeAccount>) {
			writeFileSync(join(dir, "state.json"), JSON.stringify({ ...this.account(), ...patch }));
			writeFileSync(join(dir, "log.jsonl"), "");
		},
		/** The wrangler commands run so far, as text. */
		commands: () =>
			readFileSync(join(dir, "log.jsonl"), "utf8")
				.split("\n")
				.filter(Boolean)
				.map((l) => (JSON.parse(l) as string[]).join(" ")),
		toml: () => readFileSync(join(dir, "wrangler.toml"), "utf8"),
		async deploy(...args: string[]): Promise<{ code: number; output: string }> {
			const env = {
				...process.env,
				PATH: `${FAKE_BIN}:${process.env.PATH}`,
				FAKE_WRANGLER_STATE: join(dir, "state.json"),
				FAKE_WRANGLER_LOG: join(dir, "log.jsonl"),
				CLOUDFLARE_ACCOUNT_ID: "",
			};
			try {
				const r = await promisify(execFile)("node", [join(ROOT, "scripts/deploy.ts"), ...args], { cwd: dir, env });
				return { code: 0, output: r.stdout + r.stderr };
			} catch (error) {
				const e = error as { code: number; stdout: string; stderr: string };
				return { code: e.code, output: e.stdout + e.stderr };
			}
		},
	};
}

const created = (commands: string[]) => commands.filter((c) => / create /.test(c));

describe.concurrent("npm run deploy", () => {
	it("on a new account creates everything, applies migrations, asks for the secrets; then deploys; then changes nothing", async () => {
		const p = project();
		const first = await p.deploy();
		expect(first.code).toBe(1);
		expect(created(p.commands())).toEqual([
			`queues create ${PROD.queue}`,
			`queues create ${PROD.dlq}`,
			`d1 create ${PROD.db}`,
			`r2 bucket create ${PROD.bucket}`,
			`r2 bucket create ${PROD.private}`,
		]);
		// No bucket is made public: neither a custom domain nor an r2.dev address.
		expect(p.commands().filter((c) => /domain|dev-url/.test(c))).toEqual([]);
		const account = p.account();
		const uuid = account.databases.find((d) => d.name === PROD.db)?.uuid;
		expect(unstable_readConfig({ config: join(p.dir, "wrangler.toml"), env: "" }).d1_databases[0].database_id).toBe(uuid);
		// Every migration of the repository, in order.
		expect(account.applied[uuid as string]).toEqual(
			readdirSync(join(ROOT, "migrations"))
				.filter((f) => f.endsWith(".sql"))
				.sort(),
		);
		expect(account.deployed).toEqual([]);
		expect(p.commands()).toContain("d1 migrations apply DB --remote --env ");
		expect(first.output).toContain('npx wrangler secret put GEMINI_API_KEY --env=""');
		expect(first.output).toContain('npx wrangler secret put ADMIN_TOKEN --env=""');
		expect(p.commands().some((c) => c.startsWith("deploy"))).toBe(false);

		// The operator runs the two `wrangler secret put` lines (which create the Worker).
		p.update({ workers: { [PROD.worker]: ["GEMINI_API_KEY", "ADMIN_TOKEN"] } });
		const second = await p.deploy();
		expect(second.code, second.output).toBe(0);
		expect(created(p.commands())).toEqual([]);
		const order = p.commands();
		expect(order.indexOf("d1 migrations apply DB --remote --env ")).toBeLessThan(order.indexOf("deploy --env "));
		expect(second.output).toContain("No migrations to apply");
		expect(second.output).toContain(`${PROD.worker} is live at https://${PROD.worker}.operator.workers.dev`);
		expect(p.account().deployed).toEqual([PROD.worker]);

		const tomlBefore = p.toml();
		p.update({});
		const third = await p.deploy();
		expect(third.code).toBe(0);
		expect(created(p.commands())).toEqual([]);
		expect(p.toml()).toBe(tomlBefore);
	});

	it("takes GEMINI_API_KEYS (or UPSTREAMS) for the Gemini credential: only ADMIN_TOKEN is always required", async () => {
		const ready = {
			queues: [PROD.queue, PROD.dlq],
			databases: [{ name: PROD.db, uuid: "44444444-4444-4444-8444-444444444444" }],
			buckets: [PROD.bucket, PROD.private],
		};
		const pooled = project({ ...ready, workers: { [PROD.worker]: ["GEMINI_API_KEYS", "ADMIN_TOKEN"] } });
		const r = await pooled.deploy();
		expect(r.code, r.output).toBe(0);
		expect(r.output).not.toContain("GEMINI_API_KEY ");
		expect(pooled.account().deployed).toEqual([PROD.worker]);

		const noToken = project({ ...ready, workers: { [PROD.worker]: ["GEMINI_API_KEYS"] } });
		const refused = await noToken.deploy();
		expect(refused.code).toBe(1);
		expect(refused.output).toContain("is missing secrets: ADMIN_TOKEN.");
		expect(refused.output).not.toContain("secret put GEMINI_API_KEY");

		const upstreams = project({ ...ready, workers: { [PROD.worker]: ["VERTEX_SA", "ADMIN_TOKEN"] } });
		writeFileSync(
			join(upstreams.dir, "wrangler.toml"),
			upstreams
				.toml()
				.replace('CORS_ORIGINS = "*"\n', 'CORS_ORIGINS = "*"\nUPSTREAMS = \'{"vertex": {"kind": "vertex", "secret": "VERTEX_SA"}}\'\n'),
		);
		const viaUpstreams = await upstreams.deploy();
		expect(viaUpstreams.code, viaUpstreams.output).toBe(0);
	});

	it("creates only what is missing, and records the id of a database that already exists", async () => {
		const p = project({
			queues: [PROD.queue],
			databases: [{ name: PROD.db, uuid: "5e1c2a9b-0000-4000-8000-00000000abcd" }],
			buckets: [PROD.bucket, "someone-elses-bucket"],
			workers: { [PROD.worker]: ["GEMINI_API_KEY", "ADMIN_TOKEN"] },
		});
		const r = await p.deploy();
		expect(r.code, r.output).toBe(0);
		// A gateway from before the private bucket gets it on its next deploy.
		expect(created(p.commands())).toEqual([`queues create ${PROD.dlq}`, `r2 bucket create ${PROD.private}`]);
		expect(p.toml()).toContain(
			'database_name = "nano-banana-gateway"\ndatabase_id = "5e1c2a9b-0000-4000-8000-00000000abcd"\nmigrations_dir',
		);
	});

	it("stops at a failing remote migration: the code is not deployed", async () => {
		const p = project({
			workers: { [PROD.worker]: ["GEMINI_API_KEY", "ADMIN_TOKEN"] },
			fail: { "d1 migrations apply": 'near "CREAT": syntax error at offset 0: SQLITE_ERROR [code: 7500]' },
		});
		const r = await p.deploy();
		expect(r.code).toBe(1);
		expect(r.output).toContain("syntax error");
		expect(r.output).toContain("nothing was deployed");
		expect(p.commands().at(-1)).toBe("d1 migrations apply DB --remote --env ");
		expect(p.account().deployed).toEqual([]);
	});

	it("stops at the first failure and runs nothing after it", async () => {
		const p = project({ fail: { "queues create": "You have reached the maximum number of queues [code: 11004]" } });
		const r = await p.deploy();
		expect(r.code).toBe(1);
		expect(r.output).toContain(`Creating queue ${PROD.queue} failed`);
		expect(r.output).toContain("maximum number of queues");
		expect(p.commands()).toEqual(["whoami --json", `queues info ${PROD.queue}`, `queues create ${PROD.queue}`]);
	});

	it("says how to log in when not logged in, and does nothing else", async () => {
		const p = project({ loggedIn: false });
		const r = await p.deploy();
		expect(r.code).toBe(1);
		expect(r.output).toContain("You are not logged in to Cloudflare");
		expect(r.output).toContain("npx wrangler login");
		expect(p.commands()).toEqual(["whoami --json"]);
	});

	it("refuses an unknown environment, naming the known ones, before running anything", async () => {
		const p = project();
		const r = await p.deploy("--env", "prod");
		expect(r.code).toBe(1);
		expect(r.output).toContain('Unknown environment "prod". wrangler.toml defines: staging.');
		expect(p.commands()).toEqual([]);
		expect((await p.deploy("--force")).output).toContain('Unknown argument "--force"');
	});

	it("--env staging deploys the staging Worker with its own resources and its own database_id", async () => {
		const p = project({
			queues: [PROD.queue, PROD.dlq],
			databases: [{ name: PROD.db, uuid: "11111111-1111-4111-8111-111111111111" }],
			buckets: [PROD.bucket],
		});
		const first = await p.deploy("--env", "staging");
		expect(created(p.commands())).toEqual([
			"queues create nano-banana-jobs-staging",
			"queues create nano-banana-jobs-dlq-staging",
			"d1 create nano-banana-gateway-staging",
			"r2 bucket create nano-banana-images-staging",
			"r2 bucket create nano-banana-private-staging",
		]);
		expect(first.output).toContain("npx wrangler secret put ADMIN_TOKEN --env staging");
		const uuid = p.account().databases.find((d) => d.name === "nano-banana-gateway-staging")?.uuid;
		expect(unstable_readConfig({ config: join(p.dir, "wrangler.toml"), env: "staging" }).d1_databases[0].database_id).toBe(uuid);
		expect(unstable_readConfig({ config: join(p.dir, "wrangler.toml"), env: "" }).d1_databases[0].database_id).toBeUndefined();

		p.update({ workers: { "nano-banana-gateway-staging": ["GEMINI_API_KEY", "ADMIN_TOKEN"] } });
		const second = await p.deploy("--env=staging");
		expect(second.code, second.output).toBe(0);
		expect(p.commands()).toContain("deploy --env staging");
		expect(p.account().deployed).toEqual(["nano-banana-gateway-staging"]);
	});

	it("refuses a database_id that is not the account's database of that name", async () => {
		const p = project({ databases: [{ name: PROD.db, uuid: "22222222-2222-4222-8222-222222222222" }], queues: [PROD.queue, PROD.dlq] });
		writeFileSync(join(p.dir, "wrangler.toml"), withDatabaseId(p.toml(), undefined, "DB", "33333333-3333-4333-8333-333333333333"));
		const r = await p.deploy();
		expect(r.code).toBe(1);
		expect(r.output).toContain("but nano-banana-gateway in this account is 22222222-2222-4222-8222-222222222222");
		expect(p.commands().some((c) => c.startsWith("r2") || c.startsWith("d1 migrations"))).toBe(false);
	});

	it("asks which account to use when the login has several", async () => {
		const p = project({
			accounts: [
				{ name: "Personal", id: "aaaa" },
				{ name: "Company", id: "bbbb" },
			],
		});
		const r = await p.deploy();
		expect(r.code).toBe(1);
		expect(r.output).toContain("export CLOUDFLARE_ACCOUNT_ID=bbbb   # Company");
	});
});

describe("wrangler.toml editing", () => {
	const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");

	it("lists the environments", () => {
		expect(tomlEnvironments(toml)).toEqual(["staging"]);
	});

	it("sets, then replaces, a database_id in the right block only, keeping comments", () => {
		const once = withDatabaseId(toml, "staging", "DB", "a");
		const twice = withDatabaseId(once, "staging", "DB", "b");
		expect(twice.split("\n").length).toBe(toml.split("\n").length + 1);
		expect(unstable_readConfig({ config: write(twice), env: "staging" }).d1_databases[0].database_id).toBe("b");
		expect(unstable_readConfig({ config: write(twice), env: "" }).d1_databases[0].database_id).toBeUndefined();
		expect(twice.match(/^#.*$/gm)).toEqual(toml.match(/^#.*$/gm));
		expect(() => withDatabaseId(toml, "staging", "NOPE", "x")).toThrow('no [[env.staging.d1_databases]] block with binding = "NOPE"');
	});
});

function write(text: string): string {
	const dir = mkdtempSync(join(tmpdir(), "nbg-toml-"));
	temps.push(dir);
	writeFileSync(join(dir, "wrangler.toml"), text);
	return join(dir, "wrangler.toml");
}
