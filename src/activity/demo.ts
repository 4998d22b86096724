/**
 * Demo activity and metrics for business applications (docs/DEMO.md, "Business applications"):
 * what the demo world's Power Platform estate did in the demo months, so `npm start` shows
 * business-applications credit next to Azure's. Deterministic (same world, same months → same
 * rows); no randomness, only a stable hash of ids.
 *
 * The rows are first written as the two OpenPAL input files a person would bring
 * (`<data-dir>/demo/demo-activity-….csv`: Timestamp,TenantId,Workload,ResourceId,UserObjectId,
 * Operation, and `demo-metrics-….csv`: Month,TenantId,Workload,ResourceId,Metric,Value), then
 * turned into the activity lake with DuckDB following src/activity/lake.ts's column contract
 * (events.parquet, metrics.parquet per month). A month file already there is merged, never
 * clobbered: events are keyed by `event_id`, and a metric already in the lake (an import) wins over
 * the demo's. Each month file is replaced by rename(2) of a complete file written beside it.
 *
 * What happens, per resource and month (only after the resource exists):
 * - Every holder of an attributed-user relationship (owner, co-owner, publisher, instance user,
 *   solution importer) acts on it weekly while the relationship lasts and the account is enabled
 *   (maker operations: EditPowerApp, EditFlow, EditDataset, EditSegment); an owner or publisher
 *   also acts on the last day of its relationship in the month at 17:00, so when two partners'
 *   identities qualify the owner is the one who acted last (decision 4's "latest partner").
 * - People of the customer use apps (LaunchPowerApp) and reports (ViewReport) a few days a month:
 *   a pool per tenant of app users that the demo world does not model as directory accounts
 *   (object ids `N0000000-0009-4000-8000-…`), more in Production than in other environments.
 * - Metrics: a MonthlyActiveUsers value per running flow (Power Automate has no per-user source)
 *   and a UnifiedProfiles count per Customer Insights instance.
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { WorldFile, WorldTenant } from "../world/index.ts";
import { deriveRelationships } from "../world/power-platform/timeline.ts";
import { parseIsoTime } from "../domain/time.ts";
import { ACTIVITY_EVENT_COLUMNS, ACTIVITY_METRIC_COLUMNS, activityDir, activityEventsFile, activityMetricsFile } from "./lake.ts";

export type DemoWorkload = "PowerApps" | "PowerAutomate" | "PowerBI" | "CustomerInsights";

/** One OpenPAL activity CSV row. */
export interface DemoActivityEvent {
  readonly timestamp: string;
  readonly tenantId: string;
  readonly workload: DemoWorkload;
  readonly resourceId: string;
  readonly userObjectId: string;
  readonly operation: string;
}

/** One OpenPAL metrics CSV row. */
export interface DemoMetric {
  readonly month: string;
  readonly tenantId: string;
  readonly workload: DemoWorkload;
  readonly resourceId: string;
  readonly metric: "MonthlyActiveUsers" | "UnifiedProfiles";
  readonly value: number;
}

/** Operations that count towards MAU (decision 5); every event is an act (decision 4). */
export const DEMO_USE_OPERATIONS: ReadonlySet<string> = new Set(["LaunchPowerApp", "ViewReport"]);

const MAKER_OPERATION: Record<DemoWorkload, string> = { PowerApps: "EditPowerApp", PowerAutomate: "EditFlow", PowerBI: "EditDataset", CustomerInsights: "EditSegment" };
const USE_OPERATION: Partial<Record<DemoWorkload, string>> = { PowerApps: "LaunchPowerApp", PowerBI: "ViewReport" };
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** Stable small hash (FNV-1a) for variation without randomness. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

const lc = (s: string) => s.toLowerCase();
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const at = (s: string | null | undefined): number | null => (s ? (parseIsoTime(s) ?? null) : null);

function monthBounds(month: string): { from: number; to: number; days: number } {
  const [y, m] = month.split("-").map(Number) as [number, number];
  const from = Date.UTC(y, m - 1, 1);
  const to = Date.UTC(y, m, 1);
  return { from, to, days: Math.round((to - from) / DAY) };
}

interface DemoResource {
  readonly tenantId: string;
  readonly id: string;
  readonly workload: DemoWorkload;
  readonly createdAt: number;
  /** Production-sized (Production, or no environment: datasets, an instance without one). */
  readonly production: boolean;
  readonly running: boolean;
}

function resourcesOf(tenant: WorldTenant): DemoResource[] {
  const pp = tenant.powerPlatform;
  if (!pp) return [];
  const envType = new Map((pp.environments ?? []).map((e) => [lc(e.id), e.type]));
  const prod = (env: string | undefined) => env === undefined || envType.get(lc(env)) === "Production";
  const tid = lc(tenant.id);
  return [
    ...(pp.apps ?? []).map((a) => ({ tenantId: tid, id: lc(a.id), workload: "PowerApps" as const, createdAt: at(a.createdAt) ?? 0, production: prod(a.environment), running: true })),
    ...(pp.flows ?? []).map((f) => ({ tenantId: tid, id: lc(f.id), workload: "PowerAutomate" as const, createdAt: at(f.createdAt) ?? 0, production: prod(f.environment), running: (f.state ?? "Started") === "Started" })),
    ...(pp.powerBi?.workspaces ?? []).flatMap((w) => (w.datasets ?? []).map((d) => ({ tenantId: tid, id: lc(d.id), workload: "PowerBI" as const, createdAt: at(d.publishedAt) ?? 0, production: true, running: true }))),
    ...(pp.customerInsights?.instances ?? []).map((i) => ({ tenantId: tid, id: lc(i.id), workload: "CustomerInsights" as const, createdAt: 0, production: prod(i.environment), running: true })),
  ];
}

/** The disabled intervals of every account of the tenant. */
function disabledOf(tenant: WorldTenant): Map<string, { from: number; to: number }[]> {
  const out = new Map<string, { from: number; to: number }[]>();
  for (const p of [...(tenant.users ?? []), ...(tenant.servicePrincipals ?? [])]) {
    const intervals = (p.disabled ?? []).map((d) => ({ from: at(d.from) ?? -Infinity, to: at(d.to) ?? Infinity }));
    if (intervals.length > 0) out.set(lc(p.id), intervals);
  }
  return out;
}

/** The demo's events and metrics of `months` for every tenant with a Power Platform estate, in time order. */
export function demoActivity(world: WorldFile, months: readonly string[]): { events: DemoActivityEvent[]; metrics: DemoMetric[] } {
  const events: DemoActivityEvent[] = [];
  const metrics: DemoMetric[] = [];
  for (const tenant of world.tenants ?? []) {
    if (!tenant.powerPlatform) continue;
    const resources = resourcesOf(tenant);
    const relationships = deriveRelationships(tenant.powerPlatform, "$").resources;
    const disabled = disabledOf(tenant);
    const enabledAt = (principal: string, t: number) => !(disabled.get(principal) ?? []).some((d) => t >= d.from && t < d.to);
    const prefix = lc(tenant.id).slice(0, 8);
    const appUser = (j: number) => `${prefix}-0009-4000-8000-${j.toString(16).padStart(12, "0")}`;
    for (const month of months) {
      const { from, to, days } = monthBounds(month);
      const growth = months.indexOf(month); // later months grow a little
      for (const r of resources) {
        const h = hash(r.id);
        const alive = (t: number) => t >= r.createdAt && t < to && t >= from;
        const push = (t: number, user: string, operation: string) => {
          if (alive(t)) events.push({ timestamp: iso(t), tenantId: r.tenantId, workload: r.workload, resourceId: r.id, userObjectId: user, operation });
        };
        // Makers: every holder of an attributed-user relationship, while it lasts.
        for (const rel of relationships.get(r.id)?.relationships ?? []) {
          const start = Math.max(from, rel.from ?? from);
          const end = Math.min(to, rel.to ?? to);
          if (start >= end) continue;
          const ph = hash(`${rel.principalId}|${r.id}`);
          const firstDay = Math.floor((start - from) / DAY);
          const lastDay = Math.floor((end - 1 - from) / DAY);
          for (let d = firstDay; d <= lastDay; d++) {
            if ((d + ph) % 7 !== 0) continue;
            const t = from + d * DAY + (9 + (ph % 7)) * HOUR + (ph % 60) * 60_000; // 09:00–15:59
            if (t >= start && t < end && enabledAt(rel.principalId, t)) push(t, rel.principalId, MAKER_OPERATION[r.workload]);
          }
          if (rel.relation === "owner" || rel.relation === "publisher") {
            const t = from + lastDay * DAY + 17 * HOUR;
            if (t >= start && t < end && enabledAt(rel.principalId, t)) push(t, rel.principalId, MAKER_OPERATION[r.workload]);
          }
        }
        // People using apps and reports.
        const use = USE_OPERATION[r.workload];
        if (use) {
          const audience = r.production ? 8 + (h % 23) + growth * (h % 5) : 1 + (h % 3);
          for (let j = 0; j < audience; j++) {
            const every = 2 + ((h + j) % 6); // uses it every 2nd … 7th day
            for (let d = (h + j) % every; d < days; d += every) push(from + d * DAY + (8 + ((j + d) % 9)) * HOUR + (((j * 7) + d) % 60) * 60_000, appUser(1 + ((h + j * 13) % 60)), use);
          }
        }
        // Metrics the export files give (there is no per-user source for them).
        const existed = r.createdAt < to;
        if (existed && r.workload === "PowerAutomate" && r.running) {
          metrics.push({ month, tenantId: r.tenantId, workload: r.workload, resourceId: r.id, metric: "MonthlyActiveUsers", value: r.production ? 6 + (h % 19) + growth * (h % 4) : 1 + (h % 3) });
        }
        if (existed && r.workload === "CustomerInsights") {
          const base = 20_000 + (h % 30) * 1_000;
          metrics.push({ month, tenantId: r.tenantId, workload: r.workload, resourceId: r.id, metric: "UnifiedProfiles", value: Math.round(base * (1 + growth * 0.03)) });
        }
      }
    }
  }
  events.sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.resourceId.localeCompare(b.resourceId) || a.userObjectId.localeCompare(b.userObjectId));
  return { events, metrics };
}

const csvCell = (s: string | number) => (/[",\r\n]/.test(String(s)) ? `"${String(s).replaceAll('"', '""')}"` : String(s));

/** The OpenPAL activity CSV of `events` (header included). */
export function activityCsv(events: readonly DemoActivityEvent[]): string {
  return ["Timestamp,TenantId,Workload,ResourceId,UserObjectId,Operation", ...events.map((e) => [e.timestamp, e.tenantId, e.workload, e.resourceId, e.userObjectId, e.operation].map(csvCell).join(","))].join("\r\n") + "\r\n";
}

/** The OpenPAL metrics CSV of `metrics` (header included). */
export function metricsCsv(metrics: readonly DemoMetric[]): string {
  return ["Month,TenantId,Workload,ResourceId,Metric,Value", ...metrics.map((m) => [m.month, m.tenantId, m.workload, m.resourceId, m.metric, m.value].map(csvCell).join(","))].join("\r\n") + "\r\n";
}

/**
 * The stable id of an OpenPAL activity row: MD5 of its source, epoch seconds and normalised fields
 * joined by "|" (ids in lower case), the id `openpal activity import` gives the same row (its
 * `eventIdSql`), so importing the demo's CSV again adds nothing (tested).
 */
export function activityEventId(e: DemoActivityEvent): string {
  const epochSeconds = Math.floor(Date.parse(e.timestamp) / 1000);
  return createHash("md5").update(["openpal-activity", String(epochSeconds), lc(e.tenantId), e.workload, lc(e.resourceId), lc(e.userObjectId), e.operation].join("|")).digest("hex");
}

const sql = (s: string) => `'${s.replaceAll("'", "''")}'`;

export interface DemoActivitySummary {
  readonly months: readonly string[];
  readonly events: number;
  readonly metrics: number;
  readonly files: { readonly activity: string; readonly metrics: string };
}

/**
 * Generates the demo activity and metrics of `months`, writes the two CSVs under
 * `<dataDir>/demo/`, and puts them into the activity lake (idempotent: seeding again adds nothing).
 */
export async function seedDemoActivity(world: WorldFile, months: readonly string[], dataDir: string): Promise<DemoActivitySummary | undefined> {
  const { events, metrics } = demoActivity(world, months);
  if (events.length === 0 && metrics.length === 0) return undefined;
  const demoDir = path.join(path.resolve(dataDir), "demo");
  mkdirSync(demoDir, { recursive: true });
  const files = { activity: path.join(demoDir, `demo-activity-${months.join("_")}.csv`), metrics: path.join(demoDir, `demo-metrics-${months.join("_")}.csv`) };
  writeFileSync(files.activity, activityCsv(events));
  writeFileSync(files.metrics, metricsCsv(metrics));

  const work = path.join(activityDir(dataDir), `_work-demo-${randomUUID()}`);
  mkdirSync(work, { recursive: true });
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    await c.run(`SET TimeZone = 'UTC'`);
    const eventCols = ACTIVITY_EVENT_COLUMNS.map(([n]) => `"${n}"`).join(", ");
    const metricCols = ACTIVITY_METRIC_COLUMNS.map(([n]) => `"${n}"`).join(", ");
    // The CSVs as typed tables, read back the way an import reads them (every column as text first).
    await c.run(`CREATE TABLE ev AS SELECT * FROM read_csv(${sql(files.activity)}, header = true, all_varchar = true)`);
    await c.run(`CREATE TABLE mt AS SELECT * FROM read_csv(${sql(files.metrics)}, header = true, all_varchar = true)`);
    const uses = [...DEMO_USE_OPERATIONS].map(sql).join(", ");
    await c.run(`CREATE TABLE demo_events AS SELECT
        md5(concat_ws('|', 'openpal-activity', CAST(epoch(strptime(Timestamp, '%Y-%m-%dT%H:%M:%SZ')) AS BIGINT), lower(TenantId), Workload, lower(ResourceId), lower(UserObjectId), Operation)) AS event_id,
        CAST(strptime(Timestamp, '%Y-%m-%dT%H:%M:%SZ') AS TIMESTAMP) AS "at", lower(TenantId) AS tenant_id, Workload AS workload,
        lower(ResourceId) AS resource_id, lower(UserObjectId) AS user_object_id, Operation AS operation,
        Operation IN (${uses}) AS is_use, 'openpal-activity' AS source
      FROM ev`);
    await c.run(`CREATE TABLE demo_metrics AS SELECT Month AS month, lower(TenantId) AS tenant_id, Workload AS workload, lower(ResourceId) AS resource_id,
        Metric AS metric, CAST(Value AS BIGINT) AS value, 'openpal-metrics' AS source FROM mt`);
    for (const month of months) {
      const eventsFile = activityEventsFile(dataDir, month);
      const metricsFile = activityMetricsFile(dataDir, month);
      const { from, to } = monthBounds(month);
      const inMonth = `"at" >= TIMESTAMP ${sql(iso(from).replace("T", " ").replace("Z", ""))} AND "at" < TIMESTAMP ${sql(iso(to).replace("T", " ").replace("Z", ""))}`;
      const existingEvents = existsSync(eventsFile) ? `SELECT ${eventCols}, 0 AS pri FROM read_parquet(${sql(eventsFile)}) UNION ALL ` : "";
      const existingMetrics = existsSync(metricsFile) ? `SELECT ${metricCols}, 0 AS pri FROM read_parquet(${sql(metricsFile)}) UNION ALL ` : "";
      const monthWork = path.join(work, `month=${month}`);
      mkdirSync(monthWork, { recursive: true });
      const eventsTmp = path.join(monthWork, "events.parquet");
      const metricsTmp = path.join(monthWork, "metrics.parquet");
      // Events keyed by event_id (the lake's rows first), in time order.
      await c.run(`COPY (
        SELECT ${eventCols} FROM (SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY pri) AS n FROM (
          ${existingEvents}SELECT ${eventCols}, 1 AS pri FROM demo_events WHERE ${inMonth}))
        WHERE n = 1 ORDER BY "at", resource_id, user_object_id, event_id
      ) TO ${sql(eventsTmp)} (FORMAT parquet)`);
      // Metrics keyed by (tenant, workload, resource, metric): an imported value wins over the demo's.
      await c.run(`COPY (
        SELECT ${metricCols} FROM (SELECT *, row_number() OVER (PARTITION BY tenant_id, workload, resource_id, metric ORDER BY pri) AS n FROM (
          ${existingMetrics}SELECT ${metricCols}, 1 AS pri FROM demo_metrics WHERE month = ${sql(month)}))
        WHERE n = 1 ORDER BY tenant_id, workload, resource_id, metric
      ) TO ${sql(metricsTmp)} (FORMAT parquet)`);
      mkdirSync(path.dirname(eventsFile), { recursive: true });
      renameSync(eventsTmp, eventsFile);
      renameSync(metricsTmp, metricsFile);
    }
  } finally {
    c.closeSync();
    instance.closeSync();
    rmSync(work, { recursive: true, force: true });
  }
  return { months, events: events.length, metrics: metrics.length, files };
}
