/**
 * Worker entry: wires the app and exports the handlers and Durable Object classes.
 */
import { buildApp } from "./app";
import { handleQueue } from "./jobs/consumer";
import type { JobMessage } from "./jobs/submit";
import { sweepAccounts } from "./maintenance";

export { KeyAccount } from "./account/key-account";

const app = buildApp();

export default {
	fetch: app.fetch,
	async scheduled(_controller, env, ctx) {
		ctx.waitUntil(
			sweepAccounts(env).then((totals) => {
				console.log(JSON.stringify({ event: "maintenance_sweep", ...totals }));
			}),
		);
	},
	async queue(batch, env) {
		await handleQueue(batch, env);
	},
} satisfies ExportedHandler<Env, JobMessage>;
