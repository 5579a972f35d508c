// GET /v1/conversations (issue 28): the key's conversations, newest first, paged by cursor,
// with each one's turn count; another key's are never listed.
import { describe, expect, it } from "vitest";
import { auth, call, createKey, expectError, postJson, uniquePrompt } from "../helpers/http";

interface Listed {
	id: string;
	created_at: string;
	model: string;
	turns: number;
	updated_at: string;
}
interface Page {
	object: string;
	data: Listed[];
	has_more: boolean;
	next_cursor: string | null;
}

const list = async (key: string, query = "") => (await call(`/v1/conversations${query}`, { headers: auth(key) })).json<Page>();

describe("listing conversations", () => {
	it("pages the key's conversations newest first, with their turn counts", async () => {
		const k = await createKey();
		const ids: string[] = [];
		for (const model of ["nano-banana", "nano-banana-2", "nano-banana-pro"]) {
			ids.push((await (await postJson("/v1/conversations", { model }, auth(k.key))).json<{ id: string }>()).id);
		}
		const turn = await postJson("/v1/images/generations", { prompt: uniquePrompt("a lighthouse"), conversation_id: ids[0] }, auth(k.key));
		expect(turn.status).toBe(200);

		const first = await list(k.key, "?limit=2");
		expect(first.object).toBe("list");
		expect(first.data).toHaveLength(2);
		expect(first.has_more).toBe(true);
		const second = await list(k.key, `?limit=2&cursor=${encodeURIComponent(first.next_cursor ?? "")}`);
		expect(second.data).toHaveLength(1);
		expect(second).toMatchObject({ has_more: false, next_cursor: null });
		const all = [...first.data, ...second.data];
		expect(all.map((c) => c.id).sort()).toEqual([...ids].sort());
		// Newest first (ids break a tie within one millisecond).
		const created = all.map((c) => c.created_at);
		expect(created).toEqual([...created].sort().reverse());
		expect(all.find((c) => c.id === ids[0])).toMatchObject({ model: "nano-banana", turns: 1 });

		const other = await createKey();
		expect((await list(other.key)).data).toEqual([]);
	});

	it.each([
		["?limit=0", "limit"],
		["?limit=101", "limit"],
		["?cursor=nonsense", "cursor"],
		["?sort=asc", null],
	])("refuses %s with a 400", async (query, param) => {
		const k = await createKey();
		const err = await expectError(await call(`/v1/conversations${query}`, { headers: auth(k.key) }), 400, "invalid_parameter");
		if (param) expect(err.param).toBe(param);
	});
});
