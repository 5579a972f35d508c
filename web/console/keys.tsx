/**
 * The operator's keys: searched and paged (`q`, `status`, `cursor` on GET /admin/keys), each
 * with its 30-day charged, Google's cost and margin (GET /admin/usage by key); create (the
 * plaintext key shown once), revoke, grant or adjust credits, edit limits and spend controls,
 * each through the admin API.
 */
import { Fragment } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { daysAgo } from "./account";
import { api, messageOf } from "./api";
import type { AdminUsage, CreatedKey, Key, KeyList } from "./types";

const LIMITS = ["requests_per_minute", "concurrent_requests", "images_per_day", "images_per_month"] as const;
const PAGE = 25;
const SPEND = ["daily_spend_credits", "monthly_spend_credits", "low_balance_threshold"] as const;
const FEATURES = ["search", "batch", "text_output"] as const;
const THINKING = ["minimal", "low", "medium", "high"] as const;

/** A comma-separated list as the API takes it: empty means "all" (null). */
const listOrNull = (s: string) => {
	const items = s
		.split(",")
		.map((x) => x.trim())
		.filter(Boolean);
	return items.length ? items : null;
};

/** The key's spend controls: caps, the low-balance alert, models, sizes and features allowed. */
function ControlsEditor({ token, k, onChanged, onError }: { token: string; k: Key; onChanged: () => void; onError: (m: string) => void }) {
	const c = k.controls;
	const [spend, setSpend] = useState<Record<string, string>>(() =>
		Object.fromEntries(SPEND.map((f) => [f, c[f] === null ? "" : String(c[f])])),
	);
	const [webhook, setWebhook] = useState(c.low_balance_webhook_url ?? "");
	const [models, setModels] = useState((c.allowed_models ?? []).join(", "));
	const [sizes, setSizes] = useState((c.allowed_image_sizes ?? []).join(", "));
	const [features, setFeatures] = useState({ ...c.allowed_features });
	const submit = async (e: Event) => {
		e.preventDefault();
		const controls = {
			...Object.fromEntries(SPEND.map((f) => [f, spend[f] === "" ? null : Number(spend[f])])),
			low_balance_webhook_url: webhook.trim() || null,
			allowed_models: listOrNull(models),
			allowed_image_sizes: listOrNull(sizes),
			allowed_features: features,
		};
		try {
			await api(token, `/admin/keys/${encodeURIComponent(k.id)}`, { method: "PATCH", body: { controls } });
			onChanged();
		} catch (err) {
			onError(messageOf(err));
		}
	};
	return (
		<form aria-label={`Spend controls for ${k.name}`} onSubmit={submit}>
			{SPEND.map((f) => (
				<div key={f}>
					<label for={`${f}-${k.id}`}>{f.replaceAll("_", " ")} (empty = none)</label>
					<input
						id={`${f}-${k.id}`}
						type="number"
						min={0}
						value={spend[f]}
						onInput={(e) => setSpend({ ...spend, [f]: e.currentTarget.value })}
					/>
				</div>
			))}
			<label for={`lbw-${k.id}`}>Low-balance webhook URL</label>
			<input id={`lbw-${k.id}`} type="url" value={webhook} onInput={(e) => setWebhook(e.currentTarget.value)} />
			<label for={`models-${k.id}`}>Allowed models (comma-separated; empty = all)</label>
			<input id={`models-${k.id}`} value={models} onInput={(e) => setModels(e.currentTarget.value)} />
			<label for={`sizes-${k.id}`}>Allowed image sizes (comma-separated; empty = all)</label>
			<input id={`sizes-${k.id}`} value={sizes} onInput={(e) => setSizes(e.currentTarget.value)} />
			<fieldset>
				<legend>Features allowed</legend>
				{FEATURES.map((f) => (
					<label key={f}>
						<input type="checkbox" checked={features[f]} onChange={(e) => setFeatures({ ...features, [f]: e.currentTarget.checked })} />{" "}
						{f.replaceAll("_", " ")}
					</label>
				))}
			</fieldset>
			<label for={`thinking-${k.id}`}>Highest thinking level</label>
			<select
				id={`thinking-${k.id}`}
				value={features.thinking}
				onChange={(e) => setFeatures({ ...features, thinking: e.currentTarget.value as (typeof THINKING)[number] })}
			>
				{THINKING.map((t) => (
					<option key={t} value={t}>
						{t}
					</option>
				))}
			</select>
			<button type="submit">Save spend controls</button>
		</form>
	);
}

function KeyEditor({ token, k, onChanged, onError }: { token: string; k: Key; onChanged: () => void; onError: (m: string) => void }) {
	const [amount, setAmount] = useState("");
	const [reason, setReason] = useState("");
	const [limits, setLimits] = useState<Record<string, string>>(() =>
		Object.fromEntries(LIMITS.map((l) => [l, String(k.limit_overrides[l] ?? "")])),
	);
	const run = async (fn: () => Promise<unknown>) => {
		try {
			await fn();
			onChanged();
		} catch (err) {
			onError(messageOf(err));
		}
	};
	const id = encodeURIComponent(k.id);
	return (
		<div class="editor">
			<form
				aria-label={`Credits for ${k.name}`}
				onSubmit={(e) => {
					e.preventDefault();
					void run(() => api(token, `/admin/keys/${id}/credits`, { body: { amount: Number(amount), reason } }));
				}}
			>
				<label for={`amount-${k.id}`}>Credits to grant (negative adjusts)</label>
				<input id={`amount-${k.id}`} type="number" required value={amount} onInput={(e) => setAmount(e.currentTarget.value)} />
				<label for={`reason-${k.id}`}>Reason</label>
				<input id={`reason-${k.id}`} required value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
				<button type="submit">Apply credits</button>
			</form>
			<form
				aria-label={`Limits for ${k.name}`}
				onSubmit={(e) => {
					e.preventDefault();
					// An empty field returns that limit to the default (null).
					const patch = Object.fromEntries(LIMITS.map((l) => [l, limits[l] === "" ? null : Number(limits[l])]));
					void run(() => api(token, `/admin/keys/${id}`, { method: "PATCH", body: { limits: patch } }));
				}}
			>
				{LIMITS.map((l) => (
					<div key={l}>
						<label for={`${l}-${k.id}`}>
							{l.replaceAll("_", " ")} (now {k.limits?.[l] ?? "?"}; empty = default)
						</label>
						<input
							id={`${l}-${k.id}`}
							type="number"
							min={0}
							value={limits[l]}
							onInput={(e) => setLimits({ ...limits, [l]: e.currentTarget.value })}
						/>
					</div>
				))}
				<button type="submit">Save limits</button>
			</form>
			<ControlsEditor token={token} k={k} onChanged={onChanged} onError={onError} />
		</div>
	);
}

/** 30 days of one key: what it was charged, what Google billed for it, the difference. */
interface Margin {
	credits: number;
	google: number;
}

export function KeysPage({ token }: { token: string }) {
	const [keys, setKeys] = useState<Key[]>([]);
	const [cursor, setCursor] = useState<string | null>(null);
	// The search in force, read by refreshes that finish after a newer search began.
	const query = useRef({ q: "", status: "" });
	const [search, setSearch] = useState("");
	const [status, setStatus] = useState("");
	const [margins, setMargins] = useState<Map<string, Margin>>(new Map());
	const [name, setName] = useState("");
	const [credits, setCredits] = useState("0");
	const [created, setCreated] = useState<CreatedKey | null>(null);
	const [open, setOpen] = useState<string | null>(null);
	const [error, setError] = useState<string | null>(null);
	// Only the latest listing request may fill the table: a slow first load answering after a
	// search would otherwise show (and page on from) the unsearched list.
	const latest = useRef(0);
	/** Loads the first page of the current search again, or (with `after`) the page after it. */
	const load = (after: string | null, q = query.current) => {
		const mine = ++latest.current;
		const params = new URLSearchParams({ limit: String(PAGE) });
		if (q.q) params.set("q", q.q);
		if (q.status) params.set("status", q.status);
		if (after) params.set("cursor", after);
		return api<KeyList>(token, `/admin/keys?${params}`).then(
			({ data }) => {
				if (mine !== latest.current) return;
				setKeys((old) => (after ? [...old, ...data.data] : data.data));
				setCursor(data.has_more ? (data.next_cursor ?? null) : null);
			},
			(err) => setError(messageOf(err)),
		);
	};
	// Changes (credits, revocation) reload every page shown so far, so the list does not shrink.
	const refresh = async () => {
		const shown = Math.max(keys.length, PAGE);
		const params = new URLSearchParams({ limit: String(Math.min(shown, 200)) });
		if (query.current.q) params.set("q", query.current.q);
		if (query.current.status) params.set("status", query.current.status);
		const mine = ++latest.current;
		try {
			const { data } = await api<KeyList>(token, `/admin/keys?${params}`);
			if (mine !== latest.current) return;
			setKeys(data.data);
			setCursor(data.has_more ? (data.next_cursor ?? null) : null);
		} catch (err) {
			setError(messageOf(err));
		}
	};
	useEffect(() => {
		void load(null);
		api<AdminUsage>(token, `/admin/usage?from=${daysAgo(29)}`).then(
			({ data }) => setMargins(new Map(data.by_key.map((u) => [u.key_id ?? "", { credits: u.credits, google: Math.ceil(u.google_cost) }]))),
			(err) => setError(messageOf(err)),
		);
	}, [token]);
	const find = (e: Event) => {
		e.preventDefault();
		const q = { q: search.trim(), status };
		query.current = q;
		void load(null, q);
	};
	const create = async (e: Event) => {
		e.preventDefault();
		setError(null);
		try {
			const { data } = await api<CreatedKey>(token, "/admin/keys", { body: { name, credits: Number(credits) } });
			setCreated(data);
			setName("");
			await refresh();
		} catch (err) {
			setError(messageOf(err));
		}
	};
	const revoke = async (k: Key) => {
		setError(null);
		try {
			await api(token, `/admin/keys/${encodeURIComponent(k.id)}`, { method: "DELETE" });
			await refresh();
		} catch (err) {
			setError(messageOf(err));
		}
	};
	return (
		<div class="stack">
			<form class="panel row" onSubmit={create} aria-label="Create a key">
				<div>
					<label for="key-name">New key name</label>
					<input id="key-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
				</div>
				<div>
					<label for="key-credits">Starting credits</label>
					<input id="key-credits" type="number" min={0} value={credits} onInput={(e) => setCredits(e.currentTarget.value)} />
				</div>
				<button type="submit">Create key</button>
			</form>
			{created && (
				<p class="notice" role="status">
					Key for <strong>{created.name}</strong>, shown this once: <code data-testid="new-key">{created.key}</code>
				</p>
			)}
			{error && (
				<p role="alert" class="error">
					{error}
				</p>
			)}
			<search>
				<form class="panel row" aria-label="Find keys" onSubmit={find}>
					<div>
						<label for="key-search">Search keys (name, id or prefix)</label>
						<input id="key-search" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
					</div>
					<div>
						<label for="key-status">Status</label>
						<select id="key-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
							<option value="">any</option>
							<option value="active">active</option>
							<option value="revoked">revoked</option>
						</select>
					</div>
					<button type="submit">Search</button>
				</form>
			</search>
			<div class="table-wrap">
				<table aria-label="Keys">
					<thead>
						<tr>
							<th>Name</th>
							<th>Prefix</th>
							<th>Status</th>
							<th>Credits</th>
							<th>Today</th>
							<th>30 days: charged / Google / margin</th>
							<th>Actions</th>
						</tr>
					</thead>
					<tbody>
						{keys.map((k) => (
							<Fragment key={k.id}>
								<tr data-key-id={k.id}>
									<td>{k.name}</td>
									<td>
										<code>{k.prefix}</code>
									</td>
									<td>{k.status}</td>
									<td>{k.credits.toLocaleString()}</td>
									<td>{k.usage?.today.images ?? 0} images</td>
									<td class="margin">{marginText(margins.get(k.id))}</td>
									<td class="actions">
										<button type="button" aria-expanded={open === k.id} onClick={() => setOpen(open === k.id ? null : k.id)}>
											Credits and limits, spend controls
										</button>
										{k.status === "active" && (
											<button type="button" class="danger" onClick={() => void revoke(k)}>
												Revoke {k.name}
											</button>
										)}
									</td>
								</tr>
								{open === k.id && (
									<tr>
										<td colSpan={7}>
											<KeyEditor token={token} k={k} onChanged={() => void refresh()} onError={setError} />
										</td>
									</tr>
								)}
							</Fragment>
						))}
					</tbody>
				</table>
			</div>
			{keys.length === 0 && <p>No keys match.</p>}
			{cursor && (
				<button type="button" onClick={() => void load(cursor)}>
					More keys
				</button>
			)}
		</div>
	);
}

function marginText(m: Margin | undefined): string {
	if (!m) return "—";
	return `${m.credits.toLocaleString("en-US")} / ${m.google.toLocaleString("en-US")} / ${(m.credits - m.google).toLocaleString("en-US")}`;
}
