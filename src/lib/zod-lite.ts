/**
 * What the Worker's bundle gets for `import { z } from "zod"` (wrangler.toml's `alias`):
 * a `z` namespace of only the members src/ uses (./zod-members.ts), so the bundle leaves
 * out the rest of zod (its locales above all). Types still come from zod itself.
 */
import * as z from "./zod-members";

export { z };
export default z;
