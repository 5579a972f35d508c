/**
 * A Gemini-native generateContent / countTokens body, read the way Google's JSON parser
 * reads it and rebuilt from what the gateway understands. Google takes every field in
 * camelCase or snake_case (`generation_config.image_config.image_size`), so a body
 * forwarded as written can ask Google for things the gateway never saw: a 4K image priced
 * at the default size, text-only answers, search queries, cached content, a priority tier.
 * Here every key is read in both spellings (one field given twice with different values
 * is a 400), checked against a strict schema and the operator's settings, and the
 * upstream request is written anew, camelCase, from the validated fields only. Anything
 * else is a 400 in the caller's own spelling (`param`), before any upstream call.
 *
 * Forwarded: `contents` (text and inline image parts, thought signatures), a capped
 * `systemInstruction`, `generationConfig` (imageConfig, responseModalities, the
 * gateway's maxOutputTokens cap, temperature / topP / topK / seed, thinkingConfig at an
 * allowed level), `tools` with Google Search only (NATIVE_ALLOW_SEARCH), and
 * `safetySettings` no looser than Google's default (BLOCK_MEDIUM_AND_ABOVE).
 */
import type { GatewayConfig, ThinkingLevel } from "../config";
import { invalidParam } from "../errors";
import { CountBody, GenerateBody, notAllowed, readSpelled, STRICT_ENOUGH } from "./native-schema";
import type { GeminiContent, GenerateContentRequest } from "./types";

export { NativeBody } from "./native-schema";

/** The operator's settings that shape what the native route forwards. */
export interface NativePolicy {
	/** Longest systemInstruction, its text parts together (0: none accepted). */
	maxSystemChars: number;
	/** The maxOutputTokens the gateway sends when the caller asks for more, or for nothing. */
	maxOutputTokens: number;
	/** Whether responseModalities may leave out IMAGE (text-only answers). */
	allowTextOutput: boolean;
	/** The thinkingConfig.thinkingLevel values accepted. */
	thinkingLevels: readonly ThinkingLevel[];
	/** Whether a googleSearch tool is accepted. */
	allowSearch: boolean;
}

/** The policy the settings give (NATIVE_* in src/config.ts). */
export function nativePolicy(config: GatewayConfig): NativePolicy {
	return {
		maxSystemChars: config.nativeMaxSystemChars,
		maxOutputTokens: config.nativeMaxOutputTokens,
		allowTextOutput: config.nativeAllowTextOutput,
		thinkingLevels: config.nativeThinkingLevels,
		allowSearch: config.nativeAllowSearch,
	};
}

/**
 * What a native request can cost at most, for the meter's hold: everything Google may
 * bill for it follows from these (and the model and size the route checked).
 */
export interface NativeBounds {
	/**
	 * The maxOutputTokens sent upstream: the lowest of the caller's, NATIVE_MAX_OUTPUT_TOKENS
	 * and the output limit of every model id the chain may reach. Image, text and thought
	 * tokens all count against it, so it bounds the whole output bill.
	 */
	maxOutputTokens: number;
	/** A googleSearch tool is sent (Google bills each search query it runs). */
	search: boolean;
	/** ...with its image search type on. */
	imageSearch: boolean;
	/** The thinking level asked for, lower case; undefined: the model's default. */
	thinkingLevel?: ThinkingLevel;
	/** A thinkingBudget asked for instead (-1: dynamic); thoughts stay within maxOutputTokens. */
	thinkingBudget?: number;
	/** The answer may carry text (responseModalities unset, or naming TEXT). */
	textOutput: boolean;
	/** The answer may carry images: false only for a text-only request (NATIVE_ALLOW_TEXT_OUTPUT). */
	imageOutput: boolean;
	/** Characters of text in contents (history included) and systemInstruction. */
	inputTextChars: number;
	/** Inline images in contents, history included. */
	inputImages: number;
}

/** A body read and rebuilt, with the caller's spelling of any field for error messages. */
export interface NativeRequest {
	/** What goes upstream: validated fields only, camelCase, the output cap set. */
	request: GenerateContentRequest;
	bounds: NativeBounds;
	/** A field's path as the caller wrote it: `param(["generationConfig", "imageConfig"])` → `generation_config.image_config`. */
	param(path: readonly PropertyKey[]): string;
}

// ---- Policy and the rebuilt request -------------------------------------------------

/** Text characters of the contents and the system instruction. */
function textChars(contents: readonly GeminiContent[], system: GenerateBody["systemInstruction"]): number {
	let n = 0;
	for (const c of contents) for (const p of c.parts) n += p.text?.length ?? 0;
	for (const p of system?.parts ?? []) n += p.text.length;
	return n;
}

/**
 * The checked body rebuilt for upstream, with its bounds. `outputTokenLimit` is the
 * lowest output limit of the model ids the call may reach (Google refuses a larger cap).
 */
function rebuild(
	body: GenerateBody,
	policy: NativePolicy,
	outputTokenLimit: number | undefined,
	param: (path: readonly PropertyKey[]) => string,
): { request: GenerateContentRequest; bounds: NativeBounds } {
	const cfg = body.generationConfig ?? {};
	const at = (...path: PropertyKey[]) => param(["generationConfig", ...path]);

	const system = body.systemInstruction;
	const systemChars = system?.parts.reduce((n, p) => n + p.text.length, 0) ?? 0;
	if (system && systemChars > policy.maxSystemChars) {
		const p = param(["systemInstruction"]);
		throw invalidParam(
			p,
			policy.maxSystemChars === 0
				? `${p}: a system instruction is not accepted by this gateway`
				: `${p}: ${systemChars} characters; this gateway accepts at most ${policy.maxSystemChars} (NATIVE_MAX_SYSTEM_CHARS)`,
		);
	}

	const modalities = cfg.responseModalities ? [...new Set(cfg.responseModalities)] : undefined;
	if (modalities && !modalities.includes("IMAGE") && !policy.allowTextOutput) {
		throw notAllowed(at("responseModalities"), "must include IMAGE: text-only answers are not enabled on this gateway");
	}

	const thinking = cfg.thinkingConfig;
	if (thinking?.thinkingLevel !== undefined && thinking.thinkingBudget !== undefined) {
		throw invalidParam(at("thinkingConfig"), `${at("thinkingConfig")}: set thinkingLevel or thinkingBudget, not both`);
	}
	if (thinking?.thinkingLevel !== undefined && !policy.thinkingLevels.includes(thinking.thinkingLevel)) {
		const allowed = policy.thinkingLevels.length > 0 ? `allowed: ${policy.thinkingLevels.join(", ")}` : "no thinking level is";
		throw notAllowed(at("thinkingConfig", "thinkingLevel"), `'${thinking.thinkingLevel}' is not enabled on this gateway (${allowed})`);
	}
	// A budget can buy as much thinking as the top level, so it needs "high" (0 asks for the least).
	if (thinking?.thinkingBudget !== undefined && thinking.thinkingBudget !== 0 && !policy.thinkingLevels.includes("high")) {
		throw notAllowed(at("thinkingConfig", "thinkingBudget"), "only 0 is accepted: high thinking is not enabled on this gateway");
	}

	let search = false;
	let imageSearch = false;
	for (const [i, tool] of (body.tools ?? []).entries()) {
		if (!policy.allowSearch) {
			throw notAllowed(param(["tools", i, "googleSearch"]), "Google Search grounding is not enabled on this gateway");
		}
		search = true;
		imageSearch ||= tool.googleSearch.searchTypes?.imageSearch !== undefined;
	}

	for (const [i, s] of (body.safetySettings ?? []).entries()) {
		if (!STRICT_ENOUGH.includes(s.threshold)) {
			throw notAllowed(
				param(["safetySettings", i, "threshold"]),
				`${s.threshold} would loosen the gateway's safety policy; accepted: ${STRICT_ENOUGH.join(", ")}`,
			);
		}
	}

	const maxOutputTokens = Math.min(
		cfg.maxOutputTokens ?? Number.POSITIVE_INFINITY,
		policy.maxOutputTokens,
		outputTokenLimit ?? Number.POSITIVE_INFINITY,
	);
	const contents: GeminiContent[] = body.contents.map((c) => ({
		...(c.role ? { role: c.role } : {}),
		parts: c.parts.map((p) => ({
			...(p.text !== undefined ? { text: p.text } : {}),
			...(p.inlineData ? { inlineData: { mimeType: p.inlineData.mimeType, data: p.inlineData.data } } : {}),
			...(p.thought !== undefined ? { thought: p.thought } : {}),
			...(p.thoughtSignature !== undefined ? { thoughtSignature: p.thoughtSignature } : {}),
		})),
	}));
	const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
	const generationConfig = defined({
		responseModalities: modalities,
		maxOutputTokens,
		temperature: cfg.temperature,
		topP: cfg.topP,
		topK: cfg.topK,
		seed: cfg.seed,
		stopSequences: cfg.stopSequences?.length ? cfg.stopSequences : undefined,
		imageConfig: cfg.imageConfig ? defined({ aspectRatio: cfg.imageConfig.aspectRatio, imageSize: cfg.imageConfig.imageSize }) : undefined,
		thinkingConfig: thinking
			? defined({
					thinkingLevel: thinking.thinkingLevel?.toUpperCase(),
					thinkingBudget: thinking.thinkingBudget,
					includeThoughts: thinking.includeThoughts,
				})
			: undefined,
	});
	const request: GenerateContentRequest = {
		contents,
		...(system
			? { systemInstruction: { ...(system.role ? { role: system.role } : {}), parts: system.parts.map((p) => ({ text: p.text })) } }
			: {}),
		generationConfig,
		...(body.tools?.length ? { tools: body.tools.map((t) => ({ googleSearch: defined({ ...t.googleSearch }) })) } : {}),
		...(body.safetySettings?.length
			? { safetySettings: body.safetySettings.map((s) => ({ category: s.category, threshold: s.threshold })) }
			: {}),
	};
	return {
		request,
		bounds: {
			maxOutputTokens,
			search,
			imageSearch,
			...(thinking?.thinkingLevel !== undefined ? { thinkingLevel: thinking.thinkingLevel } : {}),
			...(thinking?.thinkingBudget !== undefined ? { thinkingBudget: thinking.thinkingBudget } : {}),
			textOutput: !modalities || modalities.includes("TEXT"),
			imageOutput: !modalities || modalities.includes("IMAGE"),
			inputTextChars: textChars(contents, system),
			inputImages: contents.reduce((n, c) => n + c.parts.filter((p) => p.inlineData).length, 0),
		},
	};
}

/**
 * A generateContent / streamGenerateContent body, checked and rebuilt. Throws a 400
 * (`unsupported_parameter`, `feature_not_allowed`, `invalid_parameter`) naming the field
 * as the caller wrote it.
 */
export function readNativeRequest(value: unknown, policy: NativePolicy, outputTokenLimit?: number): NativeRequest {
	const { body, param } = readSpelled(GenerateBody(), value);
	return { ...rebuild(body, policy, outputTokenLimit, param), param };
}

/**
 * A countTokens body, checked like a generation and rebuilt: `{contents}` or
 * `{generateContentRequest}` (the wrapped request's `model` is set by the caller of this).
 */
export function readCountTokensRequest(
	value: unknown,
	policy: NativePolicy,
): { contents: GeminiContent[] } | { generateContentRequest: GenerateContentRequest } {
	const { body, param } = readSpelled(CountBody(), value);
	if (body.generateContentRequest && body.contents) {
		throw invalidParam("contents", "contents: send contents or generateContentRequest, not both");
	}
	if (body.generateContentRequest) {
		const wrapped = (path: readonly PropertyKey[]) => param(["generateContentRequest", ...path]);
		return { generateContentRequest: rebuild(body.generateContentRequest, policy, undefined, wrapped).request };
	}
	if (!body.contents) throw invalidParam("contents", "contents: Required (or a generateContentRequest)");
	return { contents: rebuild({ contents: body.contents }, policy, undefined, param).request.contents };
}
