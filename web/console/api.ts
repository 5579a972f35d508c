/**
 * The console's one way to call the gateway: same origin, the session's key or admin
 * token as a Bearer header, and every failure turned into the API's own message.
 */

export interface Session {
	kind: "key" | "admin";
	token: string;
	/** Who signed in: the key's name, or "operator". */
	label: string;
}

const STORE = "nbg-console-session";

/** The session lives in sessionStorage: gone when the tab closes, never in a cookie. */
export function loadSession(): Session | null {
	try {
		const raw = sessionStorage.getItem(STORE);
		return raw ? (JSON.parse(raw) as Session) : null;
	} catch {
		return null;
	}
}

export function saveSession(s: Session | null): void {
	if (s) sessionStorage.setItem(STORE, JSON.stringify(s));
	else sessionStorage.removeItem(STORE);
}

/** A failed call, carrying the API's message and code (or a network failure's). */
export class ApiFailure extends Error {
	constructor(
		message: string,
		readonly status: number,
		readonly code: string | null,
	) {
		super(message);
	}
}

export interface ApiResult<T> {
	status: number;
	data: T;
	headers: Headers;
}

/** Calls the gateway; a JSON object body is sent as JSON, FormData as multipart. */
export async function api<T>(
	token: string | null,
	path: string,
	init: {
		method?: string;
		body?: unknown /** Non-2xx statuses whose body is an answer, not an error (503 of /admin/health). */;
		accept?: number[];
	} = {},
): Promise<ApiResult<T>> {
	const headers: Record<string, string> = {};
	if (token) headers.authorization = `Bearer ${token}`;
	let body: BodyInit | undefined;
	if (init.body instanceof FormData) body = init.body;
	else if (init.body !== undefined) {
		headers["content-type"] = "application/json";
		body = JSON.stringify(init.body);
	}
	let res: Response;
	try {
		res = await fetch(path, { method: init.method ?? (body ? "POST" : "GET"), headers, body });
	} catch (error) {
		throw new ApiFailure(`Network error: ${error instanceof Error ? error.message : String(error)}`, 0, null);
	}
	const text = await res.text();
	let data: unknown = null;
	try {
		data = text ? JSON.parse(text) : null;
	} catch {
		// not JSON: reported below if the status is an error
	}
	if (!res.ok && !init.accept?.includes(res.status)) {
		const err = (data as { error?: { message?: string; code?: string | number } } | null)?.error;
		const message = err?.message ?? `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`;
		throw new ApiFailure(message, res.status, err?.code === undefined ? null : String(err.code));
	}
	return { status: res.status, data: data as T, headers: res.headers };
}

/** The message to show for anything a call threw. */
export function messageOf(error: unknown): string {
	if (error instanceof ApiFailure) return error.code ? `${error.message} (${error.status} ${error.code})` : error.message;
	return error instanceof Error ? error.message : String(error);
}
