/**
 * A job's inline requests in a Gemini batch: `n` copies of its generateContent request
 * (Gemini refuses candidateCount > 1, as it does for sync calls), each with its own
 * `metadata.key` = `{jobId}:{i}`. The key is the only thing that ties an answer to its
 * job: Gemini returns answers in any order (googleapis/python-genai#1909).
 */
import { invalidParam } from "../../errors";
import { geminiBody } from "../../pipeline/generate";
import type { GenerationRequest } from "../../pipeline/request";

/** The key of a job's i-th inline request. */
export const requestKey = (jobId: string, index: number): string => `${jobId}:${index}`;

/** The job and image index a key names; undefined for a key this gateway did not write. */
export function parseKey(key: string | undefined): { jobId: string; index: number } | undefined {
	const m = key?.match(/^(job_[A-Za-z0-9]+):(\d{1,2})$/);
	return m ? { jobId: m[1], index: Number(m[2]) } : undefined;
}

const encoder = new TextEncoder();

/** The JSON text of a job's inline requests (comma-separated), and its size in bytes. */
export function inlineRequests(jobId: string, req: GenerationRequest, maxOutputTokens?: number): { text: string; bytes: number } {
	const request = JSON.stringify(geminiBody(req, maxOutputTokens));
	const text = Array.from(
		{ length: req.n },
		(_, i) => `{"request":${request},"metadata":{"key":${JSON.stringify(requestKey(jobId, i))}}}`,
	).join(",");
	return { text, bytes: encoder.encode(text).length };
}

/** The batchGenerateContent body around the requests' text. */
export function batchBody(displayName: string, requests: string[]): string {
	return `{"batch":{"display_name":${JSON.stringify(displayName)},"input_config":{"requests":{"requests":[${requests.join(",")}]}}}}`;
}

/** Room left for requests under the cap once the body's envelope is counted. */
const ENVELOPE_BYTES = 256;

/**
 * 400 at submission when one job alone would not fit a batch (Google takes at most 20 MB
 * of inline requests), so a batch job never fails later for its size.
 */
export function checkFitsBatch(req: GenerationRequest, maxBytes: number): void {
	const { bytes } = inlineRequests("job_x", req);
	if (bytes + ENVELOPE_BYTES > maxBytes) {
		throw invalidParam(
			"service_tier",
			`This request is ${bytes} bytes as batch requests (n = ${req.n}, reference images included); a batch takes at most ${maxBytes}. Lower n, send smaller references, or use the standard tier.`,
			"batch_too_large",
		);
	}
}

/** Whether requests of `add` bytes still fit a batch already holding `used`. */
export function fitsWith(used: number, add: number, maxBytes: number): boolean {
	return used + add + ENVELOPE_BYTES <= maxBytes;
}
