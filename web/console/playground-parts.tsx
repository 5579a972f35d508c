/**
 * The playground's pieces: reference images (upload, drop, paste), the cost of the request
 * before it is sent, and the tab's recent history.
 */
import { useEffect, useState } from "preact/hooks";
import { credits, num, seconds, usd } from "./format";
import type { Model } from "./types";

/** What /v1/pricing says (the parts the console reads). */
export interface PricingView {
	credit_usd: number;
	rules: { charge: string; hold: string; margin_percent: number };
	data: Array<{ model: string; prices: Record<string, number>; default_image_size: string | null }>;
}

/** The size a request is priced at: the one asked for, else the model's default, else its only price. */
export function pricedSize(spec: Model | undefined, size: string): string | null {
	if (size) return size;
	if (spec?.default_image_size) return spec.default_image_size;
	const keys = Object.keys(spec?.prices ?? {});
	return keys.length === 1 ? keys[0] : (keys[0] ?? null);
}

/** The price of one image of `spec` at `size`: /v1/pricing's for an alias, the model list's for a raw id (priced like its alias). */
export function priceOf(pricing: PricingView | null, spec: Model | undefined, size: string): number | null {
	const at = pricedSize(spec, size);
	if (!spec || !at) return null;
	const listed = pricing?.data.find((p) => p.model === spec.id)?.prices[at];
	return listed ?? spec.prices?.[at] ?? null;
}

/**
 * The request's cost before Generate. The charge is max(n x price, Google's token bill x
 * (1 + margin)): the price part is exact; the token part depends on the answer, so it is said,
 * not guessed. References add input tokens to that bill, never to the price.
 */
export function CostLine({
	pricing,
	spec,
	size,
	n,
	references,
}: {
	pricing: PricingView | null;
	spec: Model | undefined;
	size: string;
	n: number;
	references: number;
}) {
	const price = priceOf(pricing, spec, size);
	if (!spec || price === null) return <p class="cost">Price: loading…</p>;
	const count = Number.isFinite(n) && n > 0 ? Math.floor(n) : 1;
	const total = price * count;
	return (
		<div class="cost" aria-live="polite">
			<p data-testid="cost">
				Cost:{" "}
				<strong>
					{count} × {num(price)} = {credits(total)}
				</strong>
				{pricing ? ` (${usd(total, pricing.credit_usd)})` : ""} at {pricedSize(spec, size)}
			</p>
			<p class="hint">
				That is the charge unless Google's token bill for the answers
				{references > 0 ? `, which counts the ${num(references)} reference image${references === 1 ? "" : "s"} as input,` : ""} comes to
				more; the most it can cost is held first and the rest released. Failed or refused images cost nothing.
			</p>
		</div>
	);
}

/** A finished request, kept in this tab (sessionStorage) so its prompt and images stay at hand. */
export interface HistoryEntry {
	at: string;
	prompt: string;
	model: string;
	ratio: string;
	size: string;
	n: number;
	urls: string[];
	charged: number | null;
	ms: number;
}

const HISTORY_KEY = "nbg-console-history";
const HISTORY_MAX = 20;

export function loadHistory(): HistoryEntry[] {
	try {
		return JSON.parse(sessionStorage.getItem(HISTORY_KEY) ?? "[]") as HistoryEntry[];
	} catch {
		return [];
	}
}

export function saveHistory(entries: HistoryEntry[]): HistoryEntry[] {
	const kept = entries.slice(0, HISTORY_MAX);
	sessionStorage.setItem(HISTORY_KEY, JSON.stringify(kept));
	return kept;
}

export function History({
	entries,
	onReuse,
	onOpen,
}: {
	entries: HistoryEntry[];
	onReuse: (e: HistoryEntry) => void;
	onOpen: (e: HistoryEntry, index: number) => void;
}) {
	if (entries.length === 0) return null;
	return (
		<section class="history" aria-label="Recent in this tab">
			<h2>Recent in this tab</h2>
			<ol>
				{entries.map((e) => (
					<li key={e.at}>
						<div class="history-thumbs">
							{e.urls.map((u, i) => (
								<button
									key={u}
									type="button"
									class="thumb"
									aria-label={`Open image ${i + 1} of "${e.prompt}"`}
									onClick={() => onOpen(e, i)}
								>
									<img src={u} alt="" loading="lazy" />
								</button>
							))}
						</div>
						<div>
							<p class="history-prompt">{e.prompt}</p>
							<p class="hint">
								{e.model} · {e.ratio || "default ratio"} · {e.size || "default size"} · {num(e.urls.length)} of {num(e.n)} ·{" "}
								{e.charged === null ? "charge pending" : credits(e.charged)} · {seconds(e.ms)}
							</p>
							<button type="button" class="link" onClick={() => onReuse(e)}>
								Use this prompt again
							</button>
						</div>
					</li>
				))}
			</ol>
		</section>
	);
}

/** The clock (performance.now()), refreshed ten times a second while `running`. */
export function useNow(running: boolean): number {
	const [now, setNow] = useState(() => performance.now());
	useEffect(() => {
		if (!running) return;
		setNow(performance.now());
		const timer = setInterval(() => setNow(performance.now()), 100);
		return () => clearInterval(timer);
	}, [running]);
	return now;
}

/** Reference images: choose, drop on the zone, or paste anywhere on the page. */
export function References({ files, setFiles }: { files: File[]; setFiles: (update: (prev: File[]) => File[]) => void }) {
	const [over, setOver] = useState(false);
	const add = (list: FileList | null | undefined) => {
		const images = [...(list ?? [])].filter((f) => f.type.startsWith("image/") || f.type === "");
		// From the latest state, not this render's: a drop and a paste may land before a re-render.
		if (images.length > 0) setFiles((prev) => [...prev, ...images]);
	};
	useEffect(() => {
		// Paste anywhere on the page adds the pasted images.
		const onPaste = (e: ClipboardEvent) => add(e.clipboardData?.files);
		addEventListener("paste", onPaste);
		return () => removeEventListener("paste", onPaste);
	});
	return (
		<fieldset
			class={`drop${over ? " over" : ""}`}
			onDragOver={(e) => {
				e.preventDefault();
				setOver(true);
			}}
			onDragLeave={() => setOver(false)}
			onDrop={(e) => {
				e.preventDefault();
				setOver(false);
				add(e.dataTransfer?.files);
			}}
		>
			<label for="refs">Reference images (optional): choose, drop here, or paste</label>
			<input id="refs" type="file" accept="image/*" multiple onChange={(e) => add(e.currentTarget.files)} />
			{files.length > 0 && (
				<ul class="refs" aria-label="Chosen reference images">
					{files.map((f, i) => (
						<li key={`${f.name}-${i}`}>
							{f.name || "pasted image"} ({Math.ceil(f.size / 1024)} KiB)
							<button
								type="button"
								class="link"
								aria-label={`Remove ${f.name || "pasted image"}`}
								onClick={() => setFiles((prev) => prev.filter((_, j) => j !== i))}
							>
								remove
							</button>
						</li>
					))}
				</ul>
			)}
		</fieldset>
	);
}
