/**
 * The key's past images, newest first, from its usage rows (each lists the URLs of the
 * images it delivered and the prompt that asked for them). Pages hold the same number of
 * images whatever each request made: rows are read ahead until a page is full. Each card
 * shows its own share of the request's charge. Filters: model and dates (UTC days, as
 * /v1/usage takes them). A card opens in the lightbox.
 */
import { useEffect, useState } from "preact/hooks";
import { api, messageOf } from "./api";
import { credits, dateTime } from "./format";
import { Lightbox, type LightboxImage, queueEditImage } from "./lightbox";
import type { UsagePage } from "./types";

const PAGE = 12;
const ROWS_PER_READ = 50;

type Row = UsagePage["data"][number];

/** One image of a usage row, with its share of the row's charge. */
interface Card {
	url: string;
	/** A 256-px WebP made on the fly (GET /images/{key}?thumb); the card links the full image. */
	thumb: string;
	row: Row;
	/** credits_charged / images_delivered: the request's charge divided evenly over its images. */
	share: number;
}

/** What has been read so far for the current filters. */
interface Loaded {
	/** The filters these cards were read with. */
	filters: string;
	cards: Card[];
	cursor: string | null;
	more: boolean;
}

const EMPTY: Loaded = { filters: JSON.stringify(["", "", ""]), cards: [], cursor: null, more: true };

function cardsOf(rows: Row[]): Card[] {
	return rows.flatMap((row) =>
		row.image_urls.map((url, i) => ({
			url,
			thumb: row.thumbnail_urls[i] ?? url,
			row,
			share: row.credits_charged / Math.max(1, row.images_delivered),
		})),
	);
}

/** The card's cost: whole credits as they are, an uneven share to two places with "≈". */
function shareText(share: number): string {
	const rounded = Math.round(share * 100) / 100;
	return `${rounded === share ? "" : "≈ "}${credits(rounded)}`;
}

/** Opens the playground (the app's router listens to popstate). */
function toPlayground() {
	history.pushState(null, "", "/console/");
	dispatchEvent(new PopStateEvent("popstate"));
}

export function GalleryPage({ token }: { token: string }) {
	const [model, setModel] = useState("");
	const [from, setFrom] = useState("");
	const [to, setTo] = useState("");
	const [models, setModels] = useState<string[]>([]);
	const [loaded, setLoaded] = useState<Loaded>(EMPTY);
	const [page, setPage] = useState(0);
	const [loading, setLoading] = useState(false);
	const [error, setError] = useState<string | null>(null);
	const [box, setBox] = useState<number | null>(null);

	const filters = JSON.stringify([model, from, to]);
	// A change of filters starts again from the newest.
	useEffect(() => {
		setLoaded({ ...EMPTY, filters });
		setPage(0);
	}, [filters]);

	// Read rows until this page is full or there are none left (one read at a time).
	useEffect(() => {
		const need = (page + 1) * PAGE;
		if (loading || loaded.filters !== filters || loaded.cards.length >= need || !loaded.more) return;
		setLoading(true);
		setError(null);
		const q = new URLSearchParams({ limit: String(ROWS_PER_READ) });
		if (loaded.cursor) q.set("cursor", loaded.cursor);
		if (model) q.set("model", model);
		if (from) q.set("from", from);
		if (to) q.set("to", to);
		// Results for filters that have changed meanwhile are dropped.
		const keep = (prev: Loaded) => prev.filters === filters && prev.cursor === loaded.cursor;
		api<UsagePage>(token, `/v1/usage?${q}`)
			.then(({ data }) => {
				if (!model && !from && !to) setModels(data.aggregates.by_model.flatMap((a) => (a.model ? [a.model] : [])));
				setLoaded((prev) =>
					keep(prev)
						? { filters, cards: [...prev.cards, ...cardsOf(data.data)], cursor: data.next_cursor ?? null, more: data.has_more }
						: prev,
				);
			})
			.catch((err) => {
				setError(messageOf(err));
				setLoaded((prev) => (keep(prev) ? { ...prev, more: false } : prev));
			})
			.finally(() => setLoading(false));
	}, [token, page, loaded, loading, filters]);

	const cards = loaded.cards.slice(page * PAGE, (page + 1) * PAGE);
	const hasNext = loaded.cards.length > (page + 1) * PAGE || loaded.more;
	const images: LightboxImage[] = cards.map((c) => ({
		url: c.url,
		prompt: c.row.prompt,
		caption: `${c.row.model} · ${c.row.aspect_ratio ?? "default ratio"} · ${c.row.image_size ?? "default size"} · ${shareText(c.share)} · ${dateTime(c.row.created_at)}`,
	}));
	const settled = !loading && (loaded.cards.length >= (page + 1) * PAGE || !loaded.more);

	return (
		<section aria-label="Past images">
			<form class="filters" aria-label="Filter images" onSubmit={(e) => e.preventDefault()}>
				<div>
					<label for="g-model">Model</label>
					<select id="g-model" value={model} onChange={(e) => setModel(e.currentTarget.value)}>
						<option value="">all models</option>
						{[...new Set([...models, ...(model ? [model] : [])])].map((m) => (
							<option key={m} value={m}>
								{m}
							</option>
						))}
					</select>
				</div>
				<div>
					<label for="g-from">From (UTC day)</label>
					<input id="g-from" type="date" value={from} max={to || undefined} onChange={(e) => setFrom(e.currentTarget.value)} />
				</div>
				<div>
					<label for="g-to">To (UTC day)</label>
					<input id="g-to" type="date" value={to} min={from || undefined} onChange={(e) => setTo(e.currentTarget.value)} />
				</div>
			</form>
			{error && (
				<p role="alert" class="error">
					{error}
				</p>
			)}
			{settled && cards.length === 0 && (
				<p>No images {page === 0 ? (model || from || to ? "match these filters" : "yet: make one in the playground") : "on this page"}.</p>
			)}
			<div class="grid gallery">
				{cards.map((c, i) => (
					<figure key={c.url} data-created={c.row.created_at}>
						<button type="button" class="thumb" aria-label={`Open image ${i + 1} full size`} onClick={() => setBox(i)}>
							<img src={c.thumb} alt={c.row.prompt ?? `${c.row.model}, ${c.row.created_at}`} loading="lazy" />
						</button>
						<figcaption>
							<span class="card-prompt">{c.row.prompt ?? "(prompt not recorded)"}</span>
							<span>
								{c.row.model} · {c.row.aspect_ratio ?? "default ratio"} · {c.row.image_size ?? "default size"}
							</span>
							<span>
								<strong data-testid="card-cost">{shareText(c.share)}</strong>
								{c.row.images_delivered > 1 ? ` (1 of ${c.row.images_delivered}, ${credits(c.row.credits_charged)} in all)` : ""}
							</span>
							<span>
								{dateTime(c.row.created_at)} ·{" "}
								<a href={c.url} download>
									download
								</a>
							</span>
						</figcaption>
					</figure>
				))}
			</div>
			<nav class="pager" aria-label="Gallery pages">
				<button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
					Newer
				</button>
				<span>Page {page + 1}</span>
				<button type="button" disabled={!hasNext || loading} onClick={() => setPage(page + 1)}>
					Older
				</button>
			</nav>
			{box !== null && (
				<Lightbox
					images={images}
					index={box}
					onIndex={setBox}
					onClose={() => setBox(null)}
					onEdit={(url) => {
						queueEditImage(url);
						toPlayground();
					}}
				/>
			)}
		</section>
	);
}
