/**
 * A job's request in a form that survives the queue: the canonical request minus the
 * image bytes, which wait in the private bucket (`jobs/{jobId}/input-{i}`) until the job
 * ends (then they are deleted), or, for pipelines, are URLs fetched when the run starts.
 */
import type { ThinkingLevel } from "../billing/controls";
import type { ImageSize } from "../catalog/catalog";
import type { GatewayConfig } from "../config";
import { inputLimitsFrom, resolveImages } from "../inputs/images";
import type { GenerationRequest } from "../pipeline/request";
import { resolveModel } from "../pipeline/request";
import type { OutputAsk } from "../storage/convert";
import { type Buckets, deletePrivate, getPrivate } from "../storage/private";

export interface JobSpec {
	endpoint: string;
	model: string;
	mode: "generate" | "edit";
	prompt: string;
	n: number;
	aspectRatio?: string;
	imageSize?: ImageSize;
	/** Reference images uploaded with the request, stored in R2. */
	inputs: Array<{ key: string; mimeType: string }>;
	/** Reference image URLs (pipelines), fetched when the job runs. */
	referenceUrls: string[];
	outputPrefix?: string;
	/** Origin for Worker-served image URLs. */
	origin: string;
	/** The thinking level and search grounding asked for (checked at submission). */
	thinkingLevel?: ThinkingLevel;
	search?: boolean;
	/** The format the images are converted to (checked at submission). */
	output?: OutputAsk;
}

export const inputKey = (jobId: string, i: number) => `jobs/${jobId}/input-${i}`;

/** Puts the request's reference images in the private bucket and returns the queue-safe spec. */
export async function toSpec(buckets: Buckets, jobId: string, req: GenerationRequest, origin: string): Promise<JobSpec> {
	const inputs = await Promise.all(
		req.images.map(async (img, i) => {
			await buckets.PRIVATE.put(inputKey(jobId, i), img.data, { httpMetadata: { contentType: img.mimeType } });
			return { key: inputKey(jobId, i), mimeType: img.mimeType };
		}),
	);
	return {
		endpoint: req.endpoint,
		model: req.model.id,
		mode: req.images.length > 0 ? "edit" : "generate",
		prompt: req.prompt,
		n: req.n,
		aspectRatio: req.aspectRatio,
		imageSize: req.imageSize,
		inputs,
		referenceUrls: [],
		origin,
		...(req.thinkingLevel ? { thinkingLevel: req.thinkingLevel } : {}),
		...(req.search ? { search: true } : {}),
		...(req.output ? { output: req.output } : {}),
	};
}

/** Rebuilds the canonical request when the job runs. */
export async function fromSpec(buckets: Buckets, spec: JobSpec, config: GatewayConfig): Promise<GenerationRequest> {
	const model = resolveModel(config.catalog, spec.model);
	const stored = await Promise.all(
		spec.inputs.map(async (ref) => {
			const found = await getPrivate(buckets, ref.key);
			if (!found) throw new Error(`job input ${ref.key} is missing`);
			return { mimeType: ref.mimeType, data: new Uint8Array(await found.obj.arrayBuffer()) };
		}),
	);
	const fetched = await resolveImages(
		spec.referenceUrls.map((value, i) => ({ param: `reference_images[${i}]`, value })),
		model.maxInputImages,
		model.id,
		inputLimitsFrom(config),
	);
	return {
		endpoint: spec.endpoint,
		model,
		prompt: spec.prompt,
		n: spec.n,
		aspectRatio: spec.aspectRatio,
		imageSize: spec.imageSize,
		images: [...stored, ...fetched],
		outputPrefix: spec.outputPrefix,
		...(spec.thinkingLevel ? { thinkingLevel: spec.thinkingLevel } : {}),
		...(spec.search ? { search: true } : {}),
		...(spec.output ? { output: spec.output } : {}),
	};
}

/**
 * Deletes a finished job's uploaded images (they are the user's photos, kept only for the
 * run). Best effort: what a failure leaves behind, the retention pass deletes.
 */
export async function dropJobInputs(buckets: Buckets, specJson: string): Promise<void> {
	let keys: string[];
	try {
		keys = (JSON.parse(specJson) as JobSpec).inputs.map((i) => i.key);
	} catch {
		return;
	}
	await deletePrivate(buckets, keys).catch((error: unknown) => {
		console.error(JSON.stringify({ event: "job_inputs_delete_failed", error: String(error) }));
	});
}
