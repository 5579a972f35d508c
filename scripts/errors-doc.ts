/**
 * `npm run docs`: writes docs/errors.md, the table of every error code, from the registry
 * (src/errors/codes.ts). The file is committed so it reads on GitHub; test/node/errors.test.ts
 * fails when it is not what this script writes, so a code added to the registry reaches the
 * docs with one command.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { errorRows } from "../src/errors/codes.ts";

const root = join(import.meta.dirname, "..");

/** Where the document is written. */
export const ERRORS_DOC = join(root, "docs/errors.md");

/** The whole of docs/errors.md. */
export function renderErrorsDoc(): string {
	const rows = errorRows().map((r) => `| ${r.status} | \`${r.type}\` | \`${r.code}\` | ${r.meaning} |`);
	return `# Errors

<!-- Written by \`npm run docs\` from src/errors/codes.ts; edit the registry, not this file. -->

Every error has one shape, OpenAI's, and a stable \`code\` to branch on:

\`\`\`json
{ "error": { "message": "…", "type": "invalid_request_error", "code": "invalid_parameter", "param": "n" } }
\`\`\`

On Gemini's own routes (\`/v1beta/models/…\`) the same error is written in Google's shape,
\`{"error": {"code", "message", "status", "details"}}\`: \`code\` is the HTTP status, \`status\`
the google.rpc name, and the gateway's code is the \`reason\` (upper case) of an ErrorInfo
detail. Every answer carries \`x-request-id\`; a 429 or 503 carries \`Retry-After\`.

| status | type | code | meaning |
|---|---|---|---|
${rows.join("\n")}
`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
	writeFileSync(ERRORS_DOC, renderErrorsDoc());
	console.log(`wrote docs/errors.md (${errorRows().length} rows)`);
}
