/**
 * The parts of zod's classic API the Worker uses at runtime, re-exported one by one from
 * zod's own module (the bundle's stand-in for "zod" is ./zod-lite.ts, aliased in
 * wrangler.toml). Importing `z` from "zod" itself makes esbuild keep every export of zod's
 * namespace object, among them all 40-odd message locales (364 KiB of a 1.3 MiB bundle);
 * a namespace of only these names lets it drop what is not used. A member missing here
 * fails test/node/zod-lite.test.ts, which compares this list with what src/ calls.
 */
export {
	array,
	boolean,
	coerce,
	enum,
	file,
	literal,
	looseObject,
	NEVER,
	null,
	number,
	object,
	partialRecord,
	preprocess,
	record,
	registry,
	strictObject,
	string,
	toJSONSchema,
	union,
	unknown,
	url,
	ZodArray,
	ZodError,
	ZodObject,
	ZodType,
	ZodUnion,
} from "../../node_modules/zod/v4/classic/external.js";
