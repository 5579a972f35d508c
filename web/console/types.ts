/**
 * The API's answers as the console reads them: inferred from the same zod schemas the
 * OpenAPI document is generated from (type-only imports: nothing of zod is bundled).
 */
import type { z } from "zod";
import type * as R from "../../src/openapi/responses";

export type Model = z.infer<typeof R.Model>;
export type ModelList = z.infer<typeof R.ModelList>;
export type ImagesResponse = z.infer<typeof R.ImagesResponse>;
export type Job = z.infer<typeof R.Job>;
export type JobResult = z.infer<typeof R.JobResult>;
export type JobList = z.infer<typeof R.JobList>;
export type Account = z.infer<typeof R.Account>;
export type UsagePage = z.infer<typeof R.UsagePage>;
export type UsageAggregate = z.infer<typeof R.UsageAggregate>;
export type PipelineList = z.infer<typeof R.PipelineList>;
export type Key = z.infer<typeof R.Key>;
export type CreatedKey = z.infer<typeof R.CreatedKey>;
export type KeyList = z.infer<typeof R.KeyList>;
export type AdminUsage = z.infer<typeof R.AdminUsage>;
export type Stats = z.infer<typeof R.Stats>;
export type HealthReport = z.infer<typeof R.HealthReport>;
export type CatalogHealth = z.infer<typeof R.CatalogHealth>;
