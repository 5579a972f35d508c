/**
 * Submitting a batch is not idempotent at Google: a creation whose answer was lost (a
 * timeout, a consumer that died) may still have made the batch, and Google bills every
 * batch it runs. So a submission is always resumed under its own display name, and before
 * creating anything the resumption looks for that name in each Gemini API key's batches
 * (GET batches, Google's list of a key's batches, newest first); one found is adopted.
 */
import type { GatewayConfig } from "../../config";
import type { BatchOperation } from "../../gemini/types";
import { memberClient, poolOf } from "../../upstreams/pool";

/** The display name a batch is submitted under: the gateway's batch id, so a resumption can find it. */
export const displayNameOf = (batchId: string): string => `nano-banana-gateway ${batchId}`;

/** List pages read per key: Google lists newest first, and a resumed batch is recent. */
const MAX_PAGES = 10;

/** The batch Google already has under `displayName`, with the pool member that holds it; null when none does. */
export async function findSubmitted(
	config: GatewayConfig,
	displayName: string,
): Promise<{ op: BatchOperation & { name: string }; upstream: string } | null> {
	for (const member of (await poolOf(config)).filter((m) => m.spec.kind === "gemini")) {
		const client = await memberClient(config, member.spec.id);
		let token: string | undefined;
		for (let page = 0; page < MAX_PAGES; page++) {
			const list = await client.listBatches(token);
			const op = list.operations?.find((o) => o.metadata?.displayName === displayName);
			if (op?.name) return { op: { ...op, name: op.name }, upstream: member.spec.id };
			token = list.nextPageToken;
			if (!token) break;
		}
	}
	return null;
}
