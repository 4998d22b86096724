/**
 * AzureUsage: Partner Center's PAL dataset (Azure consumed revenue), from the attribution facts
 * (Parquet, one row per credited usage row; src/attribution) of the months the window touches.
 * Rows are the eligible facts of policy `pec` — the same rows whose sums are the rollups that
 * `openpal report azure-usage` prints — limited to the caller's organisation (global id, a bound
 * parameter). ServiceName and MeterCategory both come from the lake's `service_name` (the
 * ServiceName of FOCUS, the MeterCategory of Cost Management exports). Columns OpenPAL cannot
 * know are present and empty (docs/SPEC-DEVIATIONS.md).
 */
import { existsSync } from "node:fs";
import { listValue, type DuckDBValue } from "@duckdb/node-api";
import { factsFile } from "../../attribution/index.ts";
import { monthsIn } from "../query/timespan.ts";
import type { Dataset, DatasetColumn, DatasetMetric, SourceRequest, SourceRelation } from "./dataset.ts";
import { loadPartnerNames, loadSubscriptions, loadTenantNames } from "./names.ts";

/** The attribution policy the dataset reports (Partner Center's: PEC-eligible roles). */
export const AZURE_USAGE_POLICY = "pec";

const EMPTY = "CAST('' AS VARCHAR)";

/** Column name → SQL over the facts `f` and the lookup tables. */
const COLUMN_SQL: Readonly<Record<string, string>> = {
  PGAMpnId: "f.global_id",
  MpnId: "f.partner_location_id",
  PartnerLocationID: "f.partner_location_id",
  PartnerName: "COALESCE(l.name, '')",
  SubscriptionId: "f.subscription_id",
  SubscriptionStartDate: "COALESCE(s.start_date, '')",
  SubscriptionEndDate: "COALESCE(s.end_date, '')",
  FirstUseDate: "COALESCE(strftime(fu.first_use, '%Y-%m-%dT%H:%M:%SZ'), '')",
  SubscriptionState: "COALESCE(s.state, '')",
  Month: "f.month",
  ServiceName: "COALESCE(f.service_name, '')",
  MeterCategory: "COALESCE(f.service_name, '')",
  UsageUnits: EMPTY,
  UsageQuantity: "CAST(NULL AS DOUBLE)",
  CustomerName: "COALESCE(t.name, '')",
  CustomerTenantName: "COALESCE(t.name, '')",
  CustomerTenantId: "COALESCE(f.customer_tenant_id, '')",
  CustomerTpid: EMPTY,
  CustomerSegment: EMPTY,
  CustomerMarket: EMPTY,
  PartnerAttributionType: "f.attribution_type",
  AssociationType: "f.attribution_type",
  AdminType: "CASE WHEN f.attribution_type = 'DPOR' THEN '' ELSE COALESCE(f.admin_type, '') END",
  SalesChannel: EMPTY,
  EnrollmentNumber: EMPTY,
  ResellerID: EMPTY,
  ResellerName: EMPTY,
  BillingCurrency: "f.billing_currency",
  IsACRDuplicateAtPGALevel: "CAST(f.dup_pga AS INTEGER)",
  IsACRDuplicateAtPGAAttachTypeLevel: "CAST(f.dup_pga_attach_type AS INTEGER)",
  IsACRDuplicateAtMPNLevel: "CAST(f.dup_mpn AS INTEGER)",
};

const NEEDS: Readonly<Record<string, string>> = {
  PartnerName: "partner", CustomerName: "tenant", CustomerTenantName: "tenant",
  SubscriptionStartDate: "subscription", SubscriptionEndDate: "subscription", SubscriptionState: "subscription", FirstUseDate: "firstUse",
};
const TYPES: Readonly<Record<string, DatasetColumn["type"]>> = {
  UsageQuantity: "number", IsACRDuplicateAtPGALevel: "flag", IsACRDuplicateAtPGAAttachTypeLevel: "flag", IsACRDuplicateAtMPNLevel: "flag",
};

const columns: DatasetColumn[] = Object.keys(COLUMN_SQL).map((name) => ({ name, type: TYPES[name] ?? "string", ...(NEEDS[name] ? { needs: NEEDS[name] } : {}) }));

/** Money rounds to cents like the CLI report (half away from zero, after an exact sum). */
const money = (expr: string) => `CAST(ROUND(SUM(${expr}), 2) AS VARCHAR)`;
const metrics: DatasetMetric[] = [
  { name: "MonthlySubscriptionLevelACR", sql: money("d._acr"), type: "money" },
  { name: "TotalACR", sql: money("d._acr"), type: "money" },
  { name: "ACR", sql: money("d._acr"), type: "money" },
  { name: "ACR_USD", sql: money("d._acr_usd"), type: "money" },
  { name: "SubscriptionCount", sql: "COUNT(DISTINCT d._subscription_id)", type: "count" },
  { name: "CustomerCount", sql: "COUNT(DISTINCT d._customer_tenant_id)", type: "count" },
  { name: "CustomerTenantCount", sql: "COUNT(DISTINCT d._customer_tenant_id)", type: "count" },
];

/** The documented system query (Partner Center's id). */
export const AZURE_USAGE_SYSTEM_QUERY_ID = "d1a4d75e-5ca8-4847-845f-ee0a9be6f07b";
const SYSTEM_QUERY = `SELECT PGAMpnId, SubscriptionId, SubscriptionStartDate, SubscriptionEndDate, FirstUseDate, SubscriptionState, Month, ServiceName, MeterCategory, UsageUnits, UsageQuantity, CustomerName, CustomerTenantId, CustomerTpid, CustomerSegment, CustomerMarket, MpnId, PartnerName, PartnerLocationID, PartnerAttributionType, SalesChannel, EnrollmentNumber, IsACRDuplicateAtPGALevel, ResellerID, ResellerName, MonthlySubscriptionLevelACR, TotalACR FROM AzureUsage TIMESPAN LAST_6_MONTHS`;

const FACT_COLUMNS = "global_id, partner_location_id, attribution_type, customer_tenant_id, subscription_id, service_name, month, admin_type, eligible, dup_pga, dup_pga_attach_type, dup_mpn, billing_currency, acr, acr_usd, charge_period_start";
const EMPTY_FACTS = `SELECT CAST(NULL AS VARCHAR) AS global_id, CAST(NULL AS VARCHAR) AS partner_location_id, CAST(NULL AS VARCHAR) AS attribution_type,
  CAST(NULL AS VARCHAR) AS customer_tenant_id, CAST(NULL AS VARCHAR) AS subscription_id, CAST(NULL AS VARCHAR) AS service_name, CAST(NULL AS VARCHAR) AS month,
  CAST(NULL AS VARCHAR) AS admin_type, FALSE AS eligible, FALSE AS dup_pga, FALSE AS dup_pga_attach_type, FALSE AS dup_mpn, CAST(NULL AS VARCHAR) AS billing_currency,
  CAST(NULL AS DECIMAL(38,18)) AS acr, CAST(NULL AS DECIMAL(38,18)) AS acr_usd, CAST(NULL AS TIMESTAMP) AS charge_period_start WHERE FALSE`;

const ts = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");

async function source(req: SourceRequest): Promise<SourceRelation> {
  const months = monthsIn(req.window, await req.store.attribution.months(AZURE_USAGE_POLICY));
  const files = months.map((m) => factsFile(req.dataDir, m, AZURE_USAGE_POLICY)).filter((f) => existsSync(f));
  const params: DuckDBValue[] = [];
  let facts: string;
  if (files.length === 0) facts = EMPTY_FACTS;
  else {
    facts = `SELECT ${FACT_COLUMNS} FROM read_parquet(?)`;
    params.push(listValue(files));
  }
  // Isolation first: the organisation's own eligible facts, then the window.
  const conds = ["f.global_id = ?", "f.eligible"];
  params.push(req.globalId);
  if (req.window.from !== undefined) {
    conds.push("f.charge_period_start >= CAST(? AS TIMESTAMP)");
    params.push(ts(req.window.from));
  }
  if (req.window.to !== undefined) {
    conds.push("f.charge_period_start < CAST(? AS TIMESTAMP)");
    params.push(ts(req.window.to));
  }
  const joins: string[] = [];
  if (req.needs.has("partner")) {
    await loadPartnerNames(req.connection, req.store, req.globalId);
    joins.push("LEFT JOIN ins_locations l ON l.id = f.partner_location_id");
  }
  if (req.needs.has("tenant")) {
    await loadTenantNames(req.connection, req.store);
    joins.push("LEFT JOIN ins_tenants t ON t.id = lower(f.customer_tenant_id)");
  }
  if (req.needs.has("subscription")) {
    await loadSubscriptions(req.connection, req.store);
    joins.push("LEFT JOIN ins_subscriptions s ON s.id = f.subscription_id");
  }
  let withFirstUse = "";
  if (req.needs.has("firstUse")) {
    // The first usage of the subscription the organisation was credited for, in the months read.
    withFirstUse = `WITH facts AS (${facts}) `;
    facts = "SELECT * FROM facts";
    joins.push("LEFT JOIN (SELECT subscription_id, MIN(charge_period_start) AS first_use FROM facts WHERE global_id = ? AND eligible GROUP BY subscription_id) fu ON fu.subscription_id = f.subscription_id");
  }
  // A column whose join the query does not need is never referenced: a typed NULL stands in.
  const select = Object.entries(COLUMN_SQL).map(([name, sql]) => {
    const need = NEEDS[name];
    return `${need && !req.needs.has(need) ? "CAST(NULL AS VARCHAR)" : sql} AS "${name}"`;
  });
  select.push("f.acr AS _acr", "f.acr_usd AS _acr_usd", "f.subscription_id AS _subscription_id", "f.customer_tenant_id AS _customer_tenant_id");
  // Parameter order follows the text: the facts list, the first-use join's id, then the WHERE.
  if (req.needs.has("firstUse")) params.splice(files.length ? 1 : 0, 0, req.globalId);
  return { sql: `${withFirstUse}SELECT ${select.join(", ")} FROM (${facts}) f ${joins.join(" ")} WHERE ${conds.join(" AND ")}`, params };
}

export const azureUsageDataset: Dataset = {
  name: "AzureUsage",
  columns,
  metrics,
  availableDateRanges: ["LAST_MONTH", "LAST_3_MONTHS", "LAST_6_MONTHS", "LAST_1_YEAR", "LIFETIME"],
  minimumRecurrenceInterval: 4,
  timed: true,
  systemQueries: [{ queryId: AZURE_USAGE_SYSTEM_QUERY_ID, name: "ACR_AzureUsage_LAST_6_MONTHS", description: "Azure usage (ACR) attributed to the partner: the documented system query.", query: SYSTEM_QUERY }],
  source,
};
