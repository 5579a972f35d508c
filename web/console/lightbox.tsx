/**
 * One image at full size over the page: a native <dialog> opened modally, so focus stays
 * inside, Escape closes it and focus returns to what opened it. Download, copy its URL,
 * "Edit this image" (feeds it back to the playground as a reference), and the previous and
 * next image of the same set with the arrow keys.
 */
import { useEffect, useRef, useState } from "preact/hooks";

/** An image the lightbox can show, with what to say about it. */
export interface LightboxImage {
	url: string;
	/** The prompt it was made from, when known. */
	prompt?: string | null;
	/** A short line of facts: model, size, cost. */
	caption?: string;
}

const EDIT_KEY = "nbg-console-edit";

/** Hands an image to the playground as a reference (read once by takeEditImage). */
export function queueEditImage(url: string): void {
	sessionStorage.setItem(EDIT_KEY, url);
}

/** The image queued by queueEditImage, if any (and forgets it). */
export function takeEditImage(): string | null {
	const url = sessionStorage.getItem(EDIT_KEY);
	sessionStorage.removeItem(EDIT_KEY);
	return url;
}

/** The image at `url` as a File, to send as a reference. */
export async function fileOf(url: string): Promise<File> {
	const res = await fetch(url);
	if (!res.ok) throw new Error(`Could not load the image (HTTP ${res.status})`);
	const blob = await res.blob();
	const name = new URL(url, location.href).pathname.split("/").pop() || "image.png";
	return new File([blob], name, { type: blob.type || "image/png" });
}

/** Copies text; falls back to a selected field where the Clipboard API is refused. */
async function copyText(text: string): Promise<boolean> {
	try {
		await navigator.clipboard.writeText(text);
		return true;
	} catch {
		const field = document.createElement("textarea");
		field.value = text;
		field.setAttribute("readonly", "");
		field.style.position = "fixed";
		field.style.opacity = "0";
		document.body.append(field);
		field.select();
		const ok = document.execCommand("copy");
		field.remove();
		return ok;
	}
}

export function Lightbox({
	images,
	index,
	onIndex,
	onClose,
	onEdit,
}: {
	images: LightboxImage[];
	index: number;
	onIndex: (i: number) => void;
	onClose: () => void;
	onEdit: (url: string) => void;
}) {
	const ref = useRef<HTMLDialogElement>(null);
	const [copied, setCopied] = useState<string | null>(null);
	const image = images[index];
	useEffect(() => {
		const dialog = ref.current;
		if (dialog && !dialog.open) dialog.showModal();
	}, []);
	useEffect(() => setCopied(null), [index]);
	if (!image) return null;
	const absolute = new URL(image.url, location.href).href;
	const step = (by: number) => onIndex((index + by + images.length) % images.length);
	const close = () => ref.current?.close();
	return (
		<dialog
			ref={ref}
			class="lightbox"
			aria-label={`Image ${index + 1} of ${images.length}`}
			// Closing the dialog itself (Escape, Close, the backdrop) gives focus back to what opened it.
			onClose={onClose}
			onClick={(e) => {
				if (e.target === ref.current) close();
			}}
			onKeyDown={(e) => {
				if (images.length < 2) return;
				if (e.key === "ArrowRight") step(1);
				if (e.key === "ArrowLeft") step(-1);
			}}
		>
			<div class="lightbox-body">
				<a class="lightbox-full" href={image.url} target="_blank" rel="noreferrer" title="Open at full size in a new tab">
					<img src={image.url} alt={image.prompt ? `Full size: ${image.prompt}` : `Full size image ${index + 1}`} />
				</a>
				<div class="lightbox-side">
					{image.prompt && <p class="lightbox-prompt">{image.prompt}</p>}
					{image.caption && <p class="hint">{image.caption}</p>}
					<div class="lightbox-actions">
						<a class="button" href={image.url} download>
							Download
						</a>
						<button
							type="button"
							onClick={async () => setCopied((await copyText(absolute)) ? "URL copied" : "Copy failed: select the URL below")}
						>
							Copy URL
						</button>
						<button
							type="button"
							onClick={() => {
								close();
								onEdit(image.url);
							}}
						>
							Edit this image
						</button>
						{images.length > 1 && (
							<>
								<button type="button" aria-label="Previous image" onClick={() => step(-1)}>
									←
								</button>
								<button type="button" aria-label="Next image" onClick={() => step(1)}>
									→
								</button>
							</>
						)}
						<button type="button" onClick={close} autofocus>
							Close
						</button>
					</div>
					<p class="hint" role="status">
						{copied ?? ""}
					</p>
					<label for="lightbox-url">Image URL</label>
					<input id="lightbox-url" readOnly value={absolute} onFocus={(e) => e.currentTarget.select()} />
				</div>
			</div>
		</dialog>
	);
}
