/**
 * 0007: attribution results the store keeps for fast reads (reports, insights). The per-row facts
 * stay in Parquet beside the usage lake; the store holds:
 * - `attribution_rollups`: one row per (month, policy, partner location, attribution type,
 *   customer tenant, subscription, role, eligibility, duplicate flags, currency) with the credited
 *   ACR (exact decimal text: SQLite has no decimal type) and its USD value;
 * - `attribution_runs`: one row per (month, policy): when it ran, what it read, what it could not
 *   attribute (unknown subscriptions), where the facts are.
 * Re-running a month deletes and inserts its rows in one transaction.
 */
import type { Kysely } from "kysely";
import { withSeq, type Dialect, type Migration } from "./helpers.ts";

async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await withSeq(db.schema.createTable("attribution_rollups"), dialect)
    .addColumn("customer_tenant_id", "text", (c) => c.notNull())
    .addColumn("month", "text", (c) => c.notNull())
    .addColumn("policy", "text", (c) => c.notNull())
    .addColumn("partner_location_id", "text", (c) => c.notNull())
    .addColumn("global_id", "text", (c) => c.notNull())
    .addColumn("attribution_type", "text", (c) => c.notNull())
    .addColumn("subscription_id", "text", (c) => c.notNull())
    // The AdminType (role name) for PAL; empty for DPOR (it has no role).
    .addColumn("admin_type", "text", (c) => c.notNull())
    .addColumn("eligible", "integer", (c) => c.notNull())
    .addColumn("dup_pga", "integer", (c) => c.notNull())
    .addColumn("dup_pga_attach_type", "integer", (c) => c.notNull())
    .addColumn("dup_mpn", "integer", (c) => c.notNull())
    .addColumn("billing_currency", "text", (c) => c.notNull())
    .addColumn("acr", "text", (c) => c.notNull())
    .addColumn("acr_usd", "text")
    .addColumn("usage_rows", "integer", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("attribution_rollups_month").on("attribution_rollups").columns(["month", "policy", "partner_location_id"]).execute();
  await db.schema.createIndex("attribution_rollups_global").on("attribution_rollups").columns(["month", "policy", "global_id"]).execute();

  await db.schema.createTable("attribution_runs")
    .addColumn("month", "text", (c) => c.notNull())
    .addColumn("policy", "text", (c) => c.notNull())
    .addColumn("policy_version", "text", (c) => c.notNull())
    .addColumn("ran_at", "bigint", (c) => c.notNull())
    .addColumn("usage_rows", "integer", (c) => c.notNull())
    .addColumn("attributed_rows", "integer", (c) => c.notNull())
    .addColumn("facts", "integer", (c) => c.notNull())
    .addColumn("facts_path", "text")
    // JSON: [{ subscriptionId, rows, cost: { EUR: "…" } }] for usage whose subscription the control plane does not know.
    .addColumn("unknown_subscriptions", "text", (c) => c.notNull())
    .addColumn("details", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("attribution_runs_pk", ["month", "policy"])
    .execute();
}

export const attribution: Migration = { name: "0007_attribution", up };
