/**
 * The activity lake on disk (business applications, docs/POWER-PLATFORM.md "Activity and metrics
 * inputs"): what `openpal activity import` writes and the business-applications engine reads.
 *
 *   <data-dir>/activity/
 *     month=YYYY-MM/events.parquet    activity events of the month (UTC), one row per event
 *     month=YYYY-MM/metrics.parquet   explicit monthly metrics (a metrics file; wins over events)
 *     _imports.json                   manifest: one entry per import (file, SHA-256, summary)
 *     _lock, _work-<id>/              the one writer's lock and scratch space
 *
 * Same invariants as the usage lake: a month file is replaced only by rename(2) of a complete file
 * written beside it; re-importing a file changes nothing (rows are keyed by `event_id`, metrics by
 * (tenant, workload, resource, metric): the last import wins).
 *
 * Every id is stored in lower case. `user_object_id` is the Entra object id, resolved from a UPN
 * through the directory when the export gave a UPN; events whose user does not resolve are not
 * written (the import counts them).
 */
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Columns of `events.parquet`, in order, with their DuckDB types. */
export const ACTIVITY_EVENT_COLUMNS = [
  ["event_id", "VARCHAR"], // stable id: the export's own id when it has one, else the MD5 (hex) of the normalised row
  ["at", "TIMESTAMP"], // UTC, second precision
  ["tenant_id", "VARCHAR"],
  ["workload", "VARCHAR"], // PowerApps | PowerAutomate | PowerBI | CustomerInsights
  ["resource_id", "VARCHAR"], // app, flow, dataset or instance id
  ["user_object_id", "VARCHAR"],
  ["operation", "VARCHAR"], // as the source spelled it (LaunchPowerApp, ViewReport, …)
  ["is_use", "BOOLEAN"], // counts towards MAU (decision 5); every event counts as an act (decision 4)
  ["source", "VARCHAR"], // openpal-activity | powerbi-activity-events | m365-audit-log | pp-analytics
] as const;

/** Columns of `metrics.parquet`, in order, with their DuckDB types. */
export const ACTIVITY_METRIC_COLUMNS = [
  ["tenant_id", "VARCHAR"],
  ["workload", "VARCHAR"],
  ["resource_id", "VARCHAR"],
  ["metric", "VARCHAR"], // MonthlyActiveUsers | UnifiedProfiles
  ["value", "BIGINT"],
  ["source", "VARCHAR"],
] as const;

export function activityDir(dataDir: string): string {
  return path.join(path.resolve(dataDir), "activity");
}
export function activityEventsFile(dataDir: string, month: string): string {
  return path.join(activityDir(dataDir), `month=${month}`, "events.parquet");
}
export function activityMetricsFile(dataDir: string, month: string): string {
  return path.join(activityDir(dataDir), `month=${month}`, "metrics.parquet");
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

function emptyRelation(columns: readonly (readonly [string, string])[]): string {
  const values = columns.map(([, type]) => `CAST(NULL AS ${type})`).join(", ");
  // Names quoted: "at" is a keyword in a DuckDB alias list.
  return `(SELECT * FROM (VALUES (${values})) t(${columns.map(([name]) => `"${name}"`).join(", ")}) WHERE false)`;
}

/**
 * A DuckDB table expression of the month's events (an empty one with the same columns when none).
 * Exactly the listed columns: the `month=M` folder is not read as a hive partition column.
 */
export function activityEventsRelation(dataDir: string, month: string): string {
  const file = activityEventsFile(dataDir, month);
  return existsSync(file) ? `read_parquet(${sqlString(file)}, hive_partitioning = false)` : emptyRelation(ACTIVITY_EVENT_COLUMNS);
}

/** A DuckDB table expression of the month's explicit metrics (empty when none). */
export function activityMetricsRelation(dataDir: string, month: string): string {
  const file = activityMetricsFile(dataDir, month);
  return existsSync(file) ? `read_parquet(${sqlString(file)}, hive_partitioning = false)` : emptyRelation(ACTIVITY_METRIC_COLUMNS);
}

// ---------------------------------------------------------------------------------------------
// Months present and the import manifest (`_imports.json`), written by `openpal activity import`.

const MONTH_DIR = /^month=(\d{4}-\d{2})$/;

/** Months with an events or metrics file, ascending. */
export function activityMonths(dataDir: string): string[] {
  const dir = activityDir(dataDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => MONTH_DIR.exec(name)?.[1])
    .filter((m): m is string => m !== undefined && (existsSync(activityEventsFile(dataDir, m)) || existsSync(activityMetricsFile(dataDir, m))))
    .sort();
}

/** One import of one file, as recorded in `_imports.json`. */
export interface ActivityImportRecord {
  readonly importId: string;
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly format: string;
  readonly importedAt: string;
  /** Events (or metric rows) read and kept. */
  readonly read: number;
  readonly kept: number;
  readonly months: readonly string[];
}

interface ActivityManifest {
  readonly version: 1;
  readonly imports: ActivityImportRecord[];
}

function activityManifestPath(dataDir: string): string {
  return path.join(activityDir(dataDir), "_imports.json");
}

export function readActivityManifest(dataDir: string): ActivityManifest {
  const file = activityManifestPath(dataDir);
  if (!existsSync(file)) return { version: 1, imports: [] };
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as ActivityManifest;
    if (!Array.isArray(parsed.imports)) throw new Error("no imports array");
    return parsed;
  } catch (error) {
    throw new Error(`${file}: the activity import manifest cannot be read (${(error as Error).message}). Move it aside; the next import rebuilds it (events are still deduplicated by event_id).`);
  }
}

export function appendActivityManifest(dataDir: string, record: ActivityImportRecord): void {
  const manifest = readActivityManifest(dataDir);
  const file = activityManifestPath(dataDir);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: 1, imports: [...manifest.imports, record] }, null, 2) + "\n");
  renameSync(tmp, file);
}
