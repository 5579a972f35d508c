/**
 * Worker entry: wires the app and exports the handlers and Durable Object classes.
 */
import { buildApp } from "./app";
import { handleQueue } from "./jobs/consumer";
import type { JobMessage } from "./jobs/submit";
import { loadConfig } from "./load-config";
import { runScheduled } from "./maintenance";

export { KeyAccount } from "./account/key-account";
export { UpstreamHealth } from "./upstreams/health-object";

const app = buildApp();

export default {
	fetch: app.fetch,
	async scheduled(controller, env, ctx) {
		// A broken configuration is logged by loadConfig; the trigger then does nothing.
		const config = loadConfig(env);
		ctx.waitUntil(
			runScheduled(env, new Date(controller.scheduledTime), config).then((totals) => {
				console.log(JSON.stringify({ event: "cron", ...totals }));
			}),
		);
	},
	async queue(batch, env) {
		await handleQueue(batch, env);
	},
} satisfies ExportedHandler<Env, JobMessage>;
