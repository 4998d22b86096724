/**
 * 0014: why a scheduled insights report is paused, when the scheduler paused it. `paused_reason`
 * holds the refusal (the report's user may no longer see the data, the fix, and the execution
 * refused; docs/SPEC-DEVIATIONS.md 144) so that reading the report says why it stopped; null for
 * a report not paused by the scheduler. Resuming or updating the report clears it.
 */
import type { Kysely } from "kysely";
import type { Dialect, Migration } from "./helpers.ts";

async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema.alterTable("insights_reports").addColumn("paused_reason", "text").execute();
}

export const insightsReportPausedReason: Migration = { name: "0014_insights_report_paused_reason", up };
