/**
 * A fake `wrangler` for the deploy script's tests: it records every command it is given
 * (FAKE_WRANGLER_LOG, one JSON line each) and answers from a pretend Cloudflare account
 * kept in FAKE_WRANGLER_STATE, in the output formats of the real wrangler (4.156: whoami
 * --json, queues info/create, d1 list --json/create, r2 bucket list/create, d1 migrations
 * apply, secret list, deploy). It reads what it needs of wrangler.toml with a small reader
 * of its own (loading wrangler's would cost a second per command). `fail` in the state makes
 * a command fail with a given message.
 */
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

export interface FakeAccount {
	loggedIn: boolean;
	accounts?: Array<{ name: string; id: string }>;
	queues: string[];
	databases: Array<{ name: string; uuid: string }>;
	buckets: string[];
	/** Workers that exist, with the names of their secrets. */
	workers: Record<string, string[]>;
	/** Migrations applied per database uuid. */
	applied: Record<string, string[]>;
	/** Workers deployed, in order. */
	deployed: string[];
	/** Command (its first words, e.g. "d1 migrations apply") -> error message. */
	fail?: Record<string, string>;
}

const statePath = process.env.FAKE_WRANGLER_STATE as string;
const state = JSON.parse(readFileSync(statePath, "utf8")) as FakeAccount;
const args = process.argv.slice(2);
appendFileSync(process.env.FAKE_WRANGLER_LOG as string, `${JSON.stringify(args)}\n`);

const save = () => writeFileSync(statePath, JSON.stringify(state, null, 2));
const out = (text: string) => process.stdout.write(`${text}\n`);
function error(message: string): never {
	process.stderr.write(`\n✘ [ERROR] ${message}\n\n`);
	process.exit(1);
}
const positional = args.filter((a, i) => !a.startsWith("-") && !(args[i - 1] === "--env" || args[i - 1] === "-e"));
const envArg = args.includes("--env") ? args[args.indexOf("--env") + 1] : undefined;
const command = positional.join(" ");
const banner = () => out("\n ⛅️ wrangler 4.156.2\n───────────────────────────────────────────────");

function table(rows: Array<Record<string, string>>): string {
	const head = Object.keys(rows[0] ?? {});
	const width = head.map((h) => Math.max(h.length, ...rows.map((r) => r[h].length)) + 2);
	const line = (l: string, m: string, r: string) => l + width.map((w) => "─".repeat(w)).join(m) + r;
	const row = (cells: string[]) => `│${cells.map((c, i) => ` ${c.padEnd(width[i] - 1)}`).join("│")}│`;
	return [line("┌", "┬", "┐"), row(head), line("├", "┼", "┤"), ...rows.map((r) => row(head.map((h) => r[h]))), line("└", "┴", "┘")].join(
		"\n",
	);
}

for (const [prefix, message] of Object.entries(state.fail ?? {})) if (command.startsWith(prefix)) error(message);

if (command === "whoami") {
	if (!state.loggedIn) {
		out('{"loggedIn":false}');
		process.exit(1);
	}
	out(
		JSON.stringify({
			loggedIn: true,
			authType: "OAuth Token",
			email: "operator@example.com",
			accounts: state.accounts ?? [{ name: "Operator", id: "0123456789abcdef0123456789abcdef" }],
		}),
	);
	process.exit(0);
}
if (!state.loggedIn)
	error("In a non-interactive environment, it's necessary to set a CLOUDFLARE_API_TOKEN environment variable for wrangler to work.");
type Table = Record<string, string | string[]>;

/**
 * The parts of wrangler.toml the fake needs, for the selected environment: each `[x]` or
 * `[[x]]` section as a table of its string (and string array) values. Environments inherit
 * nothing but the Worker's name, which gets `-<env>` appended, as in wrangler.
 */
function readConfig() {
	const sections: Array<{ path: string; values: Table }> = [{ path: "", values: {} }];
	for (const line of readFileSync(resolve("wrangler.toml"), "utf8").split("\n")) {
		const header = line.match(/^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*$/);
		if (header) sections.push({ path: header[1], values: {} });
		const kv = line.match(/^\s*([A-Za-z_]+)\s*=\s*(.+?)\s*$/);
		if (kv)
			sections[sections.length - 1].values[kv[1]] = kv[2].startsWith("[")
				? [...kv[2].matchAll(/"([^"]*)"/g)].map((m) => m[1])
				: kv[2].replace(/^"(.*)"$/, "$1");
	}
	const prefix = envArg ? `env.${envArg}.` : "";
	const all = (path: string) => sections.filter((x) => x.path === prefix + path).map((x) => x.values);
	const top = sections[0].values.name as string;
	return {
		name: envArg ? `${top}-${envArg}` : top,
		d1: all("d1_databases") as Array<Record<string, string>>,
		consumers: all("queues.consumers") as Array<Record<string, string>>,
		requiredSecrets: (all("secrets")[0]?.required ?? []) as string[],
	};
}

if (command.startsWith("queues info ")) {
	const name = positional[2];
	if (!state.queues.includes(name)) error(`Queue "${name}" does not exist. To create it, run: wrangler queues create ${name}`);
	banner();
	out(
		`Queue Name: ${name}\nQueue ID: q-${name}\nCreated On: 2026-11-01T00:00:00Z\nLast Modified: 2026-11-01T00:00:00Z\nNumber of Producers: 0\nNumber of Consumers: 0`,
	);
} else if (command.startsWith("queues create ")) {
	const name = positional[2];
	if (state.queues.includes(name)) error(`A queue with this name already exists [code: 11009]`);
	state.queues.push(name);
	banner();
	out(
		`🌀 Creating queue '${name}'\n✅ Created queue '${name}'\n\nConfigure your Worker to send messages to this queue:\n\n[[queues.producers]]\nqueue = "${name}"\nbinding = "${name.replaceAll("-", "_")}"`,
	);
} else if (command === "d1 list") {
	out(
		JSON.stringify(
			state.databases.map((d) => ({
				uuid: d.uuid,
				name: d.name,
				created_at: "2026-11-01T00:00:00Z",
				version: "production",
				num_tables: 0,
			})),
			null,
			2,
		),
	);
} else if (command.startsWith("d1 create ")) {
	const name = positional[2];
	if (state.databases.some((d) => d.name === name)) error("A database with that name already exists [code: 7502]");
	const uuid = crypto.randomUUID();
	state.databases.push({ name, uuid });
	banner();
	out(`✅ Successfully created DB '${name}' in region WEUR\nCreated your new D1 database.\n`);
	out(
		`To access your new D1 Database in your Worker, add the following snippet to your configuration file:\n[[d1_databases]]\nbinding = "${name.replaceAll("-", "_")}"\ndatabase_name = "${name}"\ndatabase_id = "${uuid}"`,
	);
} else if (command === "r2 bucket list") {
	banner();
	out("Listing buckets...");
	out(state.buckets.map((b) => `name:           ${b}\ncreation_date:  2026-11-01T00:00:00.000Z`).join("\n\n"));
} else if (command.startsWith("r2 bucket create ")) {
	const name = positional[3];
	state.buckets.push(name);
	banner();
	out(`Creating bucket '${name}'...\n✅ Created bucket '${name}' with default storage class of Standard.`);
} else if (command.startsWith("d1 migrations apply ")) {
	if (!args.includes("--remote")) error("the fake only knows remote databases");
	const config = readConfig();
	const db = config.d1.find((d) => d.binding === positional[3] || d.database_name === positional[3]);
	const found = state.databases.find((d) => (db?.database_id ? d.uuid === db.database_id : d.name === db?.database_name));
	if (!db || !found) error(`Couldn't find DB with name '${positional[3]}'`);
	banner();
	const files = readdirSync(resolve(db.migrations_dir ?? "migrations"))
		.filter((f) => f.endsWith(".sql"))
		.sort();
	state.applied[found.uuid] ??= [];
	const applied = state.applied[found.uuid];
	const pending = files.filter((f) => !applied.includes(f));
	if (pending.length === 0) out("✅ No migrations to apply!");
	else {
		out(`Migrations to be applied:\n${table(pending.map((name) => ({ name })))}`);
		out(
			`? About to apply ${pending.length} migration(s)\nYour database may not be available to serve requests during the migration, continue?\n🤖 Using fallback value in non-interactive context: yes`,
		);
		applied.push(...pending);
		out(table(pending.map((name) => ({ name, status: "✅" }))));
	}
} else if (command === "secret list") {
	const config = readConfig();
	const secrets = state.workers[config.name];
	if (!secrets)
		error(
			`Worker "${config.name}"${envArg ? ` (env: ${envArg})` : ""} not found.\n\nIf this is a new Worker, run \`wrangler deploy\` first to create it.`,
		);
	out(
		JSON.stringify(
			secrets.map((name) => ({ name, type: "secret_text" })),
			null,
			"  ",
		),
	);
} else if (command === "deploy") {
	const config = readConfig();
	banner();
	for (const q of config.consumers) {
		if (!state.queues.includes(q.queue)) error(`Queue "${q.queue}" does not exist. To create it, run: wrangler queues create ${q.queue}`);
	}
	const secrets = state.workers[config.name] ?? [];
	const missing = config.requiredSecrets.filter((s) => !secrets.includes(s));
	if (missing.length > 0) error(`The following required secrets have not been set: ${missing.join(", ")}`);
	state.deployed.push(config.name);
	out(`Total Upload: 1072.40 KiB / gzip: 201.12 KiB\nUploaded ${config.name} (2.10 sec)\nDeployed ${config.name} triggers (0.80 sec)`);
	out(`  https://${config.name}.operator.workers.dev\n  schedule: * * * * *\nCurrent Version ID: ${crypto.randomUUID()}`);
} else error(`the fake wrangler does not know "${args.join(" ")}"`);
save();
