/**
 * 0013: whose authority a scheduled insights report runs with. `owner_tenant_id` and
 * `owner_object_id` name the user (tenant and directory object id) who created the report, or
 * who took it over by resuming it; each scheduled execution checks that this user still exists,
 * is enabled and holds a role that may see revenue in the partner tenant (docs/SPEC-DEVIATIONS.md
 * 144). Reports created before this migration have neither and are resolved from `user_id`.
 */
import type { Kysely } from "kysely";
import type { Dialect, Migration } from "./helpers.ts";

async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema.alterTable("insights_reports").addColumn("owner_tenant_id", "text").execute();
  await db.schema.alterTable("insights_reports").addColumn("owner_object_id", "text").execute();
}

export const insightsReportOwner: Migration = { name: "0013_insights_report_owner", up };
