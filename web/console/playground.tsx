/**
 * The playground: a prompt, the model's own ratios and sizes (from /v1/models), reference
 * images, the cost before Generate (from /v1/pricing), then live progress and a large
 * preview that opens in a lightbox. Each image shows as it arrives: a sync request without
 * references is one streamed chat completion (same hold and charge as /v1/images/...); with
 * references it is one multipart /v1/images/edits; async queues a job and follows its
 * states. Recent requests stay in the tab. Errors are the API's own messages.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { api, messageOf } from "./api";
import { credits, num, seconds } from "./format";
import { useJobPolling } from "./jobs";
import { fileOf, Lightbox, type LightboxImage, takeEditImage } from "./lightbox";
import { CostLine, History, type HistoryEntry, loadHistory, type PricingView, References, saveHistory, useNow } from "./playground-parts";
import { streamImages } from "./stream";
import type { Account, ImagesResponse, Job, Model, ModelList } from "./types";

/** One of the n images asked for: empty until it arrives. */
interface Slot {
	url?: string;
	afterMs?: number;
}

/** The request in flight or last finished. */
interface Run {
	prompt: string;
	model: string;
	ratio: string;
	size: string;
	n: number;
	startedAt: number;
	endedAt: number | null;
	slots: Slot[];
	charged: number | null;
	remaining: number | null;
	job?: Job;
}

const JOB_STATES: Record<string, string> = {
	CREATED: "queued",
	RUNNING: "running",
	STORING: "storing",
	SUCCEEDED: "done",
	FAILED: "failed",
	CANCELED: "canceled",
};

export function PlaygroundPage({ token }: { token: string }) {
	const [models, setModels] = useState<Model[]>([]);
	const [pricing, setPricing] = useState<PricingView | null>(null);
	const [model, setModel] = useState("nano-banana");
	const [prompt, setPrompt] = useState("");
	const [ratio, setRatio] = useState("");
	const [size, setSize] = useState("");
	const [n, setN] = useState(1);
	const [asyncMode, setAsync] = useState(false);
	const [files, setFiles] = useState<File[]>([]);
	const [error, setError] = useState<string | null>(null);
	const [notice, setNotice] = useState<string | null>(null);
	const [run, setRun] = useState<Run | null>(null);
	const [selected, setSelected] = useState(0);
	const [history, setHistory] = useState<HistoryEntry[]>(loadHistory);
	const [box, setBox] = useState<{ images: LightboxImage[]; index: number } | null>(null);
	const promptRef = useRef<HTMLTextAreaElement>(null);

	useEffect(() => {
		api<ModelList>(token, "/v1/models")
			.then(({ data }) => setModels(data.data.filter((m) => m.lifecycle.status !== "retired")))
			.catch((err) => setError(messageOf(err)));
		api<PricingView>(null, "/v1/pricing")
			.then(({ data }) => setPricing(data))
			.catch((err) => setError(messageOf(err)));
		// An image sent here from the gallery's "Edit this image".
		const queued = takeEditImage();
		if (queued) addReference(queued);
	}, [token]);
	const spec = models.find((m) => m.id === model);

	// An async job's states, and its images once it has succeeded.
	const job = useJobPolling(token, run?.job);
	useEffect(() => {
		if (!job || !run?.job) return;
		const final = job.status === "SUCCEEDED" || job.status === "FAILED" || job.status === "CANCELED";
		if (!final || run.endedAt !== null) return;
		const urls = (job.result?.images ?? []).map((i) => i.url);
		const endedAt = performance.now();
		const done: Run = {
			...run,
			endedAt,
			slots: run.slots.map((s, i) => (urls[i] ? { url: urls[i], afterMs: endedAt - run.startedAt } : s)),
			charged: job.credits_charged,
		};
		setRun(done);
		if (job.status === "FAILED") setError(job.error ? `${job.error.message} (${job.error.code})` : "The job failed");
		if (urls.length > 0) remember(done, urls);
	}, [job?.status]);

	const busy = run !== null && run.endedAt === null;
	const now = useNow(busy);

	function remember(r: Run, urls: string[]) {
		const entry: HistoryEntry = {
			at: new Date().toISOString(),
			prompt: r.prompt,
			model: r.model,
			ratio: r.ratio,
			size: r.size,
			n: r.n,
			urls,
			charged: r.charged,
			ms: (r.endedAt ?? performance.now()) - r.startedAt,
		};
		setHistory((prev) => saveHistory([entry, ...prev]));
	}

	async function addReference(url: string) {
		try {
			const file = await fileOf(url);
			setFiles((prev) => [...prev, file]);
			setNotice(`Added ${file.name} as a reference image: describe the change and Generate.`);
			promptRef.current?.focus();
		} catch (err) {
			setError(messageOf(err));
		}
	}

	const submit = async (e: Event) => {
		e.preventDefault();
		setError(null);
		setNotice(null);
		setSelected(0);
		const count = Math.min(9, Math.max(1, Math.floor(n) || 1));
		const base: Run = {
			prompt,
			model,
			ratio,
			size,
			n: count,
			startedAt: performance.now(),
			endedAt: null,
			slots: Array.from({ length: count }, () => ({})),
			charged: null,
			remaining: null,
		};
		setRun(base);
		const fields: Record<string, string | number | boolean> = { model, prompt, n: count };
		if (ratio) fields.aspect_ratio = ratio;
		if (size) fields.image_size = size;
		const finish = (r: Run, urls: string[]) => {
			setRun(r);
			if (urls.length > 0) remember(r, urls);
		};
		try {
			if (!asyncMode && files.length === 0) {
				// Each image appears the moment the gateway has stored it.
				let current = base;
				const charged = await streamImages(
					token,
					{ model, prompt, n: count, aspectRatio: ratio || undefined, imageSize: size || undefined },
					(a) => {
						const slots = [...current.slots];
						slots[a.index] = { url: a.url, afterMs: a.afterMs };
						current = { ...current, slots };
						setRun(current);
					},
				);
				const account = await api<Account>(token, "/v1/account").catch(() => null);
				const done = { ...current, endedAt: performance.now(), charged, remaining: account?.data.credits ?? null };
				finish(
					done,
					done.slots.flatMap((s) => (s.url ? [s.url] : [])),
				);
				return;
			}
			if (asyncMode) fields.async = true;
			let res: Awaited<ReturnType<typeof api<ImagesResponse | Job>>>;
			if (files.length > 0) {
				// References go as multipart, as the openai SDK sends them.
				const form = new FormData();
				for (const [k, v] of Object.entries(fields)) form.append(k, String(v));
				for (const f of files) form.append("image[]", f, f.name || "pasted.png");
				res = await api<ImagesResponse | Job>(token, "/v1/images/edits", { body: form });
			} else {
				res = await api<ImagesResponse | Job>(token, "/v1/images/generations", { body: fields });
			}
			const remainingHeader = res.headers.get("x-credits-remaining");
			const remaining = remainingHeader === null ? null : Number(remainingHeader);
			if (res.status === 202) {
				setRun({ ...base, remaining, job: res.data as Job });
				return;
			}
			const urls = (res.data as ImagesResponse).data.flatMap((d) => (d.url ? [d.url] : []));
			const endedAt = performance.now();
			const charged = res.headers.get("x-credits-charged");
			finish(
				{
					...base,
					endedAt,
					slots: base.slots.map((s, i) => (urls[i] ? { url: urls[i], afterMs: endedAt - base.startedAt } : s)),
					charged: charged === null ? null : Number(charged),
					remaining,
				},
				urls,
			);
		} catch (err) {
			setError(messageOf(err));
			setRun((r) => (r ? { ...r, endedAt: performance.now() } : r));
		}
	};

	const arrived = (run?.slots ?? []).flatMap((s, i) => (s.url ? [{ url: s.url, index: i }] : []));
	const shown = arrived[Math.min(selected, arrived.length - 1)];
	// The clock ticks from before the run started: never show a negative time.
	const elapsed = run ? Math.max(0, (run.endedAt ?? now) - run.startedAt) : 0;
	const lightboxOf = (r: { prompt: string; model: string; size: string; ratio: string }, urls: string[], charged: number | null) =>
		urls.map((url) => ({
			url,
			prompt: r.prompt,
			caption: `${r.model} · ${r.ratio || "default ratio"} · ${r.size || "default size"}${charged === null ? "" : ` · ${credits(charged / urls.length)} each`}`,
		}));
	const openRun = (index: number) => {
		if (!run) return;
		setBox({
			images: lightboxOf(
				run,
				arrived.map((a) => a.url),
				run.charged,
			),
			index,
		});
	};

	return (
		<div class="playground">
			<form onSubmit={submit} class="panel">
				<label for="prompt">Prompt</label>
				<textarea
					id="prompt"
					ref={promptRef}
					required
					rows={4}
					value={prompt}
					onInput={(e) => setPrompt(e.currentTarget.value)}
					onKeyDown={(e) => {
						// Ctrl/Cmd+Enter generates from the prompt, as in other playgrounds.
						if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) e.currentTarget.form?.requestSubmit();
					}}
					placeholder="a nano banana on a plate"
				/>
				<div class="row">
					<div>
						<label for="model">Model</label>
						<select
							id="model"
							value={model}
							onChange={(e) => {
								setModel(e.currentTarget.value);
								setRatio("");
								setSize("");
							}}
						>
							<optgroup label="Aliases">
								{models
									.filter((m) => m.kind === "alias")
									.map((m) => (
										<option key={m.id} value={m.id}>
											{m.id}
										</option>
									))}
							</optgroup>
							<optgroup label="Gemini ids">
								{models
									.filter((m) => m.kind !== "alias")
									.map((m) => (
										<option key={m.id} value={m.id}>
											{m.id}
											{m.deprecated ? " (deprecated)" : ""}
										</option>
									))}
							</optgroup>
						</select>
					</div>
					<div>
						<label for="ratio">Aspect ratio</label>
						<select id="ratio" value={ratio} onChange={(e) => setRatio(e.currentTarget.value)}>
							<option value="">model default</option>
							{(spec?.aspect_ratios ?? []).map((r) => (
								<option key={r} value={r}>
									{r}
								</option>
							))}
						</select>
					</div>
					<div>
						<label for="size">Size</label>
						<select
							id="size"
							value={size}
							onChange={(e) => setSize(e.currentTarget.value)}
							disabled={(spec?.image_sizes.length ?? 0) === 0}
						>
							<option value="">
								{spec?.default_image_size
									? `default (${spec.default_image_size})`
									: (spec?.image_sizes.length ?? 0) === 0
										? "fixed (~1K)"
										: "default"}
							</option>
							{(spec?.image_sizes ?? []).map((s) => (
								<option key={s} value={s}>
									{s}
								</option>
							))}
						</select>
					</div>
					<div>
						<label for="n">Images (n)</label>
						<input id="n" type="number" min={1} max={9} value={n} onInput={(e) => setN(Number(e.currentTarget.value))} />
					</div>
				</div>
				<CostLine pricing={pricing} spec={spec} size={size} n={n} references={files.length} />
				{spec && <p class="hint">Up to {num(spec.max_input_images)} reference images.</p>}
				<References files={files} setFiles={setFiles} />
				<label class="check">
					<input type="checkbox" checked={asyncMode} onChange={(e) => setAsync(e.currentTarget.checked)} /> Async (queue a job and follow
					it)
				</label>
				<button type="submit" disabled={busy}>
					{busy ? "Generating…" : "Generate"}
				</button>
			</form>
			<section class="results" aria-label="Results">
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
				{run && (
					<p class="progress" role="status" data-testid="progress">
						{busy ? "Generating" : "Finished"}: {num(arrived.length)} of {num(run.n)} image{run.n === 1 ? "" : "s"} · {seconds(elapsed)}
						{job ? ` · job ${JOB_STATES[job.status] ?? job.status}` : ""}
					</p>
				)}
				{job && (
					<p class="status">
						Job <code>{job.id}</code>: <strong>{job.status}</strong>
					</p>
				)}
				{run && run.charged !== null && (
					<p class="charged">
						Credits charged: <strong>{num(run.charged)}</strong>
						{run.remaining === null ? "" : ` · remaining ${num(run.remaining)}`}
					</p>
				)}
				{shown && (
					<button
						type="button"
						class="preview"
						aria-label={`Open image ${shown.index + 1} full size`}
						onClick={() => openRun(arrived.indexOf(shown))}
					>
						<img src={shown.url} alt={`Result ${shown.index + 1} for: ${run?.prompt}`} />
					</button>
				)}
				{run && (
					<ol class="thumbs" aria-label="Images of this request">
						{run.slots.map((s, i) => (
							<li key={i} class={s.url ? "arrived" : "waiting"}>
								{s.url ? (
									<>
										<button
											type="button"
											class="thumb"
											aria-pressed={shown?.index === i}
											aria-label={`Show image ${i + 1}`}
											onClick={() => setSelected(arrived.findIndex((a) => a.index === i))}
										>
											<img src={s.url} alt="" />
										</button>
										<span class="hint">
											{i + 1}: {seconds(s.afterMs ?? 0)} ·{" "}
											<a href={s.url} download>
												Download image {i + 1}
											</a>
										</span>
									</>
								) : (
									<span class="placeholder">{busy ? `Image ${i + 1}: on its way…` : `Image ${i + 1}: not delivered`}</span>
								)}
							</li>
						))}
					</ol>
				)}
				<History
					entries={history}
					onReuse={(e) => {
						setPrompt(e.prompt);
						if (models.some((m) => m.id === e.model)) setModel(e.model);
						setRatio(e.ratio);
						setSize(e.size);
						setN(e.n);
						promptRef.current?.focus();
					}}
					onOpen={(e, i) => setBox({ images: lightboxOf(e, e.urls, e.charged), index: i })}
				/>
			</section>
			{box && (
				<Lightbox
					images={box.images}
					index={box.index}
					onIndex={(i) => setBox({ ...box, index: i })}
					onClose={() => setBox(null)}
					onEdit={(url) => void addReference(url)}
				/>
			)}
		</div>
	);
}
