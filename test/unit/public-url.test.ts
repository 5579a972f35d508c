import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/errors";
import { publicUrl } from "../../src/inputs/public-url";

const refused = (url: string, allowHttp = false) => {
	try {
		publicUrl(url, "image_url", allowHttp);
		return false;
	} catch (e) {
		expect(e).toBeInstanceOf(ApiError);
		expect((e as ApiError).param).toBe("image_url");
		return true;
	}
};

describe("publicUrl", () => {
	it("accepts public https URLs", () => {
		expect(publicUrl("https://images.example.com/a.png?x=1", "image_url", false).hostname).toBe("images.example.com");
		expect(publicUrl("https://cdn.example.co.uk./a.png", "image_url", false).pathname).toBe("/a.png");
	});

	it("allows plain http only when configured", () => {
		expect(refused("http://images.example.com/a.png")).toBe(true);
		expect(refused("http://images.example.com/a.png", true)).toBe(false);
		expect(refused("ftp://images.example.com/a.png", true)).toBe(true);
		expect(refused("file:///etc/passwd", true)).toBe(true);
	});

	it("property: every IPv4 address in any notation the URL parser accepts is refused", () => {
		fc.assert(
			fc.property(fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)), fc.integer({ min: 0, max: 3 }), ([a, b, c, d], form) => {
				const n = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
				const host = [`${a}.${b}.${c}.${d}`, String(n), `0x${n.toString(16)}`, `0${a.toString(8)}.${b}.${c}.${d}`][form];
				expect(refused(`https://${host}/x.png`)).toBe(true);
			}),
			{ numRuns: 300 },
		);
	});

	it("refuses IPv6 literals, internal names, credentials and explicit ports", () => {
		for (const url of [
			"https://[::1]/",
			"https://[fd00::1]/",
			"https://[::ffff:169.254.169.254]/",
			"https://localhost/",
			"https://LOCALHOST./",
			"https://foo.localhost/",
			"https://metadata.google.internal/",
			"https://nas.lan/",
			"https://router.home.arpa/",
			"https://intranet/",
			"https://a:b@images.example.com/",
			"https://images.example.com:444/",
			"not a url",
		]) {
			expect(refused(url), url).toBe(true);
		}
	});
});
