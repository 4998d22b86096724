/**
 * Business-applications scenario harness: a world file with `powerPlatform` sections + activity
 * events and metrics written straight into the activity lake (src/activity/lake.ts layout, as
 * `openpal activity import` leaves it) → `attributeUsage` (Azure and business applications for
 * one month) → `store.bizapps` rollups and the bizapps facts Parquet.
 *
 * Events and metrics are written with DuckDB in the exact column order and types of
 * ACTIVITY_EVENT_COLUMNS / ACTIVITY_METRIC_COLUMNS; ids are lower-cased as the importer does.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { ACTIVITY_EVENT_COLUMNS, ACTIVITY_METRIC_COLUMNS, activityEventsFile, activityMetricsFile } from "../../src/activity/lake.ts";
import { attributeUsage } from "../../src/attribution/engine.ts";
import { ManualClock } from "../../src/domain/time.ts";
import type { BizappsFilter, BizappsRollup, BizappsWorkload } from "../../src/store/bizapps.ts";
import type { Store } from "../../src/store/index.ts";

/** One activity event. `use` (default true) counts towards MAU; every event is an act (decision 4). */
export interface ActivityEvent {
  readonly at: string;
  readonly tenant: string;
  readonly workload: BizappsWorkload;
  readonly resource: string;
  readonly user: string;
  readonly operation?: string;
  readonly use?: boolean;
}

/** One explicit monthly metric (a metrics file row). */
export interface MetricRow {
  readonly tenant: string;
  readonly workload: BizappsWorkload;
  readonly resource: string;
  readonly metric: "MonthlyActiveUsers" | "UnifiedProfiles";
  readonly value: number;
}

const DEFAULT_OPERATION: Record<BizappsWorkload, string> = {
  PowerApps: "LaunchPowerApp", PowerAutomate: "FlowRun", PowerBI: "ViewReport", CustomerInsights: "ViewProfile",
};

const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
/** ISO instant → DuckDB TIMESTAMP literal (UTC, second precision). */
const tsLiteral = (iso: string) => `TIMESTAMP ${q(new Date(iso).toISOString().slice(0, 19).replace("T", " "))}`;

async function withDuckDB<T>(work: (run: (sql: string) => Promise<void>) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(":memory:", { threads: "1" });
  const c = await instance.connect();
  try {
    await c.run(`SET TimeZone = 'UTC'`);
    return await work(async (sql) => {
      await c.run(sql);
    });
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/** Writes a Parquet file of `columns` with `rows` (SQL literal tuples) by rename of a complete file. */
async function writeParquet(file: string, columns: readonly (readonly [string, string])[], rows: readonly string[]): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await withDuckDB(async (run) => {
    await run(`CREATE TABLE t (${columns.map(([n, ty]) => `"${n}" ${ty}`).join(", ")})`);
    for (let i = 0; i < rows.length; i += 500) await run(`INSERT INTO t VALUES ${rows.slice(i, i + 500).join(", ")}`);
    await run(`COPY t TO ${q(tmp)} (FORMAT PARQUET)`);
  });
  renameSync(tmp, file);
}

/** Writes `<dataDir>/activity/month=M/events.parquet` (replacing it). */
export async function writeActivityEvents(dataDir: string, month: string, events: readonly ActivityEvent[]): Promise<void> {
  const rows = events.map((e, i) => `(${[
    q(`scenario-${month}-${i}`), tsLiteral(e.at), q(e.tenant.toLowerCase()), q(e.workload), q(e.resource.toLowerCase()), q(e.user.toLowerCase()),
    q(e.operation ?? DEFAULT_OPERATION[e.workload]), e.use === false ? "false" : "true", q("openpal-activity"),
  ].join(", ")})`);
  await writeParquet(activityEventsFile(dataDir, month), ACTIVITY_EVENT_COLUMNS, rows);
}

/** Writes `<dataDir>/activity/month=M/metrics.parquet` (replacing it). */
export async function writeActivityMetrics(dataDir: string, month: string, metrics: readonly MetricRow[]): Promise<void> {
  const rows = metrics.map((m) => `(${[q(m.tenant.toLowerCase()), q(m.workload), q(m.resource.toLowerCase()), q(m.metric), String(m.value), q("openpal-metrics")].join(", ")})`);
  await writeParquet(activityMetricsFile(dataDir, month), ACTIVITY_METRIC_COLUMNS, rows);
}

/** The business-applications facts file of a month (contract: BRIEF "Shared contracts"). */
export function bizappsFactsFile(dataDir: string, month: string): string {
  return path.join(path.resolve(dataDir), "attribution", `month=${month}`, "bizapps", "facts.parquet");
}

/** Reads the month's bizapps facts (timestamps as ISO strings), ordered by resource and partner. */
export async function readBizappsFacts(dataDir: string, month: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(":memory:", { threads: "1" });
  const c = await instance.connect();
  try {
    await c.run(`SET TimeZone = 'UTC'`);
    const rows = (await c.runAndReadAll(`SELECT * FROM read_parquet(${q(bizappsFactsFile(dataDir, month))})
      ORDER BY resource_id, partner_location_id NULLS FIRST, principal_id, relationship_from NULLS FIRST`)).getRowObjectsJS();
    return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : typeof v === "bigint" ? Number(v) : v])));
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/** A scenario's data directory; `cleanup()` removes it. */
export function scenarioDir(): { readonly dataDir: string; cleanup(): void } {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-bizapps-"));
  return { dataDir, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}

/** Runs attribution for `month` (the clock after the month, as a scheduled run would) and returns the month's rollups. */
export async function runMonth(store: Store, dataDir: string, month: string, filter: Omit<BizappsFilter, "month"> = {}): Promise<BizappsRollup[]> {
  await attributeUsage({ store, dataDir, month, clock: new ManualClock("2026-12-15T00:00:00Z"), threads: 1, memoryLimit: "256MB" });
  return store.bizapps.rollups({ ...filter, month });
}

/**
 * A rollup reduced to what scenarios compare, principal ids shown by `names`:
 * "location ResourceType ResourceName Role user quantity QuantityType value EnvironmentType decidedBy".
 * The value is compared as a number with two decimals (the exact decimal text is the engine's).
 */
export function brief(rows: readonly BizappsRollup[], names: Readonly<Record<string, string>>): string[] {
  return rows.map((r) => {
    if (!/^\d+(\.\d+)?$/.test(r.monthlyConsumptionValue)) throw new Error(`MonthlyConsumptionValue is not an exact decimal text: ${r.monthlyConsumptionValue}`);
    return [r.partnerLocationId, r.resourceType, r.resourceName, r.attributedUserRole, names[r.attributedUserObjectId.toLowerCase()] ?? r.attributedUserObjectId,
      r.quantity, r.quantityType, Number(r.monthlyConsumptionValue).toFixed(2), r.environmentType, r.decidedBy].join(" ");
  }).sort();
}
