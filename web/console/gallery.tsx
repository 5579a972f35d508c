/**
 * The key's past images, newest first, from its usage rows (each lists the URLs of the
 * images it delivered), a page of requests at a time.
 */
import { useEffect, useState } from "preact/hooks";
import { api, messageOf } from "./api";
import type { UsagePage } from "./types";

const PAGE = 12;

export function GalleryPage({ token }: { token: string }) {
	// Cursors of the pages seen so far: [undefined] is the first page.
	const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
	const [page, setPage] = useState<UsagePage | null>(null);
	const [error, setError] = useState<string | null>(null);
	const cursor = cursors[cursors.length - 1];
	useEffect(() => {
		setError(null);
		const q = new URLSearchParams({ limit: String(PAGE) });
		if (cursor) q.set("cursor", cursor);
		api<UsagePage>(token, `/v1/usage?${q}`)
			.then(({ data }) => setPage(data))
			.catch((err) => setError(messageOf(err)));
	}, [token, cursor]);
	const images = (page?.data ?? []).flatMap((row) => row.image_urls.map((url) => ({ url, row })));
	return (
		<section aria-label="Past images">
			{error && (
				<p role="alert" class="error">
					{error}
				</p>
			)}
			{page && images.length === 0 && <p>No images on this page{cursors.length === 1 ? " yet: make one in the playground" : ""}.</p>}
			<div class="grid gallery">
				{images.map(({ url, row }) => (
					<figure key={url}>
						<a href={url} target="_blank" rel="noreferrer">
							<img src={url} alt={`${row.model}, ${row.created_at}`} loading="lazy" />
						</a>
						<figcaption>
							{row.model} · {row.aspect_ratio ?? "default"} · {new Date(row.created_at).toLocaleString()} · {row.credits_charged} credits ·{" "}
							<a href={url} download>
								download
							</a>
						</figcaption>
					</figure>
				))}
			</div>
			<nav class="pager" aria-label="Gallery pages">
				<button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
					Newer
				</button>
				<span>Page {cursors.length}</span>
				<button type="button" disabled={!page?.has_more} onClick={() => page?.next_cursor && setCursors([...cursors, page.next_cursor])}>
					Older
				</button>
			</nav>
		</section>
	);
}
