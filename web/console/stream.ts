/**
 * Sync generation with each image shown as it arrives: one streamed chat completion
 * (`stream: true`), the gateway's own way to deliver n images one by one. It is one request,
 * held and charged exactly as `/v1/images/generations` would be (docs/api.md, "Chat
 * completions with image output"), so the progress is real and the bill is the same.
 */
import { ApiFailure } from "./api";

/** One image of the answer, as it arrived. */
export interface Arrival {
	index: number;
	url: string;
	/** Milliseconds since the request was sent. */
	afterMs: number;
}

export interface StreamAsk {
	model: string;
	prompt: string;
	n: number;
	aspectRatio?: string;
	imageSize?: string;
}

interface Chunk {
	choices?: Array<{ index: number; delta?: { images?: Array<{ image_url: { url: string } }> } }>;
	usage?: { credits_charged?: number };
	error?: { message?: string; code?: string };
}

/** Streams the images of `ask`; resolves with the credits charged once the answer ends. */
export async function streamImages(token: string, ask: StreamAsk, onImage: (a: Arrival) => void): Promise<number | null> {
	const started = performance.now();
	const body = {
		model: ask.model,
		n: ask.n,
		stream: true,
		stream_options: { include_usage: true },
		modalities: ["image", "text"],
		image_output: "url",
		messages: [{ role: "user", content: ask.prompt }],
		...(ask.aspectRatio || ask.imageSize
			? {
					image_config: {
						...(ask.aspectRatio ? { aspect_ratio: ask.aspectRatio } : {}),
						...(ask.imageSize ? { image_size: ask.imageSize } : {}),
					},
				}
			: {}),
	};
	let res: Response;
	try {
		res = await fetch("/v1/chat/completions", {
			method: "POST",
			headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
			body: JSON.stringify(body),
		});
	} catch (error) {
		throw new ApiFailure(`Network error: ${error instanceof Error ? error.message : String(error)}`, 0, null);
	}
	if (!res.ok || !res.body) {
		// Refused at admission (402, 429, 400): a plain error in the API's one shape.
		const text = await res.text();
		let err: { message?: string; code?: string | number } | undefined;
		try {
			err = (JSON.parse(text) as { error?: typeof err }).error;
		} catch {
			// not JSON
		}
		throw new ApiFailure(err?.message ?? `HTTP ${res.status}`, res.status, err?.code === undefined ? null : String(err.code));
	}
	const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
	let buffered = "";
	let charged: number | null = null;
	for (;;) {
		const { value, done } = await reader.read();
		if (done) break;
		buffered += value.replaceAll("\r\n", "\n");
		// Events are separated by a blank line; each data line holds one whole JSON object.
		let cut = buffered.indexOf("\n\n");
		while (cut >= 0) {
			const event = buffered.slice(0, cut);
			buffered = buffered.slice(cut + 2);
			cut = buffered.indexOf("\n\n");
			for (const line of event.split("\n")) {
				if (!line.startsWith("data: ")) continue; // ": keep-alive" comments
				const data = line.slice(6).trim();
				if (data === "[DONE]") return charged;
				const chunk = JSON.parse(data) as Chunk;
				if (chunk.error) throw new ApiFailure(chunk.error.message ?? "The generation failed", res.status, chunk.error.code ?? null);
				if (chunk.usage?.credits_charged !== undefined) charged = chunk.usage.credits_charged;
				for (const choice of chunk.choices ?? []) {
					for (const image of choice.delta?.images ?? []) {
						onImage({ index: choice.index, url: image.image_url.url, afterMs: performance.now() - started });
					}
				}
			}
		}
	}
	return charged;
}
