/**
 * The playground: a prompt, the model's own options (from /v1/models), reference images
 * by upload, drag and drop or paste, sync or async; results as images with download
 * links and the credits they cost. Errors are the API's own messages.
 */
import { useEffect, useState } from "preact/hooks";
import { api, messageOf } from "./api";
import { useJobPolling } from "./jobs";
import type { ImagesResponse, Job, Model, ModelList } from "./types";

interface Outcome {
	urls: string[];
	charged: string | null;
	remaining: string | null;
	job?: Job;
}

function References({ files, setFiles }: { files: File[]; setFiles: (update: (prev: File[]) => File[]) => void }) {
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

export function PlaygroundPage({ token }: { token: string }) {
	const [models, setModels] = useState<Model[]>([]);
	const [model, setModel] = useState("nano-banana");
	const [prompt, setPrompt] = useState("");
	const [ratio, setRatio] = useState("");
	const [size, setSize] = useState("");
	const [n, setN] = useState(1);
	const [asyncMode, setAsync] = useState(false);
	const [files, setFiles] = useState<File[]>([]);
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState<string | null>(null);
	const [outcome, setOutcome] = useState<Outcome | null>(null);

	useEffect(() => {
		api<ModelList>(token, "/v1/models")
			.then(({ data }) => setModels(data.data.filter((m) => m.lifecycle.status !== "retired")))
			.catch((err) => setError(messageOf(err)));
	}, [token]);
	const spec = models.find((m) => m.id === model);

	// An async job finishing fills in the results.
	const job = useJobPolling(token, outcome?.job);
	const urls = job?.status === "SUCCEEDED" ? (job.result?.images ?? []).map((i) => i.url) : (outcome?.urls ?? []);
	const charged = job ? (job.credits_charged === null ? null : String(job.credits_charged)) : (outcome?.charged ?? null);

	const submit = async (e: Event) => {
		e.preventDefault();
		setBusy(true);
		setError(null);
		setOutcome(null);
		const fields: Record<string, string | number | boolean> = { model, prompt, n };
		if (ratio) fields.aspect_ratio = ratio;
		if (size) fields.image_size = size;
		if (asyncMode) fields.async = true;
		try {
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
			const remaining = res.headers.get("x-credits-remaining");
			if (res.status === 202) setOutcome({ urls: [], charged: null, remaining, job: res.data as Job });
			else {
				const data = res.data as ImagesResponse;
				setOutcome({ urls: data.data.flatMap((d) => (d.url ? [d.url] : [])), charged: res.headers.get("x-credits-charged"), remaining });
			}
		} catch (err) {
			setError(messageOf(err));
		} finally {
			setBusy(false);
		}
	};

	return (
		<div class="playground">
			<form onSubmit={submit} class="panel">
				<label for="prompt">Prompt</label>
				<textarea
					id="prompt"
					required
					rows={4}
					value={prompt}
					onInput={(e) => setPrompt(e.currentTarget.value)}
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
				{spec && (
					<p class="hint">
						Price:{" "}
						{Object.entries(spec.prices ?? {})
							.map(([s, p]) => `${s} ${p}`)
							.join(", ")}{" "}
						credits per image; up to {spec.max_input_images} reference images.
					</p>
				)}
				<References files={files} setFiles={setFiles} />
				<label class="check">
					<input type="checkbox" checked={asyncMode} onChange={(e) => setAsync(e.currentTarget.checked)} /> Async (queue a job and follow
					it)
				</label>
				<button type="submit" disabled={busy}>
					{busy ? "Generating…" : "Generate"}
				</button>
			</form>
			<section class="results" aria-live="polite" aria-label="Results">
				{error && (
					<p role="alert" class="error">
						{error}
					</p>
				)}
				{job && (
					<p class="status">
						Job {job.id}: <strong>{job.status}</strong>
					</p>
				)}
				{job?.status === "FAILED" && (
					<p role="alert" class="error">
						{job.error ? `${job.error.message} (${job.error.code})` : "The job failed"}
					</p>
				)}
				{charged !== null && (
					<p class="charged">
						Credits charged: <strong>{charged}</strong>
						{outcome?.remaining ? ` · remaining ${outcome.remaining}` : ""}
					</p>
				)}
				<div class="grid">
					{urls.map((u, i) => (
						<figure key={u}>
							<img src={u} alt={`Result ${i + 1} for: ${prompt}`} />
							<figcaption>
								<a href={u} download>
									Download image {i + 1}
								</a>
							</figcaption>
						</figure>
					))}
				</div>
			</section>
		</div>
	);
}
