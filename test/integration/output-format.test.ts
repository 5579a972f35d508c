// Images in the format a request asks for (output_format, output_compression), converted at
// store time by the Images binding (IMAGE_TRANSFORM, run locally by miniflare with sharp):
// through HTTP in every dialect, the OpenAI SDK unchanged, bad values refused before a hold.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import {
	auth,
	balanceOf,
	call,
	createKey,
	emulatorCalls,
	expectError,
	flushUsage,
	listObjects,
	postJson,
	uniquePrompt,
} from "../helpers/http";
import { waitForJob } from "../helpers/jobs";
import { openaiClient } from "../helpers/sdk";

/** What an image's first bytes say it is (the magic numbers the task names). */
function magic(b: Uint8Array): string {
	const ascii = (at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));
	if (b[0] === 0x89 && ascii(1, 3) === "PNG") return "png";
	if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
	if (ascii(0, 4) === "RIFF" && ascii(8, 4) === "WEBP") return "webp";
	if (ascii(4, 8) === "ftypavif") return "avif";
	return "unknown";
}

const EXT = { png: "png", jpeg: "jpg", webp: "webp", avif: "avif" } as const;

async function fetchImage(url: string): Promise<{ bytes: Uint8Array; type: string | null }> {
	const res = await call(new URL(url).pathname);
	expect(res.status).toBe(200);
	return { bytes: new Uint8Array(await res.arrayBuffer()), type: res.headers.get("content-type") };
}

describe("output_format", () => {
	it("OpenAI generations: each format is stored converted, with its content type and extension, the original gone", async () => {
		const k = await createKey();
		for (const format of ["png", "jpeg", "webp", "avif"] as const) {
			const res = await postJson(
				"/v1/images/generations",
				{ model: "nano-banana", prompt: uniquePrompt(`fmt ${format}`), output_format: format },
				auth(k.key),
			);
			expect(res.status).toBe(200);
			const body = await res.json<{ data: Array<{ url: string }>; output_format: string }>();
			expect(body.output_format).toBe(format);
			const url = body.data[0].url;
			expect(url.endsWith(`.${EXT[format]}`), url).toBe(true);
			const { bytes, type } = await fetchImage(url);
			expect(magic(bytes)).toBe(format);
			expect(type).toBe(`image/${format}`);
			// One object per image: Gemini's JPEG is not kept (KEEP_ORIGINAL_IMAGES unset).
			const stem = new URL(url).pathname.replace(/^\/images\//, "").replace(/\.[a-z]+$/, "");
			expect((await listObjects(stem)).map((o) => o.key)).toEqual([`${stem}.${EXT[format]}`]);
		}
	});

	it("the charge is the same with and without conversion", async () => {
		const k = await createKey();
		const before = await balanceOf(k.key);
		await postJson("/v1/images/generations", { model: "nano-banana", prompt: uniquePrompt("plain") }, auth(k.key));
		const plain = before - (await balanceOf(k.key));
		const mid = await balanceOf(k.key);
		await postJson("/v1/images/generations", { model: "nano-banana", prompt: uniquePrompt("avif"), output_format: "avif" }, auth(k.key));
		expect(mid - (await balanceOf(k.key))).toBe(plain);
		expect(plain).toBeGreaterThan(0);
	});

	it("the OpenAI SDK's output_format and output_compression work unchanged (generate and edit, b64_json)", async () => {
		const k = await createKey();
		const client = openaiClient(k.key);
		const gen = await client.images.generate({
			model: "nano-banana",
			prompt: uniquePrompt("sdk webp"),
			output_format: "webp",
			output_compression: 80,
			response_format: "b64_json",
		});
		expect(gen.output_format).toBe("webp");
		expect(magic(Uint8Array.fromBase64(gen.data?.[0]?.b64_json ?? ""))).toBe("webp");
		const source = await fetchImage(
			(await client.images.generate({ model: "nano-banana", prompt: uniquePrompt("sdk src") })).data?.[0]?.url ?? "",
		);
		const { toFile } = await import("openai");
		const edit = await client.images.edit({
			model: "nano-banana",
			prompt: uniquePrompt("sdk edit png"),
			image: await toFile(source.bytes, "in.jpg", { type: "image/jpeg" }),
			output_format: "png",
		});
		expect(edit.output_format).toBe("png");
		expect(magic(Uint8Array.fromBase64(edit.data?.[0]?.b64_json ?? ""))).toBe("png");
	});

	it("output_compression reaches the binding as its quality (jpeg, webp, avif; none for png)", async () => {
		const k = await createKey();
		const seen: ImageOutputOptions[] = [];
		const recording: ImagesBinding = {
			...env.IMAGE_TRANSFORM,
			info: (s, o) => env.IMAGE_TRANSFORM.info(s, o),
			text: (c, o) => env.IMAGE_TRANSFORM.text(c, o),
			hosted: env.IMAGE_TRANSFORM.hosted,
			input: (s, o) => {
				const t = env.IMAGE_TRANSFORM.input(s, o);
				return {
					transform: (x) => t.transform(x),
					draw: (i, d) => t.draw(i, d),
					output: (opts) => {
						seen.push(opts);
						return t.output(opts);
					},
				};
			},
		};
		const app = buildApp();
		for (const [format, compression] of [
			["jpeg", 10],
			["webp", 0],
			["avif", 55],
			["png", 20],
		] as const) {
			const res = await app.fetch(
				new Request("https://gateway.test/v1/images/generations", {
					method: "POST",
					headers: { ...auth(k.key), "content-type": "application/json" },
					body: JSON.stringify({ model: "nano-banana", prompt: uniquePrompt("q"), output_format: format, output_compression: compression }),
				}),
				{ ...env, IMAGE_TRANSFORM: recording },
				createExecutionContext(),
			);
			expect(res.status).toBe(200);
		}
		expect(seen).toEqual([
			{ format: "image/jpeg", quality: 10 },
			{ format: "image/webp", quality: 1 },
			{ format: "image/avif", quality: 55 },
			{ format: "image/png" },
		]);
	});

	it("an async job keeps output_format through the queue", async () => {
		const k = await createKey();
		const res = await postJson(
			"/v1/images/generations",
			{ model: "nano-banana", prompt: uniquePrompt("async avif"), output_format: "avif", async: true },
			auth(k.key),
		);
		expect(res.status).toBe(202);
		const job = await waitForJob(k.key, (await res.json<{ id: string }>()).id);
		expect(job.status).toBe("SUCCEEDED");
		expect(job.result?.images[0].mime_type).toBe("image/avif");
		expect(magic((await fetchImage(job.result?.images[0].url ?? "")).bytes)).toBe("avif");
	});

	it("bad output_format or output_compression: a 400 naming the field, nothing held or called", async () => {
		const k = await createKey();
		const before = await balanceOf(k.key);
		const cases: Array<[Record<string, unknown>, string]> = [
			[{ output_format: "gif" }, "output_format"],
			[{ output_format: "tiff" }, "output_format"],
			[{ output_format: 3 }, "output_format"],
			[{ output_format: "jpeg", output_compression: 101 }, "output_compression"],
			[{ output_format: "webp", output_compression: -1 }, "output_compression"],
			[{ output_format: "webp", output_compression: 50.5 }, "output_compression"],
			[{ output_format: "webp", output_compression: "high" }, "output_compression"],
			[{ output_compression: 50 }, "output_compression"],
		];
		for (const [fields, param] of cases) {
			const prompt = uniquePrompt("bad output");
			const res = await postJson("/v1/images/generations", { model: "nano-banana", prompt, ...fields }, auth(k.key));
			const err = await expectError(res, 400, "invalid_parameter");
			expect(err.param, JSON.stringify(fields)).toBe(param);
			expect(await emulatorCalls(prompt)).toEqual([]);
		}
		expect(await balanceOf(k.key)).toBe(before);
	});

	it("chat completions: image_config.output_format, in the data URL's type and the stored name", async () => {
		const k = await createKey();
		const ask = (path: string, image_config: Record<string, unknown>, stream = false) =>
			postJson(
				path,
				{ model: "nano-banana", messages: [{ role: "user", content: uniquePrompt("chat fmt") }], image_config, stream },
				auth(k.key),
			);
		type Chat = { choices: Array<{ message: { images: Array<{ image_url: { url: string } }> } }> };
		const data = await (await ask("/api/v1/chat/completions", { output_format: "webp", output_compression: 60 })).json<Chat>();
		const dataUrl = data.choices[0].message.images[0].image_url.url;
		expect(dataUrl.startsWith("data:image/webp;base64,")).toBe(true);
		expect(magic(Uint8Array.fromBase64(dataUrl.slice(dataUrl.indexOf(",") + 1)))).toBe("webp");
		const linked = await (await ask("/v1/chat/completions", { output_format: "avif" })).json<Chat>();
		const url = linked.choices[0].message.images[0].image_url.url;
		expect(url.endsWith(".avif")).toBe(true);
		expect(magic((await fetchImage(url)).bytes)).toBe("avif");
		// Streamed: the image event carries the converted image too.
		const sse = await (await ask("/api/v1/chat/completions", { output_format: "png" }, true)).text();
		expect(sse).toContain("data:image/png;base64,iVBORw0KGgo");
		const bad = await ask("/v1/chat/completions", { output_format: "bmp" });
		expect((await expectError(bad, 400, "invalid_parameter")).param).toBe("image_config.output_format");
		const badQ = await ask("/v1/chat/completions", { output_format: "jpeg", output_compression: 200 });
		expect((await expectError(badQ, 400, "invalid_parameter")).param).toBe("image_config.output_compression");
	});

	it("OpenRouter's Images API: output_format and output_compression, media_type named, listed per model", async () => {
		const k = await createKey();
		const res = await postJson(
			"/api/v1/images",
			{ model: "google/gemini-2.5-flash-image", prompt: uniquePrompt("or avif"), output_format: "avif", output_compression: 40 },
			auth(k.key),
		);
		expect(res.status).toBe(200);
		const body = await res.json<{ data: Array<{ b64_json: string; media_type: string }> }>();
		expect(body.data[0].media_type).toBe("image/avif");
		expect(magic(Uint8Array.fromBase64(body.data[0].b64_json))).toBe("avif");
		const jpeg = await postJson(
			"/api/v1/images",
			{ prompt: uniquePrompt("or jpeg"), output_format: "jpeg", response_format: "url" },
			auth(k.key),
		);
		const j = await jpeg.json<{ data: Array<{ url: string; media_type: string }> }>();
		expect(j.data[0].media_type).toBe("image/jpeg");
		expect(j.data[0].url.endsWith(".jpg")).toBe(true);
		const models = await (await call("/api/v1/images/models", { headers: auth(k.key) })).json<{
			data: Array<{ supported_parameters: string[]; parameters: { output_format: { values: string[] } } }>;
		}>();
		expect(models.data[0].supported_parameters).toContain("output_format");
		expect(models.data[0].parameters.output_format.values).toEqual(["png", "jpeg", "webp", "avif"]);
		const prompt = uniquePrompt("or bad");
		const bad = await postJson("/api/v1/images", { prompt, output_format: "heic" }, auth(k.key));
		expect((await expectError(bad, 400, "invalid_parameter")).param).toBe("output_format");
		expect(await emulatorCalls(prompt)).toEqual([]);
	});

	it("KEEP_ORIGINAL_IMAGES keeps Gemini's image beside the converted one", async () => {
		const k = await createKey();
		const res = await buildApp().fetch(
			new Request("https://gateway.test/v1/images/generations", {
				method: "POST",
				headers: { ...auth(k.key), "content-type": "application/json" },
				body: JSON.stringify({ model: "nano-banana", prompt: uniquePrompt("keep"), output_format: "webp" }),
			}),
			{ ...env, KEEP_ORIGINAL_IMAGES: "true" },
			createExecutionContext(),
		);
		const url = (await res.json<{ data: Array<{ url: string }> }>()).data[0].url;
		const stem = new URL(url).pathname.replace(/^\/images\//, "").replace(/\.webp$/, "");
		expect((await listObjects(stem)).map((o) => o.key).sort()).toEqual([`${stem}.jpg`, `${stem}.webp`]);
		// A JPEG asked as JPEG with a compression shares the name: the original moves aside.
		const again = await buildApp().fetch(
			new Request("https://gateway.test/v1/images/generations", {
				method: "POST",
				headers: { ...auth(k.key), "content-type": "application/json" },
				body: JSON.stringify({ model: "nano-banana", prompt: uniquePrompt("keep jpeg"), output_format: "jpeg", output_compression: 30 }),
			}),
			{ ...env, KEEP_ORIGINAL_IMAGES: "true" },
			createExecutionContext(),
		);
		const jurl = (await again.json<{ data: Array<{ url: string }> }>()).data[0].url;
		const jstem = new URL(jurl).pathname.replace(/^\/images\//, "").replace(/\.jpg$/, "");
		expect((await listObjects(jstem)).map((o) => o.key).sort()).toEqual([`${jstem}.jpg`, `${jstem}.original.jpg`]);
	});
});

describe("gallery thumbnails", () => {
	it("GET /images/{key}?thumb is a 256-px WebP of the image, cached; a missing image is a 404", async () => {
		const k = await createKey();
		const res = await postJson("/v1/images/generations", { model: "nano-banana", prompt: uniquePrompt("thumb") }, auth(k.key));
		const url = (await res.json<{ data: Array<{ url: string }> }>()).data[0].url;
		const full = await fetchImage(url);
		const thumbRes = await call(`${new URL(url).pathname}?thumb`);
		expect(thumbRes.status).toBe(200);
		expect(thumbRes.headers.get("content-type")).toBe("image/webp");
		expect(thumbRes.headers.get("cache-control")).toContain("immutable");
		const thumb = new Uint8Array(await thumbRes.arrayBuffer());
		expect(magic(thumb)).toBe("webp");
		expect(thumb.byteLength).toBeLessThan(full.bytes.byteLength);
		const info = await env.IMAGE_TRANSFORM.info(new Blob([thumb]).stream());
		expect(info).toMatchObject({ format: "image/webp", width: 256 });
		// The original is untouched, and the thumbnail is no stored object.
		const stem = new URL(url).pathname.replace(/^\/images\//, "").replace(/\.[a-z]+$/, "");
		expect(await listObjects(stem)).toHaveLength(1);
		const missing = await call(`${new URL(url).pathname.replace(/\.jpg$/, ".png")}?thumb`);
		expect(missing.status).toBe(404);
		// The gallery's rows (GET /v1/usage) name each image's thumbnail beside its URL.
		await flushUsage(k.key);
		const usage = await (await call("/v1/usage", { headers: auth(k.key) })).json<{
			data: Array<{ image_urls: string[]; thumbnail_urls: string[] }>;
		}>();
		const row = usage.data.find((r) => r.image_urls[0] === url);
		expect(row?.thumbnail_urls).toEqual([`${url}?thumb`]);
	});
});
