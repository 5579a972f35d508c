/**
 * The key's content pipelines: create, edit, pause or resume, run now, and each one's runs
 * with their images and failures. The schedule helper (schedule.tsx) shows the next five
 * runs in the owner's chosen time zone.
 */

import { useEffect, useState } from "preact/hooks";
import type { z } from "zod";
import type * as R from "../../src/openapi/responses";
import { api, messageOf } from "./api";
import { type Draft, EMPTY, inZone, ScheduleHelper } from "./schedule";
import type { ModelList } from "./types";

type Pipeline = z.infer<typeof R.Pipeline>;
type Run = z.infer<typeof R.PipelineRun>;

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
