// The official openai SDK pointed at the Worker under test, as a user would configure it.
import { exports } from "cloudflare:workers";
import OpenAI from "openai";
import { BASE } from "./http";

/**
 * An openai client for `apiKey` with baseURL at the gateway's /v1. Its requests go to the
 * Worker in this isolate (no network), and it never retries, so a test sees every answer.
 */
export function openaiClient(apiKey: string): OpenAI {
	return new OpenAI({
		apiKey,
		baseURL: `${BASE}/v1`,
		maxRetries: 0,
		fetch: (input: string | URL | Request, init?: RequestInit) => exports.default.fetch(new Request(input, init)),
	});
}
