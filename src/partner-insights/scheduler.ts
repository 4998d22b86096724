/**
 * The report scheduler: runs each report occurrence once, on whichever server claims it.
 *
 * State lives in the store only (the report's cursor and the executions), so a restart resumes
 * the schedule where it stood, and several servers on one store share the work:
 *   1. `tick()` reads the Active reports whose `next_run_at` is due;
 *   2. for each, one transaction moves the cursor on with a conditional UPDATE and inserts the
 *      execution (PartnerInsightsStore.claimOccurrence); the server whose UPDATE matched runs it;
 *   3. the run first checks that the report's user still exists, is enabled and holds a role
 *      that may see revenue in the partner tenant (authority.ts); if not, it produces nothing,
 *      marks the execution Failed with the reason and the fix, pauses the report (which then
 *      says why: `pausedReason`) and calls the report's callback for the Failed execution;
 *   4. otherwise it writes the file, marks the execution Completed with its link, and then calls
 *      the report's callback (retried with back-off, every attempt recorded); a run whose query
 *      was deleted or no longer compiles would fail the same way at every occurrence, so, as in 3,
 *      it is Failed with the reason and the report is paused (`pausedReason`) until it is updated
 *      and resumed; a run that fails otherwise (the query or the store errs, perhaps for a while)
 *      is marked Failed with the reason and the report keeps its schedule. The callback is called
 *      either way. A run never throws into the tick: when even the failure cannot be recorded,
 *      the execution stays Running and is taken over after LEASE_MS (5);
 *   5. executions left Running by a server that stopped are taken over after LEASE_MS.
 * Occurrences missed while no server ran are not replayed one by one: the latest due one runs
 * (docs/SPEC-DEVIATIONS.md). TIMESPAN is evaluated at the occurrence's scheduled time.
 */
import path from "node:path";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { Clock } from "../domain/time.ts";
import type { IdSource } from "../domain/ids.ts";
import type { Store } from "../store/index.ts";
import { PartnerInsightsStore, type InsightsExecution, type InsightsReport, type ReportStatus } from "../store/partner-insights.ts";
import type { InsightsService } from "./service.ts";
import { formatResult, writeReportFile, type QueryResult, type QueryRunner } from "./runner.ts";
import type { CompiledQuery } from "./query/compile.ts";
import { callbackRequest, isCallbackAllowed, LINK_LIFETIME_MS, linkToken, tokenHash } from "./links.ts";
import { reportStanding } from "./authority.ts";
import { wireTime } from "./envelope.ts";

/** A run that failed at a known step; its message is the execution's reason, naming the fix. */
class RunFailure extends Error {}

/** A Running execution whose claim is older than this is taken over by another tick. */
export const LEASE_MS = 15 * 60_000;
/** How often a server looks for due reports. */
export const POLL_MS = 30_000;
/** Waits before callback attempts 2, 3 and 4. */
export const CALLBACK_BACKOFF_MS: readonly number[] = [1_000, 5_000, 25_000];
const CALLBACK_TIMEOUT_MS = 10_000;

export interface SchedulerDeps {
  readonly store: Store;
  readonly insights: PartnerInsightsStore;
  readonly runner: QueryRunner;
  readonly service: InsightsService;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly dataDir: string;
  readonly linkSecret: string;
  readonly callbackHosts: () => readonly string[];
  readonly log: Logger;
}

export class ReportScheduler {
  readonly #deps: SchedulerDeps;
  /** This server's name in claims. */
  readonly claimant: string;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  readonly #inflight = new Set<Promise<unknown>>();
  #stopped = false;
  /** Back-off between callback attempts (tests shorten it). */
  backoffMs: readonly number[] = CALLBACK_BACKOFF_MS;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
    this.claimant = `${hostname()}:${process.pid}:${deps.ids.newGuid().slice(0, 8)}`;
  }

  /** Starts polling (unref'd timer: it never keeps the process alive). */
  start(pollMs = POLL_MS): void {
    this.#stopped = false;
    const loop = () => {
      this.#timer = setTimeout(() => {
        this.poke();
        loop();
      }, pollMs);
      this.#timer.unref();
    };
    loop();
    this.poke();
  }

  /** Asks for a tick soon (coalesced with one in progress). */
  poke(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.tick().then(() => undefined, (error: unknown) => this.#deps.log.error({ err: error }, "insights scheduler tick failed")).finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.poke();
      }
    });
  }

  /** One pass: claims and runs every due occurrence and stale execution. Resolves when the runs are done (callbacks may continue; see idle()). */
  async tick(): Promise<number> {
    const { insights, clock } = this.#deps;
    let ran = 0;
    const now = clock.now();
    for (const report of await insights.dueReports(now)) {
      const claimed = await this.#claim(report, now);
      if (claimed) {
        await this.#run(report, claimed);
        ran++;
      }
    }
    for (const stale of await insights.staleExecutions(now - LEASE_MS)) {
      if (await insights.reclaimStale(stale.executionId, stale.claimedAt, this.claimant, now)) {
        const report = await insights.getReport(stale.reportId);
        if (report) {
          await this.#run(report, { ...stale, claimedBy: this.claimant, claimedAt: now });
          ran++;
        }
      }
    }
    return ran;
  }

  /** Resolves when every callback in flight has finished (tests, graceful stop). */
  async idle(): Promise<void> {
    while (this.#running || this.#inflight.size) {
      await Promise.allSettled([this.#running, ...this.#inflight]);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.idle();
  }

  async #claim(report: InsightsReport, now: number): Promise<InsightsExecution | undefined> {
    const due = report.nextRunAt as number;
    let scheduledAt = due;
    let next: { index: number; at: number | null; status: ReportStatus };
    if (report.executeNow) {
      next = { index: report.nextRunIndex + 1, at: null, status: "Inactive" };
    } else {
      const step = report.recurrenceInterval * 3_600_000;
      // The latest occurrence at or before now (missed ones are not replayed).
      let k = Math.max(0, Math.floor((now - report.startAt) / step));
      if (report.recurrenceCount !== null) k = Math.min(k, report.recurrenceCount - 1);
      scheduledAt = Math.max(due, report.startAt + k * step);
      const nextK = Math.round((scheduledAt - report.startAt) / step) + 1;
      const more = report.recurrenceCount === null || nextK < report.recurrenceCount;
      next = { index: report.nextRunIndex + 1, at: more ? report.startAt + nextK * step : null, status: more ? "Active" : "Inactive" };
    }
    const execution = { executionId: this.#deps.ids.newGuid(), runIndex: report.nextRunIndex, scheduledAt, claimedBy: this.claimant, claimedAt: now };
    let won = false;
    try {
      won = await this.#deps.store.transaction((tx) => new PartnerInsightsStore(tx.db).claimOccurrence(report, execution, next));
    } catch (error) {
      // A unique-key refusal: another server inserted this occurrence first.
      this.#deps.log.debug({ err: error, reportId: report.reportId }, "insights occurrence claimed elsewhere");
      return undefined;
    }
    if (!won) return undefined;
    return {
      ...execution, reportId: report.reportId, globalId: report.globalId, status: "Running", filePath: null, linkTokenHash: null,
      expiresAt: null, generatedAt: null, rowCount: null, error: null,
    };
  }

  /**
   * Runs one claimed execution. Never throws: whatever goes wrong, the execution ends Completed or
   * Failed with the reason (and the callback is called either way), or, when even the failure
   * cannot be recorded, it stays Running and is retried after LEASE_MS; the tick goes on.
   */
  async #run(report: InsightsReport, e: InsightsExecution): Promise<void> {
    const { insights, service, clock, runner } = this.#deps;
    try {
      // The report's user must still be allowed to see what the report would hold (authority.ts).
      const standing = await reportStanding(this.#deps.store, report, clock.now());
      if (!standing.ok) {
        await this.#pauseAndFail(report, e, standing.reason, standing.fix, "insights report execution refused: its user may no longer see the data");
        return;
      }
      // A query that is gone or no longer compiles fails every occurrence alike: the report is paused.
      const update = `PUT /insights/v1/mpn/ScheduledReport/${report.reportId}`;
      const resume = `PUT /insights/v1/mpn/ScheduledReport/resume/${report.reportId}`;
      const query = await service.findQuery(report, report.queryId);
      if (!query) {
        await this.#pauseAndFail(report, e, `Query ${report.queryId} no longer exists`,
          `Give the report a query that exists (${update}) and resume it (${resume}), or delete the report.`, "insights report execution failed: its query no longer exists");
        return;
      }
      let compiled: CompiledQuery;
      try {
        compiled = service.compile(query.query);
      } catch (error) {
        await this.#pauseAndFail(report, e, `Query ${report.queryId} is no longer valid: ${(error as Error).message}`,
          `Create a corrected query, give the report its QueryId (${update}) and resume it (${resume}).`, "insights report execution failed: its query no longer compiles");
        return;
      }
      const override = report.executeNow && (report.queryStartAt !== null || report.queryEndAt !== null)
        ? { from: report.queryStartAt ?? undefined, to: report.queryEndAt ?? e.scheduledAt } : undefined;
      let result: QueryResult;
      try {
        result = await runner.run(compiled, report.globalId, compiled.window(e.scheduledAt, override));
      } catch (error) {
        throw new RunFailure(`The report's query failed when run: ${(error as Error).message}; this run produced no report. The server log has the details (execution ${e.executionId}).`);
      }
      const file = path.join(path.resolve(this.#deps.dataDir), "insights", "reports", report.globalId, report.reportId, `${e.executionId}.${report.format}`);
      writeReportFile(file, formatResult(result, report.format));
      const generatedAt = clock.now();
      const expiresAt = generatedAt + LINK_LIFETIME_MS;
      const token = linkToken(this.#deps.linkSecret, e.executionId, expiresAt);
      const done = await insights.completeExecution(e.executionId, e.claimedBy, { filePath: file, linkTokenHash: tokenHash(token), expiresAt, generatedAt, rowCount: result.rows.length });
      if (done && report.callbackUrl) this.#track(this.#callback(report, e.executionId));
    } catch (error) {
      const reason = error instanceof RunFailure ? error.message
        : `The run failed: ${(error as Error).message}; this run produced no report. The server log has the details (execution ${e.executionId}).`;
      this.#deps.log.warn({ reportId: report.reportId, executionId: e.executionId, err: reason }, "insights report execution failed");
      await this.#recordFailure(report, e, reason);
    }
  }

  /**
   * Marks the execution Failed with `message`, then calls the report's callback for it, as for a
   * Completed one (when this claim still held it: a taken-over run is the other server's to report).
   */
  async #recordFailure(report: InsightsReport, e: InsightsExecution, message: string): Promise<void> {
    let failed: boolean;
    try {
      failed = await this.#deps.insights.failExecution(e.executionId, e.claimedBy, message, this.#deps.clock.now());
    } catch (error) {
      // The store failed too: the execution stays Running, and a tick takes it over after LEASE_MS.
      this.#deps.log.error({ err: error, reportId: report.reportId, executionId: e.executionId }, "insights report execution failed and its failure could not be recorded; it is retried after the lease");
      return;
    }
    if (failed && report.callbackUrl) this.#track(this.#callback(report, e.executionId));
  }

  /**
   * Records the execution as Failed, producing nothing, and pauses the report so that no later
   * occurrence runs until it is resumed (or the schedule ended with this one): for a failure that
   * would repeat at every occurrence (the report's user may no longer see the data, its query is
   * gone or invalid). The paused report keeps why (`pausedReason`). The report's callback is
   * called for the Failed execution, as for a Completed one.
   */
  async #pauseAndFail(report: InsightsReport, e: InsightsExecution, reason: string, fix: string, logMessage: string): Promise<void> {
    const { insights, clock } = this.#deps;
    const now = clock.now();
    const pausedReason = `${reason}; execution ${e.executionId} (scheduled ${wireTime(e.scheduledAt)}) produced no report and the report was paused. ${fix}`;
    const paused = await insights.pauseByScheduler(report.reportId, now, pausedReason);
    const fresh = paused ? undefined : await insights.getReport(report.reportId);
    const consequence = paused || fresh?.status === "Paused" ? "this run produced no report and the report is paused" : "this run produced no report";
    const message = `${reason}; ${consequence}. ${fix}`;
    this.#deps.log.warn({ reportId: report.reportId, executionId: e.executionId, err: reason }, logMessage);
    await this.#recordFailure(report, e, message);
  }

  /** Keeps a callback in flight for idle(); its failure is logged, never an unhandled rejection. */
  #track(p: Promise<unknown>): void {
    const settled = p.catch((error: unknown) => this.#deps.log.error({ err: error }, "insights report callback failed"));
    this.#inflight.add(settled);
    void settled.finally(() => this.#inflight.delete(settled));
  }

  async #callback(report: InsightsReport, executionId: string): Promise<void> {
    const { insights, clock } = this.#deps;
    const target = callbackRequest(report.callbackUrl as string, report.callbackMethod ?? "POST", report.reportId);
    const attempts = this.backoffMs.length + 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await new Promise((r) => setTimeout(r, this.backoffMs[attempt - 2]));
      let statusCode: number | null = null;
      let error: string | null = null;
      // The allow-list is checked on every attempt: the operator may have narrowed it since the report was created.
      const verdict = isCallbackAllowed(target.url, this.#deps.callbackHosts());
      if (verdict !== true) error = verdict;
      else {
        try {
          const res = await fetch(target.url, {
            method: target.method, redirect: "manual", signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
            ...(target.method === "POST" ? { headers: { "content-type": "application/json" }, body: JSON.stringify({ reportId: report.reportId, executionId }) } : {}),
          });
          statusCode = res.status;
          await res.arrayBuffer().catch(() => undefined);
        } catch (e) {
          error = (e as Error).message;
        }
      }
      await insights.recordCallbackAttempt({ executionId, attempt, at: clock.now(), method: target.method, url: target.url, statusCode, error });
      if (statusCode !== null && statusCode >= 200 && statusCode < 300) return;
      if (verdict !== true) return;
    }
  }
}
