/**
 * Where `npm run dev` gets its settings, and how it keeps its output tidy.
 *
 * Settings: every name documented in .dev.vars.example, from .dev.vars and from the
 * environment (the environment wins). `wrangler dev` alone would not do this: because
 * wrangler.toml declares `[secrets] required`, it loads from .dev.vars only those secrets
 * and the names in [vars], and reads the environment only when there is no .dev.vars.
 */
import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";

/** Settings of `npm run dev` itself, never handed to the Worker. */
export const DEV_ONLY = new Set([
	"PORT",
	"INSPECTOR_PORT",
	"EMULATOR_PORT",
	"EMULATOR_RETIRED",
	"EMULATOR_LIVE",
	"EMULATOR_BATCH_DELAY_MS",
	"EMULATOR_KEYS",
]);

/** The names .dev.vars.example documents (`NAME=` lines, commented out or not). */
export function documentedSettings(example: string): string[] {
	return [...new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]))];
}

/** A .dev.vars file (dotenv syntax: quotes, `export`, comments), or nothing when there is none. */
export function readDevVars(path: string): Record<string, string> {
	if (!existsSync(path)) return {};
	const parsed = parseEnv(readFileSync(path, "utf8"));
	return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === "string"));
}

export interface Settings {
	values: Record<string, string>;
	/** Where each value came from, for the start-up banner. */
	source: Record<string, "environment" | ".dev.vars">;
}

/**
 * Everything in .dev.vars, then the environment's value of every documented name on top
 * (an explicit `NAME=... npm run dev` is the more deliberate choice). Blank environment
 * values count as unset.
 */
export function resolveSettings(devVars: Record<string, string>, env: NodeJS.ProcessEnv, documented: string[]): Settings {
	const values: Record<string, string> = {};
	const source: Settings["source"] = {};
	for (const [k, v] of Object.entries(devVars)) {
		values[k] = v;
		source[k] = ".dev.vars";
	}
	for (const k of documented) {
		const v = env[k];
		if (v === undefined || v.trim() === "") continue;
		values[k] = v;
		source[k] = "environment";
	}
	return { values, source };
}

/** The Worker's share of the settings, as `wrangler dev --var NAME:value` arguments. */
export function varArgs(worker: Record<string, string>): string[] {
	return Object.entries(worker).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
}

const BINDINGS_HEADER = "Your Worker has access to the following bindings:";

/**
 * Passes wrangler's output through, except a bindings table identical to the last one
 * printed: `wrangler dev` prints the table again when its dev registry sees the Worker's
 * own queue consumer register, a second before it is ready.
 */
export class BindingsOnce {
	private partial = "";
	private block: string[] | undefined;
	private last: string | undefined;

	/** Text to print for this chunk (complete lines only; the rest waits for the next chunk). */
	push(chunk: string): string {
		const lines = (this.partial + chunk).split("\n");
		this.partial = lines.pop() ?? "";
		let out = "";
		for (const line of lines) {
			if (this.block) {
				this.block.push(line);
				if (line.trim() === "") out += this.closeBlock();
			} else if (line.includes(BINDINGS_HEADER)) this.block = [line];
			else out += `${line}\n`;
		}
		return out;
	}

	/** Whatever is held back, at the end of the output. */
	flush(): string {
		const out = (this.block ? this.closeBlock() : "") + this.partial;
		this.partial = "";
		return out;
	}

	private closeBlock(): string {
		const text = `${(this.block ?? []).join("\n")}\n`;
		this.block = undefined;
		if (text === this.last) return "";
		this.last = text;
		return text;
	}
}
