/**
 * The slice of Gemini's generateContent wire format the gateway sends and reads.
 * Requests go out camelCase; responses come back camelCase, but snake_case input parts
 * are accepted where users hand us bodies (the docs' curl examples use them).
 */

export interface InlineData {
	mimeType: string;
	data: string;
}

export interface GeminiPart {
	text?: string;
	inlineData?: InlineData;
	inline_data?: { mime_type?: string; mimeType?: string; data: string };
	fileData?: { mimeType?: string; fileUri: string };
	thought?: boolean;
	thoughtSignature?: string;
}

export interface GeminiContent {
	role?: "user" | "model";
	parts: GeminiPart[];
}

export interface GenerateContentRequest {
	contents: GeminiContent[];
	generationConfig?: {
		responseModalities?: string[];
		candidateCount?: number;
		imageConfig?: { aspectRatio?: string; imageSize?: string };
		[key: string]: unknown;
	};
	[key: string]: unknown;
}

export interface UsageMetadata {
	promptTokenCount?: number;
	candidatesTokenCount?: number;
	thoughtsTokenCount?: number;
	totalTokenCount?: number;
}

export interface GeminiCandidate {
	content?: { role?: string; parts?: GeminiPart[] };
	finishReason?: string;
	finishMessage?: string;
	index?: number;
	/** With the Google Search tool: the queries it ran (Google bills each one). */
	groundingMetadata?: { webSearchQueries?: string[]; imageSearchQueries?: string[] };
}

export interface GenerateContentResponse {
	candidates?: GeminiCandidate[];
	promptFeedback?: { blockReason?: string; blockReasonMessage?: string };
	usageMetadata?: UsageMetadata;
	modelVersion?: string;
	responseId?: string;
	/** Not in Google's schema, but seen: a 200 whose body is an error. */
	error?: GoogleRpcError;
}

/** One entry of google.rpc.Status.details (RetryInfo, ErrorInfo, QuotaFailure, Help, ...). */
export interface GoogleRpcDetail {
	"@type"?: string;
	retryDelay?: string;
	reason?: string;
	domain?: string;
	metadata?: Record<string, string>;
	violations?: Array<{ quotaMetric?: string; quotaId?: string; quotaDimensions?: Record<string, string>; quotaValue?: string }>;
	[key: string]: unknown;
}

export interface GoogleRpcError {
	code?: number;
	message?: string;
	status?: string;
	details?: GoogleRpcDetail[];
}

/** google.rpc.Status as Gemini sends it in error bodies. */
export interface GoogleRpcStatus {
	error?: GoogleRpcError;
}

/** The states of a Gemini batch (ai.google.dev/api/batch-mode, BatchState). */
export type BatchState =
	| "BATCH_STATE_PENDING"
	| "BATCH_STATE_RUNNING"
	| "BATCH_STATE_SUCCEEDED"
	| "BATCH_STATE_FAILED"
	| "BATCH_STATE_CANCELLED"
	| "BATCH_STATE_EXPIRED";

/** One answer of a finished batch: matched to its request by `metadata.key`, never by position. */
export interface InlinedResponse {
	metadata?: { key?: string };
	response?: GenerateContentResponse;
	error?: GoogleRpcError;
}

/** The Operation batchGenerateContent answers and batches.get returns. */
export interface BatchOperation {
	name?: string;
	metadata?: { state?: BatchState; batchStats?: Record<string, string>; displayName?: string; model?: string };
	done?: boolean;
	response?: { inlinedResponses?: { inlinedResponses?: InlinedResponse[] } };
	error?: GoogleRpcError;
}
