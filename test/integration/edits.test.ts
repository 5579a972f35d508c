import { describe, expect, it, onTestFinished } from "vitest";
import { auth, call, createKey, emulatorCalls, expectError, flushUsage, postJson, uniquePrompt, usageRows } from "../helpers/http";
import { emulatorImage, imageResponse, interceptHosts, TINY_PNG } from "../helpers/images";

type Sent = { inlineData?: { mimeType: string; data: string }; text?: string };

/** The inline images the emulator received for a prompt, in order. */
async function sentImages(prompt: string): Promise<Array<{ mimeType: string; bytes: Uint8Array }>> {
	const [callMade] = await emulatorCalls(prompt);
	const parts = (callMade.body.contents.at(-1) as { parts: Sent[] }).parts;
	expect(parts[0].text).toBe(prompt);
	return parts
		.filter((p) => p.inlineData)
		.map((p) => ({ mimeType: p.inlineData?.mimeType ?? "", bytes: Uint8Array.fromBase64(p.inlineData?.data ?? "") }));
}

describe("POST /v1/images/edits (multipart)", () => {
	it("one file as `image`: the emulator receives exactly those bytes with their real type", async () => {
		const k = await createKey();
		const jpeg = await emulatorImage("source photo");
		const prompt = uniquePrompt("make it blue");
		const form = new FormData();
		form.set("prompt", prompt);
		form.set("model", "nano-banana-pro");
		form.set("n", "2");
		form.set("image", new File([jpeg], "photo.png", { type: "image/png" })); // label lies; bytes are JPEG
		const res = await call("/v1/images/edits", { method: "POST", headers: auth(k.key), body: form });
		expect(res.status).toBe(200);
		expect((await res.json<{ data: unknown[] }>()).data).toHaveLength(2);
		const sent = await sentImages(prompt);
		expect(sent).toHaveLength(1);
		expect(sent[0].mimeType).toBe("image/jpeg");
		expect(sent[0].bytes).toEqual(jpeg);
	});

	it("several files as repeated `image[]`, in order", async () => {
		const k = await createKey();
		const a = await emulatorImage("a");
		const b = TINY_PNG;
		const c = await emulatorImage("c [emu:format=png]", "gemini-3.1-flash-image");
		const prompt = uniquePrompt("combine");
		const form = new FormData();
		form.set("prompt", prompt);
		form.set("model", "nano-banana-2");
		for (const [i, bytes] of [a, b, c].entries()) form.append("image[]", new File([bytes], `${i}.bin`));
		const res = await call("/v1/images/edits", { method: "POST", headers: auth(k.key), body: form });
		expect(res.status).toBe(200);
		const sent = await sentImages(prompt);
		expect(sent.map((s) => s.mimeType)).toEqual(["image/jpeg", "image/png", "image/png"]);
		expect(sent.map((s) => s.bytes)).toEqual([a, b, c]);
	});

	it("refuses a mask, naming it, and files that are not images", async () => {
		const k = await createKey();
		const form = new FormData();
		form.set("prompt", "x");
		form.set("image", new File([TINY_PNG], "a.png"));
		form.set("mask", new File([TINY_PNG], "m.png"));
		const err = await expectError(
			await call("/v1/images/edits", { method: "POST", headers: auth(k.key), body: form }),
			400,
			"unsupported_parameter",
		);
		expect(err.param).toBe("mask");
		const bad = new FormData();
		bad.set("prompt", "x");
		bad.set("image", new File([new TextEncoder().encode("<html>hi</html>")], "a.png", { type: "image/png" }));
		expect(
			(await expectError(await call("/v1/images/edits", { method: "POST", headers: auth(k.key), body: bad }), 400, "invalid_image")).param,
		).toBe("image");
	});

	it("multipart fields named __proto__ or constructor are plain fields, not a 500", async () => {
		const k = await createKey();
		const form = new FormData();
		form.set("prompt", uniquePrompt("proto"));
		form.set("image", new File([TINY_PNG], "a.png"));
		form.append("__proto__", "x");
		form.append("__proto__", "y");
		form.append("constructor", "z");
		const res = await call("/v1/images/edits", { method: "POST", headers: auth(k.key), body: form });
		expect(res.status).toBe(200);
	});

	it("an edit without any image is a 400", async () => {
		const k = await createKey();
		const form = new FormData();
		form.set("prompt", "x");
		expect(
			(await expectError(await call("/v1/images/edits", { method: "POST", headers: auth(k.key), body: form }), 400, "invalid_parameter"))
				.param,
		).toBe("image");
	});

	it("enforces the per-model input count (3 for nano-banana)", async () => {
		const k = await createKey();
		const prompt = uniquePrompt("too many");
		const form = new FormData();
		form.set("prompt", prompt);
		for (let i = 0; i < 4; i++) form.append("image[]", new File([TINY_PNG], `${i}.png`));
		await expectError(await call("/v1/images/edits", { method: "POST", headers: auth(k.key), body: form }), 400, "too_many_images");
		expect(await emulatorCalls(prompt)).toEqual([]);
	});
});

describe("JSON image references", () => {
	it("data URLs and bare base64 on /v1/images/edits", async () => {
		const k = await createKey();
		const jpeg = await emulatorImage("inline");
		const prompt = uniquePrompt("inline refs");
		const res = await postJson(
			"/v1/images/edits",
			{ prompt, model: "nano-banana-pro", image: [`data:image/jpeg;base64,${jpeg.toBase64()}`, TINY_PNG.toBase64()] },
			auth(k.key),
		);
		expect(res.status).toBe(200);
		const sent = await sentImages(prompt);
		expect(sent.map((s) => s.bytes)).toEqual([jpeg, TINY_PNG]);
	});

	it("an edit that names no response_format answers url and b64_json (the same bytes); one that names it, only that", async () => {
		const k = await createKey();
		const edit = (extra: object) =>
			postJson("/v1/images/edits", { prompt: uniquePrompt("both formats"), image: TINY_PNG.toBase64(), ...extra }, auth(k.key));
		type Data = { data: Array<{ url?: string; b64_json?: string }> };
		const both = await edit({});
		expect(both.status).toBe(200);
		const [img] = (await both.json<Data>()).data;
		expect(Object.keys(img).sort()).toEqual(["b64_json", "url"]);
		const served = new Uint8Array(await (await call(new URL(img.url ?? "").pathname)).arrayBuffer());
		expect(Uint8Array.fromBase64(img.b64_json ?? "")).toEqual(served);
		for (const format of ["url", "b64_json"]) {
			const [one] = (await (await edit({ response_format: format })).json<Data>()).data;
			expect(Object.keys(one)).toEqual([format]);
		}
		// Generations keep URLs by default.
		const gen = await postJson("/v1/images/generations", { prompt: uniquePrompt("url default") }, auth(k.key));
		expect(Object.keys((await gen.json<Data>()).data[0])).toEqual(["url"]);
	});

	it("https URLs are fetched, following redirects, and their bytes sent", async () => {
		const k = await createKey();
		const jpeg = await emulatorImage("remote");
		const fake = interceptHosts({
			"images.example.com": (url) =>
				url.pathname === "/moved"
					? new Response(null, { status: 302, headers: { location: "/cat.jpg" } })
					: imageResponse(jpeg, "image/jpeg"),
		});
		onTestFinished(fake.restore);
		const prompt = uniquePrompt("remote ref");
		const res = await postJson(
			"/v1/images/generations",
			{ prompt, model: "nano-banana-2", image_url: "https://images.example.com/moved" },
			auth(k.key),
		);
		expect(res.status).toBe(200);
		expect(fake.seen).toEqual(["https://images.example.com/moved", "https://images.example.com/cat.jpg"]);
		expect((await sentImages(prompt))[0].bytes).toEqual(jpeg);
	});

	it.each([
		["http://images.example.com/a.png", "scheme"],
		["https://127.0.0.1/a.png", "IP addresses"],
		["https://2130706433/a.png", "IP addresses"],
		["https://[::1]/a.png", "IP addresses"],
		["https://localhost/a.png", "single-label"],
		["https://metadata.google.internal/computeMetadata/v1/", "internal"],
		["https://printer.local/a.png", "internal"],
		["https://user:pw@images.example.com/a.png", "credentials"],
		["https://images.example.com:8443/a.png", "port"],
	])("refuses %s before fetching (%s)", async (url, why) => {
		const k = await createKey();
		const fake = interceptHosts({});
		onTestFinished(fake.restore);
		const prompt = uniquePrompt("ssrf");
		const err = await expectError(await postJson("/v1/images/generations", { prompt, image_url: url }, auth(k.key)), 400, "invalid_url");
		expect(err.param).toBe("image_url");
		expect(err.message).toContain(why);
		expect(await emulatorCalls(prompt)).toEqual([]);
	});

	it("re-checks every redirect hop", async () => {
		const k = await createKey();
		const fake = interceptHosts({
			"images.example.com": () => new Response(null, { status: 301, headers: { location: "https://169.254.169.254/latest/meta-data/" } }),
		});
		onTestFinished(fake.restore);
		const err = await expectError(
			await postJson("/v1/images/generations", { prompt: "x", image: ["https://images.example.com/a.png"] }, auth(k.key)),
			400,
			"invalid_url",
		);
		expect(err.param).toBe("image");
		expect(fake.seen).toEqual(["https://images.example.com/a.png"]);
	});

	it("refuses non-image content, oversized downloads and failing hosts", async () => {
		const k = await createKey();
		const fake = interceptHosts({
			"html.example.com": () => new Response("<html></html>", { headers: { "content-type": "text/html" } }),
			"liar.example.com": () => new Response("GIF89a not really", { headers: { "content-type": "image/png" } }),
			"huge.example.com": () => new Response(new Uint8Array(8 * 1024 * 1024), { headers: { "content-type": "image/png" } }),
			"down.example.com": () => new Response("nope", { status: 404 }),
			// What Node's undici throws for an unknown host, and a refused connection.
			"nxdomain.example.com": () => {
				throw new TypeError("fetch failed", {
					cause: Object.assign(new Error("getaddrinfo ENOTFOUND nxdomain.example.com"), { code: "ENOTFOUND" }),
				});
			},
			"refused.example.com": () => {
				throw new TypeError("fetch failed", {
					cause: Object.assign(new Error("connect ECONNREFUSED 203.0.113.9:443"), { code: "ECONNREFUSED" }),
				});
			},
			// workerd's own words for any failed connection; DNS over HTTPS then tells which.
			"opaque.example.com": () => {
				throw new Error("internal error; reference = 0123456789abcdef");
			},
			"cloudflare-dns.com": (u) =>
				Response.json(
					u.searchParams.get("name") === "opaque.example.com" ? { Status: 3 } : { Status: 0, Answer: [{ data: "203.0.113.9" }] },
				),
			"edge.example.com": () => new Response("error code: 1016", { status: 530 }),
		});
		onTestFinished(fake.restore);
		const prompt = uniquePrompt("x");
		const send = (url: string) => postJson("/v1/images/generations", { prompt, image_url: url }, auth(k.key));
		// Each failure names its cause in the message and in the stable `reason` field.
		const cases: Array<[string, number, string, string, RegExp]> = [
			["html", 400, "invalid_image", "not_image", /content-type text\/html/],
			["huge", 413, "image_too_large", "too_large", /larger than/],
			["down", 400, "image_fetch_failed", "http_status", /down\.example\.com answered HTTP 404/],
			["nxdomain", 400, "image_fetch_failed", "dns", /nxdomain\.example\.com: its host name could not be resolved/],
			["refused", 400, "image_fetch_failed", "connect", /refused\.example\.com: no connection could be made/],
			["opaque", 400, "image_fetch_failed", "dns", /opaque\.example\.com: its host name does not exist/],
			["edge", 400, "image_fetch_failed", "dns", /edge\.example\.com: its host name could not be resolved \(Cloudflare 530/],
		];
		for (const [host, status, code, reason, message] of cases) {
			const err = await expectError(await send(`https://${host}.example.com/a`), status, code);
			expect({ host, reason: err.reason, param: err.param }).toEqual({ host, reason, param: "image_url" });
			expect(err.message).toMatch(message);
		}
		await expectError(await send("https://liar.example.com/a"), 400, "invalid_image");
		expect(await emulatorCalls(prompt)).toEqual([]);
	});

	it("an image this gateway serves, named by its URL, is read from storage, never fetched", async () => {
		const k = await createKey();
		const made = await postJson("/v1/images/generations", { prompt: uniquePrompt("a lamp"), model: "nano-banana-2" }, auth(k.key));
		const url = (await made.json<{ data: Array<{ url: string }> }>()).data[0].url;
		expect(url.startsWith("https://gateway.test/images/generated/")).toBe(true);
		const stored = new Uint8Array(await (await call(new URL(url).pathname)).arrayBuffer());
		// No request may leave for the gateway's own host: it is not resolvable, and fetching would be a round trip.
		const fake = interceptHosts({ "gateway.test": () => new Response("fetched over the network", { status: 500 }) });
		onTestFinished(fake.restore);
		const prompt = uniquePrompt("same lamp at night");
		const res = await postJson("/v1/images/edits", { prompt, model: "nano-banana-2", image: url }, auth(k.key));
		expect(res.status).toBe(200);
		expect(fake.seen).toEqual([]);
		expect((await sentImages(prompt))[0].bytes).toEqual(stored);
		const gone = await postJson("/v1/images/edits", { prompt, image: `${url}x` }, auth(k.key));
		const err = await expectError(gone, 400, "image_fetch_failed");
		expect(err.message).toMatch(/no longer exists/);
	});

	it("garbage that is neither URL, data URL nor base64 image is a 400 naming it", async () => {
		const k = await createKey();
		const err = await expectError(
			await postJson("/v1/images/generations", { prompt: "x", images: ["not an image!!"] }, auth(k.key)),
			400,
			"invalid_image",
		);
		expect(err.param).toBe("images");
	});
});

describe("mode detection", () => {
	it("generations with a reference image is an edit, without one a generation; usage records it", async () => {
		const k = await createKey();
		await postJson("/v1/images/generations", { prompt: uniquePrompt("plain") }, auth(k.key));
		await postJson("/v1/images/generations", { prompt: uniquePrompt("with ref"), image: [TINY_PNG.toBase64()] }, auth(k.key));
		await flushUsage(k.key);
		const rows = await usageRows(k.id);
		expect(rows.map((r) => r.mode).sort()).toEqual(["edit", "generate"]);
	});
});
