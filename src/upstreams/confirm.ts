/**
 * Whether a 404 in Google's model-not-found words (GeminiError.modelNotFound) means the id
 * is really gone at that upstream, asked of models.get (`GET /v1beta/models/{id}`) before
 * anything is marked: a 200 there means the 404 was about the request (or a glitch), and
 * marking the id gone would move every customer to the successor for up to an hour.
 *
 * One question per (upstream, id) at a time in this isolate: concurrent requests that met
 * the same 404 share the answer. Answers are not kept beyond that: "gone" marks the id
 * (later requests skip it), and remembering "exists" would hide a real removal that
 * follows a glitch (such 404s for a model that exists are rare, and a models.get is
 * cheap). When models.get itself fails, nothing can be concluded: "unknown",
 * and the 404 goes back to its caller unmarked (discovery's hourly listing still finds a
 * real removal). Upstreams without models.get (Vertex AI) have only the wording to go by.
 */
import { goneAt, rememberGone } from "../catalog/availability";
import type { GatewayConfig } from "../config";
import { GeminiClient } from "../gemini/client";
import type { Member } from "./pool";

export type Confirmation = "gone" | "exists" | "unknown";

/** The most a confirmation may take (it runs inside a request's deadline). */
const CONFIRM_TIMEOUT_MS = 10_000;

const inflight = new Map<string, Promise<Confirmation>>();

async function ask(m: Member, id: string, config: GatewayConfig, remainingMs: number): Promise<Confirmation> {
	const client = new GeminiClient({
		endpoint: m.endpoint,
		maxRetries: 0,
		retryBaseMs: config.retryBaseMs,
		retryMaxMs: config.retryMaxMs,
		deadlineMs: Math.max(1, Math.min(remainingMs, CONFIRM_TIMEOUT_MS)),
	});
	try {
		return (await client.modelExists(id)) ? "exists" : "gone";
	} catch (error) {
		console.error(JSON.stringify({ event: "model_confirm_failed", upstream: m.spec.id, model: id, error: String(error) }));
		return "unknown";
	}
}

/**
 * Asks (or joins the question already asked) whether `id` exists at `m`; when it is gone,
 * marks it gone (here and in D1) before answering, so a request whose 404 arrives after the
 * question was answered finds the mark instead of asking again.
 */
export async function confirmGone(
	db: D1Database,
	m: Member,
	id: string,
	config: GatewayConfig,
	remainingMs: number,
): Promise<Confirmation> {
	const key = `${m.scope}\n${id}`;
	let answer = inflight.get(key);
	if (!answer) {
		if ((await goneAt(db, m.scope)).has(id)) return "gone";
		answer = inflight.get(key); // asked meanwhile
		if (!answer) {
			answer = (async () => {
				const found = m.endpoint.modelUrl ? await ask(m, id, config, remainingMs) : "gone";
				if (found === "gone") await rememberGone(db, m.scope, id, "404 NOT_FOUND");
				return found;
			})().finally(() => inflight.delete(key));
			inflight.set(key, answer);
		}
	}
	return answer;
}
