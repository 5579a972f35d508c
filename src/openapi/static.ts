/**
 * The fixed parts of the OpenAPI document: info, tags, security schemes, and the
 * headers and header parameters operations refer to.
 */

export const INFO = {
	title: "Nano Banana Gateway",
	version: "1",
	description: [
		"A metered HTTPS API for Google's Nano Banana image models (Gemini native image generation and editing).",
		"",
		"- **Authentication**: `Authorization: Bearer <API key>` (or `x-goog-api-key`, which @google/genai sends). The admin API takes `Authorization: Bearer <ADMIN_TOKEN>`. Model listings and prices are public.",
		'- **Errors** always look like `{"error":{"message","type","code","param"}}` (on Gemini\'s own routes Google\'s `{"error":{"code","message","status","details"}}`), and every response carries `x-request-id`.',
		"- **Credits** are charged per delivered image: a request holds price x n and pays for what it delivered; failures cost nothing. `x-credits-charged` and `x-credits-remaining` say what happened.",
		"- **Async**: `async: true` or `Prefer: respond-async` on any generation answers 202 with a job to poll (`/v1/jobs/{id}`), optionally with a signed webhook.",
		"- **Browsers**: every route answers CORS preflights without a key; the allowed origins are the operator's CORS_ORIGINS.",
	].join("\n"),
};

export const TAGS = [
	{ name: "Images (OpenAI)", description: "OpenAI's Images API (the official openai SDK works with baseURL at /v1), plus served images" },
	{ name: "Gemini native", description: "Gemini's generateContent API (the official @google/genai SDK works with httpOptions.baseUrl)" },
	{
		name: "Interactions (Google)",
		description: "Google's Interactions API for image models (@google/genai's ai.interactions, the AI SDK's google.interactions)",
	},
	{
		name: "Chat completions",
		description: "Chat completions with image output, as OpenRouter serves them (the openai SDK works with baseURL at /v1)",
	},
	{ name: "OpenRouter Images", description: "OpenRouter's Images API (clients built for it work with baseURL at /api/v1)" },
	{ name: "Reseller dialects", description: "The simple JSON APIs of existing Nano Banana resellers" },
	{ name: "Models and prices", description: "The catalog and the price list (public)" },
	{ name: "Account", description: "The calling key's balance, limits and usage" },
	{ name: "Jobs", description: "Async generations" },
	{ name: "Pipelines", description: "Cron-scheduled content pipelines" },
	{ name: "Conversations", description: "Multi-turn editing of the last result" },
	{ name: "Admin", description: "Operator API (Bearer ADMIN_TOKEN)" },
	{ name: "Service", description: "Health, this document and the web pages" },
];

export const SECURITY_SCHEMES = {
	ApiKey: { type: "http", scheme: "bearer", description: "An API key (nbk_...) created by the operator" },
	GoogleApiKey: { type: "apiKey", in: "header", name: "x-goog-api-key", description: "The same API key, as @google/genai sends it" },
	AdminToken: { type: "http", scheme: "bearer", description: "The operator's ADMIN_TOKEN" },
};

const int = { type: "integer" };

export const HEADERS = {
	"x-request-id": { description: "This request's id (also in logs and usage rows)", schema: { type: "string" } },
	"x-credits-charged": { description: "Credits charged for this request", schema: int },
	"x-credits-remaining": { description: "The key's balance afterwards", schema: int },
	"ratelimit-limit": { description: "The limit that applies (requests per minute on success)", schema: int },
	"ratelimit-remaining": { description: "What is left of it", schema: int },
	"ratelimit-reset": { description: "Seconds until it resets", schema: int },
	"ratelimit-policy": { description: 'Which limit, e.g. "images_per_day";q=1000', schema: { type: "string" } },
	"retry-after": { description: "Seconds to wait before retrying", schema: int },
	"x-credits-held": { description: "Credits held for an async job until it settles", schema: int },
	"idempotent-replayed": {
		description: "true when this is the stored answer to an earlier request with the same Idempotency-Key",
		schema: { type: "string" },
	},
	location: { description: "Where to poll the job", schema: { type: "string" } },
	deprecation: { description: "RFC 9745: the model id is deprecated (a date)", schema: { type: "string" } },
	sunset: { description: "RFC 8594: when the model id stops being served upstream", schema: { type: "string" } },
	link: { description: "The successor model (rel=successor-version)", schema: { type: "string" } },
};

export const PARAMETERS = {
	IdempotencyKey: {
		name: "Idempotency-Key",
		in: "header",
		required: false,
		description: "Up to 255 characters; the same key and body within 24 h return the first answer and charge once",
		schema: { type: "string", maxLength: 255 },
	},
	Prefer: {
		name: "Prefer",
		in: "header",
		required: false,
		description: "respond-async: answer 202 with a job instead of waiting",
		schema: { type: "string", examples: ["respond-async"] },
	},
};
