/**
 * 0010: Partner Center insights API (`/insights/v1/mpn`, docs/PARTNER-INSIGHTS-API.md).
 * - `insights_queries`: user-defined report queries, owned by one partner organisation;
 * - `insights_reports`: scheduled reports; `next_run_index`/`next_run_at` is the scheduler's
 *   cursor, advanced by a conditional UPDATE so only one server claims an occurrence;
 * - `insights_executions`: one row per run; UNIQUE (report_id, run_index) makes a second claim of
 *   the same occurrence fail even if two servers race past the cursor;
 * - `insights_callback_attempts`: every callback attempt (URL, status or error), append-only.
 */
import type { Kysely } from "kysely";
import { withSeq, type Dialect, type Migration } from "./helpers.ts";

async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await db.schema.createTable("insights_queries")
    .addColumn("query_id", "text", (c) => c.primaryKey())
    .addColumn("global_id", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text", (c) => c.notNull())
    .addColumn("query", "text", (c) => c.notNull())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("insights_queries_org").on("insights_queries").columns(["global_id", "name"]).execute();

  await db.schema.createTable("insights_reports")
    .addColumn("report_id", "text", (c) => c.primaryKey())
    .addColumn("global_id", "text", (c) => c.notNull())
    .addColumn("report_name", "text", (c) => c.notNull())
    .addColumn("description", "text", (c) => c.notNull())
    .addColumn("query_id", "text", (c) => c.notNull())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("modified_at", "bigint", (c) => c.notNull())
    .addColumn("execute_now", "integer", (c) => c.notNull())
    .addColumn("start_at", "bigint", (c) => c.notNull())
    .addColumn("query_start_at", "bigint")
    .addColumn("query_end_at", "bigint")
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("recurrence_interval", "integer", (c) => c.notNull())
    .addColumn("recurrence_count", "integer")
    .addColumn("callback_url", "text")
    .addColumn("callback_method", "text")
    .addColumn("format", "text", (c) => c.notNull())
    .addColumn("next_run_index", "integer", (c) => c.notNull())
    .addColumn("next_run_at", "bigint")
    .execute();
  await db.schema.createIndex("insights_reports_due").on("insights_reports").columns(["status", "next_run_at"]).execute();
  await db.schema.createIndex("insights_reports_org").on("insights_reports").columns(["global_id"]).execute();

  await db.schema.createTable("insights_executions")
    .addColumn("execution_id", "text", (c) => c.primaryKey())
    .addColumn("report_id", "text", (c) => c.notNull())
    .addColumn("global_id", "text", (c) => c.notNull())
    .addColumn("run_index", "integer", (c) => c.notNull())
    .addColumn("scheduled_at", "bigint", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("claimed_by", "text", (c) => c.notNull())
    .addColumn("claimed_at", "bigint", (c) => c.notNull())
    .addColumn("file_path", "text")
    .addColumn("link_token_hash", "text")
    .addColumn("expires_at", "bigint")
    .addColumn("generated_at", "bigint")
    .addColumn("row_count", "integer")
    .addColumn("error", "text")
    .addUniqueConstraint("insights_executions_occurrence", ["report_id", "run_index"])
    .execute();
  await db.schema.createIndex("insights_executions_link").on("insights_executions").columns(["link_token_hash"]).execute();

  await withSeq(db.schema.createTable("insights_callback_attempts"), dialect)
    .addColumn("execution_id", "text", (c) => c.notNull())
    .addColumn("attempt", "integer", (c) => c.notNull())
    .addColumn("at", "bigint", (c) => c.notNull())
    .addColumn("method", "text", (c) => c.notNull())
    .addColumn("url", "text", (c) => c.notNull())
    .addColumn("status_code", "integer")
    .addColumn("error", "text")
    .execute();
  await db.schema.createIndex("insights_callback_attempts_execution").on("insights_callback_attempts").columns(["execution_id", "attempt"]).execute();
}

export const partnerInsights: Migration = { name: "0010_partner_insights", up };
