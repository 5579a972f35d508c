/**
 * The catalog every dialect resolves its `model` string against: the built-in data
 * merged with the operator's MODELS override, built once per isolate with the rest of
 * the configuration. A name is an alias (`nano-banana-2`) or a raw Gemini id
 * (`gemini-3-pro-image`, optionally `models/`-prefixed); either resolves to a ModelSpec
 * with the chain of upstream ids to try and the capabilities to check before any call.
 */
import {
	type AliasSpec,
	type Capabilities,
	DEFAULT_ALIASES,
	type ImageSize,
	type Lifecycle,
	UPSTREAM_MODELS,
	type UpstreamModel,
} from "./data";
import type { ModelsOverride } from "./overrides";

export type { ImageSize } from "./data";

/** What a request names, resolved. */
export interface ModelSpec extends Capabilities {
	/** The public name the caller used: an alias or a raw Gemini id. */
	readonly id: string;
	readonly kind: "alias" | "upstream";
	/** The alias whose prices apply. */
	readonly priceAs: string;
	/** Upstream ids in the order they are tried (the first one not known to be gone). */
	readonly chain: readonly string[];
	readonly description: string;
	readonly defaultImageSize?: ImageSize;
	readonly lifecycle: Lifecycle;
	/** For a deprecated or retired name: what to use instead. */
	readonly replacement?: string;
}

/** Thrown while building: the message names what is wrong (the caller adds "MODELS"). */
export class CatalogError extends Error {}

/** How OpenRouter names Google's models: `google/<gemini id>` (e.g. google/gemini-3.1-flash-image-preview, 2026-12-03). */
export const OPENROUTER_PREFIX = "google/";

export class Catalog {
	private readonly byAlias: Map<string, AliasSpec>;
	private readonly byUpstream: Map<string, UpstreamModel>;

	constructor(aliases: readonly AliasSpec[], upstreams: readonly UpstreamModel[]) {
		this.byAlias = new Map(aliases.map((a) => [a.id, a]));
		this.byUpstream = new Map(upstreams.map((u) => [u.id, u]));
	}

	/** The built-in catalog with an operator override applied (throws CatalogError). */
	static build(override: ModelsOverride = {}, aliases = DEFAULT_ALIASES, upstreams = UPSTREAM_MODELS): Catalog {
		const merged = new Map(aliases.map((a) => [a.id, a]));
		const known = new Map(upstreams.map((u) => [u.id, u]));
		for (const [id, o] of Object.entries(override)) {
			const base = merged.get(id);
			const upstream = o.upstream ?? base?.upstream;
			if (!upstream) throw new CatalogError(`${id}: a new alias needs "upstream"`);
			const inherit: Capabilities | undefined = base ?? known.get(upstream);
			const aspectRatios = o.aspect_ratios ?? inherit?.aspectRatios;
			if (!aspectRatios) throw new CatalogError(`${id}: "${upstream}" is not a model the gateway knows; give "aspect_ratios"`);
			const imageSizes = o.image_sizes ?? inherit?.imageSizes ?? [];
			const defaultImageSize = o.default_image_size === null ? undefined : (o.default_image_size ?? base?.defaultImageSize);
			if (defaultImageSize && !imageSizes.includes(defaultImageSize)) {
				throw new CatalogError(
					`${id}: default_image_size ${defaultImageSize} is not one of its image_sizes (${imageSizes.join(", ") || "none"})`,
				);
			}
			const deprecated = o.deprecated ?? (base ? base.lifecycle.status !== "active" : false);
			merged.set(id, {
				id,
				upstream,
				// A renamed upstream keeps the old chain as its fallback unless successors are given.
				successors: o.successors ?? (base ? [base.upstream, ...base.successors].filter((s) => s !== upstream) : []),
				description: o.description ?? base?.description ?? `${id} (${upstream})`,
				aspectRatios,
				imageSizes,
				defaultImageSize,
				maxInputImages: o.max_input_images ?? inherit?.maxInputImages ?? 0,
				lifecycle: deprecated
					? {
							status: "deprecated",
							deprecatedOn: typeof o.deprecated === "string" ? o.deprecated : base?.lifecycle.deprecatedOn,
							sunsetOn: o.sunset ?? base?.lifecycle.sunsetOn,
						}
					: { status: "active" },
			});
		}
		const catalog = new Catalog([...merged.values()], upstreams);
		for (const alias of merged.values()) catalog.checkChain(alias);
		return catalog;
	}

	/** An alias's chain must not repeat itself, and its ids' successor links must end. */
	private checkChain(alias: AliasSpec): void {
		const ids = [alias.upstream, ...alias.successors];
		const dup = ids.find((id, i) => ids.indexOf(id) !== i);
		if (dup) throw new CatalogError(`${alias.id}: successor cycle: ${ids.join(" -> ")} names ${dup} twice`);
		for (const id of ids) this.successorChain(id);
	}

	/** Following Google's named successors from `id` (not including it). */
	private successorChain(id: string): string[] {
		const out: string[] = [];
		let next = this.byUpstream.get(id)?.successor;
		while (next) {
			if (next === id || out.includes(next)) throw new CatalogError(`successor cycle through ${next}`);
			out.push(next);
			next = this.byUpstream.get(next)?.successor;
		}
		return out;
	}

	upstream(id: string): UpstreamModel | undefined {
		return this.byUpstream.get(id);
	}

	aliases(): AliasSpec[] {
		return [...this.byAlias.values()];
	}

	/** Every upstream id a caller may name: the known ones and any an alias uses. */
	upstreamIds(): string[] {
		const ids = new Set(this.byUpstream.keys());
		for (const a of this.byAlias.values()) for (const id of [a.upstream, ...a.successors]) ids.add(id);
		return [...ids];
	}

	/** Public names, aliases first. */
	ids(): string[] {
		return [...this.byAlias.keys(), ...this.upstreamIds()];
	}

	/** Every public name resolved, for listings. */
	specs(): ModelSpec[] {
		return this.ids().map((id) => this.find(id) as ModelSpec);
	}

	/**
	 * A model by its public name: an alias, a Gemini id (`models/` allowed, as Google writes
	 * it), or OpenRouter's name for a Gemini id (`google/gemini-3.1-flash-image`), which
	 * OpenRouter users carry in their settings. The spec keeps the bare id.
	 */
	find(name: string): ModelSpec | undefined {
		const wanted = name.trim().replace(/^models\//, "");
		const alias = this.byAlias.get(wanted);
		if (alias) return this.fromAlias(alias);
		return this.fromUpstream(wanted.startsWith(OPENROUTER_PREFIX) ? wanted.slice(OPENROUTER_PREFIX.length) : wanted);
	}

	private fromAlias(a: AliasSpec): ModelSpec {
		const chain = dedupe([a.upstream, ...a.successors, ...[a.upstream, ...a.successors].flatMap((id) => this.successorChain(id))]);
		return {
			id: a.id,
			kind: "alias",
			priceAs: a.id,
			chain,
			description: a.description,
			aspectRatios: a.aspectRatios,
			imageSizes: a.imageSizes,
			defaultImageSize: a.defaultImageSize,
			maxInputImages: a.maxInputImages,
			lifecycle: a.lifecycle,
		};
	}

	private fromUpstream(id: string): ModelSpec | undefined {
		const known = this.byUpstream.get(id);
		const user = [...this.byAlias.values()].find((a) => a.upstream === id || a.successors.includes(id));
		if (!known && !user) return undefined;
		const retired = known?.lifecycle.status === "retired";
		const after = user ? [...user.successors.slice(user.successors.indexOf(id) + 1)] : [];
		const chain = dedupe([...(retired ? [] : [id]), ...this.successorChain(id), ...after]);
		if (chain.length === 0) throw new CatalogError(`${id} is retired and has no successor`);
		// Prices follow the alias that sells the id the request will actually reach.
		const priceAlias =
			[...this.byAlias.values()].find((a) => a.upstream === chain[0]) ??
			user ??
			[...this.byAlias.values()].find((a) => a.successors.includes(chain[0]));
		const caps: Capabilities = known ?? (user as AliasSpec);
		return {
			id,
			kind: "upstream",
			priceAs: priceAlias?.id ?? id,
			chain,
			description: known ? known.displayName : (user?.description ?? id),
			aspectRatios: caps.aspectRatios,
			imageSizes: caps.imageSizes,
			maxInputImages: caps.maxInputImages,
			lifecycle: known?.lifecycle ?? { status: "active" },
			replacement: known && known.lifecycle.status !== "active" ? known.successor : undefined,
		};
	}
}

function dedupe(ids: string[]): string[] {
	return ids.filter((id, i) => ids.indexOf(id) === i);
}
