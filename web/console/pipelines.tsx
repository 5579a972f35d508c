/**
 * The key's content pipelines: create, edit, pause or resume, run now, and each one's runs
 * with their images and failures. The schedule helper builds the cron expression from a
 * repeat and a time, and shows the next five runs in the owner's chosen time zone as the
 * gateway computes them (GET /v1/pipelines/schedule), so what is shown is what will run.
 */

import { useEffect, useState } from "preact/hooks";
import type { z } from "zod";
import type * as R from "../../src/openapi/responses";
import { api, messageOf } from "./api";
import type { ModelList } from "./types";

type Pipeline = z.infer<typeof R.Pipeline>;
type Run = z.infer<typeof R.PipelineRun>;
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

interface Draft {
	name: string;
	prompt_template: string;
	schedule: string;
	timezone: string;
	model: string;
	n: number;
	enabled: boolean;
}

const EMPTY: Draft = {
	name: "",
	prompt_template: "",
	schedule: "0 9 * * *",
	timezone: HOME_ZONE,
	model: "nano-banana",
	n: 1,
	enabled: true,
};

/** The schedule helper: repeat + time build the cron; the gateway previews the next five runs. */
function ScheduleHelper({ token, draft, set }: { token: string; draft: Draft; set: (d: Partial<Draft>) => void }) {
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

function PipelineForm({
	token,
	editing,
	models,
	onSaved,
	onCancel,
}: {
	token: string;
	editing: Pipeline | null;
	models: string[];
	onSaved: (p: Pipeline) => void;
	onCancel: () => void;
}) {
	const [draft, setDraft] = useState<Draft>(() =>
		editing
			? {
					name: editing.name,
					prompt_template: editing.prompt_template,
					schedule: editing.schedule,
					timezone: editing.timezone,
					model: editing.model,
					n: editing.n,
					enabled: editing.enabled,
				}
			: EMPTY,
	);
	const [error, setError] = useState<string | null>(null);
	const [busy, setBusy] = useState(false);
	const set = (d: Partial<Draft>) => setDraft((old) => ({ ...old, ...d }));
	const submit = async (e: Event) => {
		e.preventDefault();
		setBusy(true);
		setError(null);
		try {
			const { data } = editing
				? await api<Pipeline>(token, `/v1/pipelines/${encodeURIComponent(editing.id)}`, { method: "PATCH", body: draft })
				: await api<Pipeline>(token, "/v1/pipelines", { body: draft });
			onSaved(data);
		} catch (err) {
			setError(messageOf(err));
		} finally {
			setBusy(false);
		}
	};
	return (
		<form class="panel" onSubmit={submit} aria-label={editing ? `Edit ${editing.name}` : "New pipeline"}>
			<h2>{editing ? `Edit ${editing.name}` : "New pipeline"}</h2>
			<label for="pl-name">Name</label>
			<input id="pl-name" required value={draft.name} onInput={(e) => set({ name: e.currentTarget.value })} />
			<label for="pl-template">Prompt template</label>
			<textarea
				id="pl-template"
				required
				rows={3}
				value={draft.prompt_template}
				onInput={(e) => set({ prompt_template: e.currentTarget.value })}
				aria-describedby="pl-template-hint"
			/>
			<p id="pl-template-hint" class="hint">
				{"{{date}}"} and {"{{weekday}}"} are the run's day in the pipeline's time zone.
			</p>
			<div class="row">
				<div>
					<label for="pl-model">Model</label>
					<select id="pl-model" value={draft.model} onChange={(e) => set({ model: e.currentTarget.value })}>
						{(models.includes(draft.model) ? models : [draft.model, ...models]).map((m) => (
							<option key={m} value={m}>
								{m}
							</option>
						))}
					</select>
				</div>
				<div>
					<label for="pl-n">Images per run</label>
					<input id="pl-n" type="number" min={1} max={4} value={draft.n} onInput={(e) => set({ n: Number(e.currentTarget.value) })} />
				</div>
			</div>
			<ScheduleHelper token={token} draft={draft} set={set} />
			<label class="check">
				<input type="checkbox" checked={draft.enabled} onChange={(e) => set({ enabled: e.currentTarget.checked })} /> Enabled (runs on its
				schedule)
			</label>
			{error && (
				<p role="alert" class="error">
					{error}
				</p>
			)}
			<div class="row buttons">
				<button type="submit" disabled={busy}>
					{editing ? "Save pipeline" : "Create pipeline"}
				</button>
				<button type="button" class="link" onClick={onCancel}>
					Cancel
				</button>
			</div>
		</form>
	);
}

function Runs({ token, p, version }: { token: string; p: Pipeline; version: number }) {
	const [runs, setRuns] = useState<Run[] | null>(null);
	const [error, setError] = useState<string | null>(null);
	useEffect(() => {
		let stop = false;
		let timer: ReturnType<typeof setTimeout> | undefined;
		const load = () =>
			api<{ data: Run[] }>(token, `/v1/pipelines/${encodeURIComponent(p.id)}/runs`).then(
				({ data }) => {
					if (stop) return;
					setRuns(data.data);
					// Followed while a run is still on its way.
					if (data.data.some((r) => r.status === "queued" || r.status === "running")) timer = setTimeout(load, 1000);
				},
				(err) => setError(messageOf(err)),
			);
		void load();
		return () => {
			stop = true;
			clearTimeout(timer);
		};
	}, [token, p.id, version]);
	return (
		<section class="panel" aria-label={`Runs of ${p.name}`}>
			<h2>Runs of {p.name}</h2>
			{error && (
				<p role="alert" class="error">
					{error}
				</p>
			)}
			{runs?.length === 0 && <p>No runs yet.</p>}
			{runs && runs.length > 0 && (
				<div class="table-wrap">
					<table aria-label={`Runs of ${p.name}`}>
						<thead>
							<tr>
								<th scope="col">Slot</th>
								<th scope="col">Status</th>
								<th scope="col">Credits</th>
								<th scope="col">Images or reason</th>
							</tr>
						</thead>
						<tbody>
							{runs.map((r) => (
								<tr key={r.id} data-run-status={r.status}>
									<td>
										<time dateTime={r.slot}>{inZone(r.slot, p.timezone)}</time>
									</td>
									<td class={r.status === "failed" || r.status === "skipped" ? "bad" : undefined}>{r.status}</td>
									<td>{r.credits_charged ?? 0}</td>
									<td>
										{r.reason && <span class="reason">{r.reason}</span>}
										<span class="run-images">
											{r.images.map((u, i) => (
												<a key={u} href={u} target="_blank" rel="noreferrer">
													<img src={u} alt={`Run result ${i + 1}: ${r.prompt ?? ""}`} />
												</a>
											))}
										</span>
									</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			)}
		</section>
	);
}

export function PipelinesPage({ token }: { token: string }) {
	const [list, setList] = useState<Pipeline[] | null>(null);
	const [models, setModels] = useState<string[]>([]);
	const [form, setForm] = useState<{ editing: Pipeline | null } | null>(null);
	const [shown, setShown] = useState<string | null>(null);
	const [version, setVersion] = useState(0);
	const [error, setError] = useState<string | null>(null);
	const [notice, setNotice] = useState<string | null>(null);
	const refresh = () =>
		api<{ data: Pipeline[] }>(token, "/v1/pipelines").then(
			({ data }) => setList(data.data),
			(err) => setError(messageOf(err)),
		);
	useEffect(() => {
		void refresh();
		api<ModelList>(token, "/v1/models").then(
			({ data }) => setModels(data.data.filter((m) => m.kind === "alias" && !m.deprecated).map((m) => m.id)),
			(err) => setError(messageOf(err)),
		);
	}, [token]);
	const act = async (fn: () => Promise<string>) => {
		setError(null);
		try {
			setNotice(await fn());
			await refresh();
			setVersion((v) => v + 1);
		} catch (err) {
			setError(messageOf(err));
		}
	};
	const path = (p: Pipeline) => `/v1/pipelines/${encodeURIComponent(p.id)}`;
	const shownPipeline = list?.find((p) => p.id === shown) ?? null;
	return (
		<div class="stack pipelines">
			<div class="row">
				<button type="button" onClick={() => setForm({ editing: null })} aria-expanded={form?.editing === null}>
					New pipeline
				</button>
			</div>
			{form && (
				<PipelineForm
					key={form.editing?.id ?? "new"}
					token={token}
					editing={form.editing}
					models={models}
					onCancel={() => setForm(null)}
					onSaved={(p) => {
						setForm(null);
						setNotice(`Saved ${p.name}`);
						setShown(p.id);
						void refresh();
					}}
				/>
			)}
			{notice && (
				<p class="notice" role="status">
					{notice}
				</p>
			)}
			{error && (
				<p role="alert" class="error">
					{error}
				</p>
			)}
			{list?.length === 0 && <p>No pipelines yet.</p>}
			{list && list.length > 0 && (
				<div class="table-wrap">
					<table aria-label="Pipelines">
						<thead>
							<tr>
								<th scope="col">Name</th>
								<th scope="col">Schedule</th>
								<th scope="col">Next run</th>
								<th scope="col">Runs</th>
								<th scope="col">Actions</th>
							</tr>
						</thead>
						<tbody>
							{list.map((p) => (
								<tr key={p.id} data-pipeline-id={p.id}>
									<td>{p.name}</td>
									<td>
										<code>{p.schedule}</code> {p.timezone}
									</td>
									<td>{p.enabled ? (p.next_run_at ? inZone(p.next_run_at, p.timezone) : "—") : "paused"}</td>
									<td>{p.runs}</td>
									<td class="actions">
										{/* Short visible words; the accessible name says which pipeline (and starts with them). */}
										<button type="button" aria-label={`Edit ${p.name}`} onClick={() => setForm({ editing: p })}>
											Edit
										</button>
										<button
											type="button"
											aria-label={`${p.enabled ? "Pause" : "Resume"} ${p.name}`}
											onClick={() =>
												void act(async () => {
													await api(token, path(p), { method: "PATCH", body: { enabled: !p.enabled } });
													return `${p.name} ${p.enabled ? "paused" : "resumed"}`;
												})
											}
										>
											{p.enabled ? "Pause" : "Resume"}
										</button>
										<button
											type="button"
											aria-label={`Run now: ${p.name}`}
											onClick={() =>
												void act(async () => {
													const { status } = await api<Run>(token, `${path(p)}/run`, { method: "POST" });
													setShown(p.id);
													return status === 202 ? `${p.name}: run started` : `${p.name}: already ran this minute`;
												})
											}
										>
											Run now
										</button>
										<button
											type="button"
											aria-label={`Runs of ${p.name}`}
											aria-expanded={shown === p.id}
											onClick={() => setShown(shown === p.id ? null : p.id)}
										>
											Runs
										</button>
									</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			)}
			{shownPipeline && <Runs token={token} p={shownPipeline} version={version} />}
		</div>
	);
}
