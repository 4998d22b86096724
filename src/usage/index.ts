/**
 * Usage: cost exports (FOCUS 1.0–1.2, Cost Management EA/MCA/MPA, AzGovViz) normalised into a
 * Parquet lake partitioned by month, for the attribution engine. docs/USAGE.md is the reference.
 *
 * @example
 * const summary = await importUsageFile("export.csv", { dataDir: ".openpal" });
 * const lake = openUsageLake(".openpal");
 * // In DuckDB (or Spark/Trino over the same files):
 * //   SELECT subscription_id, sum(cost) FROM read_parquet('<lake.parquetGlob("2024-09")>', hive_partitioning = 1) GROUP BY 1
 * const sql = lake.relation("2024-09");
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { sqlString } from "./formats.ts";
import { lakeMonths, monthFile, readManifest, usageDir, type ImportRecord } from "./lake.ts";
import { USAGE_COLUMNS as COLUMNS } from "./schema.ts";

export { importUsageFile, importUsageFiles, UsageImportError } from "./import.ts";
export type { ImportUsageOptions, UsageImportSummary, ImportPhase, BadValue } from "./import.ts";
export { DEFAULT_IMPORT_MEMORY_LIMIT, USAGE_FORMATS, detectFormat, Header } from "./formats.ts";
export type { UsageFormat, ChargePeriod } from "./formats.ts";
export { USAGE_COLUMNS, USAGE_COLUMN_NAMES, PARTITION_COLUMN, SkipReason } from "./schema.ts";
export type { LakeColumn } from "./schema.ts";
export type { ImportRecord } from "./lake.ts";

export interface MonthSummary {
  readonly month: string;
  readonly rows: number;
  readonly subscriptions: number;
  /** Sum of `cost` per billing currency, exact decimal strings. */
  readonly costByCurrency: Readonly<Record<string, string>>;
}

/** Read-side view of the lake for the attribution engine and reports. */
export interface UsageLake {
  /** `<dataDir>/usage` (absolute). */
  readonly dir: string;
  /**
   * Glob of the Parquet files of one month, or of every month. Read it with hive partitioning so
   * the `month` column exists: `read_parquet('<glob>', hive_partitioning = 1)`.
   */
  parquetGlob(month?: string): string;
  /**
   * A DuckDB table expression over one month (or all): `read_parquet(…, hive_partitioning = 1)`,
   * or an empty relation with the lake's columns when the month has no data (so queries still run).
   */
  relation(month?: string): string;
  /** Months with data, ascending (YYYY-MM). */
  months(): string[];
  /** Row count, subscriptions and cost per currency of a month (zeros when it has no data). */
  summary(month: string): Promise<MonthSummary>;
  /** The import manifest, oldest first. */
  imports(): readonly ImportRecord[];
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

function checkMonth(month: string): void {
  if (!MONTH.test(month)) throw new Error(`month "${month}" is not YYYY-MM, e.g. 2024-09.`);
}

export function openUsageLake(dataDir: string): UsageLake {
  const dir = usageDir(dataDir);
  const lake: UsageLake = {
    dir,
    parquetGlob(month) {
      if (month === undefined) return path.join(dir, "month=*", "*.parquet");
      checkMonth(month);
      return path.join(dir, `month=${month}`, "*.parquet");
    },
    relation(month) {
      const has = month === undefined ? lakeMonths(dataDir).length > 0 : (checkMonth(month), existsSync(monthFile(dataDir, month)));
      if (has) return `read_parquet(${sqlString(lake.parquetGlob(month))}, hive_partitioning = 1)`;
      return `(SELECT * FROM (VALUES (${EMPTY_ROW})) t(${EMPTY_COLUMNS}) WHERE false)`;
    },
    months: () => lakeMonths(dataDir),
    async summary(month) {
      checkMonth(month);
      if (!existsSync(monthFile(dataDir, month))) return { month, rows: 0, subscriptions: 0, costByCurrency: {} };
      const instance = await DuckDBInstance.create(":memory:");
      const connection = await instance.connect();
      try {
        const reader = await connection.runAndReadAll(
          `SELECT billing_currency AS c, CAST(sum(cost) AS VARCHAR) AS total, count(*) AS n, count(DISTINCT subscription_id) AS s
           FROM ${lake.relation(month)} GROUP BY GROUPING SETS ((billing_currency), ()) ORDER BY c NULLS LAST`,
        );
        const costByCurrency: Record<string, string> = {};
        let rows = 0;
        let subscriptions = 0;
        for (const r of reader.getRowObjectsJS()) {
          if (r.c === null) {
            rows = Number(r.n);
            subscriptions = Number(r.s);
          } else costByCurrency[String(r.c)] = String(r.total);
        }
        return { month, rows, subscriptions, costByCurrency };
      } finally {
        connection.closeSync();
        instance.closeSync();
      }
    },
    imports: () => readManifest(dataDir).imports,
  };
  return lake;
}

// The typed empty relation: one NULL per column, cast to the lake's type, plus `month`.
const EMPTY_ROW = [...COLUMNS.map((c) => `CAST(NULL AS ${c.type})`), "CAST(NULL AS VARCHAR)"].join(", ");
const EMPTY_COLUMNS = [...COLUMNS.map((c) => c.name), "month"].join(", ");
