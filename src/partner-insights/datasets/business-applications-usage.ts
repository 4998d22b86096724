/**
 * BusinessApplicationsUsage (an OpenPAL extension: Partner Center offers the dataset as a download
 * only): the business-applications credit of `store.bizapps` — one credited row per (month,
 * partner location, resource), the rows `openpal report bizapps-usage` prints — under the report
 * column names of docs/POWER-PLATFORM.md "Outputs", plus the Partner Center download names the
 * insights spec lists where they mean the same thing (GlobalPartnerID, MetricType, MAU).
 *
 * The rows are read from the store for the caller's organisation only (global id, a bound
 * parameter of the store query) and the months the window touches, then appended to a TEMP table
 * of the query's DuckDB connection; the compiler aggregates over it like AzureUsage.
 */
import { monthsIn } from "../query/timespan.ts";
import type { Dataset, DatasetColumn, DatasetMetric, SourceRequest, SourceRelation } from "./dataset.ts";

/** Column name → the row field it shows (aliases share a field). */
const COLUMN_FIELDS: Readonly<Record<string, string>> = {
  PartnerId: "partner_location_id",
  PGAPartnerId: "global_id",
  GlobalPartnerID: "global_id",
  PartnerName: "partner_name",
  CustomerTenantId: "customer_tenant_id",
  CustomerName: "customer_name",
  EnvironmentId: "environment_id",
  EnvironmentName: "environment_name",
  EnvironmentType: "environment_type",
  Workload: "workload",
  ResourceType: "resource_type",
  ResourceId: "resource_id",
  ResourceName: "resource_name",
  Month: "month",
  PartnerAssociationType: "association_type",
  AttributedUserObjectId: "attributed_user_object_id",
  AttributedUserRole: "attributed_user_role",
  QuantityType: "quantity_type",
  MetricType: "quantity_type",
};

/** The fields of the TEMP table, in append order. */
const FIELDS = [
  "month", "partner_location_id", "global_id", "partner_name", "customer_tenant_id", "customer_name", "environment_id", "environment_name",
  "environment_type", "workload", "resource_type", "resource_id", "resource_name", "association_type", "attributed_user_object_id",
  "attributed_user_role", "quantity_type", "quantity", "monthly_consumption_value",
] as const;

const columns: DatasetColumn[] = Object.keys(COLUMN_FIELDS).map((name) => ({ name, type: "string" }));

/** Money: an exact sum of the decimal texts, rounded to cents (half away from zero), as text. */
const metrics: DatasetMetric[] = [
  { name: "Quantity", sql: "SUM(d._quantity)", type: "count" },
  { name: "MonthlyConsumptionValue", sql: "CAST(ROUND(SUM(d._value), 2) AS VARCHAR)", type: "money" },
  { name: "MAU", sql: "COALESCE(SUM(d._quantity) FILTER (WHERE d._quantity_type = 'MAU'), 0)", type: "count" },
  { name: "UnifiedProfiles", sql: "COALESCE(SUM(d._quantity) FILTER (WHERE d._quantity_type = 'UnifiedProfiles'), 0)", type: "count" },
  { name: "ResourceCount", sql: "COUNT(DISTINCT d._resource_id)", type: "count" },
  { name: "CustomerCount", sql: "COUNT(DISTINCT d._customer_tenant_id)", type: "count" },
];

/** OpenPAL's system query (Partner Center has none for this dataset; the id is ours). */
export const BUSINESS_APPLICATIONS_SYSTEM_QUERY_ID = "6f3e2d1c-8b7a-4c5d-9e0f-b12a34c56d78";
const REPORT_COLUMNS = ["PartnerId", "PGAPartnerId", "PartnerName", "CustomerTenantId", "CustomerName", "EnvironmentId", "EnvironmentName",
  "EnvironmentType", "Workload", "ResourceType", "ResourceId", "ResourceName", "Month", "PartnerAssociationType", "AttributedUserObjectId",
  "AttributedUserRole", "QuantityType", "Quantity", "MonthlyConsumptionValue"];
const SYSTEM_QUERY = `SELECT ${REPORT_COLUMNS.join(", ")} FROM BusinessApplicationsUsage TIMESPAN LAST_6_MONTHS`;

const TABLE = "ins_bizapps";

async function source(req: SourceRequest): Promise<SourceRelation> {
  const months = monthsIn(req.window, await req.store.bizapps.months());
  const c = req.connection;
  await c.run(`CREATE OR REPLACE TEMP TABLE ${TABLE} (${FIELDS.map((f) => `${f} VARCHAR`).join(", ")})`);
  const a = await c.createAppender(TABLE);
  for (const month of months) {
    // Isolation first: the store reads the caller's organisation only.
    for (const r of await req.store.bizapps.rollups({ month, globalId: req.globalId })) {
      if (r.globalId !== req.globalId) continue;
      const row: Record<(typeof FIELDS)[number], string | null> = {
        month: r.month, partner_location_id: r.partnerLocationId, global_id: r.globalId, partner_name: r.partnerName,
        customer_tenant_id: r.customerTenantId, customer_name: r.customerName, environment_id: r.environmentId, environment_name: r.environmentName,
        environment_type: r.environmentType, workload: r.workload, resource_type: r.resourceType, resource_id: r.resourceId,
        resource_name: r.resourceName, association_type: "PAL", attributed_user_object_id: r.attributedUserObjectId,
        attributed_user_role: r.attributedUserRole, quantity_type: r.quantityType, quantity: String(r.quantity),
        monthly_consumption_value: r.monthlyConsumptionValue,
      };
      for (const f of FIELDS) {
        const v = row[f];
        if (v === null) a.appendNull();
        else a.appendVarchar(v);
      }
      a.endRow();
    }
  }
  a.closeSync();
  const select = Object.entries(COLUMN_FIELDS).map(([name, field]) => `COALESCE(b.${field}, '') AS "${name}"`);
  select.push("CAST(b.quantity AS BIGINT) AS _quantity", "CAST(b.monthly_consumption_value AS DECIMAL(38,10)) AS _value",
    "b.quantity_type AS _quantity_type", "b.resource_id AS _resource_id", "b.customer_tenant_id AS _customer_tenant_id");
  return { sql: `SELECT ${select.join(", ")} FROM ${TABLE} b`, params: [] };
}

export const businessApplicationsUsageDataset: Dataset = {
  name: "BusinessApplicationsUsage",
  columns,
  metrics,
  availableDateRanges: ["LAST_MONTH", "LAST_3_MONTHS", "LAST_6_MONTHS", "LAST_1_YEAR", "LIFETIME"],
  minimumRecurrenceInterval: 4,
  timed: true,
  systemQueries: [{
    queryId: BUSINESS_APPLICATIONS_SYSTEM_QUERY_ID, name: "BusinessApplicationsUsage_LAST_6_MONTHS",
    description: "Business applications (Power Apps, Power Automate, Power BI, Customer Insights) usage credited to the partner, one row per location, resource and month.",
    query: SYSTEM_QUERY,
  }],
  source,
};
