import { describe, expect, it } from "vitest";
import { Catalog } from "../../src/catalog/catalog";
import { ApiError } from "../../src/errors";
import { sniffImage } from "../../src/lib/image-bytes";
import { checkAspectRatio, checkImageSize, checkN, checkPrompt, mapOpenAiSize, resolveModel } from "../../src/pipeline/request";

const catalog = Catalog.build();
const model = (id: string) => {
	const m = catalog.find(id);
	if (!m) throw new Error(id);
	return m;
};

function paramOf(fn: () => unknown): string | null | undefined {
	try {
		fn();
	} catch (e) {
		if (e instanceof ApiError) return e.param;
		throw e;
	}
	return undefined;
}

describe("request checks", () => {
	it("maps OpenAI sizes to the nearest supported ratio and the smallest covering tier", () => {
		expect(mapOpenAiSize(model("nano-banana"), "1024x1024")).toEqual({ aspectRatio: "1:1" });
		expect(mapOpenAiSize(model("nano-banana"), "1536x1024")).toEqual({ aspectRatio: "3:2" });
		expect(mapOpenAiSize(model("nano-banana"), "1792x1024")).toEqual({ aspectRatio: "16:9" });
		expect(mapOpenAiSize(model("nano-banana-2"), "4000x500")).toEqual({ aspectRatio: "8:1", imageSize: "4K" });
		expect(mapOpenAiSize(model("nano-banana-pro"), "2048x1152")).toEqual({ aspectRatio: "16:9", imageSize: "2K" });
		expect(mapOpenAiSize(model("nano-banana-2"), "512x512")).toEqual({ aspectRatio: "1:1", imageSize: "512" });
		expect(mapOpenAiSize(model("nano-banana-pro"), "9000x9000")).toEqual({ aspectRatio: "1:1", imageSize: "4K" });
		expect(mapOpenAiSize(model("nano-banana"), "auto")).toEqual({});
		expect(paramOf(() => mapOpenAiSize(model("nano-banana"), "big"))).toBe("size");
		expect(paramOf(() => mapOpenAiSize(model("nano-banana"), "0x100"))).toBe("size");
	});

	it("rejects what a model does not support, naming the parameter", () => {
		expect(paramOf(() => checkAspectRatio(model("nano-banana"), "8:1"))).toBe("aspect_ratio");
		expect(checkAspectRatio(model("nano-banana-2"), "8:1")).toBe("8:1");
		expect(paramOf(() => checkImageSize(model("nano-banana"), "2K"))).toBe("image_size");
		expect(paramOf(() => checkImageSize(model("nano-banana-pro"), "512"))).toBe("image_size");
		expect(checkImageSize(model("nano-banana-2"), "512px")).toBe("512");
		expect(checkImageSize(model("nano-banana-pro"), "2k")).toBe("2K");
		expect(paramOf(() => resolveModel(catalog, "nope"))).toBe("model");
	});

	it("bounds n and the prompt", () => {
		expect(paramOf(() => checkN(0))).toBe("n");
		expect(paramOf(() => checkN(10))).toBe("n");
		expect(paramOf(() => checkN(1.5))).toBe("n");
		expect(checkN(9)).toBe(9);
		expect(paramOf(() => checkPrompt("   ", 10))).toBe("prompt");
		expect(paramOf(() => checkPrompt("x".repeat(11), 10))).toBe("prompt");
		expect(checkPrompt("  hi  ", 10)).toBe("hi");
	});
});

describe("sniffImage", () => {
	const bytes = (...b: number[]) => new Uint8Array([...b, ...new Array(16).fill(0)]);
	const text = (s: string) => new TextEncoder().encode(s);
	it("identifies formats by magic bytes", () => {
		expect(sniffImage(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))?.mimeType).toBe("image/png");
		expect(sniffImage(bytes(0xff, 0xd8, 0xff, 0xe0))?.ext).toBe("jpg");
		expect(sniffImage(text("RIFF\0\0\0\0WEBPVP8 "))?.mimeType).toBe("image/webp");
		expect(sniffImage(text("\0\0\0\x18ftypheic\0\0\0\0"))?.mimeType).toBe("image/heic");
		expect(sniffImage(text("\0\0\0\x18ftypmif1\0\0\0\0"))?.mimeType).toBe("image/heif");
		expect(sniffImage(text("<html>not an image</html>"))).toBeUndefined();
		expect(sniffImage(new Uint8Array(0))).toBeUndefined();
	});
});
