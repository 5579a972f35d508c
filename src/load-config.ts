/**
 * The composer: the gateway's configuration built from the settings (src/config.ts): the
 * model catalog from MODELS, the price tables from PRICES, the upstream pool from
 * GEMINI_API_KEY(S), GEMINI_BASE_URL and UPSTREAMS. Only the Worker's entry points call it
 * (the app's withConfig middleware, the cron trigger, the queue consumer); everything
 * below them is handed the built config and imports its type from src/config.ts.
 */
import { buildBatchPrices, buildPrices, MissingRates, type PriceTable } from "./billing/prices";
import { Catalog, CatalogError } from "./catalog/catalog";
import { applyRates, type GoogleRates } from "./catalog/rates";
import { ConfigError, cachedPerEnv, type GatewayConfig, type Inputs, issueError, parseSettings, type Settings } from "./config";
import { buildPool, DEFAULT_GEMINI_BASE_URL, PoolConfigError, type UpstreamSpec, UpstreamsSetting } from "./upstreams/spec";

// What this module builds joins the config type here, beside the code that builds it, so
// src/config.ts needs neither the pool's nor the catalog's types (and sits below both).
declare module "./config" {
	interface GatewayConfig {
		/** Where the upstreams from GEMINI_API_KEY(S) are. */
		geminiBaseUrl: string;
		/** The upstream pool (src/upstreams/spec.ts); credentials included, so never logged. */
		upstreams: UpstreamSpec[];
		catalog: Catalog;
		prices: PriceTable;
		/** The Batch lane's prices (half the standard ones unless PRICES.batch says otherwise). */
		batchPrices: PriceTable;
		/** What Google bills, by upstream model id (src/catalog/rates.ts, with RATES applied). */
		rates: Record<string, GoogleRates>;
	}
}

function build(env: Env, settings: Settings, inputs: Inputs): GatewayConfig {
	// UPSTREAMS was read as JSON with the other settings; its entries are the pool's to check.
	const upstreamsSetting = UpstreamsSetting().optional().safeParse(inputs.UPSTREAMS);
	if (!upstreamsSetting.success) {
		const issue = upstreamsSetting.error.issues[0];
		throw issueError("UPSTREAMS", issue, issue.path);
	}
	let catalog: Catalog;
	try {
		catalog = Catalog.build(inputs.MODELS ?? {});
	} catch (error) {
		if (error instanceof CatalogError) throw new ConfigError("MODELS", error.message);
		throw error;
	}
	let rates: Record<string, GoogleRates>;
	try {
		rates = applyRates(inputs.RATES ?? {});
	} catch (error) {
		throw new ConfigError("RATES", error instanceof Error ? error.message : String(error));
	}
	let prices: PriceTable;
	let batchPrices: PriceTable;
	const basis = { rates, marginPercent: settings.marginPercent };
	try {
		prices = buildPrices(catalog, inputs.PRICES ?? {}, basis);
		batchPrices = buildBatchPrices(catalog, prices, inputs.PRICES ?? {}, basis);
	} catch (error) {
		if (error instanceof MissingRates) throw new ConfigError("RATES", error.message);
		throw new ConfigError("PRICES", error instanceof Error ? error.message : String(error));
	}
	const geminiBaseUrl = inputs.GEMINI_BASE_URL ?? DEFAULT_GEMINI_BASE_URL;
	let upstreams: UpstreamSpec[];
	try {
		upstreams = buildPool(env as unknown as Record<string, unknown>, upstreamsSetting.data, geminiBaseUrl, catalog);
	} catch (error) {
		if (error instanceof PoolConfigError) throw new ConfigError(error.variable, error.problem);
		throw error;
	}
	return { ...settings, geminiBaseUrl, upstreams, catalog, prices, batchPrices, rates };
}

const cache = new WeakMap<object, GatewayConfig | ConfigError>();

/**
 * The configuration for this `env`, built on first use and kept for the isolate's life
 * (bindings do not change while it lives). Throws the ConfigError every time while the
 * configuration is broken; it is logged once.
 */
export function loadConfig(env: Env): GatewayConfig {
	return cachedPerEnv(cache, env, (e) => {
		const { settings, inputs } = parseSettings(e);
		return build(e, settings, inputs);
	});
}
