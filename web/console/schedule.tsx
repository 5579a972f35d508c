/**
 * The pipelines page's schedule helper: a repeat and a local time build the cron expression
 * (any expression can be typed instead), in a time zone of the owner's choice, and the next
 * five runs are shown as the gateway computes them (GET /v1/pipelines/schedule), so what is
 * shown is what will run, daylight saving included.
 */

import { useEffect, useState } from "preact/hooks";
import type { z } from "zod";
import type * as R from "../../src/openapi/responses";
import { api, messageOf } from "./api";

type Preview = z.infer<typeof R.SchedulePreview>;

/** Zones the browser knows, UTC first (Chromium's list leaves UTC out). */
function zones(): string[] {
	const all = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
	return ["UTC", ...all.filter((z) => z !== "UTC")];
}

const HOME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/** An instant as a wall-clock time in `zone` (24-hour, with the zone's abbreviation). */
export function inZone(iso: string, zone: string): string {
	return new Intl.DateTimeFormat("en-GB", {
		timeZone: zone,
		weekday: "short",
		day: "numeric",
		month: "short",
		year: "numeric",
		hour: "2-digit",
		minute: "2-digit",
		hourCycle: "h23",
		timeZoneName: "short",
	}).format(new Date(iso));
}

const REPEATS = [
	{ id: "daily", label: "Every day", cron: (h: number, m: number) => `${m} ${h} * * *` },
	{ id: "weekdays", label: "Monday to Friday", cron: (h: number, m: number) => `${m} ${h} * * 1-5` },
	{ id: "monday", label: "Every Monday", cron: (h: number, m: number) => `${m} ${h} * * 1` },
	{ id: "first", label: "First day of the month", cron: (h: number, m: number) => `${m} ${h} 1 * *` },
	{ id: "custom", label: "Custom (cron)", cron: null },
] as const;

/** The repeat and time a cron expression was built from, when it is one the helper builds. */
function recognise(schedule: string): { repeat: string; time: string } {
	const m = /^(\d{1,2}) (\d{1,2}) (.+)$/.exec(schedule.trim());
	if (m) {
		const [mm, hh] = [Number(m[1]), Number(m[2])];
		const time = `${String(hh).padStart(2, "0")}:${String(mm).padStart(2, "0")}`;
		const rule = REPEATS.find((r) => r.cron && r.cron(hh, mm) === schedule.trim());
		if (rule && hh < 24 && mm < 60) return { repeat: rule.id, time };
	}
	return { repeat: "custom", time: "09:00" };
}

/** The fields of the pipeline form. */
export interface Draft {
	name: string;
	prompt_template: string;
	schedule: string;
	timezone: string;
	model: string;
	n: number;
	enabled: boolean;
}

/** A new pipeline: every day at 09:00 in the browser's own zone. */
export const EMPTY: Draft = {
	name: "",
	prompt_template: "",
	schedule: "0 9 * * *",
	timezone: HOME_ZONE,
	model: "nano-banana",
	n: 1,
	enabled: true,
};

/** The schedule helper: repeat + time build the cron; the gateway previews the next five runs. */
/** The schedule fieldset of the pipeline form. */
export function ScheduleHelper({ token, draft, set }: { token: string; draft: Draft; set: (d: Partial<Draft>) => void }) {
	// A schedule the helper could have built opens in the helper; anything else as custom cron.
	const [initial] = useState(() => recognise(draft.schedule));
	const [repeat, setRepeat] = useState<string>(initial.repeat);
	const [time, setTime] = useState(initial.time);
	const [preview, setPreview] = useState<Preview | null>(null);
	const [problem, setProblem] = useState<string | null>(null);
	const [allZones] = useState(zones);
	useEffect(() => {
		// Debounced: typing a cron expression asks once it settles.
		const t = setTimeout(() => {
			const q = new URLSearchParams({ schedule: draft.schedule, timezone: draft.timezone });
			api<Preview>(token, `/v1/pipelines/schedule?${q}`).then(
				({ data }) => {
					setPreview(data);
					setProblem(null);
				},
				(err) => {
					setPreview(null);
					setProblem(messageOf(err));
				},
			);
		}, 300);
		return () => clearTimeout(t);
	}, [token, draft.schedule, draft.timezone]);
	const apply = (r: string, t: string) => {
		const rule = REPEATS.find((x) => x.id === r);
		const [h, m] = t.split(":").map(Number);
		if (rule?.cron && Number.isInteger(h) && Number.isInteger(m)) set({ schedule: rule.cron(h, m) });
	};
	return (
		<fieldset class="schedule">
			<legend>Schedule</legend>
			<div class="row">
				<div>
					<label for="pl-repeat">Repeat</label>
					<select
						id="pl-repeat"
						value={repeat}
						onChange={(e) => {
							setRepeat(e.currentTarget.value);
							apply(e.currentTarget.value, time);
						}}
					>
						{REPEATS.map((r) => (
							<option key={r.id} value={r.id}>
								{r.label}
							</option>
						))}
					</select>
				</div>
				<div>
					<label for="pl-time">At (local time)</label>
					<input
						id="pl-time"
						type="time"
						value={time}
						disabled={repeat === "custom"}
						onInput={(e) => {
							setTime(e.currentTarget.value);
							apply(repeat, e.currentTarget.value);
						}}
					/>
				</div>
				<div>
					<label for="pl-timezone">Time zone</label>
					<select id="pl-timezone" value={draft.timezone} onChange={(e) => set({ timezone: e.currentTarget.value })}>
						{(allZones.includes(draft.timezone) ? allZones : [draft.timezone, ...allZones]).map((z) => (
							<option key={z} value={z}>
								{z}
							</option>
						))}
					</select>
				</div>
			</div>
			<label for="pl-schedule">Cron expression (minute hour day month weekday)</label>
			<input
				id="pl-schedule"
				required
				value={draft.schedule}
				onInput={(e) => {
					setRepeat("custom");
					set({ schedule: e.currentTarget.value });
				}}
				aria-describedby="pl-next"
			/>
			<div id="pl-next" aria-live="polite">
				{problem && <p class="error">{problem}</p>}
				{preview && (
					<>
						<p class="hint">Next five runs ({draft.timezone}):</p>
						<ol class="next-runs" aria-label="Next five runs">
							{preview.next_runs.map((r) => (
								<li key={r}>
									<time dateTime={r}>{inZone(r, draft.timezone)}</time>
								</li>
							))}
						</ol>
					</>
				)}
			</div>
		</fieldset>
	);
}
