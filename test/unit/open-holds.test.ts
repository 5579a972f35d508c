// The open holds' tallies (what each admission checks) are kept as holds open and close;
// fast-check drives random opens, closes, repeats and clears against a recount from scratch.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Hold, OpenHolds } from "../../src/account/holds";

const hold = (n: number, credits: number, images: number, day: string, batch: boolean): Hold => ({
	rowid: n,
	id: `res_${n}`,
	token: "t",
	credits,
	images,
	draft: {
		requestId: `req_${n}`,
		endpoint: batch ? "openai.images.generations:batch" : "openai.images.generations",
		model: "nano-banana-2",
		mode: "generate",
		n: images,
		aspectRatio: null,
		imageSize: null,
		startedAt: 0,
	},
	idemKey: null,
	createdAt: 0,
	day,
	month: day.slice(0, 7),
	expiresAt: 1_000 + n,
	reserveSeq: null,
	reserveBalance: null,
	closedAt: null,
	settleSeq: null,
	charged: null,
	balanceAfter: null,
	outcome: null,
});

describe("open holds", () => {
	it("keep the tallies an admission checks equal to a recount, whatever opens and closes", () => {
		const op = fc.oneof(
			fc.record({
				kind: fc.constant("add" as const),
				n: fc.integer({ min: 0, max: 20 }),
				credits: fc.integer({ min: 0, max: 5_000 }),
				images: fc.integer({ min: 1, max: 9 }),
				day: fc.constantFrom("2026-11-30", "2026-12-01", "2026-12-03"),
				batch: fc.boolean(),
			}),
			fc.record({ kind: fc.constant("delete" as const), n: fc.integer({ min: 0, max: 20 }) }),
			fc.record({ kind: fc.constant("clear" as const) }),
		);
		fc.assert(
			fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
				const open = new OpenHolds();
				const truth = new Map<string, Hold>();
				for (const o of ops) {
					if (o.kind === "add") {
						const h = hold(o.n, o.credits, o.images, o.day, o.batch);
						open.add(h);
						truth.set(h.id, h);
					} else if (o.kind === "delete") {
						const h = truth.get(`res_${o.n}`) ?? hold(o.n, 1, 1, "2026-12-03", false);
						open.delete(h);
						truth.delete(h.id);
					} else {
						open.clear();
						truth.clear();
					}
				}
				for (const [day, month] of [
					["2026-12-03", "2026-12"],
					["2026-11-30", "2026-11"],
				]) {
					const all = [...truth.values()];
					const sum = (hs: Hold[], f: (h: Hold) => number) => hs.reduce((a, h) => a + f(h), 0);
					expect(open.tally(day, month)).toEqual({
						images: {
							day: sum(
								all.filter((h) => h.day === day),
								(h) => h.images,
							),
							month: sum(
								all.filter((h) => h.month === month),
								(h) => h.images,
							),
						},
						credits: {
							day: sum(
								all.filter((h) => h.day === day),
								(h) => h.credits,
							),
							month: sum(
								all.filter((h) => h.month === month),
								(h) => h.credits,
							),
						},
						batch: all.filter((h) => h.draft.endpoint.endsWith(":batch")).length,
					});
					expect(open.credits()).toBe(sum(all, (h) => h.credits));
					expect(open.size).toBe(truth.size);
				}
			}),
			{ numRuns: 300 },
		);
	});
});
