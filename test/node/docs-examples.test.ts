// Every code block of the README and the guides runs as printed against `npm run dev` (a
// checkout of its own, an empty .dev.vars, the emulator answering), so an example cannot
// rot. Conventions (test/README.md, "Examples in the docs"):
// - the fence's language says what a block is: sh/bash, ts/js and python run; json, toml
//   and text are data (output samples, configuration) and never run; a block with no
//   language is refused, so nothing is left undecided;
// - `<!-- docs-test: skip: why -->` on the line before a fence: a runnable block that must
//   not run here (it deploys, starts the server, or runs in a browser);
// - `<!-- docs-test: continues -->`: the block runs after the previous block of its language
//   in the same file, as one program ("the client above"); `continues TEXT`: after the
//   nearest earlier one whose code contains TEXT;
// - `<!-- docs-test: check NAME -->`: the test appends its own check NAME (CHECKS below) to a
//   block that only defines something.
// sh blocks run in bash with `set -eo pipefail`, where `curl` fails on an HTTP error
// (--fail-with-body); the `"key":` names in the `#` comment lines after a command (up to a
// line starting `# later:`) must appear in that command's answer. ts/js blocks run with
// `npx node file.ts` from the checkout (Node 24 strips types) and must print no
// `undefined`, `null` or `NaN`. `$KEY` / `process.env.KEY` / `NBG_KEY` is the demo key and
// `$GW` the gateway; 127.0.0.1:8787 is replaced by the test's port.
import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkout, type Dev, ROOT, startDev } from "./dev-process.ts";

/** An example may print whole images as base64 (a 2K JPEG is over 1 MB of it): more than spawnSync's 1 MiB default, which kills the run. */
const MAX_OUTPUT = 256 * 1024 * 1024;

const DOCS = ["README.md", "docs/api.md", "docs/operating.md", "docs/errors.md", "docs/extending.md", "bench/README.md"];
const RUNS = new Set(["sh", "bash", "ts", "js", "python"]);
const DATA = new Set(["json", "toml", "text"]);

interface Block {
	file: string;
	line: number;
	lang: string;
	code: string;
	marker: { kind: "skip" | "continues" | "check"; arg: string } | undefined;
}

/** The fenced blocks of a Markdown file, with the marker on the line before each. */
function blocksOf(file: string, text: string): Block[] {
	const lines = text.split("\n");
	const out: Block[] = [];
	for (let i = 0; i < lines.length; i++) {
		const open = lines[i].match(/^```(\S*)/);
		if (!open) continue;
		const end = lines.findIndex((l, j) => j > i && l.startsWith("```"));
		const m = lines[i - 1]?.match(/^<!-- docs-test: (skip|continues|check)\b:? ?(.*?) ?-->$/);
		out.push({
			file,
			line: i + 1,
			lang: open[1],
			code: lines.slice(i + 1, end).join("\n"),
			marker: m ? { kind: m[1] as "skip" | "continues" | "check", arg: m[2] } : undefined,
		});
		i = end;
	}
	return out;
}

/** Checks appended to blocks that only define something (`docs-test: check NAME`). */
const CHECKS: Record<string, string> = {
	// The webhook receiver's verify() against a delivery signed as the gateway signs (beforeAll).
	"webhook-verify": `
const sample = JSON.parse(process.env.WEBHOOK_SAMPLE ?? "{}");
const good = await verify(sample.secret, new Headers(sample.headers), sample.body);
const forged = await verify(sample.secret, new Headers(sample.headers), sample.body + " ");
if (!good || forged) throw new Error(\`verify() answered \${good} for a genuine delivery and \${forged} for a forged one\`);
console.log("verified");
`,
};

/** The `"key":` names each command's comment claims, in the order of the block's `curl` commands. */
function claimsOf(code: string): string[][] {
	const claims: string[][] = [];
	let later = false;
	for (const line of code.split("\n")) {
		const t = line.trim();
		if (!t.startsWith("#")) {
			if (/(^|[\s(|;$])curl\s/.test(t.replace(/#.*$/, ""))) {
				claims.push([]);
				later = false;
			}
			continue;
		}
		if (/^#\s*later:/.test(t)) later = true;
		if (later || claims.length === 0) continue;
		for (const m of t.matchAll(/"(\w+)":/g)) claims[claims.length - 1].push(m[1]);
	}
	return claims;
}

const all = DOCS.flatMap((f) => blocksOf(f, readFileSync(join(ROOT, f), "utf8")));
const has = (cmd: string, ...args: string[]) => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
const tools = { jq: has("jq", "--version"), python: has("python3", "-c", "import openai") };

describe("the docs' examples run as printed against npm run dev", () => {
	let dir: string;
	let work: string;
	let dev: Dev | undefined;
	let sample = "";
	const results: string[] = [];

	beforeAll(async () => {
		dir = checkout("# a newcomer's .dev.vars: nothing changed\n");
		work = join(dir, "examples");
		mkdirSync(work);
		dev = await startDev(dir, {});
		const body = JSON.stringify({ id: "evt_1", type: "job.succeeded", data: {} });
		const secret = `whsec_${btoa("a webhook secret of 32 bytes!!!!")}`;
		const ts = Math.floor(Date.now() / 1000);
		// Signed as Standard Webhooks (and src/jobs/webhooks.ts) sign: HMAC-SHA256 of "id.timestamp.body".
		const mac = createHmac("sha256", Buffer.from(secret.slice(6), "base64"))
			.update(`msg_1.${ts}.${body}`)
			.digest("base64");
		const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(ts), "webhook-signature": `v1,${mac}` };
		sample = JSON.stringify({ secret, headers, body });
	}, 180_000);
	afterAll(async () => {
		await dev?.stop();
		rmSync(dir, { recursive: true, force: true });
		console.log(`docs examples:\n${results.join("\n")}`);
	});

	it("every block says what it is: a runnable language, a data language, or a marker", () => {
		const undecided = all.filter((b) => !RUNS.has(b.lang) && !DATA.has(b.lang)).map((b) => `${b.file}:${b.line} \`\`\`${b.lang}`);
		expect(undecided).toEqual([]);
		const stray = all.filter((b) => b.marker && !RUNS.has(b.lang)).map((b) => `${b.file}:${b.line}`);
		expect(stray).toEqual([]);
		const orphans = all
			.filter((b) => b.marker?.kind === "continues")
			.filter((b) => !all.some((a) => a.file === b.file && a.lang === b.lang && a.line < b.line && a.code.includes(b.marker?.arg ?? "")))
			.map((b) => `${b.file}:${b.line}`);
		expect(orphans).toEqual([]);
		const unknownChecks = all.filter((b) => b.marker?.kind === "check" && !CHECKS[b.marker.arg]).map((b) => `${b.file}:${b.line}`);
		expect(unknownChecks).toEqual([]);
		expect(all.filter((b) => b.marker?.kind === "skip" && !b.marker.arg).map((b) => `${b.file}:${b.line}`)).toEqual([]);
	});

	it("a reference URL that cannot be fetched says why, in workerd's own words too", async () => {
		if (!dev) throw new Error("npm run dev did not start");
		// .invalid never resolves (RFC 2606), on any machine, with or without a network.
		const res = await fetch(`${dev.url}/v1/images/generations`, {
			method: "POST",
			headers: { authorization: `Bearer ${dev.demoKey}`, "content-type": "application/json" },
			body: JSON.stringify({ prompt: "a lamp", image_url: "https://images.nowhere.invalid/lamp.png" }),
		});
		const { error } = (await res.json()) as { error: { code: string; param: string; reason: string; message: string } };
		expect({ status: res.status, code: error.code, param: error.param }).toEqual({
			status: 400,
			code: "image_fetch_failed",
			param: "image_url",
		});
		// With a network, DNS over HTTPS names the cause; on a machine without one, the message says that instead.
		const offline =
			(await fetch("https://cloudflare-dns.com/dns-query?name=example.com", { signal: AbortSignal.timeout(3000) }).catch(() => null)) ===
			null;
		expect(error.reason).toBe(offline ? "network" : "dns");
		expect(error.message).toMatch(
			offline
				? /^image_url could not be fetched from images\.nowhere\.invalid: no connection could be made, and DNS could not be asked either/
				: /^image_url could not be fetched from images\.nowhere\.invalid: its host name does not exist/,
		);
	});

	const runnable = all.filter((b) => RUNS.has(b.lang) && b.marker?.kind !== "skip");
	runnable.forEach((block, index) => {
		const name = `${block.file}:${block.line} (${block.lang})`;
		it(name, { timeout: 180_000 }, (ctx) => {
			if (!dev) throw new Error("npm run dev did not start");
			const earlier = runnable.slice(0, index).filter((b) => b.file === block.file && b.lang === block.lang);
			// A `continues` block runs after the one before it (and that one's predecessors, if it continued too).
			const chain: Block[] = [block];
			for (let b = block, k = earlier.length - 1; b.marker?.kind === "continues" && k >= 0; k--) {
				const wanted = b.marker.arg;
				if (wanted && !earlier[k].code.includes(wanted)) continue;
				b = earlier[k];
				chain.unshift(b);
			}
			let code = chain.map((b) => b.code).join("\n");
			if (block.marker?.kind === "check") code += CHECKS[block.marker.arg];
			code = code.replaceAll("http://127.0.0.1:8787", dev.url);
			if (/\bjq\b/.test(code) && !tools.jq) {
				results.push(`SKIPPED ${name}: jq is not installed`);
				ctx.skip();
			}
			if (block.lang === "python" && !tools.python) {
				results.push(`SKIPPED ${name}: python3 with the openai package is not installed`);
				ctx.skip();
			}
			const env = { ...process.env, KEY: dev.demoKey, NBG_KEY: dev.demoKey, GW: dev.url, WEBHOOK_SAMPLE: sample };
			const out = join(work, `out-${index}`);
			rmSync(out, { recursive: true, force: true });
			mkdirSync(out);
			let run: ReturnType<typeof spawnSync>;
			if (block.lang === "sh" || block.lang === "bash") {
				const prelude = [
					"set -eo pipefail",
					// Each answer is kept for the claims check; an HTTP error fails the script.
					`curl() { local n; n=$(( $(cat "${out}/count" 2>/dev/null || echo 0) + 1 )); echo "$n" > "${out}/count"; command curl --fail-with-body "$@" | tee "${out}/$n"; }`,
				].join("\n");
				writeFileSync(join(work, `example-${index}.sh`), `${prelude}\n${code}\n`);
				run = spawnSync("bash", [join(work, `example-${index}.sh`)], {
					cwd: work,
					env,
					encoding: "utf8",
					timeout: 170_000,
					maxBuffer: MAX_OUTPUT,
				});
			} else if (block.lang === "python") {
				writeFileSync(join(dir, `example-${index}.py`), code);
				run = spawnSync("python3", [`example-${index}.py`], { cwd: dir, env, encoding: "utf8", timeout: 170_000, maxBuffer: MAX_OUTPUT });
			} else {
				// In the checkout, so `openai` and `@google/genai` resolve from its node_modules, as the docs say.
				const file = `example-${index}.${block.lang === "js" ? "mjs" : "ts"}`;
				writeFileSync(join(dir, file), code);
				run = spawnSync("npx", ["node", file], { cwd: dir, env, encoding: "utf8", timeout: 170_000, maxBuffer: MAX_OUTPUT });
			}
			const stdout = String(run.stdout);
			const report = `${name} exited ${run.status}\n--- code\n${code}\n--- stdout\n${stdout.slice(0, 3000)}\n--- stderr\n${String(run.stderr).slice(0, 3000)}`;
			expect(run.status, report).toBe(0);
			if (block.lang === "sh" || block.lang === "bash") {
				const claims = claimsOf(code);
				claims.forEach((keys, i) => {
					if (keys.length === 0) return;
					let answer = "";
					try {
						answer = readFileSync(join(out, String(i + 1)), "utf8");
					} catch {
						// no answer recorded: reported below as every key missing
					}
					const missing = keys.filter((k) => !answer.includes(`"${k}":`));
					expect(missing, `${report}\n--- command ${i + 1}'s answer\n${answer.slice(0, 2000)}`).toEqual([]);
				});
			} else {
				expect(stdout, report).not.toMatch(/\bundefined\b|^null$|\bNaN\b/m);
			}
			results.push(`ok ${name}`);
		});
	});
});
