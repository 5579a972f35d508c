/**
 * The operator's view of the service: usage by key, model and day (last 30 days),
 * success rate and p50/p95 latency over a chosen window, and the model catalog's health
 * against what Gemini serves.
 */
import { useEffect, useState } from "preact/hooks";
import { daysAgo } from "./account";
import { api, messageOf } from "./api";
import { BarChart, LineChart } from "./charts";
import type { AdminUsage, CatalogHealth, HealthReport, KeyList, Stats } from "./types";

const WINDOWS = ["1h", "24h", "7d", "30d"] as const;

function bucketLabel(iso: string, window: string): string {
	const d = new Date(iso);
	return window === "1h" || window === "24h" ? d.toISOString().slice(11, 16) : d.toISOString().slice(5, 10);
}

export function OperatorStatsPage({ token }: { token: string }) {
	const [usage, setUsage] = useState<AdminUsage | null>(null);
	const [names, setNames] = useState<Map<string, string>>(new Map());
	const [window, setWindow] = useState<(typeof WINDOWS)[number]>("24h");
	const [stats, setStats] = useState<Stats | null>(null);
	const [catalog, setCatalog] = useState<CatalogHealth | null>(null);
	const [health, setHealth] = useState<HealthReport | null>(null);
	const [error, setError] = useState<string | null>(null);
	const fail = (err: unknown) => setError(messageOf(err));
	useEffect(() => {
		api<AdminUsage>(token, `/admin/usage?from=${daysAgo(29)}`).then(({ data }) => setUsage(data), fail);
		api<KeyList>(token, "/admin/keys?limit=200").then(({ data }) => setNames(new Map(data.data.map((k) => [k.id, k.name]))), fail);
		api<CatalogHealth>(token, "/admin/catalog").then(({ data }) => setCatalog(data), fail);
		api<HealthReport>(token, "/admin/health", { accept: [503] }).then(({ data }) => setHealth(data), fail);
	}, [token]);
	useEffect(() => {
		api<Stats>(token, `/admin/stats?window=${window}`).then(({ data }) => setStats(data), fail);
	}, [token, window]);
	const labels = (stats?.series ?? []).map((p) => bucketLabel(p.start, window));
	return (
		<div class="stack">
			{error && (
				<p role="alert" class="error">
					{error}
				</p>
			)}
			{usage && (
				<section aria-label="Usage in the last 30 days">
					<h2>Usage, last 30 days</h2>
					<p>
						{usage.total.requests} requests, {usage.total.images} images, {usage.total.credits.toLocaleString()} credits,{" "}
						{usage.total.failed} failed
					</p>
					<p data-testid="google-cost">
						Google billed {Math.ceil(usage.total.google_cost).toLocaleString()} credits for them: margin{" "}
						{(usage.total.credits - Math.ceil(usage.total.google_cost)).toLocaleString()} credits
					</p>
					<table aria-label="Charged and Google's cost by model">
						<thead>
							<tr>
								<th scope="col">Model</th>
								<th scope="col">Charged</th>
								<th scope="col">Google's cost</th>
								<th scope="col">Margin</th>
							</tr>
						</thead>
						<tbody>
							{usage.by_model.map((m) => (
								<tr key={m.model}>
									<td>{m.model}</td>
									<td>{m.credits.toLocaleString()}</td>
									<td>{Math.ceil(m.google_cost).toLocaleString()}</td>
									<td>{(m.credits - Math.ceil(m.google_cost)).toLocaleString()}</td>
								</tr>
							))}
						</tbody>
					</table>
					<div class="charts">
						<LineChart
							title="Charged and Google's cost by day (credits)"
							labels={usage.by_day.map((d) => d.day?.slice(5) ?? "")}
							lines={[
								{ name: "Charged", values: usage.by_day.map((d) => d.credits) },
								{ name: "Google's cost", values: usage.by_day.map((d) => Math.ceil(d.google_cost)) },
							]}
						/>
						<BarChart
							title="Credits by key"
							data={usage.by_key.map((d) => ({ label: names.get(d.key_id ?? "") ?? d.key_id ?? "", value: d.credits }))}
						/>
						<BarChart title="Images by model" data={usage.by_model.map((d) => ({ label: d.model ?? "", value: d.images }))} />
						<BarChart title="Requests by day" data={usage.by_day.map((d) => ({ label: d.day?.slice(5) ?? "", value: d.requests }))} />
					</div>
				</section>
			)}
			<section aria-label="Health over time">
				<h2>Success rate and latency</h2>
				<label for="window">Window</label>{" "}
				<select id="window" class="inline" value={window} onChange={(e) => setWindow(e.currentTarget.value as (typeof WINDOWS)[number])}>
					{WINDOWS.map((w) => (
						<option key={w} value={w}>
							{w}
						</option>
					))}
				</select>
				{stats && (
					<>
						<p>
							{stats.requests} requests, success rate {stats.success_rate === null ? "—" : `${(stats.success_rate * 100).toFixed(1)}%`}, p50{" "}
							{stats.latency_ms.p50 ?? "—"} ms, p95 {stats.latency_ms.p95 ?? "—"} ms, {stats.safety_blocks} safety blocks
						</p>
						<div class="charts">
							<LineChart
								title="Success rate"
								unit="%"
								max={100}
								labels={labels}
								lines={[
									{
										name: "success %",
										values: stats.series.map((p) => (p.success_rate === null ? null : Math.round(p.success_rate * 1000) / 10)),
									},
								]}
							/>
							<LineChart
								title="Latency (ms)"
								labels={labels}
								lines={[
									{ name: "p50", values: stats.series.map((p) => p.p50_ms) },
									{ name: "p95", values: stats.series.map((p) => p.p95_ms) },
								]}
							/>
						</div>
					</>
				)}
			</section>
			{health && (
				<section aria-label="Service health">
					<h2>Service health: {health.ok ? "all dependencies answer" : "something is failing"}</h2>
					<div class="table-wrap">
						<table>
							<thead>
								<tr>
									<th>Dependency</th>
									<th>State</th>
									<th>Time</th>
									<th>Detail</th>
								</tr>
							</thead>
							<tbody>
								{Object.entries(health.checks).map(([name, c]) => (
									<tr key={name}>
										<td>{name.replace("_", " ")}</td>
										<td class={c.ok ? "" : "bad"}>{c.ok ? "ok" : "failing"}</td>
										<td>{c.ms} ms</td>
										<td>{c.error ?? ""}</td>
									</tr>
								))}
							</tbody>
						</table>
					</div>
				</section>
			)}
			{catalog && (
				<section aria-label="Catalog health">
					<h2>Catalog health</h2>
					<p>
						Upstream {catalog.upstream}; last discovery:{" "}
						{catalog.last_check
							? `${new Date(catalog.last_check.at).toLocaleString()} (${catalog.last_check.ok ? "ok" : `failed: ${catalog.last_check.error}`})`
							: "never"}
					</p>
					<div class="table-wrap">
						<table>
							<thead>
								<tr>
									<th>Alias</th>
									<th>Resolves to</th>
									<th>Chain</th>
									<th>Lifecycle</th>
								</tr>
							</thead>
							<tbody>
								{catalog.aliases.map((a) => (
									<tr key={a.alias}>
										<td>{a.alias}</td>
										<td>
											<code>{a.resolves_to}</code>
										</td>
										<td>
											{a.chain.map((c) => `${c.id}${c.gone ? " (gone)" : c.seen_upstream === false ? " (not listed)" : ""}`).join(" → ")}
										</td>
										<td>{a.lifecycle.status}</td>
									</tr>
								))}
							</tbody>
						</table>
					</div>
				</section>
			)}
		</div>
	);
}
