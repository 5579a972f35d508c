/**
 * The private bucket (binding PRIVATE): every object that is not a generated image. The
 * image bucket (IMAGES) may be served as a public domain (PUBLIC_BASE_URL), so nothing a
 * user did not ask to publish may live there: job inputs (users' uploaded photos), model
 * turns (thought text and signatures), conversation histories and idempotency replays.
 *
 * Migration: gateways before this split kept these objects in IMAGES under the same keys.
 * A read that misses in PRIVATE falls back to IMAGES, so nothing written before the split
 * is lost, and the retention pass (src/retention.ts) moves every such object it meets in
 * IMAGES over to PRIVATE, so they leave the public bucket without an operator's step.
 */

/** The two buckets, as the Worker's env carries them. */
export type Buckets = Pick<Env, "IMAGES" | "PRIVATE">;

/** Prefixes of the private objects (keys under them were in IMAGES before the split). */
export const PRIVATE_PREFIXES = ["jobs/", "turns/", "conversations/", "idempotency/"] as const;

/** Whether `key` names a private object (one that must never be in the public bucket). */
export function isPrivateKey(key: string): boolean {
	return PRIVATE_PREFIXES.some((p) => key.startsWith(p));
}

/** The object in PRIVATE, or where an older gateway left it (IMAGES); null when neither has it. */
export async function getPrivate(buckets: Buckets, key: string): Promise<{ obj: R2ObjectBody; legacy: boolean } | null> {
	const obj = await buckets.PRIVATE.get(key);
	if (obj) return { obj, legacy: false };
	const old = isPrivateKey(key) ? await buckets.IMAGES.get(key) : null;
	return old ? { obj: old, legacy: true } : null;
}

/** Deletes private objects wherever they are (PRIVATE, and IMAGES for what an older gateway wrote). */
export async function deletePrivate(buckets: Buckets, keys: string[]): Promise<void> {
	const own = keys.filter(isPrivateKey);
	if (own.length === 0) return;
	await Promise.all([buckets.PRIVATE.delete(own), buckets.IMAGES.delete(own)]);
}
