/**
 * The walk every bound and floor takes over a model's chain: the upstream ids a request can
 * be sent to, each with what the catalog knows of it and the rates Google bills it at.
 * Written once so the price floor (src/billing/prices.ts), the hold of an image call and
 * the hold of a native call (src/pipeline/metering.ts) agree on which models count.
 */
import type { Catalog } from "../catalog/catalog";
import type { UpstreamModel } from "../catalog/data";
import type { GoogleRates } from "../catalog/rates";

/** One upstream id a chain can reach. */
export interface ServingModel {
	id: string;
	/** The catalog's entry (undefined for an id the catalog does not describe). */
	caps: UpstreamModel | undefined;
	/** Google's rates for it (undefined when neither the defaults nor RATES name it). */
	rates: GoogleRates | undefined;
}

/**
 * The ids of the chain a request can be served by, in chain order: retired ids are skipped
 * because the gateway never sends them a request. Callers decide what a missing rate means
 * (the price floor refuses the configuration; the holds skip an id the floor already refused).
 */
export function servingModels(
	catalog: Pick<Catalog, "upstream">,
	rates: Readonly<Record<string, GoogleRates>>,
	chain: readonly string[],
): ServingModel[] {
	const out: ServingModel[] = [];
	for (const id of chain) {
		const caps = catalog.upstream(id);
		if (caps?.lifecycle.status === "retired") continue;
		out.push({ id, caps, rates: rates[id] });
	}
	return out;
}
