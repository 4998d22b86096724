/**
 * Demo usage: daily FOCUS 1.0 rows (with Microsoft's x_ columns) for every subscription and
 * resource group of a world file, over whole months, so a fresh demo shows non-trivial
 * attribution. Deterministic (same world → same file), written by DuckDB, then imported through
 * the ordinary importer (so the demo exercises the real path, dedupe included).
 *
 * Shape (from the sample exports' shapes): per resource group three resources (a VM, a storage
 * account, a SQL database) with a base daily cost by type, a weekly rhythm (weekends cheaper)
 * and a stable per-resource jitter; one subscription-level Defender charge per day. EA
 * subscriptions named "*-ea" or in a tenant whose name suggests Europe bill in EUR, with USD beside it.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { WorldFile } from "../world/index.ts";
import { importUsageFile, type UsageImportSummary } from "./index.ts";

export interface DemoResource {
  readonly subscriptionId: string;
  readonly subscriptionName: string;
  readonly resourceId: string;
  readonly resourceType: string;
  readonly service: string;
  /** Base cost per day in billing currency. */
  readonly base: number;
  readonly currency: string;
}

const KINDS = [
  { type: "Microsoft.Compute/virtualMachines", service: "Virtual Machines", name: "vm", base: 24 },
  { type: "Microsoft.Storage/storageAccounts", service: "Storage", name: "st", base: 3.5 },
  { type: "Microsoft.Sql/servers/databases", service: "SQL Database", name: "sql", base: 11 },
] as const;

/** Stable small hash of a string (FNV-1a), for per-resource variation without randomness. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The resources the demo bills, from the world's subscriptions and resource groups. */
export function demoResources(world: WorldFile): DemoResource[] {
  const out: DemoResource[] = [];
  for (const tenant of world.tenants ?? []) {
    for (const s of tenant.subscriptions ?? []) {
      const sub = s.id.toLowerCase();
      const currency = /woodgrove|bank|eu/i.test(tenant.displayName) ? "EUR" : "USD";
      const scale = 0.5 + (hash(sub) % 100) / 50; // 0.5 … 2.5: customers differ in size
      for (const rg of s.resourceGroups ?? []) {
        for (const k of KINDS) {
          const name = `${k.name}-${rg.replace(/^rg-/, "")}`;
          const id = k.type === "Microsoft.Sql/servers/databases"
            ? `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Sql/servers/${name}-srv/databases/${name}`
            : `/subscriptions/${sub}/resourceGroups/${rg}/providers/${k.type}/${name}`;
          out.push({ subscriptionId: sub, subscriptionName: s.displayName, resourceId: id, resourceType: k.type, service: k.service, base: Math.round(k.base * scale * 100) / 100, currency });
        }
      }
      out.push({
        subscriptionId: sub, subscriptionName: s.displayName, resourceId: `/subscriptions/${sub}/providers/Microsoft.Security/pricings/VirtualMachines`,
        resourceType: "Microsoft.Security/pricings", service: "Microsoft Defender for Cloud", base: 1.2, currency,
      });
    }
  }
  return out;
}

const sql = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** Writes the demo usage of `months` (YYYY-MM, whole months) as a FOCUS CSV at `file`. Returns the row count. */
export async function writeDemoUsage(world: WorldFile, months: readonly string[], file: string): Promise<number> {
  const resources = demoResources(world);
  if (resources.length === 0) return 0;
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    await c.run(`SET TimeZone = 'UTC'`);
    const values = resources.map((r) => `(${sql(r.subscriptionId)}, ${sql(r.subscriptionName)}, ${sql(r.resourceId)}, ${sql(r.resourceType)}, ${sql(r.service)}, ${r.base}, ${sql(r.currency)}, ${hash(r.resourceId) % 1000})`).join(",\n");
    const ranges = months.map((m) => `SELECT CAST(d AS TIMESTAMP) AS day FROM generate_series(DATE '${m}-01', DATE '${m}-01' + INTERVAL 1 MONTH - INTERVAL 1 DAY, INTERVAL 1 DAY) t(d)`).join(" UNION ALL ");
    // FX: a fixed EUR→USD rate keeps the demo reproducible.
    await c.run(`COPY (
      WITH r(sub, sub_name, rid, rtype, service, base, currency, jitter) AS (VALUES ${values}),
           days AS (${ranges})
      SELECT 'demo-enrollment' AS BillingAccountId, 'Microsoft' AS ProviderName, 'Usage' AS ChargeCategory,
             strftime(day, '%Y-%m-%dT%H:%M:%SZ') AS ChargePeriodStart, strftime(day + INTERVAL 1 DAY, '%Y-%m-%dT%H:%M:%SZ') AS ChargePeriodEnd,
             CAST(ROUND(base * (CASE WHEN dayofweek(day) IN (0, 6) THEN 0.7 ELSE 1.0 END) * (0.85 + ((jitter + dayofmonth(day) * 37) % 300) / 1000.0), 6) AS DECIMAL(18,6)) AS EffectiveCost,
             CAST(ROUND(base * (CASE WHEN dayofweek(day) IN (0, 6) THEN 0.7 ELSE 1.0 END) * (0.85 + ((jitter + dayofmonth(day) * 37) % 300) / 1000.0)
                        * (CASE currency WHEN 'EUR' THEN 1.08 ELSE 1 END), 6) AS DECIMAL(18,6)) AS x_EffectiveCostInUsd,
             currency AS BillingCurrency, '/subscriptions/' || sub AS SubAccountId, sub_name AS SubAccountName, rid AS ResourceId, rtype AS x_ResourceType,
             service AS ServiceName, 'westeurope' AS RegionId
      FROM r CROSS JOIN days ORDER BY ChargePeriodStart, ResourceId
    ) TO ${sql(file)} (HEADER, DELIMITER ',')`);
    return resources.length * (await c.runAndReadAll(`SELECT COUNT(*) AS n FROM (${ranges})`)).getRowObjectsJS().map((r) => Number(r.n))[0]!;
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/** The two months before `now`'s month (the demo world's history ends in the latest of them). */
export function defaultDemoMonths(now: number): string[] {
  const d = new Date(now);
  const m = (back: number) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - back, 1)).toISOString().slice(0, 7);
  return [m(2), m(1)];
}

/** Generates the demo usage and imports it into `<dataDir>/usage` (idempotent: re-seeding adds nothing). */
export async function seedDemoUsage(world: WorldFile, months: readonly string[], dataDir: string): Promise<UsageImportSummary | undefined> {
  const file = path.join(path.resolve(dataDir), "demo", `demo-usage-${months.join("_")}.csv`);
  const rows = await writeDemoUsage(world, months, file);
  if (rows === 0) return undefined;
  return importUsageFile(file, { dataDir, format: "focus" });
}
