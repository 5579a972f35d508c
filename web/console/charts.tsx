/**
 * Two small SVG charts, drawn by hand: bars for totals by day, model or key, and lines
 * for a series over time. Each is a labelled figure (role="img" with a text summary)
 * and carries a visually hidden table of its numbers for screen readers.
 */

export interface Bar {
	label: string;
	value: number;
}

const W = 560;
const H = 200;
const PAD = { left: 48, right: 8, top: 10, bottom: 40 };

function niceMax(v: number): number {
	if (v <= 0) return 1;
	const p = 10 ** Math.floor(Math.log10(v));
	return Math.ceil(v / p) * p;
}

function Axis({ max, unit }: { max: number; unit: string }) {
	const ticks = [0, max / 2, max];
	return (
		<g class="axis">
			{ticks.map((t) => {
				const y = PAD.top + (H - PAD.top - PAD.bottom) * (1 - t / max);
				return (
					<g key={t}>
						<line x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} />
						<text x={PAD.left - 6} y={y + 4} text-anchor="end">
							{formatNumber(t)}
							{unit}
						</text>
					</g>
				);
			})}
		</g>
	);
}

export function formatNumber(n: number): string {
	return n >= 10_000 ? `${Math.round(n / 1000)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(Math.round(n * 100) / 100);
}

function HiddenTable({ head, rows }: { head: string[]; rows: Array<Array<string | number>> }) {
	return (
		<table class="sr-only">
			<thead>
				<tr>
					{head.map((h) => (
						<th key={h}>{h}</th>
					))}
				</tr>
			</thead>
			<tbody>
				{rows.map((r) => (
					<tr key={String(r[0])}>
						{r.map((v, i) => (
							<td key={`${r[0]}-${i}`}>{v}</td>
						))}
					</tr>
				))}
			</tbody>
		</table>
	);
}

export function BarChart({ title, data, unit = "" }: { title: string; data: Bar[]; unit?: string }) {
	if (data.length === 0) return <EmptyChart title={title} />;
	const max = niceMax(Math.max(...data.map((d) => d.value)));
	const inner = W - PAD.left - PAD.right;
	const step = inner / data.length;
	const bw = Math.max(2, step * 0.7);
	const total = data.reduce((s, d) => s + d.value, 0);
	const every = Math.ceil(data.length / 8);
	return (
		<figure class="chart">
			<figcaption>{title}</figcaption>
			<svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: ${data.length} bars, total ${formatNumber(total)}${unit}`}>
				<Axis max={max} unit={unit} />
				{data.map((d, i) => {
					const h = ((H - PAD.top - PAD.bottom) * d.value) / max;
					const x = PAD.left + i * step + (step - bw) / 2;
					return (
						<g key={d.label}>
							<rect class="bar" x={x} y={H - PAD.bottom - h} width={bw} height={h}>
								<title>{`${d.label}: ${d.value}${unit}`}</title>
							</rect>
							{i % every === 0 && (
								<text class="label" x={x + bw / 2} y={H - PAD.bottom + 14} text-anchor="middle">
									{d.label.length > 16 ? `${d.label.slice(0, 15)}…` : d.label}
								</text>
							)}
						</g>
					);
				})}
			</svg>
			<HiddenTable head={["", "value"]} rows={data.map((d) => [d.label, d.value])} />
		</figure>
	);
}

export interface Line {
	name: string;
	values: Array<number | null>;
}

export function LineChart({
	title,
	labels,
	lines,
	unit = "",
	max,
}: {
	title: string;
	labels: string[];
	lines: Line[];
	unit?: string;
	max?: number;
}) {
	const all = lines.flatMap((l) => l.values.filter((v): v is number => v !== null));
	if (all.length === 0) return <EmptyChart title={title} />;
	const top = max ?? niceMax(Math.max(...all));
	const inner = W - PAD.left - PAD.right;
	const x = (i: number) => PAD.left + (labels.length > 1 ? (inner * i) / (labels.length - 1) : inner / 2);
	const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / top);
	const every = Math.ceil(labels.length / 6);
	return (
		<figure class="chart">
			<figcaption>
				{title}
				{lines.map((l, i) => (
					<span key={l.name} class={`legend s${i}`}>
						{l.name}
					</span>
				))}
			</figcaption>
			<svg
				viewBox={`0 0 ${W} ${H}`}
				role="img"
				aria-label={`${title}: ${lines.map((l) => l.name).join(", ")} over ${labels.length} points`}
			>
				<Axis max={top} unit={unit} />
				{labels.map((l, i) =>
					i % every === 0 ? (
						<text key={l} class="label" x={x(i)} y={H - PAD.bottom + 14} text-anchor="middle">
							{l}
						</text>
					) : null,
				)}
				{lines.map((l, li) => {
					// Gaps (null: no successful request in the bucket) break the line.
					const d = l.values
						.map((v, i) => (v === null ? "" : `${i === 0 || l.values[i - 1] === null ? "M" : "L"}${x(i).toFixed(1)},${y(v).toFixed(1)}`))
						.join("");
					return (
						<g key={l.name} class={`series s${li}`}>
							<path d={d} />
							{l.values.map((v, i) => (v === null ? null : <circle key={labels[i]} cx={x(i)} cy={y(v)} r={2.5} />))}
						</g>
					);
				})}
			</svg>
			<HiddenTable head={["", ...lines.map((l) => l.name)]} rows={labels.map((lab, i) => [lab, ...lines.map((l) => l.values[i] ?? "")])} />
		</figure>
	);
}

function EmptyChart({ title }: { title: string }) {
	return (
		<figure class="chart empty">
			<figcaption>{title}</figcaption>
			<p>No data yet.</p>
		</figure>
	);
}
