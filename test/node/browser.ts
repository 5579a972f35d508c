/**
 * Debian's Chromium driven by playwright-core, for the real-browser tests. Headless, no
 * sandbox (root in CI), and no background networking: on a closed network Chromium's
 * own update, sync and component connections are refused and would only add noise.
 * Each launch gets a fresh profile (playwright's temporary user data directory).
 */
import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";

/** Where the browser is: CHROMIUM_PATH, or Debian's package (`apt-get install chromium`). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const hasChromium = existsSync(CHROMIUM);

export function launchChromium(): Promise<Browser> {
	return chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: [
			"--no-sandbox",
			"--disable-gpu",
			"--disable-quic",
			"--no-first-run",
			"--disable-background-networking",
			"--disable-component-update",
			"--disable-sync",
		],
	});
}

/** Collects what a person would see as breakage: console errors and uncaught exceptions. */
export function watchErrors(page: Page): string[] {
	const errors: string[] = [];
	page.on("console", (m) => {
		if (m.type() === "error") errors.push(`console: ${m.text()}`);
	});
	page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
	return errors;
}
