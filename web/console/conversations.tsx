/**
 * Conversations: the key's conversations (GET /v1/conversations, paged), a new one with its
 * model, and one conversation continued turn by turn. The first turn may start from an
 * uploaded image (an edit) or from words alone (a generation); every later turn edits the
 * last result, which the gateway keeps with the conversation. The stored turns are shown
 * as text with their image counts (their images stay private); the images made in this tab
 * are shown beside the turn that made them.
 */

import { useEffect, useState } from "preact/hooks";
import type { z } from "zod";
import type * as R from "../../src/openapi/responses";
import { api, messageOf } from "./api";
import type { ImagesResponse, ModelList } from "./types";

type Listed = z.infer<typeof R.ConversationList>["data"][number];
type Detail = z.infer<typeof R.ConversationDetail>;

/** What this tab made in a conversation: the instruction, and the image and cost it gave. */
interface Made {
	prompt: string;
	url: string;
	charged: string | null;
}

function Conversation({ token, id, onTurn }: { token: string; id: string; onTurn: () => void }) {
	const [detail, setDetail] = useState<Detail | null>(null);
	const [made, setMade] = useState<Made[]>([]);
	const [prompt, setPrompt] = useState("");
	const [file, setFile] = useState<File | null>(null);
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState<string | null>(null);
	const load = () =>
		api<Detail>(token, `/v1/conversations/${encodeURIComponent(id)}`).then(
			({ data }) => setDetail(data),
			(err) => setError(messageOf(err)),
		);
	useEffect(() => {
		setMade([]);
		void load();
	}, [token, id]);
	const send = async (e: Event) => {
		e.preventDefault();
		if (!detail) return;
		setBusy(true);
		setError(null);
		try {
			// An image or an earlier turn: an edit. Words alone on the first turn: a generation.
			const edit = file !== null || detail.turns > 0;
			let res: Awaited<ReturnType<typeof api<ImagesResponse>>>;
			if (file) {
				const form = new FormData();
				form.append("prompt", prompt);
				form.append("conversation_id", id);
				form.append("image[]", file, file.name || "image.png");
				res = await api<ImagesResponse>(token, "/v1/images/edits", { body: form });
			} else {
				res = await api<ImagesResponse>(token, edit ? "/v1/images/edits" : "/v1/images/generations", {
					body: { prompt, conversation_id: id },
				});
			}
			const url = res.data.data.find((d) => d.url)?.url;
			if (url) setMade((m) => [...m, { prompt, url, charged: res.headers.get("x-credits-charged") }]);
			setPrompt("");
			setFile(null);
			await load();
			onTurn();
		} catch (err) {
			setError(messageOf(err));
		} finally {
			setBusy(false);
		}
	};
	if (!detail)
		return error ? (
			<p role="alert" class="error">
				{error}
			</p>
		) : (
			<p>Loading…</p>
		);
	return (
		<section class="panel conversation" aria-label={`Conversation ${id}`}>
			<h2>
				Conversation <code>{id}</code> · {detail.model} · {detail.turns} {detail.turns === 1 ? "turn" : "turns"}
			</h2>
			{detail.contents.length === 0 && <p>No turns yet: describe an image, or upload one and say what to change.</p>}
			<ol class="turns" aria-label="Turns">
				{detail.contents.map((t) => (
					<li key={t.index} class={`turn ${t.role}`}>
						<strong>{t.role === "user" ? "You" : "Model"}:</strong> {t.text || (t.images > 0 ? "" : "(no text)")}
						{t.images > 0 && <span class="hint"> · {t.images === 1 ? "1 image" : `${t.images} images`}</span>}
					</li>
				))}
			</ol>
			{made.length > 0 && (
				<section class="grid made" aria-label="Made in this tab">
					{made.map((m, i) => (
						<figure key={m.url}>
							<img src={m.url} alt={`Turn ${i + 1}: ${m.prompt}`} />
							<figcaption>
								{m.prompt}
								{m.charged && ` · ${m.charged} credits`} ·{" "}
								<a href={m.url} download>
									Download
								</a>
							</figcaption>
						</figure>
					))}
				</section>
			)}
			<form onSubmit={send} aria-label="Next turn">
				<label for="cv-prompt">{detail.turns === 0 ? "First instruction" : "Next instruction"}</label>
				<textarea id="cv-prompt" required rows={2} value={prompt} onInput={(e) => setPrompt(e.currentTarget.value)} />
				{detail.turns === 0 && (
					<>
						<label for="cv-image">Start from an image (optional)</label>
						<input id="cv-image" type="file" accept="image/*" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
					</>
				)}
				{error && (
					<p role="alert" class="error">
						{error}
					</p>
				)}
				<button type="submit" disabled={busy}>
					{busy ? "Working…" : detail.turns === 0 ? "Start" : "Continue editing"}
				</button>
			</form>
		</section>
	);
}

export function ConversationsPage({ token }: { token: string }) {
	const [items, setItems] = useState<Listed[]>([]);
	const [cursor, setCursor] = useState<string | null>(null);
	const [models, setModels] = useState<string[]>([]);
	const [model, setModel] = useState("nano-banana");
	const [open, setOpen] = useState<string | null>(null);
	const [error, setError] = useState<string | null>(null);
	const page = async (after: string | null) => {
		try {
			const q = new URLSearchParams({ limit: "20", ...(after ? { cursor: after } : {}) });
			const { data } = await api<z.infer<typeof R.ConversationList>>(token, `/v1/conversations?${q}`);
			setItems((old) => (after ? [...old, ...data.data] : data.data));
			setCursor(data.next_cursor);
		} catch (err) {
			setError(messageOf(err));
		}
	};
	useEffect(() => {
		void page(null);
		api<ModelList>(token, "/v1/models").then(
			({ data }) => setModels(data.data.filter((m) => m.kind === "alias" && !m.deprecated).map((m) => m.id)),
			(err) => setError(messageOf(err)),
		);
	}, [token]);
	const create = async (e: Event) => {
		e.preventDefault();
		setError(null);
		try {
			const { data } = await api<{ id: string }>(token, "/v1/conversations", { body: { model } });
			await page(null);
			setOpen(data.id);
		} catch (err) {
			setError(messageOf(err));
		}
	};
	return (
		<div class="stack conversations">
			<form class="panel row" onSubmit={create} aria-label="New conversation">
				<div>
					<label for="cv-model">Model</label>
					<select id="cv-model" value={model} onChange={(e) => setModel(e.currentTarget.value)}>
						{(models.includes(model) ? models : [model, ...models]).map((m) => (
							<option key={m} value={m}>
								{m}
							</option>
						))}
					</select>
				</div>
				<button type="submit">New conversation</button>
			</form>
			{error && (
				<p role="alert" class="error">
					{error}
				</p>
			)}
			{items.length === 0 && <p>No conversations yet.</p>}
			{items.length > 0 && <h2>Your conversations</h2>}
			{items.length > 0 && (
				<ul class="conversation-list" aria-label="Conversations">
					{items.map((c) => (
						<li key={c.id}>
							<button type="button" class="link" aria-current={open === c.id ? "true" : undefined} onClick={() => setOpen(c.id)}>
								{c.model}, {c.turns} {c.turns === 1 ? "turn" : "turns"}, {new Date(c.updated_at).toLocaleString("en-GB")}
							</button>
						</li>
					))}
				</ul>
			)}
			{cursor && (
				<button type="button" onClick={() => void page(cursor)}>
					More conversations
				</button>
			)}
			{open && <Conversation key={open} token={token} id={open} onTurn={() => void page(null)} />}
		</div>
	);
}
