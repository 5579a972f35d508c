/**
 * Opaque keyset cursors: base64 of [timestamp, id]. Anything else is a 400 naming `cursor`.
 */
import { invalidParam } from "../errors";

export function encodeCursor(createdAt: string, id: string): string {
	return btoa(JSON.stringify([createdAt, id]));
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } {
	try {
		const [createdAt, id] = JSON.parse(atob(cursor)) as [unknown, unknown];
		if (typeof createdAt === "string" && typeof id === "string") return { createdAt, id };
	} catch {
		// fall through to the 400
	}
	throw invalidParam("cursor", "cursor is not one this API returned");
}
