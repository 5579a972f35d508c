// The settings' variables, merged into the `Env` that `wrangler types` generates. Their
// names come from the settings table in src/config.ts (declared there once, with how each
// is read); wrangler only knows those that wrangler.toml names, so the others are added
// here. Env must know them all because code and tests hand the Worker an env with one
// changed (`{ ...env, GEMINI_DEADLINE_MS: "300" }`), which TypeScript checks against Env.
// Those that wrangler.toml names keep wrangler's own type.
import type { SettingVars } from "./config";

declare global {
	interface Env extends Omit<SettingVars, keyof Cloudflare.Env> {}
}
