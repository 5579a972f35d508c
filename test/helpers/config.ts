// The configuration loaded from plain objects, for tests of settings and their mistakes.
import { ConfigError } from "../../src/config";
import { loadConfig } from "../../src/load-config";

/** loadConfig over a plain object standing in for the Worker's env. */
export function configOf(vars: Record<string, unknown>): ReturnType<typeof loadConfig> {
	return loadConfig(vars as unknown as Env);
}

/** The ConfigError these vars are refused with (fails the test when they load). */
export function configError(vars: Record<string, unknown>): ConfigError {
	try {
		configOf(vars);
	} catch (e) {
		if (e instanceof ConfigError) return e;
		throw e;
	}
	throw new Error("expected a ConfigError");
}
