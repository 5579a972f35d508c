// The browser surface in Debian's Chromium, against `wrangler dev` with the Gemini
// emulator: a page on another origin calls the API and draws the image on a canvas; the
// console signs in, generates (sync and async) and renders images; the operator view
// creates keys and draws its charts; bad input shows the API's own messages; no page
// logs an error. Skipped, loudly, when no Chromium is installed.
import { createServer, type Server } from "node:http";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePng } from "../../emulator/images.ts";
import { CHROMIUM, hasChromium, launchChromium, watchErrors } from "./browser.ts";
import { ADMIN_TOKEN, createApiKey, freePort, type GatewayProcess, startGateway } from "./gateway-process.ts";

if (!hasChromium) {
	console.warn(`\n*** Browser tests SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH) ***\n`);
}

const UPLOAD_CAP = 1_048_576;
let gw: GatewayProcess;
let browser: Browser;
let key: string;
let other: { server: Server; origin: string };

/** A customer's page: calls the API with fetch, draws the first image on a canvas, reads its pixels back. */
const CUSTOMER_PAGE = `<!doctype html><title>customer app</title><canvas id="c"></canvas><script>
async function drawFromApi(api, key) {
	const res = await fetch(api + "/v1/images/generations", {
		method: "POST",
		headers: { authorization: "Bearer " + key, "content-type": "application/json" },
		body: JSON.stringify({ prompt: "a banana on someone else's page", model: "nano-banana-2", image_size: "512" }),
	});
	const body = await res.json();
	const img = new Image();
	img.crossOrigin = "anonymous";
	img.src = body.data[0].url;
	await img.decode();
	const canvas = document.getElementById("c");
	canvas.width = img.naturalWidth;
	canvas.height = img.naturalHeight;
	const ctx = canvas.getContext("2d");
	ctx.drawImage(img, 0, 0);
	const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data; // throws if tainted
	let sum = 0;
	for (let i = 0; i < pixels.length; i += 4) sum += pixels[i] + pixels[i + 1] + pixels[i + 2];
	return { status: res.status, charged: res.headers.get("x-credits-charged"), requestId: res.headers.get("x-request-id"), width: canvas.width, sum };
}
</script>`;

interface Drawn {
	status: number;
	charged: string | null;
	requestId: string | null;
	width: number;
	sum: number;
}

/** Browser-side values read without DOM types (this code is type-checked for Node). */
const naturalWidth = (img: unknown) => (img as { complete: boolean; naturalWidth: number }).naturalWidth;

/** A static page on another origin (another port), as a customer's web app would be. */
async function otherOrigin(): Promise<{ server: Server; origin: string }> {
	const port = await freePort();
	const server = createServer((_req, res) => {
		res.writeHead(200, { "content-type": "text/html" }).end(CUSTOMER_PAGE);
	});
	await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
	return { server, origin: `http://127.0.0.1:${port}` };
}

/** A new page whose console errors and failed requests are collected in `errors`. */
async function openPage(viewport?: { width: number; height: number }): Promise<{ page: Page; errors: string[] }> {
	const page = await browser.newPage(viewport ? { viewport } : undefined);
	return { page, errors: watchErrors(page) };
}

/** A new page signed in to the console with `token` (an API key, or with `admin` the admin token). */
async function signedIn(
	token: string,
	opts: { admin?: boolean; viewport?: { width: number; height: number } } = {},
): Promise<{ page: Page; errors: string[] }> {
	const opened = await openPage(opts.viewport);
	await opened.page.goto(`${gw.url}/console/`);
	if (opts.admin) await opened.page.getByLabel("the admin token").check();
	await opened.page.getByLabel(opts.admin ? "Admin token" : "API key", { exact: true }).fill(token);
	await opened.page.getByRole("button", { name: "Sign in" }).click();
	return opened;
}

/** Presses Tab until the focused control's label (or text) starts with `name`, as a keyboard user would. */
async function tabTo(page: Page, name: string): Promise<void> {
	for (let i = 0; i < 40; i++) {
		await page.keyboard.press("Tab");
		const focused = String(
			await page.evaluate("(document.activeElement?.labels?.[0]?.textContent ?? document.activeElement?.textContent ?? '').trim()"),
		);
		if (focused.startsWith(name)) return;
	}
	throw new Error(`No control named ${name} is reachable with Tab`);
}

/** Makes `n` images through the API, as earlier usage for the key. */
async function generateMany(token: string, n: number): Promise<void> {
	for (let i = 0; i < n; i++) {
		const res = await fetch(`${gw.url}/v1/images/generations`, {
			method: "POST",
			headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
			body: JSON.stringify({ prompt: `gallery banana ${i}` }),
		});
		expect(res.status).toBe(200);
	}
}

describe.skipIf(!hasChromium)("in Chromium", () => {
	beforeAll(async () => {
		gw = await startGateway({ MAX_UPLOAD_BYTES: String(UPLOAD_CAP) });
		key = await createApiKey(gw, "browser");
		other = await otherOrigin();
		browser = await launchChromium();
	}, 120_000);

	afterAll(async () => {
		await browser?.close();
		other?.server.close();
		await gw?.stop();
	});

	it("a page on another origin calls the API with fetch and draws the image on a canvas it can read", async () => {
		const { page, errors } = await openPage();
		await page.goto(other.origin);
		const result = await page.evaluate(
			([api, k]) => (globalThis as unknown as { drawFromApi(a: string, k: string): Promise<Drawn> }).drawFromApi(api, k),
			[gw.url, key] as const,
		);
		expect(result.status).toBe(200);
		expect(Number(result.charged)).toBeGreaterThan(0);
		expect(result.requestId).toMatch(/^req_/);
		expect(result.width).toBeGreaterThan(0);
		expect(result.sum).toBeGreaterThan(0);
		expect(errors).toEqual([]);
	});

	it("the console generates an image that renders, with a download link and the credits charged", async () => {
		const { page, errors } = await signedIn(key, { viewport: { width: 1100, height: 760 } });
		await expect.poll(() => page.locator("#model option").count()).toBeGreaterThan(5);
		const options = await page.locator("#model option").allTextContents();
		expect(options).toEqual(expect.arrayContaining(["nano-banana-2.1", "nano-banana-2-lite"]));
		await page.getByLabel("Prompt").fill("a nano banana on a blue plate");
		await page.getByLabel("Model").selectOption("nano-banana-2");
		await page.getByLabel("Aspect ratio").selectOption("16:9");
		await page.getByLabel("Size").selectOption("512");
		await page.getByLabel("Images (n)").fill("2");
		await page.getByRole("button", { name: "Generate" }).click();
		const images = page.locator(".thumbs img");
		await expect.poll(() => images.count(), { timeout: 30_000 }).toBe(2);
		await expect.poll(() => images.first().evaluate(naturalWidth)).toBeGreaterThan(0);
		const size = await images.first().evaluate((img) => {
			const i = img as unknown as { naturalWidth: number; naturalHeight: number };
			return [i.naturalWidth, i.naturalHeight];
		});
		expect(size[0]).toBeGreaterThan(size[1]); // 16:9
		expect(await page.locator(".charged").textContent()).toMatch(/Credits charged: \d+/);
		expect(await page.getByRole("link", { name: "Download image 1" }).getAttribute("download")).not.toBeNull();
		if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
		expect(errors).toEqual([]);
	});

	it("async: the job's status is followed live until its image renders", async () => {
		const { page, errors } = await signedIn(key);
		await page.getByLabel("Prompt").fill("a queued banana");
		await page.getByLabel(/Async/).check();
		await page.getByRole("button", { name: "Generate" }).click();
		await expect.poll(() => page.locator(".status").textContent(), { timeout: 30_000 }).toMatch(/SUCCEEDED/);
		await expect.poll(() => page.locator(".results img").first().evaluate(naturalWidth)).toBeGreaterThan(0);
		expect(errors).toEqual([]);
	});

	it("a reference image can be added, and an oversized upload shows the API's 413 message", async () => {
		const { page, errors } = await signedIn(key);
		await page.getByLabel("Prompt").fill("put a hat on it");
		await page.getByLabel(/Reference images/).setInputFiles({ name: "ref.png", mimeType: "image/png", buffer: encodePng(64, 64, 7) });
		await page.getByRole("button", { name: "Generate" }).click();
		await expect.poll(() => page.locator(".thumbs img").count(), { timeout: 30_000 }).toBe(1);
		await page.getByRole("button", { name: "Remove ref.png" }).click();
		await page.getByLabel(/Reference images/).setInputFiles({
			name: "huge.png",
			mimeType: "image/png",
			buffer: Buffer.concat([encodePng(8, 8, 1), Buffer.alloc(UPLOAD_CAP + 10)]),
		});
		await page.getByRole("button", { name: "Generate" }).click();
		await expect.poll(() => page.getByRole("alert").textContent()).toContain(`Request body exceeds ${UPLOAD_CAP} bytes`);
		expect(await page.getByRole("alert").textContent()).toContain("413 payload_too_large");
		// Chromium itself logs the refused request; nothing else may fail.
		expect(errors.filter((e) => !e.includes("status of 413"))).toEqual([]);
	});

	it("reference images by drag and drop and by paste", async () => {
		const { page, errors } = await signedIn(key);
		await page.getByLabel("Prompt").fill("combine these");
		// A real PNG made by the page's canvas, dropped on the drop zone, then pasted.
		await page.evaluate(`(async () => {
			const c = document.createElement("canvas");
			c.width = 32; c.height = 32;
			c.getContext("2d").fillRect(0, 0, 16, 16);
			const blob = await new Promise((r) => c.toBlob(r, "image/png"));
			const drop = new DataTransfer();
			drop.items.add(new File([blob], "dropped.png", { type: "image/png" }));
			document.querySelector(".drop").dispatchEvent(new DragEvent("drop", { dataTransfer: drop, bubbles: true, cancelable: true }));
			const paste = new DataTransfer();
			paste.items.add(new File([blob], "pasted.png", { type: "image/png" }));
			window.dispatchEvent(new ClipboardEvent("paste", { clipboardData: paste }));
		})()`);
		await expect
			.poll(() => page.locator(".refs li").allTextContents())
			.toEqual([expect.stringContaining("dropped.png"), expect.stringContaining("pasted.png")]);
		await page.getByRole("button", { name: "Generate" }).click();
		await expect.poll(() => page.locator(".results img").first().evaluate(naturalWidth), { timeout: 30_000 }).toBeGreaterThan(0);
		const url = `${gw.emulator.url}/__emulator/calls?contains=combine%20these`;
		const { calls } = (await (await fetch(url)).json()) as {
			calls: Array<{ body: { contents: Array<{ parts: Array<{ inlineData?: unknown }> }> } }>;
		};
		const sent = calls.at(-1)?.body.contents.at(-1)?.parts ?? [];
		expect(sent.filter((p) => p.inlineData)).toHaveLength(2);
		expect(errors).toEqual([]);
	});

	it("a wrong key shows the API's 401 message on the sign-in page, not a blank page", async () => {
		const { page, errors } = await signedIn("nbk_not-a-key");
		await expect.poll(() => page.getByRole("alert").textContent()).toContain("Invalid API key");
		expect(await page.getByRole("alert").textContent()).toContain("401 invalid_api_key");
		expect(await page.getByRole("button", { name: "Sign in" }).isVisible()).toBe(true);
		expect(errors.filter((e) => !e.includes("status of 401"))).toEqual([]);
	});

	it("account and gallery: balance, charts with bars, jobs, past images newest first in pages", async () => {
		await generateMany(key, 13);
		// A job queued just now: the account page follows it to its end without a reload.
		const queued = await fetch(`${gw.url}/v1/images/generations`, {
			method: "POST",
			headers: { authorization: `Bearer ${key}`, "content-type": "application/json", prefer: "respond-async" },
			body: JSON.stringify({ prompt: "a banana for the jobs table" }),
		});
		const job = (await queued.json()) as { id: string };
		const { page, errors } = await signedIn(key);
		await page.getByRole("link", { name: "Account" }).click();
		await expect.poll(() => page.getByTestId("balance").textContent()).toMatch(/credits/);
		await expect.poll(() => page.locator("svg rect.bar").count()).toBeGreaterThan(0);
		const heights = await page.locator("svg rect.bar").evaluateAll((rects) => rects.map((r) => Number(r.getAttribute("height"))));
		expect(Math.max(...heights)).toBeGreaterThan(0);
		await expect
			.poll(() => page.locator("tr", { hasText: job.id }).locator("td").nth(1).textContent(), { timeout: 30_000 })
			.toBe("SUCCEEDED");
		await page.getByRole("link", { name: "Gallery" }).click();
		await expect.poll(() => page.locator(".gallery img").count()).toBeGreaterThan(3);
		await expect.poll(() => page.locator(".gallery img").first().evaluate(naturalWidth)).toBeGreaterThan(0);
		const stamps = async () =>
			page.locator(".gallery figure").evaluateAll((cards) => cards.map((c) => c.getAttribute("data-created") ?? ""));
		const first = await stamps();
		expect(first.length).toBeGreaterThanOrEqual(12);
		expect([...first].sort().reverse()).toEqual(first);
		await page.getByRole("button", { name: "Older" }).click();
		await expect.poll(() => page.getByText("Page 2").count()).toBe(1);
		await expect.poll(async () => (await stamps())[0] < first[first.length - 1]).toBe(true);
		await page.getByRole("button", { name: "Newer" }).click();
		await expect.poll(async () => (await stamps())[0]).toBe(first[0]);
		expect(errors).toEqual([]);
	});

	it("the operator creates a key and sees it listed, grants credits, revokes it, and sees usage and latency charts", async () => {
		await generateMany(key, 2); // usage to chart, whatever ran before
		const { page, errors } = await signedIn(ADMIN_TOKEN, { admin: true });
		await page.getByLabel("New key name").fill("made in the browser");
		await page.getByLabel("Starting credits").fill("250");
		await page.getByRole("button", { name: "Create key" }).click();
		await expect.poll(() => page.getByTestId("new-key").textContent()).toMatch(/^nbk_/);
		const row = page.locator("tr", { hasText: "made in the browser" });
		await expect.poll(() => row.count()).toBe(1);
		expect(await row.locator("td").nth(3).textContent()).toBe("250");
		await row.getByRole("button", { name: "Credits and limits" }).click();
		await page.getByLabel("Credits to grant (negative adjusts)").fill("1000");
		await page.getByLabel("Reason").fill("browser test");
		await page.getByRole("button", { name: "Apply credits" }).click();
		await expect.poll(() => row.locator("td").nth(3).textContent()).toBe("1,250");
		await page.getByLabel(/^images per day/).fill("7");
		await page.getByRole("button", { name: "Save limits" }).click();
		await expect.poll(() => page.getByText(/images per day \(now 7;/).count()).toBe(1);
		const id = await row.getAttribute("data-key-id");
		const stored = (await (await fetch(`${gw.url}/admin/keys/${id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
			limits: { images_per_day: number };
		};
		expect(stored.limits.images_per_day).toBe(7);
		await page.getByRole("button", { name: "Revoke made in the browser" }).click();
		await expect.poll(() => row.locator("td").nth(2).textContent()).toBe("revoked");
		await page.getByRole("link", { name: "Usage and health" }).click();
		await expect.poll(() => page.locator("svg rect.bar").count()).toBeGreaterThan(2);
		// Google's cost beside what was charged, in total and per model.
		await expect
			.poll(() => page.getByTestId("google-cost").textContent())
			.toMatch(/^Google billed [\d,]+ credits for them: margin -?[\d,]+ credits$/);
		await expect.poll(() => page.locator('table[aria-label="Charged and Google\'s cost by model"] tbody tr').count()).toBeGreaterThan(0);
		// Success rate and the two latency lines (the charged vs Google's cost chart has its own test).
		await expect.poll(() => page.locator("section[aria-label='Health over time'] .series path").count()).toBe(3);
		const paths = await page
			.locator("section[aria-label='Health over time'] .series path")
			.evaluateAll((ps) => ps.map((p) => p.getAttribute("d") ?? ""));
		for (const d of paths) expect(d).toMatch(/^M[\d.]+,[\d.]+/);
		await expect.poll(() => page.locator("section[aria-label='Catalog health'] tbody tr").count()).toBeGreaterThan(4);
		await expect.poll(() => page.locator("section[aria-label='Service health'] tbody tr").count()).toBe(5);
		expect(errors).toEqual([]);
	});

	it("phone width: one column, nothing wider than the screen, every field labelled", async () => {
		const { page, errors } = await signedIn(key, { viewport: { width: 375, height: 740 } });
		await expect.poll(() => page.locator("#model option").count()).toBeGreaterThan(5);
		expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(375);
		const unlabelled = await page.evaluate(
			`[...document.querySelectorAll("input, select, textarea")].filter((el) => el.labels.length === 0 && !el.getAttribute("aria-label")).map((el) => el.outerHTML)`,
		);
		expect(unlabelled).toEqual([]);
		expect(errors).toEqual([]);
	});

	it("by keyboard alone: sign in, write a prompt, Generate, and the image renders", async () => {
		const { page, errors } = await openPage();
		await page.goto(`${gw.url}/console/`);
		await tabTo(page, "API key");
		await page.keyboard.type(key);
		await page.keyboard.press("Enter");
		await expect.poll(() => page.locator("#model option").count()).toBeGreaterThan(5);
		await tabTo(page, "Prompt");
		await page.keyboard.type("a banana typed on a keyboard");
		await tabTo(page, "Generate");
		await page.keyboard.press("Enter");
		await expect.poll(() => page.locator(".results img").first().evaluate(naturalWidth), { timeout: 30_000 }).toBeGreaterThan(0);
		expect(errors).toEqual([]);
	});

	it("the console's page allows scripts and connections from its own origin only", async () => {
		const res = await fetch(`${gw.url}/console/`);
		const csp = res.headers.get("content-security-policy") ?? "";
		expect(csp).toContain("script-src 'self'");
		expect(csp).toContain("connect-src 'self'");
		expect(res.headers.get("x-content-type-options")).toBe("nosniff");
	});

	it("/docs renders the API reference with nothing loaded from another host", async () => {
		const { page, errors } = await openPage();
		const hosts = new Set<string>();
		page.on("request", (r) => {
			const u = new URL(r.url());
			if (u.protocol.startsWith("http")) hosts.add(u.origin);
		});
		await page.goto(`${gw.url}/docs`);
		await expect.poll(() => page.locator(".opblock").count(), { timeout: 30_000 }).toBeGreaterThan(40);
		expect([...hosts]).toEqual([gw.url]);
		// Swagger UI shows what it cannot handle in the document as warnings and errors.
		expect(await page.locator(".errors-wrapper, .version-pragma").count()).toBe(0);
		expect(errors).toEqual([]);
	});
});
