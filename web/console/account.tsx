/**
 * The key's account: balance and limits, usage by day and by model over the last 30
 * days as charts, its jobs with live status, and its content pipelines.
 */
import { useEffect, useState } from "preact/hooks";
import { api, messageOf } from "./api";
import { BarChart } from "./charts";
import { credits, dateTime, num } from "./format";
import { isFinal, useJobList } from "./jobs";
import type { Account, PipelineList, UsagePage } from "./types";

export function daysAgo(n: number): string {
	return new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
}

export function AccountPage({ token }: { token: string }) {
	const [account, setAccount] = useState<Account | null>(null);
	const [usage, setUsage] = useState<UsagePage | null>(null);
	const [pipelines, setPipelines] = useState<PipelineList | null>(null);
	const [error, setError] = useState<string | null>(null);
	const { jobs, error: jobsError } = useJobList(token);
	useEffect(() => {
		const fail = (err: unknown) => setError(messageOf(err));
		api<Account>(token, "/v1/account").then(({ data }) => setAccount(data), fail);
		api<UsagePage>(token, `/v1/usage?limit=1&from=${daysAgo(29)}`).then(({ data }) => setUsage(data), fail);
		api<PipelineList>(token, "/v1/pipelines").then(({ data }) => setPipelines(data), fail);
	}, [token]);
	return (
		<div class="stack">
			{error && (
				<p role="alert" class="error">
					{error}
				</p>
			)}
			{account && (
				<section class="panel" aria-label="Balance and limits">
					<dl class="facts">
						<div>
							<dt>Balance</dt>
							<dd data-testid="balance">{credits(account.credits)}</dd>
						</div>
						<div>
							<dt>Held by running requests</dt>
							<dd>{credits(account.reserved_credits)}</dd>
						</div>
						<div>
							<dt>Today</dt>
							<dd>
								{num(account.usage?.today.images ?? 0)} images, {credits(account.usage?.today.credits ?? 0)}
							</dd>
						</div>
						<div>
							<dt>This month</dt>
							<dd>
								{num(account.usage?.this_month.images ?? 0)} images, {credits(account.usage?.this_month.credits ?? 0)}
							</dd>
						</div>
						{account.limits &&
							Object.entries(account.limits).map(([k, v]) => (
								<div key={k}>
									<dt>{k.replaceAll("_", " ")}</dt>
									<dd>{num(v)}</dd>
								</div>
							))}
					</dl>
				</section>
			)}
			{usage && (
				<section class="charts" aria-label="Usage in the last 30 days">
					<BarChart
						title="Images by day (last 30 days)"
						data={usage.aggregates.by_day.map((d) => ({ label: d.day?.slice(5) ?? "", value: d.images }))}
					/>
					<BarChart
						title="Credits by model (last 30 days)"
						data={usage.aggregates.by_model.map((d) => ({ label: d.model ?? "", value: d.credits }))}
					/>
				</section>
			)}
			<section aria-label="Jobs">
				<h2>Async jobs</h2>
				{jobsError ? (
					<p role="alert" class="error">
						{messageOf(jobsError)}
					</p>
				) : null}
				{jobs.length === 0 ? (
					<p>No async jobs yet.</p>
				) : (
					<div class="table-wrap">
						<table>
							<thead>
								<tr>
									<th>Job</th>
									<th>Status</th>
									<th>Model</th>
									<th>n</th>
									<th>Created</th>
									<th>Credits</th>
								</tr>
							</thead>
							<tbody>
								{jobs.map((j) => (
									<tr key={j.id}>
										<td>
											<code>{j.id}</code>
										</td>
										<td class={isFinal(j) ? "" : "live"}>{j.status}</td>
										<td>{j.model}</td>
										<td>{j.n}</td>
										<td>{dateTime(j.created_at)}</td>
										<td>{j.credits_charged === null ? "—" : num(j.credits_charged)}</td>
									</tr>
								))}
							</tbody>
						</table>
					</div>
				)}
			</section>
			<section aria-label="Pipelines">
				<h2>Content pipelines</h2>
				{pipelines && pipelines.data.length === 0 && <p>No pipelines (create them with POST /v1/pipelines).</p>}
				{pipelines && pipelines.data.length > 0 && (
					<div class="table-wrap">
						<table>
							<thead>
								<tr>
									<th>Name</th>
									<th>Schedule</th>
									<th>Model</th>
									<th>Enabled</th>
									<th>Runs</th>
									<th>Next run</th>
								</tr>
							</thead>
							<tbody>
								{pipelines.data.map((p) => (
									<tr key={p.id}>
										<td>{p.name}</td>
										<td>
											<code>{p.schedule}</code>
										</td>
										<td>{p.model}</td>
										<td>{p.enabled ? "yes" : "no"}</td>
										<td>{p.runs}</td>
										<td>{p.next_run_at ? new Date(p.next_run_at).toLocaleString() : "—"}</td>
									</tr>
								))}
							</tbody>
						</table>
					</div>
				)}
			</section>
		</div>
	);
}
