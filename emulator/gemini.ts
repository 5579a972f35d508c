/**
 * The Gemini emulator's behaviour: given a generateContent request, the response Google
 * would send, or the failure a test asked for. Pure of I/O; server.ts puts it on HTTP.
 *
 * Tests steer it with directives inside the prompt text, e.g. "a cat [emu:fail=429x1,retry=0.05s]":
 *   fail=CODE[xK]   answer CODE (400, 403, 429, 500, 503, 504) for the first K calls with this prompt (default: always)
 *   retry=Ns        RetryInfo.retryDelay on 429          retry-after=N   Retry-After header (seconds)
 *   delay=MS        wait before answering                block=REASON    promptFeedback.blockReason, no candidates
 *   finish=REASON   candidate with that finishReason and no image (NO_IMAGE, IMAGE_SAFETY, ...)
 *   text-only       a text answer, finishReason STOP      malformed       a 200 whose body is not JSON
 *   truncate[=xK]   the connection drops halfway through the body (for the first K calls; default always)
 *   format=png|jpeg output format (default: PNG for 2.5 Flash, JPEG for Gemini 3)
 *   mislabel        declare the other mimeType           noise=F          fraction of PNG rows that are noise (file size)
 *   images=N        N final images in one answer           thoughts        an interim thought image first
 */
import { createHash } from "node:crypto";
import { findModel, type ImageSize, outputDimensions, outputTokensPerImage } from "../src/catalog.ts";
import { encodeJpeg, encodePng } from "./images.ts";

export type Directives = Record<string, string>;

export interface EmulatorReply {
	status: number;
	headers: Record<string, string>;
	body: string;
	delayMs: number;
	/** Send only this many bytes of the body, then drop the connection. */
	truncateAt?: number;
}

interface Part {
	text?: string;
	inlineData?: { mimeType?: string; data?: string };
	inline_data?: { mime_type?: string; data?: string };
	thought?: boolean;
	thoughtSignature?: string;
}

interface Content {
	role?: string;
	parts?: Part[];
}

interface GenerateRequest {
	contents?: Content[];
	generationConfig?: {
		responseModalities?: string[];
		candidateCount?: number;
		imageConfig?: { aspectRatio?: string; imageSize?: string };
	};
}

/** One recorded call, for tests that check what reached "Gemini". */
export interface RecordedCall {
	at: number;
	model: string;
	apiKey: string | null;
	body: GenerateRequest;
	/** What the emulator answered with: each final image's type, size and SHA-256. */
	outputs: Array<{ mimeType: string; bytes: number; sha256: string }>;
}

const STATUS_NAMES: Record<number, string> = {
	400: "INVALID_ARGUMENT",
	403: "PERMISSION_DENIED",
	404: "NOT_FOUND",
	429: "RESOURCE_EXHAUSTED",
	500: "INTERNAL",
	503: "UNAVAILABLE",
	504: "DEADLINE_EXCEEDED",
};

const MESSAGES: Record<number, string> = {
	400: "Request contains an invalid argument.",
	403: "The caller does not have permission",
	429: "Resource has been exhausted (e.g. check quota).",
	500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
	503: "The model is overloaded. Please try again later.",
	504: "Deadline expired before operation could complete.",
};

export function parseDirectives(text: string): Directives {
	const out: Directives = {};
	for (const m of text.matchAll(/\[emu:([^\]]*)\]/g)) {
		for (const item of m[1].split(/[,\s]+/).filter(Boolean)) {
			const eq = item.indexOf("=");
			if (eq === -1) out[item] = "true";
			else out[item.slice(0, eq)] = item.slice(eq + 1);
		}
	}
	return out;
}

function errorReply(status: number, message: string, details: unknown[] = [], headers: Record<string, string> = {}): EmulatorReply {
	const body = JSON.stringify({ error: { code: status, message, status: STATUS_NAMES[status] ?? "UNKNOWN", details } });
	return { status, headers: { "content-type": "application/json; charset=UTF-8", ...headers }, body, delayMs: 0 };
}

function seedOf(...parts: string[]): number {
	return createHash("sha256").update(parts.join("\u0000")).digest().readUInt32BE(0);
}

const imageCache = new Map<string, Buffer>();

function renderImage(format: "png" | "jpeg", width: number, height: number, seed: number, noise: number): Buffer {
	const key = `${format}:${width}x${height}:${seed}:${noise}`;
	let bytes = imageCache.get(key);
	if (!bytes) {
		bytes = format === "png" ? encodePng(width, height, seed, noise) : encodeJpeg(width, height, seed);
		if (imageCache.size >= 24) imageCache.delete(imageCache.keys().next().value as string);
		imageCache.set(key, bytes);
	}
	return bytes;
}

/** The emulator itself: keeps per-prompt failure counters and a log of calls. */
export class GeminiEmulator {
	readonly calls: RecordedCall[] = [];
	private readonly failures = new Map<string, number>();
	private readonly requiredKey: string | undefined;

	constructor(requiredKey?: string) {
		this.requiredKey = requiredKey;
	}

	/** True for the first `times` calls with this key (always when `times` is undefined). */
	private countdown(key: string, times: string | undefined): boolean {
		const limit = times === undefined ? Number.POSITIVE_INFINITY : Number(times);
		const seen = this.failures.get(key) ?? 0;
		if (seen >= limit) return false;
		this.failures.set(key, seen + 1);
		return true;
	}

	handle(model: string, action: string, apiKey: string | null, rawBody: string): EmulatorReply {
		if (!apiKey) {
			return errorReply(
				403,
				"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
			);
		}
		if (this.requiredKey && apiKey !== this.requiredKey) {
			return errorReply(400, "API key not valid. Please pass a valid API key.", [
				{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com" },
			]);
		}
		if (action !== "generateContent") return errorReply(404, `Method ${action} is not supported by the emulator.`);
		const spec = findModel(model);
		if (!spec || spec.id !== spec.gemini) {
			return errorReply(404, `models/${model} is not found for API version v1beta, or is not supported for generateContent.`);
		}
		let req: GenerateRequest;
		try {
			req = JSON.parse(rawBody) as GenerateRequest;
		} catch {
			return errorReply(400, "Invalid JSON payload received.");
		}
		const record: RecordedCall = { at: Date.now(), model, apiKey, body: req, outputs: [] };
		this.calls.push(record);
		if (this.calls.length > 500) this.calls.shift();

		const contents = req.contents ?? [];
		if (contents.length === 0) return errorReply(400, "* GenerateContentRequest.contents: contents is not specified\n");
		const cfg = req.generationConfig ?? {};
		if ((cfg.candidateCount ?? 1) > 1) return errorReply(400, "Multiple candidates is not enabled for this model");
		const aspectRatio = cfg.imageConfig?.aspectRatio ?? "1:1";
		const imageSize = cfg.imageConfig?.imageSize as ImageSize | undefined;
		if (!spec.aspectRatios.includes(aspectRatio)) return errorReply(400, `Unsupported aspect ratio: ${aspectRatio}`);
		if (imageSize !== undefined && !spec.imageSizes.includes(imageSize)) {
			return errorReply(400, `Unsupported image size: ${imageSize}`);
		}

		// Like Gemini: every inline image, history included, must be real image bytes.
		for (const part of contents.flatMap((c) => c.parts ?? [])) {
			const data = part.inlineData?.data ?? part.inline_data?.data;
			if (data === undefined) continue;
			const bytes = /^[A-Za-z0-9+/]*={0,2}$/.test(data) && data.length % 4 === 0 ? Buffer.from(data, "base64") : Buffer.alloc(0);
			const isImage =
				bytes[0] === 0x89 ||
				(bytes[0] === 0xff && bytes[1] === 0xd8) ||
				bytes.subarray(8, 12).toString("latin1") === "WEBP" ||
				bytes.subarray(4, 8).toString("latin1") === "ftyp";
			if (!isImage)
				return errorReply(
					400,
					"Unable to process input image. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
				);
		}
		const last = contents[contents.length - 1];
		const prompt = (last.parts ?? []).map((p) => p.text ?? "").join("\n");
		const inputImages = contents.flatMap((c) => c.parts ?? []).filter((p) => p.inlineData || p.inline_data).length;
		const d = parseDirectives(prompt);
		const delayMs = Number(d.delay ?? 0);

		const fail = d.fail?.match(/^(\d{3})(?:x(\d+))?$/);
		if (fail) {
			const code = Number(fail[1]);
			if (this.countdown(prompt, fail[2])) {
				const details: unknown[] = [];
				const headers: Record<string, string> = {};
				if (code === 429) {
					details.push({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: d.retry ?? "2s" });
				}
				if (d["retry-after"]) headers["retry-after"] = d["retry-after"];
				return { ...errorReply(code, MESSAGES[code] ?? "Error", details, headers), delayMs };
			}
		}

		const usage = (images: number) => {
			const promptTokenCount = Math.ceil(prompt.length / 4) + 258 * inputImages;
			const candidatesTokenCount = images * outputTokensPerImage(spec.gemini, imageSize) + 12;
			return {
				promptTokenCount,
				candidatesTokenCount,
				totalTokenCount: promptTokenCount + candidatesTokenCount,
				promptTokensDetails: [{ modality: "TEXT", tokenCount: Math.ceil(prompt.length / 4) }],
				candidatesTokensDetails: [{ modality: "IMAGE", tokenCount: images * outputTokensPerImage(spec.gemini, imageSize) }],
			};
		};
		const ok = (payload: object): EmulatorReply => ({
			status: 200,
			headers: { "content-type": "application/json; charset=UTF-8" },
			body: JSON.stringify({ ...payload, modelVersion: spec.gemini, responseId: `emu-${seedOf(prompt, String(Date.now())).toString(36)}` }),
			delayMs,
		});

		if (d.malformed) return { ...ok({}), body: '{"candidates": [{"content": {"parts": [{"text": "oops' };
		if (d.block) return ok({ promptFeedback: { blockReason: d.block }, usageMetadata: usage(0) });
		if (d.finish) {
			return ok({
				candidates: [{ content: { role: "model", parts: [] }, finishReason: d.finish, index: 0 }],
				usageMetadata: usage(0),
			});
		}
		const wantsText = (cfg.responseModalities ?? ["TEXT", "IMAGE"]).some((m) => m.toUpperCase() === "TEXT");
		if (d["text-only"]) {
			return ok({
				candidates: [
					{
						content: { role: "model", parts: [{ text: "I can describe that scene, but I will not draw it." }] },
						finishReason: "STOP",
						index: 0,
					},
				],
				usageMetadata: usage(0),
			});
		}

		const dims = outputDimensions(spec.gemini, aspectRatio, imageSize);
		if (!dims) return errorReply(400, `Unsupported aspect ratio: ${aspectRatio}`);
		const gemini3 = spec.gemini !== "gemini-2.5-flash-image";
		const format = d.format === "png" || d.format === "jpeg" ? d.format : gemini3 ? "jpeg" : "png";
		const noise = Number(d.noise ?? 0);
		const count = Math.max(1, Number(d.images ?? 1));
		const parts: Part[] = [];
		if (d.thoughts) {
			parts.push({ text: "Planning the composition.", thought: true });
			const thumb = renderImage("png", 256, 256, seedOf(prompt, "thought"), 0);
			parts.push({ inlineData: { mimeType: "image/png", data: thumb.toString("base64") }, thought: true });
		}
		if (wantsText) parts.push({ text: "Here is the image you asked for." });
		for (let i = 0; i < count; i++) {
			const seed = seedOf(spec.gemini, prompt, aspectRatio, imageSize ?? "", String(inputImages), String(i));
			const bytes = renderImage(format, dims.width, dims.height, seed, noise);
			const real = format === "png" ? "image/png" : "image/jpeg";
			const declared = d.mislabel ? (real === "image/png" ? "image/jpeg" : "image/png") : real;
			record.outputs.push({ mimeType: real, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") });
			const part: Part = { inlineData: { mimeType: declared, data: bytes.toString("base64") } };
			if (gemini3) part.thoughtSignature = Buffer.from(`sig:${seed}`).toString("base64");
			parts.push(part);
		}
		const reply = ok({
			candidates: [{ content: { role: "model", parts }, finishReason: "STOP", index: 0 }],
			usageMetadata: usage(count),
		});
		if (d.truncate && this.countdown(`truncate:${prompt}`, d.truncate.match(/^x(\d+)$/)?.[1])) {
			reply.truncateAt = Math.floor(reply.body.length / 2);
		}
		return reply;
	}
}
