/**
 * `npm run deploy [-- --env <name>]`: from a Cloudflare login to a live gateway, safe to run
 * again at any time (it only creates what is missing). Each step is printed; the first
 * failure stops everything with what to do about it.
 *   1. login           wrangler whoami --json
 *   2. queues          the jobs queue and its dead-letter queue (wrangler deploy does not
 *                      create a queue that only a consumer or a dead_letter_queue names)
 *   3. D1 database     created when missing; its database_id written into wrangler.toml
 *   4. R2 buckets      the image bucket and the private one, created when missing; no public
 *                      domain is ever attached (only the image bucket may get one, by hand)
 *   5. migrations      pending D1 migrations applied to the remote database BEFORE the code
 *                      that needs them; a failing migration stops the deploy
 *   6. secrets         the missing ones named, with the exact `wrangler secret put` lines:
 *                      ADMIN_TOKEN, and GEMINI_API_KEY unless GEMINI_API_KEYS or UPSTREAMS
 *                      supplies the Gemini credential
 *   7. deploy          wrangler deploy
 * Without --env it deploys the top-level (production) Worker; --env staging the
 * [env.staging] one, with its own resources.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { jsonIn, runWrangler, tomlEnvironments, withDatabaseId } from "./lib/wrangler.ts";

const CONFIG = resolve(process.cwd(), "wrangler.toml");
const TOTAL_STEPS = 7;

/** A step that could not be done: what went wrong, and what the operator should do. */
class StepFailed extends Error {
	readonly advice: string[];
	constructor(message: string, advice: string[] = []) {
		super(message);
		this.advice = advice;
	}
}

function parseArgs(argv: string[]): { env: string | undefined } {
	let env: string | undefined;
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (a === "--env" || a === "-e") env = argv[++i];
		else if (a.startsWith("--env=")) env = a.slice("--env=".length);
		else throw new StepFailed(`Unknown argument "${a}".`, ["Usage: npm run deploy [-- --env <environment>]"]);
		if (env === undefined) throw new StepFailed(`${a} needs an environment name.`);
	}
	return { env: env || undefined };
}

let stepNo = 0;
function step(title: string): void {
	stepNo++;
	console.log(`\n[${stepNo}/${TOTAL_STEPS}] ${title}`);
}
const done = (what: string) => console.log(`  ✔ ${what}`);

/** Runs wrangler, printing the command; a non-zero exit is `undefined` unless `allowFailure`. */
async function wrangler(args: string[], echo = false) {
	console.log(`  $ wrangler ${args.map((a) => (a === "" || /\s/.test(a) ? JSON.stringify(a) : a)).join(" ")}`);
	return runWrangler(args, { echo });
}

async function main(): Promise<void> {
	const { env } = parseArgs(process.argv.slice(2));
	const toml = readFileSync(CONFIG, "utf8");
	const known = tomlEnvironments(toml);
	if (env !== undefined && !known.includes(env)) {
		throw new StepFailed(`Unknown environment "${env}". wrangler.toml defines: ${known.join(", ") || "none"}.`, [
			"Leave --env out to deploy the top-level (production) Worker.",
		]);
	}
	// `--env=""` is how wrangler names the top level; without it, it warns that staging exists.
	const envArgs = ["--env", env ?? ""];
	// wrangler's own reader (environment inheritance included); loading it takes a second.
	const { unstable_readConfig } = await import("wrangler");
	const config = unstable_readConfig({ config: CONFIG, env: env ?? "" });
	const again = `npm run deploy${env ? ` -- --env ${env}` : ""}`;
	console.log(`Deploying ${config.name} (${env ? `environment "${env}"` : "production, the top level of wrangler.toml"})`);

	step("Cloudflare login");
	const who = await wrangler(["whoami", "--json"]);
	const me = jsonIn<{ loggedIn?: boolean; email?: string; accounts?: Array<{ name: string; id: string }> }>(who.output, "{");
	if (!me) throw new StepFailed(`wrangler whoami failed:\n${who.output.trim()}`);
	if (who.code !== 0 || !me.loggedIn) {
		throw new StepFailed("You are not logged in to Cloudflare.", [
			"Run `npx wrangler login` (opens a browser), then run this again.",
			"In CI, set CLOUDFLARE_API_TOKEN (and CLOUDFLARE_ACCOUNT_ID) instead.",
		]);
	}
	const accounts = me.accounts ?? [];
	if (accounts.length > 1 && !process.env.CLOUDFLARE_ACCOUNT_ID && !config.account_id) {
		throw new StepFailed(`Your login can use ${accounts.length} accounts; say which one.`, [
			...accounts.map((a) => `export CLOUDFLARE_ACCOUNT_ID=${a.id}   # ${a.name}`),
		]);
	}
	done(`logged in${me.email ? ` as ${me.email}` : ""}`);

	step("Queues");
	const queues = new Set<string>();
	for (const p of config.queues.producers ?? []) queues.add(p.queue);
	for (const c of config.queues.consumers ?? []) {
		queues.add(c.queue);
		if (c.dead_letter_queue) queues.add(c.dead_letter_queue);
	}
	for (const name of queues) {
		const info = await wrangler(["queues", "info", name]);
		if (info.code === 0) done(`queue ${name} exists`);
		else if (/does not exist/i.test(info.output)) {
			const created = await wrangler(["queues", "create", name]);
			if (created.code !== 0) throw new StepFailed(`Creating queue ${name} failed:\n${created.output.trim()}`);
			done(`queue ${name} created`);
		} else throw new StepFailed(`Looking up queue ${name} failed:\n${info.output.trim()}`);
	}

	step("D1 database");
	for (const db of config.d1_databases) {
		const name = db.database_name ?? db.binding;
		const list = await wrangler(["d1", "list", "--json"]);
		const dbs = list.code === 0 ? jsonIn<Array<{ uuid: string; name: string }>>(list.output, "[") : undefined;
		if (!dbs) throw new StepFailed(`Listing D1 databases failed:\n${list.output.trim()}`);
		let id = dbs.find((d) => d.name === name)?.uuid;
		if (!id) {
			const created = await wrangler(["d1", "create", name]);
			id = created.output.match(/database_id\s*=\s*"([0-9a-f-]{36})"/)?.[1];
			if (created.code !== 0 || !id) throw new StepFailed(`Creating D1 database ${name} failed:\n${created.output.trim()}`);
			done(`database ${name} created (${id})`);
		} else done(`database ${name} exists (${id})`);
		if (db.database_id && db.database_id !== id) {
			throw new StepFailed(
				`wrangler.toml says database_id = "${db.database_id}" for ${db.binding}, but ${name} in this account is ${id}.`,
				["Remove the database_id line (it is written back) or fix it, then run this again."],
			);
		}
		if (db.database_id !== id) {
			writeFileSync(CONFIG, withDatabaseId(readFileSync(CONFIG, "utf8"), env, db.binding, id));
			done(`wrote database_id = "${id}" into wrangler.toml (${env ? `env.${env}.` : ""}d1_databases ${db.binding}); commit it`);
		}
	}

	// IMAGES (generated images) and PRIVATE (job inputs, turns, conversations, replays). A
	// bucket is created private; this script never attaches a domain or an r2.dev address.
	step("R2 buckets");
	const buckets = await wrangler(["r2", "bucket", "list"]);
	if (buckets.code !== 0) throw new StepFailed(`Listing R2 buckets failed:\n${buckets.output.trim()}`);
	const existing = new Set([...buckets.output.matchAll(/^name:\s+(\S+)\s*$/gm)].map((m) => m[1]));
	for (const b of config.r2_buckets) {
		const name = b.bucket_name ?? b.binding;
		if (existing.has(name)) done(`bucket ${name} exists`);
		else {
			const created = await wrangler(["r2", "bucket", "create", name]);
			if (created.code !== 0) throw new StepFailed(`Creating R2 bucket ${name} failed:\n${created.output.trim()}`);
			done(`bucket ${name} created`);
		}
	}

	step("D1 migrations (remote, before the code that needs them)");
	for (const db of config.d1_databases) {
		const applied = await wrangler(["d1", "migrations", "apply", db.binding, "--remote", ...envArgs], true);
		if (applied.code !== 0) {
			throw new StepFailed(`A migration failed on ${db.database_name ?? db.binding}; nothing was deployed.`, [
				"The failing migration was rolled back; the ones before it stay applied, and the running Worker is unchanged.",
				`Fix the migration (or add a new one), then run \`${again}\` again.`,
			]);
		}
		done(`${db.binding} is up to date`);
	}

	step("Secrets");
	const listed = await wrangler(["secret", "list", ...envArgs]);
	let present: string[] = [];
	if (listed.code === 0) present = (jsonIn<Array<{ name: string }>>(listed.output, "[") ?? []).map((s) => s.name);
	else if (!/not found/i.test(listed.output)) throw new StepFailed(`Listing secrets failed:\n${listed.output.trim()}`);
	const missing = (config.secrets?.required ?? []).filter((n: string) => !present.includes(n));
	// wrangler.toml requires only ADMIN_TOKEN: the Gemini credential may be any of three
	// settings. Without one, every API call would answer 500 configuration_error, so the
	// deploy asks for the simplest, GEMINI_API_KEY (UPSTREAMS names its own secrets, and a
	// missing one marks only its upstream unusable, which /admin/upstreams shows).
	const upstreamsSet = typeof config.vars?.UPSTREAMS === "string" && config.vars.UPSTREAMS.trim() !== "";
	const geminiCredential = present.includes("GEMINI_API_KEY") || present.includes("GEMINI_API_KEYS") || upstreamsSet;
	if (!geminiCredential && !missing.includes("GEMINI_API_KEY")) missing.unshift("GEMINI_API_KEY");
	if (missing.length > 0) {
		const what: Record<string, string> = {
			GEMINI_API_KEY: "a Gemini API key from https://aistudio.google.com/apikey (or several, comma-separated, as GEMINI_API_KEYS)",
			ADMIN_TOKEN: "any long random string, e.g. the output of `openssl rand -hex 32`",
		};
		throw new StepFailed(`${config.name} is missing secrets: ${missing.join(", ")}.`, [
			"Set each one (wrangler asks for the value), then run this again:",
			...missing.map(
				(n: string) => `  npx wrangler secret put ${n} ${env ? `--env ${env}` : '--env=""'}     # ${what[n] ?? "see docs/operating.md"}`,
			),
		]);
	}
	done(`set: ${present.join(", ")}`);

	step("Deploy");
	const deployed = await wrangler(["deploy", ...envArgs], true);
	if (deployed.code !== 0) {
		throw new StepFailed("wrangler deploy failed (its output is above).", [
			`Resources and migrations are in place; fix the problem and run \`${again}\` again.`,
		]);
	}
	const url = deployed.output.match(/https:\/\/\S+\.workers\.dev/)?.[0];
	console.log(`\n✔ ${config.name} is live${url ? ` at ${url}` : ""}.`);
	console.log(`  Check it:       curl -s ${url ?? "https://<your gateway>"}/admin/health -H "Authorization: Bearer $ADMIN_TOKEN"`);
	console.log(`  Create a key:   curl -s ${url ?? "https://<your gateway>"}/admin/keys -H "Authorization: Bearer $ADMIN_TOKEN" \\`);
	console.log(`                    -H "Content-Type: application/json" -d '{"name":"first app","credits":100000}'`);
	console.log("  Custom domains and public image URLs: see Deploy in docs/operating.md.");
}

try {
	await main();
} catch (error) {
	if (!(error instanceof StepFailed)) throw error;
	console.error(`\n✘ ${error.message}`);
	for (const line of error.advice) console.error(`  ${line}`);
	process.exitCode = 1;
}
