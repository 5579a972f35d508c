// Every setting the Worker reads is documented where an operator looks: .dev.vars.example
// (one `NAME=default` line each, which `npm run dev` also uses as its list of names) and
// the README's Configuration table.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { envSchema } from "../../src/config";

const settings = Object.keys(envSchema().shape).sort();

describe("settings documentation", () => {
	it(".dev.vars.example has a line for every setting, and no others before npm run dev's own", () => {
		const [worker] = env.DEV_VARS_EXAMPLE.split("# --- `npm run dev` only");
		const documented = [...worker.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
		expect([...new Set(documented)].sort()).toEqual(settings);
		expect(documented.length).toBe(settings.length);
	});

	it("the README's Configuration table names every setting", () => {
		const section = env.README_MD.split("## Configuration")[1].split("\n## ")[0];
		const named = new Set(
			[...section.matchAll(/^\| (.+?) \|/gm)].flatMap((m) => [...m[1].matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((x) => x[1])),
		);
		expect(settings.filter((s) => !named.has(s))).toEqual([]);
	});
});
