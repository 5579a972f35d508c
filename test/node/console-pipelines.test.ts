// The console's pipelines, conversations and operator key views (issue 28, items 3 and 4) in
// Debian's Chromium against `wrangler dev` with the Gemini emulator, done as a person does
// them: with the mouse, by keyboard alone, and at phone width (390 px). Each screen is saved
// to test-artifacts/console/*.png (gitignored); no page logs an error. Skipped, loudly,
// when no Chromium is installed.
import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePng } from "../../emulator/images.ts";
import { CHROMIUM, hasChromium, launchChromium, watchErrors } from "./browser.ts";
import { ADMIN_TOKEN, createApiKey, type GatewayProcess, startGateway } from "./gateway-process.ts";

if (!hasChromium) {
	console.warn(`\n*** Browser tests SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH) ***\n`);
}

const ARTIFACTS = new URL("../../test-artifacts/console/", import.meta.url);
const PHONE = { width: 390, height: 844 };
let gw: GatewayProcess;
let browser: Browser;
let key: string;

const shot = (page: Page, name: string) => page.screenshot({ path: new URL(`${name}.png`, ARTIFACTS).pathname, fullPage: true });
const naturalWidth = (img: unknown) => (img as { naturalWidth: number }).naturalWidth;

async function call<T>(path: string, token: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
	const res = await fetch(`${gw.url}${path}`, {
		method: init.method ?? (init.body ? "POST" : "GET"),
		headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
		body: init.body ? JSON.stringify(init.body) : undefined,
	});
	expect(res.status, `${path}: ${res.status}`).toBeLessThan(300);
	return (await res.json()) as T;
}

async function signedIn(token: string, opts: { admin?: boolean; viewport?: { width: number; height: number } } = {}) {
	const page = await browser.newPage(opts.viewport ? { viewport: opts.viewport } : undefined);
	const errors = watchErrors(page);
	await page.goto(`${gw.url}/console/`);
	if (opts.admin) await page.getByLabel("the admin token").check();
	await page.getByLabel(opts.admin ? "Admin token" : "API key", { exact: true }).fill(token);
	await page.getByRole("button", { name: "Sign in" }).click();
	await page.getByRole("button", { name: "Sign out" }).waitFor();
	return { page, errors };
}

/** Presses Tab until the focused control's label (or text) starts with `name`, as a keyboard user would. */
async function tabTo(page: Page, name: string, exact = false): Promise<void> {
	for (let i = 0; i < 80; i++) {
		await page.keyboard.press("Tab");
		const focused = String(
			await page.evaluate("(document.activeElement?.labels?.[0]?.textContent ?? document.activeElement?.textContent ?? '').trim()"),
		);
		if (exact ? focused === name : focused.startsWith(name)) return;
	}
	throw new Error(`No control named ${name} is reachable with Tab`);
}

/** At phone width: nothing wider than the screen, and every field has a label. */
async function fitsPhone(page: Page): Promise<void> {
	expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
	const unlabelled = await page.evaluate(
		`[...document.querySelectorAll("input, select, textarea")].filter((el) => el.labels.length === 0 && !el.getAttribute("aria-label")).map((el) => el.outerHTML)`,
	);
	expect(unlabelled).toEqual([]);
}

describe.skipIf(!hasChromium)("pipelines, conversations and operator keys in Chromium", () => {
	beforeAll(async () => {
		mkdirSync(ARTIFACTS, { recursive: true });
		gw = await startGateway();
		key = await createApiKey(gw, "pipelines in the browser");
		browser = await launchChromium();
	}, 120_000);

	afterAll(async () => {
		await browser?.close();
		await gw?.stop();
	});

	it("creates a pipeline in Europe/Berlin with the schedule helper, edits, pauses, resumes and runs it now, and sees its images", async () => {
		const { page, errors } = await signedIn(key);
		await page.getByRole("link", { name: "Pipelines" }).click();
		await page.getByRole("button", { name: "New pipeline" }).click();
		await page.getByLabel("Name").fill("morning cover");
		await page.getByLabel("Prompt template").fill("A cover for {{weekday}} {{date}}");
		// A bad expression shows the gateway's own message, then the helper fixes it.
		await page.getByLabel(/^Cron expression/).fill("61 9 * * *");
		await expect.poll(() => page.locator("#pl-next .error").textContent()).toContain("invalid_schedule");
		await page.getByLabel("Repeat").selectOption("daily");
		await page.getByLabel("At (local time)").fill("09:00");
		await page.getByLabel("Time zone").selectOption("Europe/Berlin");
		expect(await page.getByLabel(/^Cron expression/).inputValue()).toBe("0 9 * * *");
		const next = page.getByRole("list", { name: "Next five runs" }).locator("li");
		await expect.poll(() => next.count()).toBe(5);
		for (const text of await next.allTextContents()) expect(text).toMatch(/09:00 (CET|CEST)$/);
		await shot(page, "pipelines-new");
		await page.getByRole("button", { name: "Create pipeline" }).click();
		const row = page.locator("tr", { hasText: "morning cover" });
		await expect.poll(() => row.count()).toBe(1);
		expect(await row.textContent()).toContain("Europe/Berlin");
		const id = (await row.getAttribute("data-pipeline-id")) ?? "";
		const stored = await call<{ timezone: string; next_runs: string[] }>(`/v1/pipelines/${id}`, key);
		expect(stored.timezone).toBe("Europe/Berlin");
		expect(stored.next_runs).toHaveLength(5);

		await row.getByRole("button", { name: "Edit morning cover" }).click();
		await page.getByLabel("Name").fill("morning poster");
		await page.getByRole("button", { name: "Save pipeline" }).click();
		const edited = page.locator("tr", { hasText: "morning poster" });
		await expect.poll(() => edited.count()).toBe(1);
		await edited.getByRole("button", { name: "Pause morning poster" }).click();
		await expect.poll(() => edited.locator("td").nth(2).textContent()).toBe("paused");
		expect((await call<{ enabled: boolean }>(`/v1/pipelines/${id}`, key)).enabled).toBe(false);
		await edited.getByRole("button", { name: "Resume morning poster" }).click();
		await expect.poll(() => edited.locator("td").nth(2).textContent()).toMatch(/09:00 (CET|CEST)/);

		await edited.getByRole("button", { name: "Run now: morning poster" }).click();
		await expect.poll(() => page.getByRole("status").textContent()).toContain("run started");
		const runs = page.getByRole("table", { name: "Runs of morning poster" });
		await expect.poll(() => runs.locator("tr[data-run-status=succeeded]").count(), { timeout: 30_000 }).toBe(1);
		await expect.poll(() => runs.locator("img").first().evaluate(naturalWidth), { timeout: 15_000 }).toBeGreaterThan(0);
		await shot(page, "pipelines-runs");
		expect(errors.filter((e) => !e.includes("status of 400"))).toEqual([]);
	});

	it("a run that failed shows its reason", async () => {
		const poor = await createApiKey(gw, "poor pipelines", 1);
		const p = await call<{ id: string }>("/v1/pipelines", poor, {
			body: { name: "too dear", schedule: "0 9 * * *", prompt_template: "a fig" },
		});
		await call(`/v1/pipelines/${p.id}/run`, poor, { method: "POST" });
		const { page, errors } = await signedIn(poor);
		await page.goto(`${gw.url}/console/pipelines`);
		await page.getByRole("button", { name: "Runs of too dear" }).click();
		const failed = page.locator("tr[data-run-status=skipped]");
		await expect.poll(() => failed.count(), { timeout: 30_000 }).toBe(1);
		expect(await failed.textContent()).toContain("insufficient_credits");
		await shot(page, "pipelines-failure");
		expect(errors).toEqual([]);
	});

	it("by keyboard alone: a new pipeline with the schedule helper", async () => {
		const { page, errors } = await signedIn(key);
		await page.goto(`${gw.url}/console/pipelines`);
		await tabTo(page, "New pipeline");
		await page.keyboard.press("Enter");
		await tabTo(page, "Name");
		await page.keyboard.type("typed pipeline");
		await tabTo(page, "Prompt template");
		await page.keyboard.type("a kiwi at dawn");
		await tabTo(page, "Repeat");
		expect(await page.getByLabel("Repeat").inputValue()).toBe("daily"); // the default 0 9 * * *, recognised
		await page.keyboard.press("ArrowDown"); // native select: the next option, "Monday to Friday"
		await expect.poll(() => page.getByLabel(/^Cron expression/).inputValue()).toBe("0 9 * * 1-5");
		await tabTo(page, "Create pipeline");
		await page.keyboard.press("Enter");
		await expect.poll(() => page.locator("tr", { hasText: "typed pipeline" }).count()).toBe(1);
		expect(errors).toEqual([]);
	});

	it("a conversation continues editing turn by turn, and is listed with its turns", async () => {
		const { page, errors } = await signedIn(key);
		await page.getByRole("link", { name: "Conversations" }).click();
		await page.getByLabel("Model").selectOption("nano-banana");
		await page.getByRole("button", { name: "New conversation" }).click();
		await page.getByLabel("First instruction").fill("put a hat on it");
		await page.getByLabel(/Start from an image/).setInputFiles({ name: "dog.png", mimeType: "image/png", buffer: encodePng(64, 64, 3) });
		await page.getByRole("button", { name: "Start", exact: true }).click();
		const made = page.locator(".made img");
		await expect.poll(() => made.count(), { timeout: 30_000 }).toBe(1);
		await page.getByLabel("Next instruction").fill("now make the hat red");
		await page.getByRole("button", { name: "Continue editing" }).click();
		await expect.poll(() => made.count(), { timeout: 30_000 }).toBe(2);
		await expect.poll(() => made.nth(1).evaluate(naturalWidth)).toBeGreaterThan(0);
		await expect.poll(() => page.getByRole("list", { name: "Turns" }).locator("li").count()).toBe(4);
		await expect.poll(() => page.getByRole("list", { name: "Conversations" }).textContent()).toContain("nano-banana, 2 turns");
		await shot(page, "conversations");
		expect(errors).toEqual([]);
	});

	it("by keyboard alone: start a conversation from words and continue it", async () => {
		const { page, errors } = await signedIn(key);
		await page.goto(`${gw.url}/console/conversations`);
		await tabTo(page, "New conversation");
		await page.keyboard.press("Enter");
		await tabTo(page, "First instruction");
		await page.keyboard.type("a lighthouse at night");
		await tabTo(page, "Start", true);
		await page.keyboard.press("Enter");
		await expect.poll(() => page.locator(".made img").count(), { timeout: 30_000 }).toBe(1);
		await tabTo(page, "Next instruction");
		await page.keyboard.type("add a moon");
		await tabTo(page, "Continue editing");
		await page.keyboard.press("Enter");
		await expect.poll(() => page.locator(".made img").count(), { timeout: 30_000 }).toBe(2);
		expect(errors).toEqual([]);
	});

	it("the operator searches and pages keys, sets spend controls, and sees margins and Google's cost against what was charged", async () => {
		const tag = `shop-${Date.now().toString(36)}`;
		for (let i = 0; i < 27; i++) await createApiKey(gw, `${tag}-${i}`, 10);
		// Usage for the margin column and the chart.
		await call("/v1/images/generations", key, { body: { prompt: "a banana for the books" } });
		const { page, errors } = await signedIn(ADMIN_TOKEN, { admin: true });
		await page.getByLabel("Search keys (name, id or prefix)").fill(tag.toUpperCase());
		await page.getByRole("button", { name: "Search" }).click();
		const rows = page.locator("table[aria-label=Keys] tbody tr[data-key-id]");
		await expect.poll(() => rows.count()).toBe(25);
		await page.getByRole("button", { name: "More keys" }).click();
		await expect.poll(() => rows.count()).toBe(27);
		expect(await page.getByRole("button", { name: "More keys" }).count()).toBe(0);
		for (const t of await rows.locator("td:first-child").allTextContents()) expect(t).toContain(tag);

		const first = rows.first();
		const id = (await first.getAttribute("data-key-id")) ?? "";
		await first.getByRole("button", { name: "Revoke" }).click();
		await expect.poll(() => first.locator("td").nth(2).textContent()).toBe("revoked");
		await page.getByLabel("Status").selectOption("revoked");
		await page.getByRole("button", { name: "Search" }).click();
		await expect.poll(() => rows.count()).toBe(1);
		expect(await rows.first().getAttribute("data-key-id")).toBe(id);

		// Spend controls on the key that has usage, found by its name.
		await page.getByLabel("Search keys (name, id or prefix)").fill("pipelines in the browser");
		await page.getByLabel("Status").selectOption("");
		await page.getByRole("button", { name: "Search" }).click();
		await expect.poll(() => rows.count()).toBe(1);
		const mine = rows.first();
		await expect.poll(() => mine.locator("td.margin").textContent()).toMatch(/^[\d,]+ \/ [\d,]+ \/ -?[\d,]+$/);
		await mine.getByRole("button", { name: "Credits and limits" }).click();
		await page.getByLabel("daily spend credits (empty = none)").fill("500");
		await page.getByLabel("Allowed models (comma-separated; empty = all)").fill("nano-banana, nano-banana-2");
		await page.getByRole("checkbox", { name: "batch" }).uncheck();
		await page.getByRole("button", { name: "Save spend controls" }).click();
		const keyId = (await mine.getAttribute("data-key-id")) ?? "";
		await expect
			.poll(
				async () =>
					(await call<{ controls: { daily_spend_credits: number | null } }>(`/admin/keys/${keyId}`, ADMIN_TOKEN)).controls
						.daily_spend_credits,
			)
			.toBe(500);
		const stored = await call<{ controls: { allowed_models: string[]; allowed_features: { batch: boolean } } }>(
			`/admin/keys/${keyId}`,
			ADMIN_TOKEN,
		);
		expect(stored.controls.allowed_models).toEqual(["nano-banana", "nano-banana-2"]);
		expect(stored.controls.allowed_features.batch).toBe(false);
		await shot(page, "operator-keys");

		await page.getByRole("link", { name: "Usage and health" }).click();
		const chart = page.locator("figure", { hasText: "Charged and Google's cost by day" });
		await expect.poll(() => chart.locator(".series path").count()).toBe(2);
		for (const d of await chart.locator(".series path").evaluateAll((ps) => ps.map((p) => p.getAttribute("d") ?? ""))) {
			expect(d).toMatch(/^M[\d.]+,[\d.]+/);
		}
		await shot(page, "operator-usage");
		expect(errors).toEqual([]);
	});

	it("by keyboard alone: the operator finds a key", async () => {
		const { page, errors } = await signedIn(ADMIN_TOKEN, { admin: true });
		await tabTo(page, "Search keys");
		await page.keyboard.type("pipelines in the browser");
		await page.keyboard.press("Enter");
		await expect.poll(() => page.locator("table[aria-label=Keys] tbody tr[data-key-id]").count()).toBe(1);
		expect(errors).toEqual([]);
	});

	it("phone width: pipelines, conversations and keys fit 390 px with every field labelled", async () => {
		const user = await signedIn(key, { viewport: PHONE });
		await user.page.goto(`${gw.url}/console/pipelines`);
		await user.page.getByRole("button", { name: "New pipeline" }).click();
		await expect.poll(() => user.page.getByRole("list", { name: "Next five runs" }).locator("li").count()).toBe(5);
		await user.page.getByRole("button", { name: /^Runs of morning poster/ }).click();
		await expect.poll(() => user.page.getByRole("table", { name: "Runs of morning poster" }).count()).toBe(1);
		await fitsPhone(user.page);
		await shot(user.page, "pipelines-phone");
		await user.page.goto(`${gw.url}/console/conversations`);
		await user.page.getByRole("list", { name: "Conversations" }).locator("button", { hasText: "2 turns" }).first().click();
		await expect.poll(() => user.page.getByRole("list", { name: "Turns" }).locator("li").count()).toBeGreaterThan(0);
		await fitsPhone(user.page);
		await shot(user.page, "conversations-phone");
		expect(user.errors).toEqual([]);

		const op = await signedIn(ADMIN_TOKEN, { admin: true, viewport: PHONE });
		await expect.poll(() => op.page.locator("table[aria-label=Keys] tbody tr").count()).toBeGreaterThan(0);
		await op.page.locator("table[aria-label=Keys] tbody tr").first().getByRole("button", { name: "Credits and limits" }).click();
		await fitsPhone(op.page);
		await shot(op.page, "operator-keys-phone");
		expect(op.errors).toEqual([]);
	});
});
