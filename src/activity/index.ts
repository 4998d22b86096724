/**
 * Activity and metrics of business applications (docs/POWER-PLATFORM.md "Activity and metrics
 * import"): exports → the activity lake the business-applications engine reads.
 *
 * @example
 * const summary = await importActivityFiles({ store, dataDir: ".openpal", files: ["events.csv"] });
 * // summary.files[0].skipped, .unresolvedUsers, .unknownResources, .months
 */
export { importActivityFiles, ActivityImportError, SKIP as ACTIVITY_SKIP_REASONS } from "./import.ts";
export type { ImportActivityOptions, ActivityImportSummary, ActivityFileSummary, ActivityProgress, ActivityImportPhase, UnknownIds } from "./import.ts";
export { ACTIVITY_FORMATS } from "./formats.ts";
export type { ActivityFormat } from "./formats.ts";
export { USE_OPERATIONS, WORKLOADS, WORKLOAD_ALIASES } from "./operations.ts";
export type { Workload } from "./operations.ts";
export * from "./lake.ts";
