/**
 * The operator's keys: create (the plaintext key shown once), revoke, grant or adjust
 * credits, and edit limits, each through the admin API.
 */
import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, messageOf } from "./api";
import type { CreatedKey, Key, KeyList } from "./types";

const LIMITS = ["requests_per_minute", "concurrent_requests", "images_per_day", "images_per_month"] as const;

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
		</div>
	);
}

export function KeysPage({ token }: { token: string }) {
	const [keys, setKeys] = useState<Key[]>([]);
	const [name, setName] = useState("");
	const [credits, setCredits] = useState("0");
	const [created, setCreated] = useState<CreatedKey | null>(null);
	const [open, setOpen] = useState<string | null>(null);
	const [error, setError] = useState<string | null>(null);
	const refresh = () =>
		api<KeyList>(token, "/admin/keys?limit=200").then(
			({ data }) => setKeys(data.data),
			(err) => setError(messageOf(err)),
		);
	useEffect(() => {
		void refresh();
	}, [token]);
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
			<div class="table-wrap">
				<table aria-label="Keys">
					<thead>
						<tr>
							<th>Name</th>
							<th>Prefix</th>
							<th>Status</th>
							<th>Credits</th>
							<th>Today</th>
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
									<td class="actions">
										<button type="button" aria-expanded={open === k.id} onClick={() => setOpen(open === k.id ? null : k.id)}>
											Credits and limits
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
										<td colSpan={6}>
											<KeyEditor token={token} k={k} onChanged={() => void refresh()} onError={setError} />
										</td>
									</tr>
								)}
							</Fragment>
						))}
					</tbody>
				</table>
			</div>
		</div>
	);
}
