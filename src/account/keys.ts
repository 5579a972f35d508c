/**
 * API key material: random 32 bytes shown once, stored only as SHA-256 hex, with a short
 * prefix kept for display. Also the constant-time comparison the admin token needs.
 */

const encoder = new TextEncoder();

export async function sha256Hex(value: string | Uint8Array): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", typeof value === "string" ? encoder.encode(value) : value);
	return new Uint8Array(digest).toHex();
}

function randomBase64Url(bytes: number): string {
	return crypto.getRandomValues(new Uint8Array(bytes)).toBase64({ alphabet: "base64url", omitPadding: true });
}

/** A new key: `nbk_` + 43 base64url chars (32 random bytes). */
export function generateApiKey(): string {
	return `nbk_${randomBase64Url(32)}`;
}

/** Public identifier of a key (safe to log and show). */
export function generateKeyId(): string {
	return `key_${crypto.getRandomValues(new Uint8Array(9)).toHex()}`;
}

export function keyPrefix(key: string): string {
	return key.slice(0, 12);
}

/** Random id for requests and objects: `prefix_` + 24 hex chars. */
export function randomId(prefix: string): string {
	return `${prefix}_${crypto.getRandomValues(new Uint8Array(12)).toHex()}`;
}

/**
 * Compares two secrets in constant time. Both sides are hashed first so that the
 * comparison length does not depend on the secret's length either.
 */
export async function secretsEqual(given: string, expected: string): Promise<boolean> {
	const [a, b] = await Promise.all([
		crypto.subtle.digest("SHA-256", encoder.encode(given)),
		crypto.subtle.digest("SHA-256", encoder.encode(expected)),
	]);
	return crypto.subtle.timingSafeEqual(a, b);
}
