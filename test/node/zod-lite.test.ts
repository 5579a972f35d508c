// The Worker's bundle gets src/lib/zod-lite.ts for "zod" (wrangler.toml's alias), a `z` of
// only the members src/ names. The workers tests run zod itself, so a member missing from
// that list would pass them and fail only in the deployed bundle: this test closes the gap.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as members from "../../src/lib/zod-members.ts";

/** Type-only names (erased at runtime). */
const TYPES = new Set(["infer", "input", "output", "ZodRawShape"]);

function sources(dir: string): string[] {
	return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
		e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
	);
}

describe("the bundle's zod (src/lib/zod-lite.ts)", () => {
	it("has every member of z that src/ uses", () => {
		const used = new Set<string>();
		for (const file of sources("src")) for (const m of readFileSync(file, "utf8").matchAll(/\bz\.([A-Za-z]+)/g)) used.add(m[1]);
		const missing = [...used].filter((name) => !TYPES.has(name) && !(name in members));
		expect(missing).toEqual([]);
	});

	it("is imported as `{ z }` only (the stand-in exports nothing else)", () => {
		const imports = sources("src").flatMap((file) =>
			[...readFileSync(file, "utf8").matchAll(/^import (.*) from "zod[^"]*";$/gm)].map((m) => m[1]),
		);
		expect(imports.filter((what) => what !== "{ z }" && what !== "type { z }")).toEqual([]);
	});

	it("is what wrangler.toml bundles for zod", () => {
		expect(readFileSync("wrangler.toml", "utf8")).toMatch(/^alias = \{ "zod" = "\.\/src\/lib\/zod-lite\.ts" \}$/m);
	});
});
