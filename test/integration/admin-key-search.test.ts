// GET /admin/keys?q=&status= (issue 28): the operator's key list searched by name, id or
// prefix (case-insensitive, LIKE wildcards taken literally), filtered by status, and paged by
// cursor through the search like the full list.
import { describe, expect, it } from "vitest";
import { ADMIN, call, createKey, expectError } from "../helpers/http";

interface KeyView {
	id: string;
	name: string;
	prefix: string;
	status: string;
}
interface Page {
	data: KeyView[];
	has_more: boolean;
	next_cursor: string | null;
}
const keys = async (query: string) => (await call(`/admin/keys?${query}`, { headers: ADMIN })).json<Page>();

describe("searching the operator's keys", () => {
	it("finds keys by part of the name, any case, and pages through the matches", async () => {
		const tag = crypto.randomUUID().slice(0, 8);
		const made = [];
		for (let i = 0; i < 3; i++) made.push(await createKey(`Studio-${tag}-${i}`));
		await createKey(`unrelated-${crypto.randomUUID()}`);
		const first = await keys(`q=${`studio-${tag}`.toUpperCase()}&limit=2`);
		expect(first.data).toHaveLength(2);
		expect(first.has_more).toBe(true);
		const second = await keys(`q=studio-${tag}&limit=2&cursor=${encodeURIComponent(first.next_cursor ?? "")}`);
		expect(second).toMatchObject({ has_more: false, next_cursor: null });
		const found = [...first.data, ...second.data].map((k) => k.id).sort();
		expect(found).toEqual(made.map((k) => k.id).sort());
	});

	it("finds a key by its id or its prefix", async () => {
		const k = await createKey();
		expect((await keys(`q=${k.id}`)).data.map((x) => x.id)).toEqual([k.id]);
		const prefix = (await keys(`q=${k.id}`)).data[0].prefix;
		expect((await keys(`q=${encodeURIComponent(prefix)}`)).data.map((x) => x.id)).toContain(k.id);
	});

	it("takes % and _ literally", async () => {
		const tag = crypto.randomUUID().slice(0, 8);
		const literal = await createKey(`50%_off-${tag}`);
		await createKey(`50xxoff-${tag}`);
		expect((await keys(`q=${encodeURIComponent(`50%_off-${tag}`)}`)).data.map((x) => x.id)).toEqual([literal.id]);
	});

	it("filters by status, with or without a search", async () => {
		const tag = crypto.randomUUID().slice(0, 8);
		const live = await createKey(`status-${tag}-live`);
		const gone = await createKey(`status-${tag}-gone`);
		expect((await call(`/admin/keys/${gone.id}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
		expect((await keys(`q=status-${tag}&status=revoked`)).data.map((x) => x.id)).toEqual([gone.id]);
		expect((await keys(`q=status-${tag}&status=active`)).data.map((x) => x.id)).toEqual([live.id]);
		expect((await keys("status=revoked&limit=200")).data.every((x) => x.status === "revoked")).toBe(true);
	});

	it("refuses an unknown status or an overlong search", async () => {
		expect((await expectError(await call("/admin/keys?status=paused", { headers: ADMIN }), 400, "invalid_parameter")).param).toBe("status");
		expect((await expectError(await call(`/admin/keys?q=${"x".repeat(101)}`, { headers: ADMIN }), 400, "invalid_parameter")).param).toBe(
			"q",
		);
	});
});
