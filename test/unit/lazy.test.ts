import { describe, expect, it } from "vitest";
import { z } from "zod";
import { lazy } from "../../src/lib/lazy";

describe("lazy", () => {
	it("builds nothing until first asked, then once: every caller shares one value", () => {
		let builds = 0;
		const schema = lazy(() => {
			builds++;
			return z.object({ n: z.number() });
		});
		expect(builds).toBe(0);
		const first = schema();
		expect(schema()).toBe(first);
		expect(builds).toBe(1);
		expect(first.parse({ n: 1 })).toEqual({ n: 1 });
	});

	it("a build that throws is tried again on the next call (nothing half-built is kept)", () => {
		let calls = 0;
		const value = lazy(() => {
			calls++;
			if (calls === 1) throw new Error("not yet");
			return calls;
		});
		expect(() => value()).toThrow("not yet");
		expect(value()).toBe(2);
		expect(value()).toBe(2);
	});
});
