/**
 * What the project's scripts need from wrangler: running its CLI (found on PATH, as `npm run`
 * puts node_modules/.bin there), and the two things about wrangler.toml the CLI does not do
 * for a TOML file: listing its environments and writing a D1 database_id into it
 * (`wrangler d1 create --update-config` only edits wrangler.json files).
 */
import { spawn } from "node:child_process";
import { stripVTControlCharacters } from "node:util";

export interface WranglerResult {
	code: number;
	/** stdout and stderr together, colours stripped. */
	output: string;
}

/**
 * Runs `wrangler <args>` with no stdin: wrangler then answers its own confirmations with
 * their defaults (e.g. "apply these migrations?" yes), as in CI. `echo` copies its output
 * to ours while it runs.
 */
export function runWrangler(args: string[], opts: { echo?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<WranglerResult> {
	return new Promise((resolve) => {
		const child = spawn("wrangler", args, { stdio: ["ignore", "pipe", "pipe"], env: opts.env ?? process.env });
		let output = "";
		const take = (to: NodeJS.WriteStream) => (chunk: Buffer) => {
			output += chunk.toString("utf8");
			if (opts.echo) to.write(chunk);
		};
		child.stdout.on("data", take(process.stdout));
		child.stderr.on("data", take(process.stderr));
		child.on("error", (error) => {
			const hint =
				"code" in error && error.code === "ENOENT" ? " (run it through npm, e.g. `npm run deploy`, so node_modules/.bin is on PATH)" : "";
			resolve({ code: 127, output: `could not run wrangler: ${error.message}${hint}` });
		});
		child.on("close", (code) => resolve({ code: code ?? 1, output: stripVTControlCharacters(output) }));
	});
}

/** The first JSON value in a command's output (wrangler may print notices around it). */
export function jsonIn<T>(output: string, open: "[" | "{"): T | undefined {
	const start = output.indexOf(open);
	if (start === -1) return undefined;
	const close = open === "[" ? "]" : "}";
	for (let end = output.lastIndexOf(close); end > start; end = output.lastIndexOf(close, end - 1)) {
		try {
			return JSON.parse(output.slice(start, end + 1)) as T;
		} catch {
			// a bracket in trailing text: try the previous one
		}
	}
	return undefined;
}

/** The names of the `[env.<name>]` environments a wrangler.toml defines. */
export function tomlEnvironments(toml: string): string[] {
	const names = new Set<string>();
	for (const m of toml.matchAll(/^\s*\[\[?\s*env\.([A-Za-z0-9_-]+)\s*[.\]]/gm)) names.add(m[1]);
	return [...names];
}

/**
 * wrangler.toml with `database_id = "<id>"` set in the `[[d1_databases]]` block (of `env`,
 * or the top level) whose binding is `binding`: replaced if present, otherwise added after
 * its `database_name`. Comments and everything else are kept as they are.
 */
export function withDatabaseId(toml: string, env: string | undefined, binding: string, id: string): string {
	const header = env ? `[[env.${env}.d1_databases]]` : "[[d1_databases]]";
	const lines = toml.split("\n");
	for (let i = 0; i < lines.length; i++) {
		if (lines[i].trim() !== header) continue;
		let end = i + 1;
		while (end < lines.length && !lines[end].trim().startsWith("[")) end++;
		const block = lines.slice(i + 1, end);
		const field = (name: string) => block.findIndex((l) => new RegExp(`^\\s*${name}\\s*=`).test(l));
		const bindingLine = field("binding");
		if (bindingLine === -1 || !block[bindingLine].includes(`"${binding}"`)) continue;
		const line = `database_id = "${id}"`;
		const existing = field("database_id");
		if (existing !== -1) block[existing] = line;
		else block.splice((field("database_name") === -1 ? bindingLine : field("database_name")) + 1, 0, line);
		return [...lines.slice(0, i + 1), ...block, ...lines.slice(end)].join("\n");
	}
	throw new Error(`wrangler.toml has no ${header} block with binding = "${binding}"`);
}
