/**
 * 0011: business-applications attribution results (docs/POWER-PLATFORM.md, "Outputs"). The
 * per-candidate facts stay in Parquet beside the Azure facts
 * (`<data-dir>/attribution/month=M/bizapps/facts.parquet`); the store holds:
 * - `bizapps_rollups`: one row per (month, partner location, resource): the credited metric of a
 *   resource for the month, with the names and types report rows carry, as of the run;
 * - `bizapps_runs`: one row per month: when it ran, what it read, what it could not attribute.
 * `attribution run --month M` replaces both together with the Azure month, in one transaction.
 */
import type { Kysely } from "kysely";
import { withSeq, type Dialect, type Migration } from "./helpers.ts";

async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await withSeq(db.schema.createTable("bizapps_rollups"), dialect)
    .addColumn("month", "text", (c) => c.notNull())
    .addColumn("customer_tenant_id", "text", (c) => c.notNull())
    .addColumn("customer_name", "text", (c) => c.notNull())
    .addColumn("partner_location_id", "text", (c) => c.notNull())
    .addColumn("global_id", "text", (c) => c.notNull())
    .addColumn("partner_name", "text", (c) => c.notNull())
    // Null for Power BI datasets and Customer Insights instances without an environment.
    .addColumn("environment_id", "text")
    .addColumn("environment_name", "text")
    .addColumn("environment_type", "text", (c) => c.notNull())
    .addColumn("workload", "text", (c) => c.notNull())
    .addColumn("resource_type", "text", (c) => c.notNull())
    .addColumn("resource_id", "text", (c) => c.notNull())
    .addColumn("resource_name", "text", (c) => c.notNull())
    .addColumn("attributed_user_object_id", "text", (c) => c.notNull())
    .addColumn("attributed_user_role", "text", (c) => c.notNull())
    // "home" (a link in the resource's tenant) or "delegatedAdmin" (decision 7: a link in the principal's home tenant).
    .addColumn("link_path", "text", (c) => c.notNull())
    .addColumn("quantity_type", "text", (c) => c.notNull())
    .addColumn("quantity", "bigint", (c) => c.notNull())
    // "metrics" (a metrics file gave it) or "activity" (distinct users with a use event).
    .addColumn("quantity_source", "text", (c) => c.notNull())
    // Exact decimal text (quantity × rate).
    .addColumn("monthly_consumption_value", "text", (c) => c.notNull())
    // "onlyPartner" | "latestActivity" | "latestRelationship" (decision 4).
    .addColumn("decided_by", "text", (c) => c.notNull())
    .addColumn("last_act_at", "bigint")
    .execute();
  await db.schema.createIndex("bizapps_rollups_month").on("bizapps_rollups").columns(["month", "partner_location_id"]).execute();
  await db.schema.createIndex("bizapps_rollups_global").on("bizapps_rollups").columns(["month", "global_id"]).execute();
  await db.schema.createIndex("bizapps_rollups_resource").on("bizapps_rollups").columns(["resource_id", "month"]).execute();

  await db.schema.createTable("bizapps_runs")
    .addColumn("month", "text", (c) => c.notNull().primaryKey())
    .addColumn("ran_at", "bigint", (c) => c.notNull())
    .addColumn("events_read", "bigint", (c) => c.notNull())
    .addColumn("resources", "integer", (c) => c.notNull())
    .addColumn("credited", "integer", (c) => c.notNull())
    .addColumn("facts", "integer", (c) => c.notNull())
    .addColumn("facts_path", "text")
    // JSON: { unknownResources: [{ tenantId, resourceId, workload, events }], timings, rates, … }
    .addColumn("details", "text", (c) => c.notNull())
    .execute();
}

export const bizappsAttribution: Migration = { name: "0011_bizapps_attribution", up };
