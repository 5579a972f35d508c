/**
 * Worker entry: wires the app and exports the handlers and Durable Object classes.
 */
import { buildApp } from "./app";
import { loadConfig } from "./config";
import { handleQueue } from "./jobs/consumer";
import type { JobMessage } from "./jobs/submit";
import { runScheduled } from "./maintenance";

export { KeyAccount } from "./account/key-account";

const app = buildApp();

export default {
	fetch: app.fetch,
	async scheduled(controller, env, ctx) {
		ctx.waitUntil(
			runScheduled(env, new Date(controller.scheduledTime), loadConfig(env)).then((totals) => {
				console.log(JSON.stringify({ event: "cron", ...totals }));
			}),
		);
	},
	async queue(batch, env) {
		await handleQueue(batch, env);
	},
} satisfies ExportedHandler<Env, JobMessage>;
