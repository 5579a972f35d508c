/**
 * Images this gateway serves (`{origin}/images/generated/...` or under `PUBLIC_BASE_URL`),
 * named as references: read from R2, never fetched over the network. Locally the gateway's
 * own URLs are plain http on loopback, which the SSRF guard refuses; in production this saves
 * a round trip through the public internet.
 */
import type { GatewayConfig } from "../config";

/** The R2 key of an image URL this gateway serves, if it is one. */
export function ownImageKey(url: string, config: GatewayConfig, origin: string): string | undefined {
	const bases = [config.publicBaseUrl ? `${config.publicBaseUrl}/` : undefined, `${origin}/images/`];
	for (const base of bases) {
		if (!base || !url.startsWith(base)) continue;
		let key: string;
		try {
			key = decodeURIComponent(url.slice(base.length).split(/[?#]/)[0]);
		} catch {
			return undefined;
		}
		if (key.startsWith("generated/") && !key.includes("..")) return key;
	}
	return undefined;
}
