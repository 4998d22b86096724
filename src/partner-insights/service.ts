/**
 * The insights API's operations for one signed-in partner organisation: datasets, queries,
 * reports, executions. Handlers (routes.ts) bind requests to these; every store read names the
 * organisation's global id, so nothing here can return another partner's items.
 */
import type { Clock } from "../domain/time.ts";
import type { IdSource } from "../domain/ids.ts";
import type { Store } from "../store/index.ts";
import { PartnerInsightsStore, type InsightsExecution, type InsightsQuery, type InsightsReport } from "../store/partner-insights.ts";
import { compileReportQuery, QueryError, type CompiledQuery } from "./query/compile.ts";
import type { DatasetRegistry } from "./datasets/registry.ts";
import type { SystemQuery } from "./datasets/dataset.ts";
import type { QueryRunner, ResultRow } from "./runner.ts";
import { idList, InsightsApiError, MESSAGES, notFound, parseTime, wireTime, boolParam, type Body } from "./envelope.ts";
import { isCallbackAllowed, secureLink } from "./links.ts";
import { reportStanding } from "./authority.ts";

/** Rows a test of a query returns at most. */
export const TEST_QUERY_ROWS = 100;
export const MIN_RECURRENCE_HOURS = 4;
export const MAX_RECURRENCE_HOURS = 2160;
/** A scheduled (not ExecuteNow) report starts at least this far ahead. */
export const MIN_START_AHEAD_MS = 4 * 3_600_000;
/** Default recurrence when a report gives none (hours). */
export const DEFAULT_RECURRENCE_HOURS = 24;
/** getLatestExecution=false: executions of this many days. */
export const EXECUTION_HISTORY_DAYS = 90;

export interface Principal {
  readonly globalId: string;
  /** The report/query `user`: the caller's UPN, else its object id. */
  readonly user: string;
  /** The caller in the directory (a user of one of the organisation's tenants). */
  readonly tenantId: string;
  readonly objectId: string;
}

export interface ServiceDeps {
  readonly store: Store;
  readonly insights: PartnerInsightsStore;
  readonly registry: DatasetRegistry;
  readonly runner: QueryRunner;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly callbackHosts: () => readonly string[];
  readonly linkSecret: string;
  readonly baseUrl: () => string;
  /** Asks the scheduler to look for due work now (ExecuteNow, resume). */
  readonly poke: () => void;
}

type QueryView = { queryId: string; name: string; description: string; query: string; type: "system" | "userDefined"; user: string; createdTime: string | null };

export class InsightsService {
  constructor(readonly deps: ServiceDeps) {}

  /** A query's compiled form (throws 400 with the reason). */
  compile(text: string, maxLimit?: number): CompiledQuery {
    try {
      return compileReportQuery(text, this.deps.registry, maxLimit === undefined ? {} : { maxLimit });
    } catch (error) {
      if (error instanceof QueryError) throw new InsightsApiError(400, error.message);
      throw error;
    }
  }

  // Datasets ---------------------------------------------------------------------------------------
  datasets(name: string | undefined): unknown[] {
    const list = name ? [this.deps.registry.get(name)].filter((d) => d !== undefined) : this.deps.registry.list();
    if (name && list.length === 0) {
      throw new InsightsApiError(400, `${MESSAGES.invalidTable}: '${name}' is not a dataset; use one of ${this.deps.registry.list().map((d) => d.name).join(", ")}.`);
    }
    return list.map((d) => ({
      datasetName: d.name, selectableColumns: d.columns.map((c) => c.name), availableMetrics: d.metrics.map((m) => m.name),
      availableDateRanges: [...d.availableDateRanges], minimumRecurrenceInterval: d.minimumRecurrenceInterval,
    }));
  }

  // Queries ----------------------------------------------------------------------------------------
  #systemView(q: SystemQuery): QueryView {
    return { queryId: q.queryId, name: q.name, description: q.description, query: q.query, type: "system", user: "", createdTime: null };
  }
  #userView(q: InsightsQuery): QueryView {
    return { queryId: q.queryId, name: q.name, description: q.description, query: q.query, type: "userDefined", user: q.userId, createdTime: wireTime(q.createdAt) };
  }

  async createQuery(p: Principal, body: Body): Promise<QueryView> {
    const name = body.required("Name", `"Name": "ACR last month"`);
    const text = body.required("Query", `"Query": "SELECT CustomerTenantId, TotalACR FROM AzureUsage TIMESPAN LAST_MONTH"`);
    this.compile(text);
    const q: InsightsQuery = { queryId: this.deps.ids.newGuid(), globalId: p.globalId, name, description: body.string("Description") ?? "", query: text, userId: p.user, createdAt: this.deps.clock.now() };
    await this.deps.insights.putQuery(q);
    return this.#userView(q);
  }

  async listQueries(p: Principal, q: Map<string, string>): Promise<QueryView[]> {
    const ids = idList(q.get("queryid"));
    const name = q.get("queryname");
    const onlySystem = boolParam(q.get("includeonlysystemqueries"), "includeOnlySystemQueries", false);
    const withSystem = onlySystem || boolParam(q.get("includesystemqueries"), "includeSystemQueries", true);
    const lower = ids?.map((i) => i.toLowerCase());
    const system = withSystem
      ? this.deps.registry.systemQueries().filter((s) => (!lower || lower.includes(s.queryId)) && (name === undefined || s.name === name)).map((s) => this.#systemView(s))
      : [];
    const user = onlySystem ? [] : (await this.deps.insights.listQueries(p.globalId, { ...(lower ? { queryIds: lower } : {}), ...(name !== undefined ? { name } : {}) })).map((u) => this.#userView(u));
    const all = [...system, ...user];
    if (all.length === 0) throw notFound();
    return all;
  }

  /** A query the organisation may use: its own, or a system query. */
  async findQuery(p: Pick<Principal, "globalId">, queryId: string): Promise<QueryView | undefined> {
    const id = queryId.trim().toLowerCase();
    const system = this.deps.registry.systemQueries().find((s) => s.queryId === id);
    if (system) return this.#systemView(system);
    const [own] = await this.deps.insights.listQueries(p.globalId, { queryIds: [id] });
    return own ? this.#userView(own) : undefined;
  }

  async deleteQuery(p: Principal, queryId: string): Promise<QueryView> {
    const q = await this.findQuery(p, queryId);
    if (!q) throw notFound();
    if (q.type === "system") throw new InsightsApiError(400, `${MESSAGES.invalidQueryId}: ${queryId} is a system query; only user-defined queries can be deleted.`);
    const using = await this.deps.insights.listReports(p.globalId, { queryIds: [q.queryId] });
    if (using.length) {
      throw new InsightsApiError(400, `${MESSAGES.invalidQueryId}: query ${q.queryId} is used by report ${using.map((r) => r.reportId).join(", ")}; delete those reports first.`);
    }
    await this.deps.insights.deleteQuery(p.globalId, q.queryId);
    return q;
  }

  async testQuery(p: Principal, q: Map<string, string>): Promise<ResultRow[]> {
    const exportQuery = q.get("exportquery");
    const queryId = q.get("queryid");
    if ((exportQuery ? 1 : 0) + (queryId ? 1 : 0) !== 1) {
      throw new InsightsApiError(400, `${MESSAGES.missing}: give exportQuery (the query text) or queryId, not both.`);
    }
    let text = exportQuery;
    if (queryId) {
      const found = await this.findQuery(p, queryId);
      if (!found) throw new InsightsApiError(400, `${MESSAGES.invalidQueryId}: ${queryId} is not a query of yours or a system query; list them with GET /insights/v1/mpn/ScheduledQueries.`);
      text = found.query;
    }
    const compiled = this.compile(text as string, TEST_QUERY_ROWS);
    const start = q.get("starttime");
    const end = q.get("endtime");
    const now = this.deps.clock.now();
    const override = start || end ? { from: start ? parseTime(start, "startTime") : undefined, to: end ? parseTime(end, "endTime") : now } : undefined;
    const result = await this.deps.runner.run(compiled, p.globalId, compiled.window(now, override));
    return [...result.rows];
  }

  // Reports ----------------------------------------------------------------------------------------
  async reportView(r: InsightsReport): Promise<Record<string, unknown>> {
    const q = await this.findQuery(r, r.queryId);
    return {
      reportId: r.reportId, reportName: r.reportName, description: r.description, queryId: r.queryId, query: q?.query ?? "", user: r.userId,
      createdTime: wireTime(r.createdAt), modifiedTime: wireTime(r.modifiedAt), executeNow: r.executeNow, startTime: wireTime(r.startAt),
      reportStatus: r.status, recurrenceInterval: r.recurrenceInterval, recurrenceCount: r.recurrenceCount, callbackUrl: r.callbackUrl,
      callbackMethod: r.callbackMethod, format: r.format,
      // OpenPAL: why the scheduler paused the report (its user may no longer see the data), until resumed or updated.
      ...(r.pausedReason ? { pausedReason: r.pausedReason } : {}),
    };
  }

  /** Validates a create/update body into a report definition (cursor set for a fresh schedule). */
  async #definition(p: Principal, body: Body, existing: InsightsReport | undefined): Promise<InsightsReport> {
    const now = this.deps.clock.now();
    const reportName = body.required("ReportName", `"ReportName": "Monthly ACR"`);
    const queryId = body.required("QueryId", `"QueryId": "<queryId from POST /ScheduledQueries>"`);
    const startText = body.required("StartTime", `"StartTime": "${wireTime(now + 5 * 3_600_000)}"`);
    const query = await this.findQuery(p, queryId);
    if (!query) throw new InsightsApiError(400, `${MESSAGES.invalidQueryId}: ${queryId} is not a query of yours or a system query; create one with POST /insights/v1/mpn/ScheduledQueries.`);
    const compiled = this.compile(query.query);
    const executeNow = body.boolean("ExecuteNow") ?? false;
    const startAt = parseTime(startText, "StartTime");
    if (!executeNow && startAt < now + MIN_START_AHEAD_MS) {
      throw new InsightsApiError(400, `${MESSAGES.startTime}: StartTime ${wireTime(startAt)} is earlier than ${wireTime(now + MIN_START_AHEAD_MS)}; schedule it later, or set ExecuteNow to true to run it at once.`);
    }
    const interval = body.integer("RecurrenceInterval") ?? DEFAULT_RECURRENCE_HOURS;
    if (interval < MIN_RECURRENCE_HOURS || interval > MAX_RECURRENCE_HOURS) {
      throw new InsightsApiError(400, `${MESSAGES.recurrence} (hours); ${interval} is outside it.`);
    }
    if (interval < compiled.dataset.minimumRecurrenceInterval) {
      throw new InsightsApiError(400, `${MESSAGES.recurrence}; ${compiled.dataset.name} needs at least ${compiled.dataset.minimumRecurrenceInterval}.`);
    }
    const count = body.integer("RecurrenceCount") ?? null;
    if (count !== null && count < 1) throw new InsightsApiError(400, `RecurrenceCount must be at least 1 (or left out to repeat until paused or deleted).`);
    const formatText = (body.string("Format") ?? "CSV").trim();
    if (!/^(csv|tsv)$/i.test(formatText)) throw new InsightsApiError(400, `Format "${formatText}" is not supported; use CSV or TSV.`);
    const callbackUrl = body.string("CallbackUrl")?.trim() || null;
    const methodText = body.string("CallbackMethod")?.trim().toUpperCase() || null;
    if (methodText !== null && methodText !== "GET" && methodText !== "POST") throw new InsightsApiError(400, `CallbackMethod "${methodText}" is not supported; use GET or POST.`);
    if (callbackUrl !== null) {
      const verdict = isCallbackAllowed(callbackUrl, this.deps.callbackHosts());
      if (verdict !== true) throw new InsightsApiError(400, verdict);
    }
    let queryStartAt: number | null = null;
    let queryEndAt: number | null = null;
    const qs = body.string("QueryStartTime");
    const qe = body.string("QueryEndTime");
    if (qs || qe) {
      if (!executeNow) throw new InsightsApiError(400, "QueryStartTime and QueryEndTime apply only to ExecuteNow reports; set ExecuteNow to true or drop them (a scheduled report uses the query's TIMESPAN).");
      queryStartAt = qs ? parseTime(qs, "QueryStartTime") : null;
      queryEndAt = qe ? parseTime(qe, "QueryEndTime") : null;
      if (queryStartAt !== null && queryEndAt !== null && queryEndAt <= queryStartAt) throw new InsightsApiError(400, "QueryEndTime must be after QueryStartTime.");
    }
    return {
      reportId: existing?.reportId ?? this.deps.ids.newGuid(), globalId: p.globalId, reportName, description: body.string("Description") ?? "",
      queryId: query.queryId, ...(await this.#owner(p, existing, now)), createdAt: existing?.createdAt ?? now, modifiedAt: now, executeNow,
      startAt, queryStartAt, queryEndAt, status: "Active", recurrenceInterval: interval, recurrenceCount: executeNow ? 1 : count,
      callbackUrl, callbackMethod: callbackUrl ? ((methodText ?? "POST") as "GET" | "POST") : null, format: formatText.toLowerCase() as "csv" | "tsv",
      nextRunIndex: existing?.nextRunIndex ?? 0,
      // ExecuteNow runs at once; a schedule starts at StartTime.
      nextRunAt: executeNow ? now : startAt,
      // An update makes a user who may see the data the report's user (#owner): the scheduler's reason to pause it is gone.
      pausedReason: null,
    };
  }

  /**
   * Whose authority the report runs with, re-checked at every execution (authority.ts): its
   * creator's; a report whose user may no longer see the data (paused for that, or to be at its
   * next run) is taken over by the caller who updates or resumes it (the caller holds the role:
   * it was checked on this call).
   */
  async #owner(p: Principal, existing: InsightsReport | undefined, now: number): Promise<Pick<InsightsReport, "userId" | "ownerTenantId" | "ownerObjectId">> {
    if (existing && (await reportStanding(this.deps.store, existing, now)).ok) {
      return { userId: existing.userId, ownerTenantId: existing.ownerTenantId, ownerObjectId: existing.ownerObjectId };
    }
    return { userId: p.user, ownerTenantId: p.tenantId, ownerObjectId: p.objectId };
  }

  async createReport(p: Principal, body: Body): Promise<Record<string, unknown>> {
    const r = await this.#definition(p, body, undefined);
    await this.deps.insights.putReport(r);
    if (r.executeNow) this.deps.poke();
    return this.reportView(r);
  }

  async #ownReport(p: Principal, reportId: string): Promise<InsightsReport> {
    const [r] = await this.deps.insights.listReports(p.globalId, { reportIds: [reportId.trim().toLowerCase()] });
    if (!r) throw notFound();
    return r;
  }

  async updateReport(p: Principal, reportId: string, body: Body): Promise<Record<string, unknown>> {
    const existing = await this.#ownReport(p, reportId);
    const r = await this.#definition(p, body, existing);
    const next = existing.status === "Paused" ? { ...r, status: "Paused" as const } : r;
    await this.deps.insights.updateReport(next);
    if (next.executeNow && next.status === "Active") this.deps.poke();
    return this.reportView(next);
  }

  async listReports(p: Principal, q: Map<string, string>): Promise<Record<string, unknown>[]> {
    const reportIds = idList(q.get("reportid"))?.map((s) => s.toLowerCase());
    const queryIds = idList(q.get("queryid"))?.map((s) => s.toLowerCase());
    const name = q.get("reportname");
    const reports = await this.deps.insights.listReports(p.globalId, { ...(reportIds ? { reportIds } : {}), ...(queryIds ? { queryIds } : {}), ...(name !== undefined ? { name } : {}) });
    if (reports.length === 0) throw notFound();
    return Promise.all(reports.map((r) => this.reportView(r)));
  }

  async deleteReport(p: Principal, reportId: string): Promise<Record<string, unknown>> {
    const r = await this.#ownReport(p, reportId);
    const view = await this.reportView(r);
    await this.deps.store.transaction((tx) => new PartnerInsightsStore(tx.db).deleteReport(p.globalId, r.reportId));
    return view;
  }

  async pauseReport(p: Principal, reportId: string): Promise<Record<string, unknown>> {
    const r = await this.#ownReport(p, reportId);
    const next: InsightsReport = r.status === "Active" ? { ...r, status: "Paused", modifiedAt: this.deps.clock.now() } : r;
    if (next !== r) await this.deps.insights.updateReport(next);
    return this.reportView(next);
  }

  async resumeReport(p: Principal, reportId: string): Promise<Record<string, unknown>> {
    const r = await this.#ownReport(p, reportId);
    if (r.status !== "Paused") return this.reportView(r);
    const now = this.deps.clock.now();
    // Occurrences missed while paused are skipped: the schedule resumes at its next occurrence.
    const next = nextOccurrenceFrom(r, now);
    const resumed: InsightsReport = { ...r, ...(await this.#owner(p, r, now)), modifiedAt: now, status: next === null ? "Inactive" : "Active", nextRunAt: next, pausedReason: null };
    await this.deps.insights.updateReport(resumed);
    this.deps.poke();
    return this.reportView(resumed);
  }

  // Executions -------------------------------------------------------------------------------------
  executionView(r: InsightsReport, e: InsightsExecution): Record<string, unknown> {
    const link = e.status === "Completed" && e.filePath && e.expiresAt !== null ? secureLink(this.deps.baseUrl(), this.deps.linkSecret, e) : null;
    return {
      executionId: e.executionId, reportId: e.reportId, recurrenceInterval: r.recurrenceInterval, recurrenceCount: r.recurrenceCount,
      callbackUrl: r.callbackUrl, callbackMethod: r.callbackMethod, format: r.format, executionStatus: e.status,
      reportLocation: e.status === "Completed" ? e.filePath?.split(/[\\/]/).slice(-4).join("/") ?? null : null,
      reportAccessSecureLink: link, reportExpiryTime: wireTime(e.expiresAt), reportGeneratedTime: wireTime(e.generatedAt),
      ...(e.error ? { errorMessage: e.error } : {}),
    };
  }

  async executions(p: Principal, reportId: string, q: Map<string, string>): Promise<Record<string, unknown>[]> {
    const r = await this.#ownReport(p, reportId);
    const executionIds = idList(q.get("executionid"))?.map((s) => s.toLowerCase());
    const statusText = idList(q.get("executionstatus")) ?? ["Completed"];
    const known = ["Pending", "Running", "Paused", "Completed", "Failed"];
    const statuses = statusText.map((s) => {
      const k = known.find((x) => x.toLowerCase() === s.toLowerCase());
      if (!k) throw new InsightsApiError(400, `executionStatus "${s}" is not known; use ${known.join(", ")} (several separated by ';').`);
      return k;
    });
    const latest = boolParam(q.get("getlatestexecution"), "getLatestExecution", true);
    const now = this.deps.clock.now();
    const list = await this.deps.insights.listExecutions(p.globalId, r.reportId, {
      ...(executionIds ? { executionIds } : {}), statuses, ...(latest ? {} : { since: now - EXECUTION_HISTORY_DAYS * 86_400_000 }),
    });
    const chosen = latest ? list.slice(0, 1) : list;
    if (chosen.length === 0) throw new InsightsApiError(404, MESSAGES.noExecutions);
    return chosen.map((e) => this.executionView(r, e));
  }
}

/** The first occurrence of `r`'s schedule at or after `at`, or null when its count is used up. */
export function nextOccurrenceFrom(r: Pick<InsightsReport, "startAt" | "recurrenceInterval" | "recurrenceCount" | "executeNow">, at: number): number | null {
  if (r.executeNow) return null;
  const step = r.recurrenceInterval * 3_600_000;
  const k = at <= r.startAt ? 0 : Math.ceil((at - r.startAt) / step);
  if (r.recurrenceCount !== null && k >= r.recurrenceCount) return null;
  return r.startAt + k * step;
}

