// The error registry (src/errors/codes.ts) is the one list of codes: every code the source
// throws is in it, every entry in it is still thrown, and docs/errors.md is what
// `npm run docs` writes from it. The source is read with the TypeScript parser, so a call
// that spans lines or moved to another file is found all the same.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ERRORS_DOC, renderErrorsDoc } from "../../scripts/errors-doc.ts";
import { ERRORS, type ErrorEntry } from "../../src/errors/codes.ts";

const root = join(import.meta.dirname, "../..");

/** A code as the source uses it: where, and the status it asks for when not the primary one. */
interface Use {
	code: string;
	status?: number;
	at: string;
}

/**
 * Every code literal the source hands to the error machinery:
 *   apiError("code", message, { status? })       the factory
 *   invalidParam(param, message, "code")         400s naming a parameter
 *   { code: "code", message, ... }               ApiError's init (super(...) too), stored job errors
 *   code = "code"                                a helper's default (invalidParam's invalid_parameter)
 */
function codesInSource(): Use[] {
	const uses: Use[] = [];
	const files = readdirSync(join(root, "src"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
	for (const file of files) {
		const path = join(root, "src", file);
		const sf = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
		const at = (n: ts.Node) => `${relative(root, path)}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
		const literal = (n: ts.Node | undefined) => (n && ts.isStringLiteralLike(n) ? n.text : undefined);
		const prop = (o: ts.ObjectLiteralExpression, name: string) =>
			o.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText(sf) === name);
		// zod's ctx.addIssue({ code: "custom", message }) is a validation issue, not an error code.
		const isZodIssue = (n: ts.Node) =>
			ts.isCallExpression(n.parent) && ts.isPropertyAccessExpression(n.parent.expression) && n.parent.expression.name.text === "addIssue";
		const visit = (n: ts.Node) => {
			if (ts.isCallExpression(n) && ts.isIdentifier(n.expression)) {
				const [first, , third] = n.arguments;
				if (n.expression.text === "apiError" && literal(first)) {
					const options = n.arguments[2];
					const status = options && ts.isObjectLiteralExpression(options) ? prop(options, "status")?.initializer : undefined;
					uses.push({
						code: literal(first) as string,
						status: status && ts.isNumericLiteral(status) ? Number(status.text) : undefined,
						at: at(n),
					});
				}
				if (n.expression.text === "invalidParam" && literal(third)) uses.push({ code: literal(third) as string, at: at(n) });
			}
			if (ts.isObjectLiteralExpression(n) && prop(n, "message") && !isZodIssue(n)) {
				const code = literal(prop(n, "code")?.initializer);
				const status = prop(n, "status")?.initializer;
				if (code) uses.push({ code, status: status && ts.isNumericLiteral(status) ? Number(status.text) : undefined, at: at(n) });
			}
			if (ts.isParameter(n) && n.name.getText(sf) === "code" && literal(n.initializer))
				uses.push({ code: literal(n.initializer) as string, at: at(n) });
			ts.forEachChild(n, visit);
		};
		visit(sf);
	}
	return uses;
}

const registry: Record<string, ErrorEntry> = ERRORS;
const uses = codesInSource();

describe("error registry", () => {
	it("finds the codes the source throws (the scan itself works)", () => {
		const found = new Set(uses.map((u) => u.code));
		// One of each way a code is written: the factory, invalidParam, an init object, a default.
		for (const code of ["insufficient_credits", "invalid_json", "configuration_error", "invalid_parameter", "job_not_queued"])
			expect(found, code).toContain(code);
	});

	it("has every code thrown in src/", () => {
		expect(uses.filter((u) => !(u.code in registry)).map((u) => `${u.at}: ${u.code}`)).toEqual([]);
	});

	it("asks only for statuses the registry lists for the code", () => {
		const wrong = uses.filter((u) => u.status !== undefined && u.code in registry && !registry[u.code].also?.[u.status]);
		expect(wrong.map((u) => `${u.at}: ${u.code} ${u.status}`)).toEqual([]);
	});

	it("has no entry (or alternative status) that nothing throws any more", () => {
		const unused = Object.entries(registry).flatMap(([code, entry]) => [
			...(uses.some((u) => u.code === code && u.status === undefined) ? [] : [code]),
			...Object.keys(entry.also ?? {})
				.filter((s) => !uses.some((u) => u.code === code && u.status === Number(s)))
				.map((s) => `${code} ${s}`),
		]);
		expect(unused).toEqual([]);
	});

	it("docs/errors.md is current (run npm run docs)", () => {
		expect(readFileSync(ERRORS_DOC, "utf8")).toBe(renderErrorsDoc());
	});
});
