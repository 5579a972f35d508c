// Images in the format a request asks for (output_format, output_compression), converted at
// store time by the Images binding (IMAGE_TRANSFORM, run locally by miniflare with sharp):
// through HTTP in every dialect, the OpenAI SDK unchanged, bad values refused before a hold.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { auth, balanceOf, call, createKey, emulatorCalls, expectError, listObjects, postJson, uniquePrompt } from "../helpers/http";
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
});
