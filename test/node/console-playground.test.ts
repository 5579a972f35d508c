// The console's playground and gallery in Debian's Chromium, as a person uses them (issue 28):
// the cost before Generate follows model, size, n and references; images arrive one by one
// with elapsed time, distinct for each of n; the large preview opens a lightbox that works by
// keyboard alone (copy URL, next image, edit this image, Escape); recent prompts stay in the
// tab; the gallery shows each image's prompt and own cost in even pages, filters by model and
// date, and opens the lightbox; at phone width nothing overflows. Each screen is saved to
// test-artifacts/console/. No page logs an error. Skipped, loudly, when no Chromium is installed.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, hasChromium, launchChromium, watchErrors } from "./browser.ts";
import { createApiKey, type GatewayProcess, startGateway } from "./gateway-process.ts";

if (!hasChromium) {
	console.warn(`\n*** Browser tests SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH) ***\n`);
}

const ARTIFACTS = join(import.meta.dirname, "../../test-artifacts/console");
let gw: GatewayProcess;
let browser: Browser;

/** Saves what the page shows as test-artifacts/console/<name>.png and says where. */
async function shot(page: Page, name: string, fullPage = true): Promise<void> {
	mkdirSync(ARTIFACTS, { recursive: true });
	const path = join(ARTIFACTS, `${name}.png`);
	if (fullPage) {
		// Lazy images load once scrolled to: show every one in the picture.
		await page.evaluate("window.scrollTo(0, document.body.scrollHeight)");
		await expect.poll(() => page.evaluate("[...document.images].every((i) => i.complete)")).toBe(true);
		await page.evaluate("window.scrollTo(0, 0)");
	}
	await page.screenshot({ path, fullPage });
	console.log(`screenshot: ${path}`);
}

async function signedIn(key: string, viewport = { width: 1280, height: 860 }): Promise<{ page: Page; errors: string[] }> {
	const context = await browser.newContext({ viewport, permissions: ["clipboard-read", "clipboard-write"] });
	const page = await context.newPage();
	const errors = watchErrors(page);
	await page.goto(`${gw.url}/console/`);
	await page.getByLabel("API key", { exact: true }).fill(key);
	await page.getByRole("button", { name: "Sign in" }).click();
	await expect.poll(() => page.locator("#model option").count()).toBeGreaterThan(5);
	return { page, errors };
}

/** The page's text of `selector`, every time it changes (to see a progress line move). */
async function recordTexts(page: Page, selector: string): Promise<() => Promise<string[]>> {
	await page.evaluate(`(() => {
		window.__seen = [];
		const note = () => { const el = document.querySelector(${JSON.stringify(selector)}); if (el && window.__seen.at(-1) !== el.textContent) window.__seen.push(el.textContent); };
		new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
	})()`);
	return async () => (await page.evaluate("window.__seen")) as string[];
}

/** Presses Tab until the focused element's accessible name (aria-label, label or text) starts with `name`. */
async function tabTo(page: Page, name: string, key = "Tab"): Promise<void> {
	for (let i = 0; i < 60; i++) {
		await page.keyboard.press(key);
		const focused = String(
			await page.evaluate(
				"(() => { const a = document.activeElement; return (a?.getAttribute('aria-label') ?? a?.labels?.[0]?.textContent ?? a?.textContent ?? '').trim(); })()",
			),
		);
		if (focused.startsWith(name)) return;
	}
	throw new Error(`No control named ${name} is reachable with ${key}`);
}

const costText = (page: Page) => page.getByTestId("cost").textContent();

describe.skipIf(!hasChromium)("console playground and gallery in Chromium", () => {
	beforeAll(async () => {
		gw = await startGateway();
		browser = await launchChromium();
	}, 120_000);

	afterAll(async () => {
		await browser?.close();
		await gw?.stop();
	});

	it("the cost before Generate follows model, size, n and references, from /v1/pricing; only the model's ratios and sizes are offered", async () => {
		const key = await createApiKey(gw, "cost", 1_000_000);
		const { page, errors } = await signedIn(key);
		const pricing = (await (await fetch(`${gw.url}/v1/pricing`)).json()) as {
			data: Array<{ model: string; prices: Record<string, number> }>;
		};
		const models = (await (await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
			data: Array<{ id: string; aspect_ratios: string[]; image_sizes: string[] }>;
		};
		const nb2 = pricing.data.find((p) => p.model === "nano-banana-2")?.prices ?? {};
		const fmt = (n: number) => new Intl.NumberFormat("en-US").format(n);

		await page.getByLabel("Model").selectOption("nano-banana-2");
		const spec = models.data.find((m) => m.id === "nano-banana-2");
		expect(await page.locator("#ratio option").allTextContents()).toEqual(["model default", ...(spec?.aspect_ratios ?? [])]);
		expect((await page.locator("#size option").allTextContents()).slice(1)).toEqual(spec?.image_sizes);
		await page.getByLabel("Size").selectOption("2K");
		await expect.poll(() => costText(page)).toContain(`1 × ${fmt(nb2["2K"])} = ${fmt(nb2["2K"])} credits`);
		await page.getByLabel("Images (n)").fill("3");
		await expect.poll(() => costText(page)).toContain(`3 × ${fmt(nb2["2K"])} = ${fmt(3 * nb2["2K"])} credits`);
		expect(await costText(page)).toMatch(/\(\$\d+\.\d+\)/);
		await page.getByLabel("Size").selectOption("4K");
		await expect.poll(() => costText(page)).toContain(`3 × ${fmt(nb2["4K"])} = ${fmt(3 * nb2["4K"])} credits`);
		// A reference adds input tokens to Google's bill, not to the price: said, not guessed.
		await page.getByLabel(/Reference images/).setInputFiles({ name: "ref.png", mimeType: "image/png", buffer: await onePixelPng() });
		await expect.poll(() => page.locator(".cost .hint").textContent()).toContain("counts the 1 reference image as input");
		expect(await costText(page)).toContain(`${fmt(3 * nb2["4K"])} credits`);
		// A model without sizes: its one price, the size select disabled.
		await page.getByLabel("Model").selectOption("nano-banana");
		const nb = pricing.data.find((p) => p.model === "nano-banana")?.prices ?? {};
		const [only] = Object.values(nb);
		await expect.poll(() => costText(page)).toContain(`3 × ${fmt(only)} = ${fmt(3 * only)} credits`);
		expect(await page.getByLabel("Size").isDisabled()).toBe(true);
		await shot(page, "playground-cost");
		expect(errors).toEqual([]);
	});

	it("n=3: each image arrives with the elapsed time, all three differ, the charge and balance read like every other number", async () => {
		const key = await createApiKey(gw, "arrivals", 1_000_000);
		const { page, errors } = await signedIn(key);
		await page.getByLabel("Prompt").fill("three different bananas [emu:delay=400]");
		await page.getByLabel("Images (n)").fill("3");
		const seen = await recordTexts(page, "[data-testid=progress]");
		await page.getByRole("button", { name: "Generate" }).click();
		await expect.poll(() => page.locator(".thumbs img").count(), { timeout: 30_000 }).toBe(3);
		await expect.poll(() => page.getByTestId("progress").textContent()).toMatch(/^Finished: 3 of 3 images · \d+\.\d s$/);
		const texts = await seen();
		expect(texts[0]).toMatch(/^Generating: 0 of 3 images · \d+\.\d s$/);
		// The clock moved while the images were on their way.
		expect(new Set(texts.filter((t) => t.startsWith("Generating")).map((t) => t.split(" · ")[1])).size).toBeGreaterThan(1);
		const urls = await page.locator(".thumbs img").evaluateAll((imgs) => imgs.map((i) => i.getAttribute("src") ?? ""));
		const bodies = await Promise.all(urls.map(async (u) => Buffer.from(await (await fetch(u)).arrayBuffer()).toString("base64")));
		expect(new Set(bodies).size).toBe(3);
		await expect.poll(() => page.locator(".charged").textContent()).toMatch(/^Credits charged: [\d,]+ · remaining \d{1,3}(,\d{3})+$/);
		const remaining = (await page.locator(".charged").textContent())?.split("remaining ")[1];
		await shot(page, "playground-results");
		// The account page writes the same balance the same way.
		await page.getByRole("link", { name: "Account" }).click();
		await expect.poll(() => page.getByTestId("balance").textContent()).toBe(`${remaining} credits`);
		expect(errors).toEqual([]);
	});

	it("a refusal that comes after the stream started shows the API's message, and nothing is charged", async () => {
		const key = await createApiKey(gw, "refused", 1_000_000);
		const { page, errors } = await signedIn(key);
		await page.getByLabel("Prompt").fill("a banana nobody may see [emu:block=SAFETY]");
		await page.getByRole("button", { name: "Generate" }).click();
		await expect.poll(() => page.getByRole("alert").textContent(), { timeout: 30_000 }).toContain("You were not charged");
		expect(await page.getByRole("alert").textContent()).toContain("content_policy_violation");
		await expect.poll(() => page.getByTestId("progress").textContent()).toMatch(/^Finished: 0 of 1 image · [\d.]+ s$/);
		expect(await page.getByRole("button", { name: "Generate" }).isEnabled()).toBe(true);
		expect(errors).toEqual([]);
	});

	it("by keyboard alone: Generate with Ctrl+Enter, open the lightbox, copy the URL, next image, edit this image, Escape", async () => {
		const key = await createApiKey(gw, "keyboard", 1_000_000);
		const { page, errors } = await signedIn(key);
		await tabTo(page, "Prompt");
		await page.keyboard.type("a banana for the lightbox");
		await tabTo(page, "Images (n)");
		await page.keyboard.press("Control+A");
		await page.keyboard.type("2");
		await tabTo(page, "Prompt", "Shift+Tab");
		await page.keyboard.press("Control+Enter");
		await expect.poll(() => page.locator(".thumbs img").count(), { timeout: 30_000 }).toBe(2);
		await tabTo(page, "Open image 1 full size");
		await page.keyboard.press("Enter");
		const dialog = page.getByRole("dialog");
		await expect.poll(() => dialog.getAttribute("aria-label")).toBe("Image 1 of 2");
		// Focus starts inside the dialog, on Close.
		expect(await page.evaluate("document.activeElement?.textContent")).toBe("Close");
		const first = await dialog.locator("img").getAttribute("src");
		expect(await dialog.getByRole("link", { name: "Download" }).getAttribute("download")).not.toBeNull();
		await tabTo(page, "Copy URL", "Shift+Tab");
		await page.keyboard.press("Enter");
		await expect.poll(() => dialog.getByRole("status").textContent()).toBe("URL copied");
		expect(await page.evaluate("navigator.clipboard.readText()")).toBe(new URL(first ?? "", gw.url).href);
		await shot(page, "lightbox", false);
		await page.keyboard.press("ArrowRight");
		await expect.poll(() => dialog.getAttribute("aria-label")).toBe("Image 2 of 2");
		expect(await dialog.locator("img").getAttribute("src")).not.toBe(first);
		await tabTo(page, "Edit this image");
		await page.keyboard.press("Enter");
		await expect.poll(() => page.getByRole("dialog").count()).toBe(0);
		await expect.poll(() => page.locator(".refs li").count()).toBe(1);
		await expect.poll(() => page.getByRole("status").first().textContent()).toMatch(/as a reference image/);
		// Focus is back on the prompt, to say what to change; Escape closes a reopened lightbox.
		expect(await page.evaluate("document.activeElement?.id")).toBe("prompt");
		await page.getByRole("button", { name: "Open image 1 full size" }).focus();
		await page.keyboard.press("Enter");
		await expect.poll(() => page.getByRole("dialog").count()).toBe(1);
		await page.keyboard.press("Escape");
		await expect.poll(() => page.getByRole("dialog").count()).toBe(0);
		// Focus is back where the lightbox was opened from.
		expect(await page.evaluate("document.activeElement?.getAttribute('aria-label')")).toBe("Open image 1 full size");
		// The edit goes to the API with the image as a reference.
		await page.getByLabel("Prompt").fill("the same banana, in blue");
		await page.getByLabel("Images (n)").fill("1");
		await page.getByRole("button", { name: "Generate" }).click();
		await expect.poll(() => page.getByTestId("progress").textContent(), { timeout: 30_000 }).toMatch(/^Finished: 1 of 1 image/);
		const { calls } = (await (await fetch(`${gw.emulator.url}/__emulator/calls?contains=${encodeURIComponent("in blue")}`)).json()) as {
			calls: Array<{ body: { contents: Array<{ parts: Array<{ inlineData?: unknown }> }> } }>;
		};
		expect(
			calls
				.at(-1)
				?.body.contents.at(-1)
				?.parts.filter((p) => p.inlineData),
		).toHaveLength(1);
		expect(errors).toEqual([]);
	});

	it("recent prompts stay in the tab across a reload; async shows the job's states and elapsed time", async () => {
		const key = await createApiKey(gw, "history", 1_000_000);
		const { page, errors } = await signedIn(key);
		await page.getByLabel("Prompt").fill("a queued banana [emu:delay=1500]");
		await page.getByLabel(/Async/).check();
		const seen = await recordTexts(page, "[data-testid=progress]");
		await page.getByRole("button", { name: "Generate" }).click();
		await expect
			.poll(() => page.getByTestId("progress").textContent(), { timeout: 30_000 })
			.toMatch(/^Finished: 1 of 1 image · [\d.]+ s · job done$/);
		const states = (await seen()).map((t) => t.split(" · job ")[1]).filter(Boolean);
		expect(states).toEqual(expect.arrayContaining(["done"]));
		expect(states.some((s) => s === "queued" || s === "running")).toBe(true);
		await page.reload();
		const recent = page.getByRole("region", { name: "Recent in this tab" });
		await expect.poll(() => recent.locator(".history-prompt").first().textContent()).toBe("a queued banana [emu:delay=1500]");
		await page.getByLabel("Prompt").fill("");
		await recent.getByRole("button", { name: "Use this prompt again" }).first().click();
		expect(await page.getByLabel("Prompt").inputValue()).toBe("a queued banana [emu:delay=1500]");
		await recent
			.getByRole("button", { name: /^Open image 1 of/ })
			.first()
			.click();
		await expect.poll(() => page.getByRole("dialog").locator(".lightbox-prompt").textContent()).toBe("a queued banana [emu:delay=1500]");
		await page.keyboard.press("Escape");
		await shot(page, "playground-history");
		expect(errors).toEqual([]);
	});

	it("gallery: even pages of cards with prompt, model, size and each image's own cost; filters by model and date; opens the lightbox and sends an image to edit", async () => {
		const key = await createApiKey(gw, "gallery", 1_000_000);
		// 14 requests making 21 images (n alternating 2 and 1): uneven requests, even pages of 12.
		for (let i = 0; i < 14; i++) {
			const res = await fetch(`${gw.url}/v1/images/generations`, {
				method: "POST",
				headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
				body: JSON.stringify({ prompt: `gallery banana ${i}`, n: i % 2 === 0 ? 2 : 1, model: i < 2 ? "nano-banana-2" : "nano-banana" }),
			});
			expect(res.status).toBe(200);
		}
		type Usage = { data: Array<{ prompt: string; credits_charged: number; images_delivered: number }> };
		const readUsage = async () =>
			(await (await fetch(`${gw.url}/v1/usage?limit=50`, { headers: { authorization: `Bearer ${key}` } })).json()) as Usage;
		// Usage rows reach D1 from the key's outbox within a second.
		await expect.poll(async () => (await readUsage()).data.length).toBe(14);
		const usage = await readUsage();
		const { page, errors } = await signedIn(key);
		await page.getByRole("link", { name: "Gallery" }).click();
		const cards = page.locator(".gallery figure");
		await expect.poll(() => cards.count()).toBe(12);
		const newest = usage.data[0];
		const firstCard = cards.first();
		expect(await firstCard.locator(".card-prompt").textContent()).toBe(newest.prompt);
		expect(await firstCard.textContent()).toContain("nano-banana · default ratio");
		expect(await firstCard.getByTestId("card-cost").textContent()).toBe(
			`${new Intl.NumberFormat("en-US").format(newest.credits_charged)} credits`,
		);
		// The next request made two images: each card shows half its charge.
		const pair = usage.data[1];
		expect(pair.images_delivered).toBe(2);
		const share = pair.credits_charged / 2;
		const shareText = `${Math.round(share * 100) / 100 === share ? "" : "≈ "}${new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 }).format(Math.round(share * 100) / 100)} credits`;
		for (const card of [cards.nth(1), cards.nth(2)]) {
			expect(await card.getByTestId("card-cost").textContent()).toBe(shareText);
			expect(await card.textContent()).toContain(`(1 of 2, ${new Intl.NumberFormat("en-US").format(pair.credits_charged)} credits in all)`);
		}
		await shot(page, "gallery");
		await page.getByRole("button", { name: "Older" }).click();
		await expect.poll(() => page.getByText("Page 2").count()).toBe(1);
		await expect.poll(() => cards.count()).toBe(9);
		expect(await page.getByRole("button", { name: "Older" }).isDisabled()).toBe(true);
		await page.getByRole("button", { name: "Newer" }).click();
		await expect.poll(() => cards.count()).toBe(12);
		// Filters: a model, then a date range with nothing in it.
		await page.getByLabel("Model").selectOption("nano-banana-2");
		await expect.poll(() => cards.count()).toBe(3);
		expect(await cards.locator(".card-prompt").allTextContents()).toEqual(["gallery banana 1", "gallery banana 0", "gallery banana 0"]);
		await page.getByLabel("To (UTC day)").fill("2001-01-01");
		await expect.poll(() => page.getByText("No images match these filters.").count()).toBe(1);
		await page.getByLabel("To (UTC day)").fill("");
		await page.getByLabel("Model").selectOption("");
		await expect.poll(() => cards.count()).toBe(12);
		// A card opens in the lightbox by keyboard; "Edit this image" takes it to the playground.
		await page.getByRole("button", { name: "Open image 1 full size" }).focus();
		await page.keyboard.press("Enter");
		const dialog = page.getByRole("dialog");
		await expect.poll(() => dialog.locator(".lightbox-prompt").textContent()).toBe(newest.prompt);
		await shot(page, "gallery-lightbox", false);
		await dialog.getByRole("button", { name: "Edit this image" }).click();
		await expect.poll(() => page.locator("h1").textContent()).toBe("Playground");
		await expect.poll(() => page.locator(".refs li").count()).toBe(1);
		expect(errors).toEqual([]);
	});

	it("phone width (390 px): playground, lightbox and gallery fit the screen", async () => {
		const key = await createApiKey(gw, "phone", 1_000_000);
		const { page, errors } = await signedIn(key, { width: 390, height: 844 });
		const width = () => page.evaluate("document.documentElement.scrollWidth");
		await page.getByLabel("Prompt").fill("a banana on a phone");
		await page.getByLabel("Images (n)").fill("2");
		await page.getByRole("button", { name: "Generate" }).click();
		await expect.poll(() => page.locator(".thumbs img").count(), { timeout: 30_000 }).toBe(2);
		expect(await width()).toBeLessThanOrEqual(390);
		await shot(page, "phone-playground");
		await page.getByRole("button", { name: "Open image 1 full size" }).click();
		const box = await page.getByRole("dialog").boundingBox();
		expect((box?.x ?? -1) >= 0 && (box?.width ?? 999) <= 390).toBe(true);
		await shot(page, "phone-lightbox", false);
		await page.keyboard.press("Escape");
		await page.getByRole("link", { name: "Gallery" }).click();
		await expect.poll(() => page.locator(".gallery figure").count()).toBe(2);
		expect(await width()).toBeLessThanOrEqual(390);
		await shot(page, "phone-gallery");
		expect(errors).toEqual([]);
	});
});

/** A tiny real PNG, made by the emulator's encoder. */
async function onePixelPng(): Promise<Buffer> {
	const { encodePng } = await import("../../emulator/images.ts");
	return encodePng(8, 8, 3);
}
