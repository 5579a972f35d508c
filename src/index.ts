/**
 * Worker entry: wires the app and exports the handlers and Durable Object classes.
 */
import { buildApp } from "./app";

export { KeyAccount } from "./account/key-account";

const app = buildApp();

export default {
	fetch: app.fetch,
} satisfies ExportedHandler<Env>;
