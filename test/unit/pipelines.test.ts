import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/errors";
import { checkTemplate, longestRendering, nextSlot, parseSchedule, renderTemplate } from "../../src/jobs/pipelines";

const codeOf = (fn: () => unknown) => {
	try {
		fn();
	} catch (e) {
		return e instanceof ApiError ? `${e.param}:${e.code}` : String(e);
	}
	return "ok";
};

describe("templates", () => {
	it("fills date, weekday and variables; a list rotates one value per run", () => {
		const monday = new Date("2026-11-23T09:00:00Z");
		const vars = { topic: ["bananas", "kiwis", "figs"], style: "watercolor" };
		const tpl = "Cover for {{date}} ({{ weekday }}): {{topic}} in {{style}}";
		expect([0, 1, 2, 3].map((seq) => renderTemplate(tpl, vars, monday, seq))).toEqual([
			"Cover for 2026-11-23 (Monday): bananas in watercolor",
			"Cover for 2026-11-23 (Monday): kiwis in watercolor",
			"Cover for 2026-11-23 (Monday): figs in watercolor",
			"Cover for 2026-11-23 (Monday): bananas in watercolor",
		]);
	});

	it("refuses unknown variables, naming the field", () => {
		expect(codeOf(() => checkTemplate("{{date}} {{topic}}", { topic: "x" }))).toBe("ok");
		expect(codeOf(() => checkTemplate("{{date}} {{topik}}", { topic: "x" }))).toBe("prompt_template:unknown_template_variable");
	});
});

describe("schedules", () => {
	it("accepts 5-field cron at or above the minimum interval and computes the next slot in UTC", () => {
		expect(codeOf(() => parseSchedule("0 9 * * 1-5", 15))).toBe("ok");
		expect(codeOf(() => parseSchedule("*/15 * * * *", 15))).toBe("ok");
		expect(nextSlot("0 9 * * *", new Date("2026-11-22T10:00:00Z"))).toBe("2026-11-23T09:00:00.000Z");
		expect(nextSlot("0 9 * * *", new Date("2026-11-23T08:59:30Z"))).toBe("2026-11-23T09:00:00.000Z");
	});

	it("refuses invalid, 6-field and too frequent schedules", () => {
		expect(codeOf(() => parseSchedule("61 * * * *", 15))).toBe("schedule:invalid_schedule");
		expect(codeOf(() => parseSchedule("0 0 9 * * *", 15))).toBe("schedule:invalid_schedule");
		expect(codeOf(() => parseSchedule("not a cron", 15))).toBe("schedule:invalid_schedule");
		expect(codeOf(() => parseSchedule("* * * * *", 15))).toBe("schedule:schedule_too_frequent");
		expect(codeOf(() => parseSchedule("0,5 * * * *", 15))).toBe("schedule:schedule_too_frequent");
	});
});

describe("the longest rendering", () => {
	it("fills each placeholder with its longest value: a list's longest entry, Wednesday, a 10-character date", () => {
		const vars = { topic: ["fig", "bananas", "kiwi"], style: "ink" };
		expect(longestRendering("{{date}} {{ weekday }}: {{topic}} in {{style}}", vars)).toBe("0000-00-00 Wednesday: bananas in ink");
		// Every run's rendering is at most as long.
		const monday = new Date("2026-11-23T09:00:00Z");
		for (let seq = 0; seq < 3; seq++) {
			const r = renderTemplate("{{date}} {{ weekday }}: {{topic}} in {{style}}", vars, monday, seq);
			expect(r.length).toBeLessThanOrEqual(longestRendering("{{date}} {{ weekday }}: {{topic}} in {{style}}", vars).length);
		}
	});
});
