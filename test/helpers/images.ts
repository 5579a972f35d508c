// Real image bytes for tests, and a fetch interceptor that serves them from fake hosts.
import { env } from "cloudflare:workers";
import { vi } from "vitest";

/** A 1x1 PNG. */
export const TINY_PNG = Uint8Array.fromBase64(
	"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
);

/** A real image from the emulator (JPEG for Gemini 3 models, PNG for 2.5). */
export async function emulatorImage(prompt: string, model = "gemini-3-pro-image"): Promise<Uint8Array> {
	const res = await fetch(`${env.EMULATOR_URL}/v1beta/models/${model}:generateContent`, {
		method: "POST",
		headers: { "x-goog-api-key": "test-gemini-key", "content-type": "application/json" },
		body: JSON.stringify({
			contents: [{ parts: [{ text: prompt }] }],
			generationConfig: { imageConfig: { aspectRatio: "1:1", ...(model.startsWith("gemini-3") ? { imageSize: "1K" } : {}) } },
		}),
	});
	const json = await res.json<{ candidates: Array<{ content: { parts: Array<{ inlineData?: { data: string } }> } }> }>();
	const part = json.candidates[0].content.parts.find((p) => p.inlineData);
	return Uint8Array.fromBase64(part?.inlineData?.data ?? "");
}

export type FakeRoute = (url: URL) => Response | Promise<Response>;

/**
 * Intercepts outbound fetches to the given hosts (the Worker shares the test isolate,
 * so this is what its fetch sees); every other URL goes to the real fetch.
 */
export function interceptHosts(routes: Record<string, FakeRoute>) {
	const real = globalThis.fetch;
	const seen: string[] = [];
	const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
		const url = new URL(input instanceof Request ? input.url : String(input));
		const route = routes[url.host];
		if (route) {
			seen.push(url.toString());
			return route(url);
		}
		return real(input, init);
	});
	return { seen, restore: () => spy.mockRestore() };
}

export function imageResponse(bytes: Uint8Array, type = "image/png"): Response {
	return new Response(bytes, { headers: { "content-type": type, "content-length": String(bytes.byteLength) } });
}
