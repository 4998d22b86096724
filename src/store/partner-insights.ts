/**
 * Partner Center insights aggregate (migration 0010): report queries, scheduled reports, their
 * executions and callback attempts. Every read takes the owning organisation's global id, so a
 * handler cannot forget tenant isolation.
 *
 * Claiming (several servers on one store): `claimOccurrence` advances a report's cursor with a
 * conditional UPDATE (`WHERE next_run_index = k`) and inserts the execution in the same
 * transaction; UNIQUE (report_id, run_index) refuses a second execution of one occurrence. Only
 * the server whose UPDATE matched runs it. A Running execution whose claim is older than the lease
 * is taken over with another conditional UPDATE (`reclaimStale`), so a crashed server's work is
 * finished once, by one server.
 */
import type { Generated, Kysely, Selectable } from "kysely";
import type { Database } from "./schema.ts";

export interface InsightsQueriesTable {
  query_id: string; global_id: string; name: string; description: string; query: string; user_id: string; created_at: number;
}
export interface InsightsReportsTable {
  report_id: string; global_id: string; report_name: string; description: string; query_id: string; user_id: string;
  created_at: number; modified_at: number; execute_now: number; start_at: number; query_start_at: number | null; query_end_at: number | null;
  status: string; recurrence_interval: number; recurrence_count: number | null; callback_url: string | null; callback_method: string | null;
  format: string; next_run_index: number; next_run_at: number | null; owner_tenant_id: string | null; owner_object_id: string | null;
  paused_reason: string | null;
}
export interface InsightsExecutionsTable {
  execution_id: string; report_id: string; global_id: string; run_index: number; scheduled_at: number; status: string;
  claimed_by: string; claimed_at: number; file_path: string | null; link_token_hash: string | null; expires_at: number | null;
  generated_at: number | null; row_count: number | null; error: string | null;
}
export interface InsightsCallbackAttemptsTable {
  seq: Generated<number>; execution_id: string; attempt: number; at: number; method: string; url: string; status_code: number | null; error: string | null;
}
export type PartnerInsightsTables = {
  insights_queries: InsightsQueriesTable; insights_reports: InsightsReportsTable; insights_executions: InsightsExecutionsTable;
  insights_callback_attempts: InsightsCallbackAttemptsTable;
};
type Db = Kysely<Database & PartnerInsightsTables>;

export interface InsightsQuery {
  readonly queryId: string;
  readonly globalId: string;
  readonly name: string;
  readonly description: string;
  readonly query: string;
  readonly userId: string;
  readonly createdAt: number;
}

export type ReportStatus = "Active" | "Paused" | "Inactive";
export type ExecutionStatus = "Pending" | "Running" | "Paused" | "Completed" | "Failed";

export interface InsightsReport {
  readonly reportId: string;
  readonly globalId: string;
  readonly reportName: string;
  readonly description: string;
  readonly queryId: string;
  readonly userId: string;
  readonly createdAt: number;
  readonly modifiedAt: number;
  readonly executeNow: boolean;
  readonly startAt: number;
  readonly queryStartAt: number | null;
  readonly queryEndAt: number | null;
  readonly status: ReportStatus;
  /** Hours. */
  readonly recurrenceInterval: number;
  /** Runs in all; null = until deleted or paused. */
  readonly recurrenceCount: number | null;
  readonly callbackUrl: string | null;
  readonly callbackMethod: "GET" | "POST" | null;
  readonly format: "csv" | "tsv";
  /** The scheduler's cursor: the next occurrence's index and time (null: none left). */
  readonly nextRunIndex: number;
  readonly nextRunAt: number | null;
  /**
   * The user whose authority the schedule runs with (migration 0013): the creator, or the user who
   * took the report over by resuming it. Null for reports created before 0013 (resolved from userId).
   */
  readonly ownerTenantId: string | null;
  readonly ownerObjectId: string | null;
  /**
   * Why the scheduler paused the report (migration 0014): its user may no longer see the data, and
   * the fix. Null unless the scheduler paused it; resuming or updating the report clears it.
   */
  readonly pausedReason: string | null;
}

export interface InsightsExecution {
  readonly executionId: string;
  readonly reportId: string;
  readonly globalId: string;
  readonly runIndex: number;
  readonly scheduledAt: number;
  readonly status: ExecutionStatus;
  readonly claimedBy: string;
  readonly claimedAt: number;
  readonly filePath: string | null;
  readonly linkTokenHash: string | null;
  readonly expiresAt: number | null;
  readonly generatedAt: number | null;
  readonly rowCount: number | null;
  readonly error: string | null;
}

export interface CallbackAttempt {
  readonly executionId: string;
  readonly attempt: number;
  readonly at: number;
  readonly method: string;
  readonly url: string;
  readonly statusCode: number | null;
  readonly error: string | null;
}

const n = (v: unknown): number => Number(v);
const nn = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

const toQuery = (r: Selectable<InsightsQueriesTable>): InsightsQuery => ({
  queryId: r.query_id, globalId: r.global_id, name: r.name, description: r.description, query: r.query, userId: r.user_id, createdAt: n(r.created_at),
});
const toReport = (r: Selectable<InsightsReportsTable>): InsightsReport => ({
  reportId: r.report_id, globalId: r.global_id, reportName: r.report_name, description: r.description, queryId: r.query_id, userId: r.user_id,
  createdAt: n(r.created_at), modifiedAt: n(r.modified_at), executeNow: n(r.execute_now) === 1, startAt: n(r.start_at),
  queryStartAt: nn(r.query_start_at), queryEndAt: nn(r.query_end_at), status: r.status as ReportStatus, recurrenceInterval: n(r.recurrence_interval),
  recurrenceCount: nn(r.recurrence_count), callbackUrl: r.callback_url, callbackMethod: r.callback_method as "GET" | "POST" | null,
  format: r.format as "csv" | "tsv", nextRunIndex: n(r.next_run_index), nextRunAt: nn(r.next_run_at),
  ownerTenantId: r.owner_tenant_id ?? null, ownerObjectId: r.owner_object_id ?? null, pausedReason: r.paused_reason ?? null,
});
const toExecution = (r: Selectable<InsightsExecutionsTable>): InsightsExecution => ({
  executionId: r.execution_id, reportId: r.report_id, globalId: r.global_id, runIndex: n(r.run_index), scheduledAt: n(r.scheduled_at),
  status: r.status as ExecutionStatus, claimedBy: r.claimed_by, claimedAt: n(r.claimed_at), filePath: r.file_path, linkTokenHash: r.link_token_hash,
  expiresAt: nn(r.expires_at), generatedAt: nn(r.generated_at), rowCount: nn(r.row_count), error: r.error,
});
const reportRow = (r: InsightsReport): InsightsReportsTable => ({
  report_id: r.reportId, global_id: r.globalId, report_name: r.reportName, description: r.description, query_id: r.queryId, user_id: r.userId,
  created_at: r.createdAt, modified_at: r.modifiedAt, execute_now: r.executeNow ? 1 : 0, start_at: r.startAt, query_start_at: r.queryStartAt,
  query_end_at: r.queryEndAt, status: r.status, recurrence_interval: r.recurrenceInterval, recurrence_count: r.recurrenceCount,
  callback_url: r.callbackUrl, callback_method: r.callbackMethod, format: r.format, next_run_index: r.nextRunIndex, next_run_at: r.nextRunAt,
  owner_tenant_id: r.ownerTenantId, owner_object_id: r.ownerObjectId, paused_reason: r.pausedReason,
});

export class PartnerInsightsStore {
  readonly #db: Db;
  constructor(db: Kysely<Database>) {
    this.#db = db as unknown as Db;
  }

  // Queries --------------------------------------------------------------------------------------
  async putQuery(q: InsightsQuery): Promise<void> {
    await this.#db.insertInto("insights_queries").values({
      query_id: q.queryId, global_id: q.globalId, name: q.name, description: q.description, query: q.query, user_id: q.userId, created_at: q.createdAt,
    }).execute();
  }
  async listQueries(globalId: string, filter: { queryIds?: readonly string[]; name?: string } = {}): Promise<InsightsQuery[]> {
    let q = this.#db.selectFrom("insights_queries").selectAll().where("global_id", "=", globalId);
    if (filter.queryIds) {
      if (filter.queryIds.length === 0) return [];
      q = q.where("query_id", "in", [...filter.queryIds]);
    }
    if (filter.name !== undefined) q = q.where("name", "=", filter.name);
    return (await q.orderBy("created_at").orderBy("query_id").execute()).map(toQuery);
  }
  async deleteQuery(globalId: string, queryId: string): Promise<boolean> {
    const r = await this.#db.deleteFrom("insights_queries").where("global_id", "=", globalId).where("query_id", "=", queryId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // Reports --------------------------------------------------------------------------------------
  async putReport(r: InsightsReport): Promise<void> {
    await this.#db.insertInto("insights_reports").values(reportRow(r)).execute();
  }
  /** Replaces a report's definition (PUT, pause, resume); the caller passes the new cursor. */
  async updateReport(r: InsightsReport): Promise<boolean> {
    const { report_id: _id, global_id: _g, ...rest } = reportRow(r);
    const u = await this.#db.updateTable("insights_reports").set(rest).where("report_id", "=", r.reportId).where("global_id", "=", r.globalId).executeTakeFirst();
    return Number(u.numUpdatedRows) > 0;
  }
  async listReports(globalId: string, filter: { reportIds?: readonly string[]; name?: string; queryIds?: readonly string[] } = {}): Promise<InsightsReport[]> {
    let q = this.#db.selectFrom("insights_reports").selectAll().where("global_id", "=", globalId);
    if (filter.reportIds) {
      if (filter.reportIds.length === 0) return [];
      q = q.where("report_id", "in", [...filter.reportIds]);
    }
    if (filter.queryIds) {
      if (filter.queryIds.length === 0) return [];
      q = q.where("query_id", "in", [...filter.queryIds]);
    }
    if (filter.name !== undefined) q = q.where("report_name", "=", filter.name);
    return (await q.orderBy("created_at").orderBy("report_id").execute()).map(toReport);
  }
  async getReport(reportId: string): Promise<InsightsReport | undefined> {
    const r = await this.#db.selectFrom("insights_reports").selectAll().where("report_id", "=", reportId).executeTakeFirst();
    return r ? toReport(r) : undefined;
  }
  /** Deletes a report with its executions and their callback attempts. Call inside a transaction. */
  async deleteReport(globalId: string, reportId: string): Promise<boolean> {
    const ids = (await this.#db.selectFrom("insights_executions").select("execution_id").where("report_id", "=", reportId).where("global_id", "=", globalId).execute())
      .map((e) => e.execution_id);
    if (ids.length) await this.#db.deleteFrom("insights_callback_attempts").where("execution_id", "in", ids).execute();
    await this.#db.deleteFrom("insights_executions").where("report_id", "=", reportId).where("global_id", "=", globalId).execute();
    const r = await this.#db.deleteFrom("insights_reports").where("global_id", "=", globalId).where("report_id", "=", reportId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
  /**
   * Pauses a report whose runs would all fail (its user lost the right to see the data, its query
   * is gone or invalid), recording why, unless someone changed its status meanwhile. Returns
   * whether it was paused.
   */
  async pauseByScheduler(reportId: string, at: number, reason: string): Promise<boolean> {
    const u = await this.#db.updateTable("insights_reports").set({ status: "Paused", modified_at: at, paused_reason: reason })
      .where("report_id", "=", reportId).where("status", "=", "Active").executeTakeFirst();
    return Number(u.numUpdatedRows) > 0;
  }
  /** Active reports whose next occurrence is due at `now`. */
  async dueReports(now: number, limit = 50): Promise<InsightsReport[]> {
    const rows = await this.#db.selectFrom("insights_reports").selectAll().where("status", "=", "Active").where("next_run_at", "is not", null)
      .where("next_run_at", "<=", now).orderBy("next_run_at").limit(limit).execute();
    return rows.map(toReport);
  }

  // Executions -----------------------------------------------------------------------------------
  /**
   * Claims the report's next run for `claimedBy`: moves the cursor (`next_run_index`, a run
   * sequence number, and `next_run_at`) on only if it still stands where `report` read it, and
   * inserts the execution (Running) with run_index = the cursor read. Call inside
   * `store.transaction`; returns false when another server claimed it first.
   */
  async claimOccurrence(report: InsightsReport, execution: { executionId: string; runIndex: number; scheduledAt: number; claimedBy: string; claimedAt: number },
    next: { index: number; at: number | null; status: ReportStatus }): Promise<boolean> {
    const u = await this.#db.updateTable("insights_reports").set({ next_run_index: next.index, next_run_at: next.at, status: next.status })
      .where("report_id", "=", report.reportId).where("next_run_index", "=", report.nextRunIndex).where("status", "=", "Active").executeTakeFirst();
    if (Number(u.numUpdatedRows) !== 1) return false;
    await this.#db.insertInto("insights_executions").values({
      execution_id: execution.executionId, report_id: report.reportId, global_id: report.globalId, run_index: execution.runIndex,
      scheduled_at: execution.scheduledAt, status: "Running", claimed_by: execution.claimedBy, claimed_at: execution.claimedAt,
      file_path: null, link_token_hash: null, expires_at: null, generated_at: null, row_count: null, error: null,
    }).execute();
    return true;
  }
  /** Running executions claimed before `staleBefore` (a server stopped mid-run). */
  async staleExecutions(staleBefore: number): Promise<InsightsExecution[]> {
    return (await this.#db.selectFrom("insights_executions").selectAll().where("status", "=", "Running").where("claimed_at", "<", staleBefore).execute()).map(toExecution);
  }
  /** Takes over a stale execution; false if another server did first (or it finished). */
  async reclaimStale(executionId: string, previousClaimAt: number, claimedBy: string, now: number): Promise<boolean> {
    const u = await this.#db.updateTable("insights_executions").set({ claimed_by: claimedBy, claimed_at: now })
      .where("execution_id", "=", executionId).where("status", "=", "Running").where("claimed_at", "=", previousClaimAt).executeTakeFirst();
    return Number(u.numUpdatedRows) === 1;
  }
  async completeExecution(executionId: string, claimedBy: string, done: { filePath: string; linkTokenHash: string; expiresAt: number; generatedAt: number; rowCount: number }): Promise<boolean> {
    const u = await this.#db.updateTable("insights_executions").set({
      status: "Completed", file_path: done.filePath, link_token_hash: done.linkTokenHash, expires_at: done.expiresAt, generated_at: done.generatedAt, row_count: done.rowCount,
    }).where("execution_id", "=", executionId).where("claimed_by", "=", claimedBy).where("status", "=", "Running").executeTakeFirst();
    return Number(u.numUpdatedRows) === 1;
  }
  /** Marks this claim's Running execution Failed; false when it is no longer this claimant's or no longer Running. */
  async failExecution(executionId: string, claimedBy: string, error: string, at: number): Promise<boolean> {
    const u = await this.#db.updateTable("insights_executions").set({ status: "Failed", error, generated_at: at })
      .where("execution_id", "=", executionId).where("claimed_by", "=", claimedBy).where("status", "=", "Running").executeTakeFirst();
    return Number(u.numUpdatedRows) === 1;
  }
  async listExecutions(globalId: string, reportId: string, filter: { executionIds?: readonly string[]; statuses?: readonly string[]; since?: number } = {}): Promise<InsightsExecution[]> {
    let q = this.#db.selectFrom("insights_executions").selectAll().where("global_id", "=", globalId).where("report_id", "=", reportId);
    if (filter.executionIds) {
      if (filter.executionIds.length === 0) return [];
      q = q.where("execution_id", "in", [...filter.executionIds]);
    }
    if (filter.statuses) {
      if (filter.statuses.length === 0) return [];
      q = q.where("status", "in", [...filter.statuses]);
    }
    if (filter.since !== undefined) q = q.where("scheduled_at", ">=", filter.since);
    return (await q.orderBy("scheduled_at", "desc").orderBy("run_index", "desc").execute()).map(toExecution);
  }
  async getExecution(executionId: string): Promise<InsightsExecution | undefined> {
    const r = await this.#db.selectFrom("insights_executions").selectAll().where("execution_id", "=", executionId).executeTakeFirst();
    return r ? toExecution(r) : undefined;
  }
  async executionByLinkHash(hash: string): Promise<InsightsExecution | undefined> {
    const r = await this.#db.selectFrom("insights_executions").selectAll().where("link_token_hash", "=", hash).executeTakeFirst();
    return r ? toExecution(r) : undefined;
  }

  // Callback attempts ----------------------------------------------------------------------------
  async recordCallbackAttempt(a: CallbackAttempt): Promise<void> {
    await this.#db.insertInto("insights_callback_attempts").values({
      execution_id: a.executionId, attempt: a.attempt, at: a.at, method: a.method, url: a.url, status_code: a.statusCode, error: a.error,
    }).execute();
  }
  async callbackAttempts(executionId: string): Promise<CallbackAttempt[]> {
    const rows = await this.#db.selectFrom("insights_callback_attempts").selectAll().where("execution_id", "=", executionId).orderBy("attempt").execute();
    return rows.map((r) => ({ executionId: r.execution_id, attempt: n(r.attempt), at: n(r.at), method: r.method, url: r.url, statusCode: nn(r.status_code), error: r.error }));
  }
}
