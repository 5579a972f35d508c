/**
 * The web console: sign in with an API key or the admin token, then the pages for that
 * role. Routing is by path under /console/ (the Worker serves the page for every deep
 * link); links are real links, so keyboard and history work as usual.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { AccountPage } from "./account";
import { api, loadSession, messageOf, type Session, saveSession } from "./api";
import { ConversationsPage } from "./conversations";
import { GalleryPage } from "./gallery";
import { KeysPage } from "./keys";
import { OperatorStatsPage } from "./operator-stats";
import { PipelinesPage } from "./pipelines";
import { PlaygroundPage } from "./playground";
import type { Account } from "./types";

const KEY_PAGES = [
	{ path: "/console/", label: "Playground" },
	{ path: "/console/gallery", label: "Gallery" },
	{ path: "/console/account", label: "Account" },
	{ path: "/console/pipelines", label: "Pipelines" },
	{ path: "/console/conversations", label: "Conversations" },
];
const ADMIN_PAGES = [
	{ path: "/console/keys", label: "Keys" },
	{ path: "/console/usage", label: "Usage and health" },
];

function usePath(): [string, (p: string) => void] {
	const [path, setPath] = useState(location.pathname);
	useEffect(() => {
		const onPop = () => setPath(location.pathname);
		addEventListener("popstate", onPop);
		return () => removeEventListener("popstate", onPop);
	}, []);
	const go = (p: string) => {
		history.pushState(null, "", p);
		setPath(p);
	};
	return [path, go];
}

function SignIn({ onSession }: { onSession: (s: Session) => void }) {
	const [kind, setKind] = useState<"key" | "admin">("key");
	const [token, setToken] = useState("");
	const [error, setError] = useState<string | null>(null);
	const [busy, setBusy] = useState(false);
	const submit = async (e: Event) => {
		e.preventDefault();
		setBusy(true);
		setError(null);
		try {
			// The key is checked by asking for something only it may read.
			if (kind === "key") {
				const { data } = await api<Account>(token.trim(), "/v1/account");
				onSession({ kind, token: token.trim(), label: data.name });
			} else {
				await api(token.trim(), "/admin/keys?limit=1");
				onSession({ kind, token: token.trim(), label: "operator" });
			}
		} catch (err) {
			setError(messageOf(err));
		} finally {
			setBusy(false);
		}
	};
	return (
		<main class="signin">
			<h1>Nano Banana Gateway</h1>
			<form onSubmit={submit} aria-describedby="signin-help">
				<fieldset>
					<legend>Sign in with</legend>
					<label>
						<input type="radio" name="kind" checked={kind === "key"} onChange={() => setKind("key")} /> an API key
					</label>
					<label>
						<input type="radio" name="kind" checked={kind === "admin"} onChange={() => setKind("admin")} /> the admin token
					</label>
				</fieldset>
				<label for="token">{kind === "key" ? "API key" : "Admin token"}</label>
				<input
					id="token"
					type="password"
					autocomplete="off"
					required
					value={token}
					onInput={(e) => setToken(e.currentTarget.value)}
					placeholder={kind === "key" ? "nbk_..." : ""}
				/>
				<button type="submit" disabled={busy}>
					{busy ? "Checking…" : "Sign in"}
				</button>
				<p id="signin-help" class="hint">
					Kept in this tab only (sessionStorage), sent as a Bearer header. <a href="/docs">API reference</a>
				</p>
				{error && (
					<p role="alert" class="error">
						{error}
					</p>
				)}
			</form>
		</main>
	);
}

function App() {
	const [session, setSession] = useState<Session | null>(loadSession());
	const [path, go] = usePath();
	const signIn = (s: Session) => {
		saveSession(s);
		setSession(s);
		go(s.kind === "admin" ? "/console/keys" : "/console/");
	};
	if (!session) return <SignIn onSession={signIn} />;
	const pages = session.kind === "admin" ? ADMIN_PAGES : KEY_PAGES;
	const current = pages.find((p) => p.path === path || `${p.path}/` === path) ?? pages[0];
	const signOut = () => {
		saveSession(null);
		setSession(null);
	};
	return (
		<>
			<header class="top">
				<strong>Nano Banana Gateway</strong>
				<nav aria-label="Pages">
					{pages.map((p) => (
						<a
							key={p.path}
							href={p.path}
							aria-current={p === current ? "page" : undefined}
							onClick={(e) => {
								e.preventDefault();
								go(p.path);
							}}
						>
							{p.label}
						</a>
					))}
				</nav>
				<span class="who">{session.kind === "admin" ? "Operator" : session.label}</span>
				<button type="button" class="link" onClick={signOut}>
					Sign out
				</button>
			</header>
			<main>
				<h1>{current.label}</h1>
				{current.path === "/console/" && <PlaygroundPage token={session.token} />}
				{current.path === "/console/gallery" && <GalleryPage token={session.token} />}
				{current.path === "/console/account" && <AccountPage token={session.token} />}
				{current.path === "/console/keys" && <KeysPage token={session.token} />}
				{current.path === "/console/pipelines" && <PipelinesPage token={session.token} />}
				{current.path === "/console/conversations" && <ConversationsPage token={session.token} />}
				{current.path === "/console/usage" && <OperatorStatsPage token={session.token} />}
			</main>
		</>
	);
}

const root = document.getElementById("app");
if (root) render(<App />, root);
