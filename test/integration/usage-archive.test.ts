// Own file: the archive run prunes every old row in this file's (isolated) database.
// Issue 29: rows go through the real outbox, are aged past USAGE_RETENTION_DAYS (the cron
// trigger runs with a clock 100 days ahead), exported to R2, folded into rollups and deleted;
// the exports, the rollups and the usage endpoints must then say exactly what the rows said.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { EXPORT_PREFIX, type ExportManifest, exportBucket, readExport } from "../../src/storage/archive";
import {
	ADMIN,
	accountOf,
	auth,
	balanceOf,
	call,
	createKey,
	deliveredOutcome,
	flushUsage,
	postJson,
	testDraft,
	uniquePrompt,
} from "../helpers/http";

const GEN = "/v1/images/generations";
const DAY = 86_400_000;

async function scheduledAt(at: Date, vars: Record<string, string> = {}): Promise<void> {
	const ctx = createExecutionContext();
	await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "* * * * *" }), { ...env, ...vars }, ctx);
	await waitOnExecutionContext(ctx);
}

const json = async <T>(res: Response): Promise<T> => {
	expect(res.status).toBe(200);
	return res.json<T>();
};

interface UsageList {
	data: Array<{ request_id: string }>;
	aggregates: { by_day: unknown[]; by_model: unknown[] };
	detail_archived_before: string | null;
}

type Row = Record<string, unknown>;
const all = async (sql: string) => (await env.DB.prepare(sql).all<Row>()).results;
const byId = (pk: string) => (a: Row, b: Row) => String(a[pk]).localeCompare(String(b[pk]));

describe("usage archive", () => {
	it("exports, rolls up and prunes rows past the window; exports, rollups and both usage endpoints match what was there", async () => {
		const a = await createKey(undefined, { credits: 500 });
		const b = await createKey(undefined, { credits: 500 });
		for (const [k, body] of [
			[a, { model: "nano-banana-2", prompt: uniquePrompt("two"), n: 2 }],
			[a, { model: "nano-banana", prompt: uniquePrompt("one") }],
			[a, { prompt: uniquePrompt("blocked", "finish=IMAGE_SAFETY") }],
			[b, { model: "nano-banana-2", prompt: uniquePrompt("b") }],
			[b, { prompt: uniquePrompt("b blocked", "finish=IMAGE_SAFETY") }],
		] as const) {
			const res = await postJson(GEN, body, auth(k.key));
			expect([200, 422]).toContain(res.status);
			await res.arrayBuffer();
		}
		for (const k of [a, b]) expect((await flushUsage(k.key)).pending).toBe(0);

		// Before: the rows, and what every reader says about them.
		const usageBefore = (await all("SELECT * FROM usage")).sort(byId("request_id"));
		const ledgerBefore = (await all("SELECT * FROM credit_ledger")).sort(byId("id"));
		expect(usageBefore).toHaveLength(5);
		const customerBefore = await json<UsageList>(await call("/v1/usage", { headers: auth(a.key) }));
		expect(customerBefore.data).toHaveLength(3);
		expect(customerBefore.detail_archived_before).toBeNull();
		const adminBefore = await json<Record<string, unknown>>(await call("/admin/usage", { headers: ADMIN }));
		const filtered = `/admin/usage?key_id=${a.id}&model=nano-banana-2`;
		const adminFilteredBefore = await json<Record<string, unknown>>(await call(filtered, { headers: ADMIN }));

		// 100 days later (the window is 90), a few minutes of cron runs: everything is exported, folded and deleted.
		const later = new Date(Math.ceil((Date.now() + 100 * DAY) / 60_000) * 60_000);
		// One hour per table and run: the rows may straddle an hour.
		for (let run = 0; run < 3; run++) await scheduledAt(new Date(later.getTime() + run * 60_000));
		expect(await all("SELECT * FROM usage")).toEqual([]);
		expect(await all("SELECT * FROM credit_ledger")).toEqual([]);

		// Exports: each object's rows parse back, their count and sha256 match its metadata and its
		// manifest row, and together they are exactly the rows that were deleted.
		const manifest = (await all("SELECT * FROM usage_exports ORDER BY tbl, hour, part")) as unknown as ExportManifest[];
		const listed = await exportBucket(env).list({ prefix: EXPORT_PREFIX, include: ["customMetadata"] });
		expect(listed.objects.map((o) => o.key).sort()).toEqual(manifest.map((m) => m.object_key).sort());
		const exported: Record<string, Row[]> = { usage: [], credit_ledger: [] };
		for (const m of manifest) {
			expect(m.pruned_at).not.toBeNull();
			const back = await readExport(exportBucket(env), m.object_key);
			if (!back) throw new Error(`missing ${m.object_key}`);
			expect(back.rows).toHaveLength(m.rows);
			expect(back.sha256).toBe(m.sha256);
			expect(back.meta).toMatchObject({ rows: String(m.rows), sha256: m.sha256, table: m.tbl });
			exported[m.tbl].push(...back.rows);
		}
		expect(exported.usage.sort(byId("request_id"))).toEqual(usageBefore);
		expect(exported.credit_ledger.sort(byId("id"))).toEqual(ledgerBefore);

		// Rollups: failures by code, and the ledger's sum per key is still the key's balance.
		const failures = await all(
			"SELECT key_id, SUM(failed) AS n FROM usage_daily WHERE error_code = 'content_policy_violation' GROUP BY key_id ORDER BY key_id",
		);
		expect(failures.map((f) => f.n)).toEqual([1, 1]);
		for (const k of [a, b]) {
			const sum = await env.DB.prepare("SELECT SUM(amount) AS s FROM credit_ledger_daily WHERE key_id = ?").bind(k.id).first<number>("s");
			expect(sum).toBe(await balanceOf(k.key));
		}

		// Readers: the same totals, and the customer is told the detail is archived.
		const customerAfter = await json<UsageList>(await call("/v1/usage", { headers: auth(a.key) }));
		expect(customerAfter.data).toEqual([]);
		expect(customerAfter.aggregates).toEqual(customerBefore.aggregates);
		expect(customerAfter.detail_archived_before).not.toBeNull();
		const adminAfter = await json<Record<string, unknown>>(await call("/admin/usage", { headers: ADMIN }));
		// by_upstream counts image by image from rows: it covers the retention window only.
		expect({ ...adminAfter, by_upstream: [] }).toEqual({ ...adminBefore, by_upstream: [] });
		expect({ ...(await json<Record<string, unknown>>(await call(filtered, { headers: ADMIN }))), by_upstream: [] }).toEqual({
			...adminFilteredBefore,
			by_upstream: [],
		});

		// A new request after the prune: listed row by row, and added to the totals once.
		await (await postJson(GEN, { model: "nano-banana", prompt: uniquePrompt("new") }, auth(a.key))).arrayBuffer();
		await flushUsage(a.key);
		const afterNew = await json<UsageList & { aggregates: { by_model: Array<{ model: string; requests: number }> } }>(
			await call("/v1/usage", { headers: auth(a.key) }),
		);
		expect(afterNew.data).toHaveLength(1);
		const requestsOf = (l: { aggregates: { by_model: unknown[] } }) =>
			(l.aggregates.by_model as Array<{ requests: number }>).reduce((n, m) => n + m.requests, 0);
		expect(requestsOf(afterNew)).toBe(requestsOf(customerBefore) + 1);
		// A range that starts after the archive's horizon (the end of the hour pruned, today) is not told about it.
		const tomorrow = new Date(Date.now() + DAY).toISOString().slice(0, 10);
		expect((await json<UsageList>(await call(`/v1/usage?from=${tomorrow}`, { headers: auth(a.key) }))).detail_archived_before).toBeNull();
	});

	it("a row that arrives for an hour already exported becomes that hour's next part; no object is written twice", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const account = await accountOf(k.key);
		const old = Date.now() - 200 * DAY;
		const admitted = async (id: string) => {
			const r = await account.admit({ draft: { ...testDraft(id), startedAt: old }, credits: 1, images: 1, ttlMs: 60_000 });
			if (!r.ok) throw new Error("refused");
			await account.settle({ reservationId: r.reservationId, charge: 1, outcome: deliveredOutcome(1) });
			await account.flush();
		};
		await admitted("req_old_1");
		await scheduledAt(new Date());
		await admitted("req_old_2");
		await scheduledAt(new Date());
		const parts = (await all(
			`SELECT * FROM usage_exports WHERE tbl = 'usage' AND hour = '${new Date(old).toISOString().slice(0, 13)}' ORDER BY part`,
		)) as unknown as ExportManifest[];
		expect(parts.map((p) => [p.part, p.rows])).toEqual([
			[0, 1],
			[1, 1],
		]);
		const second = await readExport(exportBucket(env), parts[1].object_key);
		expect(second?.rows.map((r) => r.request_id)).toEqual(["req_old_2"]);
		expect(await env.DB.prepare("SELECT requests FROM usage_daily WHERE key_id = ?").bind(k.id).first<number>("requests")).toBe(2);
	});

	it("never deletes rows whose export does not read back as its manifest says", async () => {
		const k = await createKey(undefined, { credits: 100 });
		const account = await accountOf(k.key);
		const old = Date.now() - 300 * DAY;
		const r = await account.admit({ draft: { ...testDraft("req_guarded"), startedAt: old }, credits: 1, images: 1, ttlMs: 60_000 });
		if (!r.ok) throw new Error("refused");
		await account.settle({ reservationId: r.reservationId, charge: 1, outcome: deliveredOutcome(1) });
		await account.flush();
		// An export of that hour left unpruned by a run that stopped, whose object is not what the manifest says.
		const hour = new Date(old).toISOString().slice(0, 13);
		const key = `${EXPORT_PREFIX}usage/guard-test.ndjson.gz`;
		await exportBucket(env).put(
			key,
			new Uint8Array(
				await new Response(new Blob(['{"request_id":"req_guarded"}\n']).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
			),
		);
		await env.DB.prepare(
			"INSERT INTO usage_exports (tbl, hour, part, object_key, rows, sha256, bytes, exported_at) VALUES ('usage', ?, 0, ?, 1, 'not-its-sha', 1, ?)",
		)
			.bind(hour, key, new Date().toISOString())
			.run();
		const errors = vi.spyOn(console, "error");
		await scheduledAt(new Date());
		expect(errors.mock.calls.some(([line]) => String(line).includes("usage_archive_failed"))).toBe(true);
		errors.mockRestore();
		expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM usage WHERE request_id = 'req_guarded'").first<number>("n")).toBe(1);
		expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM usage_daily WHERE key_id = ?").bind(k.id).first<number>("n")).toBe(0);
	});
});
