/**
 * Business-applications attribution of one month (docs/POWER-PLATFORM.md, "Business-applications
 * attribution"), run by `attributeUsage` (src/attribution/engine.ts) on its DuckDB connection:
 *
 *   1. the candidate table (src/domain/bizapps.ts, built by candidates.ts from the control plane)
 *      is loaded with appenders, with the resources and the server's own acts;
 *   2. sql.ts passes over the month's activity lake events (three streaming scans joined with
 *      candidate-sized tables), decides the one credited partner per resource and the metric, and
 *      the facts are written to Parquet in the run's scratch directory;
 *   3. the credited rows come back as rollups with names and `MonthlyConsumptionValue`.
 * `attributeUsage` publishes them with the Azure month: the facts file by rename, the rollups and
 * the run record with `tx.bizapps.replaceMonth` in the same store transaction as the Azure ones.
 *
 * Tests put activity in the lake by writing `<data-dir>/activity/month=M/events.parquet` (and
 * `metrics.parquet`) directly with DuckDB, with the columns of `ACTIVITY_EVENT_COLUMNS` /
 * `ACTIVITY_METRIC_COLUMNS` (src/activity/lake.ts), ids in lower case, e.g.
 *   COPY (SELECT * FROM (VALUES ('e1', TIMESTAMP '2026-10-05 10:00:00', '<tenant>', 'PowerApps',
 *     '<app id>', '<user object id>', 'LaunchPowerApp', true, 'openpal-activity'))
 *     t(event_id, at, tenant_id, workload, resource_id, user_object_id, operation, is_use, source))
 *   TO '<data-dir>/activity/month=2026-10/events.parquet' (FORMAT PARQUET)
 * (test/bizapps/engine.test.ts has a helper doing exactly that.)
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { activityEventsRelation, activityMetricsRelation } from "../activity/lake.ts";
import type { BizappsRollup, BizappsRun, BizappsDecision, BizappsWorkload, BizappsResourceType, BizappsQuantityType } from "../store/index.ts";
import { consumptionValue, DEFAULT_BIZAPPS_RATES, QUANTITY_TYPE_OF, type BizappsRates } from "../domain/bizapps.ts";
import { WORKLOAD_OF, type ResourceKind } from "../domain/power-platform/index.ts";
import type { BizappsSnapshot } from "./candidates.ts";
import { BIZAPPS_TABLES, bizappsFactsQuery, bizappsPrepare, UNKNOWN_RESOURCES_CAP, UNKNOWN_RESOURCES_TOTAL_QUERY, unknownResourcesQuery, type BizappsSqlInput } from "./sql.ts";

export interface UnknownResource {
  readonly tenantId: string;
  readonly resourceId: string;
  readonly workload: string;
  readonly events: number;
}

export interface BizappsSummary {
  /** Resources the control plane knows alive in the month. */
  readonly resources: number;
  /** Resources with at least one candidate row. */
  readonly resourcesWithCandidates: number;
  readonly candidates: number;
  readonly qualifyingCandidates: number;
  /** Rows credited (one per credited resource). */
  readonly credited: number;
  /** Credited MAU and unified profiles, summed over credited rows. */
  readonly mau: number;
  readonly profiles: number;
  /** Activity lake events of the month plus the server's own acts. */
  readonly eventsRead: number;
  /** Resources with activity the control plane does not know: the busiest `UNKNOWN_RESOURCES_CAP` (by events). */
  readonly unknownResources: readonly UnknownResource[];
  /** Every unknown resource, listed or not. */
  readonly unknownResourceCount: number;
  /** The unknown resources beyond the list, and their events. */
  readonly unknownResourcesNotListed: { readonly resources: number; readonly events: number };
  readonly factsPath: string;
  readonly rates: BizappsRates;
  readonly timings: Readonly<Record<string, number>>;
}

export interface BizappsComputed {
  readonly summary: BizappsSummary;
  readonly rollups: readonly BizappsRollup[];
  /** The run record, for `tx.bizapps.replaceMonth`. */
  readonly run: BizappsRun;
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
const ts = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "").slice(0, 19);

type CsvType = "VARCHAR" | "INTEGER" | "BIGINT" | "BOOLEAN" | "TS";
type Cell = string | number | boolean | null;
const NEEDS_QUOTES = /[",\r\n]|^$/;
/** Only strings that need it are quoted (DuckDB's CSV reader is faster on unquoted fields); "" is the empty string, nothing is NULL. */
const csvCell = (v: Cell): string => (v === null ? "" : typeof v !== "string" ? String(v) : NEEDS_QUOTES.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/**
 * Bulk-loads `rows` into the (already created) table `table` through a CSV file in `dir`: one
 * DuckDB `read_csv` instead of one appender call per value (ten times faster at 100,000s of rows).
 * Strings are quoted (an unquoted empty field is NULL); "TS" columns travel as epoch ms.
 */
async function bulkLoad(c: DuckDBConnection, dir: string, table: string, columns: readonly (readonly [string, CsvType])[], rows: Iterable<readonly Cell[]>): Promise<void> {
  const file = path.join(dir, `${table}.csv`);
  const lines: string[] = [];
  for (const r of rows) lines.push(r.map(csvCell).join(","));
  writeFileSync(file, lines.length ? lines.join("\n") + "\n" : "");
  if (lines.length === 0) return;
  const types = columns.map(([name, type]) => `'${name}': '${type === "TS" ? "BIGINT" : type}'`).join(", ");
  const select = columns.map(([name, type]) => (type === "TS" ? `epoch_ms("${name}") AS "${name}"` : `"${name}"`)).join(", ");
  await c.run(`INSERT INTO ${table} SELECT ${select} FROM read_csv(${sqlString(file)}, header = false, auto_detect = false, quote = '"', escape = '"',
    allow_quoted_nulls = false, columns = {${types}})`);
  rmSync(file, { force: true });
}

/** Creates and fills the candidate tables (sql.ts `BIZAPPS_TABLES`) in `c`, through CSV files in `dir`. */
export async function loadBizappsTables(c: DuckDBConnection, snapshot: BizappsSnapshot, dir: string): Promise<void> {
  for (const ddl of BIZAPPS_TABLES) await c.run(ddl);
  mkdirSync(dir, { recursive: true });
  const rows = snapshot.candidates.rows;
  await bulkLoad(c, dir, "bz_cand", [
    ["cand_id", "INTEGER"], ["customer_tenant_id", "VARCHAR"], ["resource_id", "VARCHAR"], ["resource_kind", "VARCHAR"], ["workload", "VARCHAR"],
    ["resource_type", "VARCHAR"], ["environment_id", "VARCHAR"], ["environment_type", "VARCHAR"], ["principal_id", "VARCHAR"], ["principal_tenant_id", "VARCHAR"],
    ["attributed_user_role", "VARCHAR"], ["relation", "VARCHAR"], ["basis", "VARCHAR"], ["solution_id", "VARCHAR"], ["relationship_from", "TS"],
    ["relationship_to", "TS"], ["partner_location_id", "VARCHAR"], ["global_id", "VARCHAR"], ["link_path", "VARCHAR"], ["static_reason", "VARCHAR"],
    ["requires_activity", "BOOLEAN"], ["qualifying_from", "TS"], ["qualifying_to", "TS"], ["qualifying_seconds", "BIGINT"], ["link_from", "TS"], ["link_to", "TS"],
  ], (function* () {
    for (const r of rows) {
      const first = r.qualifying[0];
      const last = r.qualifying.at(-1);
      let seconds = 0;
      for (const p of r.qualifying) seconds += (p.to - p.from) / 1000;
      yield [r.candId, r.customerTenantId, r.resourceId, r.kind, r.workload, r.resourceType, r.environmentId, r.environmentType, r.principalId, r.principalTenantId,
        r.role, r.relation, r.basis, r.solutionId, r.relationshipFrom, r.relationshipTo, r.partnerLocationId, r.globalId, r.linkPath, r.reason,
        r.requiresActivity, first?.from ?? null, last?.to ?? null, seconds, r.linkFrom, r.linkTo];
    }
  })());
  await bulkLoad(c, dir, "bz_piece", [["cand_id", "INTEGER"], ["tenant_id", "VARCHAR"], ["resource_id", "VARCHAR"], ["principal_id", "VARCHAR"], ["q_from", "TS"], ["q_to", "TS"]],
    (function* () {
      for (const r of rows) for (const p of r.qualifying) yield [r.candId, r.customerTenantId, r.resourceId, r.principalId, p.from, p.to];
    })());
  await bulkLoad(c, dir, "bz_res", [["tenant_id", "VARCHAR"], ["resource_id", "VARCHAR"], ["resource_kind", "VARCHAR"], ["quantity_type", "VARCHAR"], ["workload", "VARCHAR"]],
    snapshot.knownResources.map((r) => [r.tenantId.toLowerCase(), r.id.toLowerCase(), r.kind, QUANTITY_TYPE_OF[WORKLOAD_OF[r.kind as ResourceKind]] ?? "MAU", WORKLOAD_OF[r.kind as ResourceKind] ?? null]));
  await bulkLoad(c, dir, "bz_acts", [["tenant_id", "VARCHAR"], ["resource_id", "VARCHAR"], ["user_id", "VARCHAR"], ["at", "TS"], ["operation", "VARCHAR"], ["workload", "VARCHAR"]],
    snapshot.storeActs.map((a) => [a.tenantId, a.resourceId, a.userId, a.at, a.operation, a.workload]));
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const epoch = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * Computes the month on `c` and writes the facts to `factsPath` (a scratch file the caller renames
 * into place). Nothing is published here.
 */
export async function computeBizapps(c: DuckDBConnection, snapshot: BizappsSnapshot, opts: {
  readonly dataDir: string; readonly month: string; readonly window: { from: number; to: number }; readonly factsPath: string;
  readonly publishedFactsPath: string; readonly ranAt: number; readonly rates?: BizappsRates;
  /** Unknown resources listed (default UNKNOWN_RESOURCES_CAP). */
  readonly unknownResourcesCap?: number;
}): Promise<BizappsComputed> {
  const rates = opts.rates ?? DEFAULT_BIZAPPS_RATES;
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      timings[name] = Math.round(performance.now() - t0);
    }
  };
  const input: BizappsSqlInput = {
    events: activityEventsRelation(opts.dataDir, opts.month), metrics: activityMetricsRelation(opts.dataDir, opts.month),
    monthStart: ts(opts.window.from), monthEnd: ts(opts.window.to), month: opts.month,
  };
  await timed("load candidates", () => loadBizappsTables(c, snapshot, path.join(path.dirname(opts.factsPath), "bizapps-load")));
  await timed("events", async () => {
    for (const stmt of bizappsPrepare(input)) await c.run(stmt);
  });
  await timed("facts", () => c.run(`COPY (${bizappsFactsQuery(input)}) TO ${sqlString(opts.factsPath)} (FORMAT PARQUET, COMPRESSION ZSTD)`));
  const facts = `read_parquet(${sqlString(opts.factsPath)})`;
  const [credited, counts, unknown, unknownTotal, events] = await timed("read back", () => Promise.all([
    // One JSON value for every credited row: converting 100,000s of rows value by value through the
    // client is far slower than one JSON.parse.
    c.runAndReadAll(`SELECT CAST(to_json(COALESCE(list({customer_tenant_id: customer_tenant_id, resource_id: resource_id, workload: workload,
        resource_type: resource_type, environment_id: environment_id, environment_type: environment_type, principal_id: principal_id,
        attributed_user_role: attributed_user_role, partner_location_id: partner_location_id, global_id: global_id, link_path: link_path,
        last_act_at: epoch_ms(last_act_at), decided_by: decided_by, quantity: quantity, quantity_type: quantity_type, quantity_source: quantity_source}
        ORDER BY customer_tenant_id, resource_id), [])) AS VARCHAR) AS j
      FROM ${facts} WHERE credited`).then((r) => JSON.parse(String((r.getRowObjectsJS()[0] as { j: string }).j)) as Record<string, unknown>[]),
    c.runAndReadAll(`SELECT COUNT(*) AS facts, COUNT(*) FILTER (WHERE qualifies) AS qualifying, COUNT(DISTINCT (customer_tenant_id, resource_id)) AS resources FROM ${facts}`)
      .then((r) => r.getRowObjectsJS()[0] as { facts: bigint; qualifying: bigint; resources: bigint }),
    c.runAndReadAll(unknownResourcesQuery(opts.unknownResourcesCap ?? UNKNOWN_RESOURCES_CAP)).then((r) => r.getRowObjectsJS()),
    c.runAndReadAll(UNKNOWN_RESOURCES_TOTAL_QUERY).then((r) => r.getRowObjectsJS()[0] as { resources: bigint; events: bigint | number }),
    c.runAndReadAll(`SELECT COALESCE(SUM(events), 0) AS n FROM bz_ev_res`).then((r) => Number((r.getRowObjectsJS()[0] as { n: bigint }).n)),
  ]));

  const resourceNames = new Map(snapshot.candidates.resources.map((r) => [`${r.tenantId.toLowerCase()}|${r.id.toLowerCase()}`, r.displayName]));
  const rollups: BizappsRollup[] = credited.map((r) => {
    const tenant = String(r.customer_tenant_id);
    const env = text(r.environment_id);
    const workload = String(r.workload) as BizappsWorkload;
    const quantity = Number(r.quantity ?? 0);
    return {
      month: opts.month, customerTenantId: tenant, customerName: snapshot.names.tenants.get(tenant) ?? tenant,
      partnerLocationId: String(r.partner_location_id), globalId: String(r.global_id),
      partnerName: snapshot.names.partners.get(String(r.partner_location_id)) ?? String(r.global_id),
      environmentId: env, environmentName: env === null ? null : snapshot.names.environments.get(`${tenant}|${env}`) ?? null,
      environmentType: String(r.environment_type), workload, resourceType: String(r.resource_type) as BizappsResourceType,
      resourceId: String(r.resource_id), resourceName: resourceNames.get(`${tenant}|${String(r.resource_id)}`) ?? String(r.resource_id),
      attributedUserObjectId: String(r.principal_id), attributedUserRole: String(r.attributed_user_role),
      linkPath: String(r.link_path) as "home" | "delegatedAdmin", quantityType: String(r.quantity_type) as BizappsQuantityType, quantity,
      quantitySource: String(r.quantity_source) as BizappsRollup["quantitySource"],
      monthlyConsumptionValue: consumptionValue(quantity, rates[workload]),
      decidedBy: String(r.decided_by) as BizappsDecision, lastActAt: epoch(r.last_act_at),
    };
  });
  const unknownResources: UnknownResource[] = unknown.map((u) => ({ tenantId: String(u.tenant_id), resourceId: String(u.resource_id), workload: String(u.workload), events: num(u.events) ?? 0 }));
  const unknownResourceCount = Number(unknownTotal.resources);
  const unknownResourcesNotListed = {
    resources: unknownResourceCount - unknownResources.length,
    events: Number(unknownTotal.events) - unknownResources.reduce((s, u) => s + u.events, 0),
  };
  const summary: BizappsSummary = {
    resources: snapshot.candidates.resources.length, resourcesWithCandidates: Number(counts.resources), candidates: Number(counts.facts),
    qualifyingCandidates: Number(counts.qualifying), credited: rollups.length,
    mau: rollups.filter((r) => r.quantityType === "MAU").reduce((s, r) => s + r.quantity, 0),
    profiles: rollups.filter((r) => r.quantityType === "UnifiedProfiles").reduce((s, r) => s + r.quantity, 0),
    eventsRead: events + snapshot.storeActs.length, unknownResources, unknownResourceCount, unknownResourcesNotListed, factsPath: opts.publishedFactsPath, rates, timings,
  };
  const run: BizappsRun = {
    month: opts.month, ranAt: opts.ranAt, eventsRead: summary.eventsRead, resources: summary.resources, credited: summary.credited,
    facts: summary.candidates, factsPath: opts.publishedFactsPath,
    details: {
      unknownResources, unknownResourceCount, unknownResourcesNotListed, timings, rates, candidates: summary.candidates, qualifyingCandidates: summary.qualifyingCandidates,
      resourcesWithCandidates: summary.resourcesWithCandidates, mau: summary.mau, profiles: summary.profiles,
    },
  };
  return { summary, rollups, run };
}
