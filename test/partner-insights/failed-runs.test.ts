/**
 * A scheduled run that fails for any reason — its query was deleted after the report was created,
 * its query no longer compiles, the query errors when run, the store fails — is recorded as a
 * `Failed` execution with the reason, readable through the API, and the report's callback is
 * called for it, as for a completed run; a failure that would repeat at every occurrence (the
 * query gone or invalid) also pauses the report, saying why; nothing a run does stops the
 * scheduler (SQLite and PostgreSQL; docs/SPEC-DEVIATIONS.md 92, 94, 144).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { buildApp, type OpenPalApp } from "../../src/server/app.ts";
import { testOptions } from "../../src/options/index.ts";
import { ManualClock } from "../../src/domain/time.ts";
import type { Store } from "../../src/store/index.ts";
import { PARTNER_CENTER_AUDIENCE, partnerInsightsOf, type PartnerInsights } from "../../src/partner-insights/index.ts";
import { storeBackends } from "../support/stores.ts";
import { applyScenarioWorld } from "../scenarios/support.ts";
import { grantReportViewer } from "./support.ts";
import { ALICE_HOME, CONTOSO_TENANT, baseWorld } from "../scenarios/world.ts";

const HOUR = 3_600_000;

type Body = { value: Record<string, unknown>[]; message: string; statusCode: number };

for (const backend of storeBackends()) {
  describe(`insights runs that fail (${backend.name})`, () => {
    let store: Store;
    let dataDir: string;
    let app: OpenPalApp;
    let insights: PartnerInsights;
    const clock = new ManualClock("2026-11-15T00:00:00Z");
    // The reports' callback receiver.
    let receiver: Server;
    let receiverUrl: string;
    const received: { method: string; url: string; body: string }[] = [];

    const token = async () => {
      const now = Math.floor(clock.now() / 1000);
      return app.identity.keys.sign({
        iss: app.identity.issuerFor(CONTOSO_TENANT), aud: PARTNER_CENTER_AUDIENCE, tid: CONTOSO_TENANT, oid: ALICE_HOME, sub: ALICE_HOME, ver: "2.0", idtyp: "user",
        iat: now - 60, nbf: now - 60, exp: now + 30 * 24 * 3600,
      });
    };
    const call = async (method: "GET" | "POST" | "PUT" | "DELETE", url: string, payload?: unknown) => {
      const res = await app.app.inject({ method, url: `/insights/v1/mpn${url}`, headers: { authorization: `Bearer ${await token()}` }, ...(payload ? { payload: payload as object } : {}) });
      return { status: res.statusCode, body: res.json() as Body };
    };
    const tick = async () => {
      await insights.scheduler.idle();
      const n = await insights.scheduler.tick();
      await insights.scheduler.idle();
      return n;
    };
    /** A query and a report of it every 4 hours from 5 hours ahead, `count` times, calling back the receiver. */
    const scheduled = async (name: string, count = 1) => {
      const q = await call("POST", "/ScheduledQueries", { Name: name, Query: "SELECT MpnId, HierarchyLevel FROM Profile" });
      assert.equal(q.status, 200, q.body.message);
      const queryId = String(q.body.value[0]!.queryId);
      const start = clock.now() + 5 * HOUR;
      const r = await call("POST", "/ScheduledReport", {
        ReportName: name, QueryId: queryId, StartTime: new Date(start).toISOString(), RecurrenceInterval: 4, RecurrenceCount: count, CallbackUrl: receiverUrl, CallbackMethod: "POST",
      });
      assert.equal(r.status, 200, r.body.message);
      return { queryId, reportId: String(r.body.value[0]!.reportId), start };
    };
    const executions = async (reportId: string) =>
      (await call("GET", `/ScheduledReport/execution/${reportId}?getLatestExecution=false&executionStatus=Completed;Failed;Running`)).body.value;
    const callbacks = (reportId: string) => received.filter((x) => x.url === `/hooks/${reportId}`);
    /** The one execution, Failed, with its reason; its callback was received and recorded. */
    const assertFailedAndCalledBack = async (reportId: string, reason: RegExp) => {
      const list = await executions(reportId);
      assert.equal(list.length, 1, JSON.stringify(list));
      const failed = list[0]!;
      assert.equal(failed.executionStatus, "Failed");
      assert.match(String(failed.errorMessage), reason);
      assert.match(String(failed.errorMessage), /this run produced no report/);
      assert.equal(failed.reportAccessSecureLink, null, "a Failed execution has no link");
      assert.equal(callbacks(reportId).length, 1, "the report's callback was called for the Failed execution");
      assert.deepEqual(JSON.parse(callbacks(reportId)[0]!.body), { reportId, executionId: failed.executionId });
      const attempts = await insights.store.callbackAttempts(String(failed.executionId));
      assert.deepEqual(attempts.map((a) => a.statusCode), [200], "the attempt is recorded");
      return failed;
    };

    before(async () => {
      receiver = createServer((req, res) => {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString()));
        req.on("end", () => {
          received.push({ method: req.method ?? "", url: req.url ?? "", body });
          res.end();
        });
      });
      await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
      receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
      store = await backend.open();
      dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-insights-failed-"));
      await applyScenarioWorld(store, baseWorld({}, {}));
      await grantReportViewer(store, CONTOSO_TENANT, ALICE_HOME);
      app = await buildApp(testOptions({ dataDir, logLevel: "silent", inMemory: true, insightsCallbackHosts: "127.0.0.1" }), { store, clock });
      insights = partnerInsightsOf(app.context)!;
    });
    after(async () => {
      await app?.close();
      await store?.close();
      await new Promise<void>((r) => receiver.close(() => r()));
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("a run whose query was deleted after the report was created is Failed with the reason and calls the report's callback; the report is paused (pausedReason) so later occurrences do not fail alike, and runs again once given a query and resumed", async () => {
      const { queryId, reportId, start } = await scheduled("deleted query", 3);
      // The API refuses to delete a query a report uses; a delete racing the report's creation (or a direct one) still happens.
      const globalId = (await insights.store.getReport(reportId))!.globalId;
      assert.equal(await insights.store.deleteQuery(globalId, queryId), true);
      clock.set(start + 60_000);
      assert.equal(await tick(), 1);
      const failed = await assertFailedAndCalledBack(
        reportId,
        new RegExp(`^Query ${queryId} no longer exists; this run produced no report and the report is paused\\. .*PUT /insights/v1/mpn/ScheduledReport/${reportId}.*ScheduledReport/resume/${reportId}`),
      );
      assert.equal(callbacks(reportId)[0]!.method, "POST");
      assert.ok(failed.reportGeneratedTime, "the failure time is recorded");
      const [paused] = (await call("GET", `/ScheduledReport?reportId=${reportId}`)).body.value;
      assert.equal(paused!.reportStatus, "Paused");
      assert.match(String(paused!.pausedReason), new RegExp(`^Query ${queryId} no longer exists; execution ${failed.executionId} .*produced no report and the report was paused`));
      // The next occurrence is not run (it would fail the same way).
      clock.set(start + 4 * HOUR + 60_000);
      assert.equal(await tick(), 0);
      assert.equal(callbacks(reportId).length, 1);
      // Given a query that exists and resumed, the report runs its next occurrence.
      const q = await call("POST", "/ScheduledQueries", { Name: "replacement", Query: "SELECT MpnId FROM Profile" });
      const restart = clock.now() + 5 * HOUR;
      const updated = await call("PUT", `/ScheduledReport/${reportId}`, {
        ReportName: "deleted query", QueryId: q.body.value[0]!.queryId, StartTime: new Date(restart).toISOString(), RecurrenceInterval: 4, RecurrenceCount: 3, CallbackUrl: receiverUrl, CallbackMethod: "POST",
      });
      assert.equal(updated.status, 200, updated.body.message);
      assert.equal(updated.body.value[0]!.reportStatus, "Paused", "an update keeps a paused report paused");
      assert.equal("pausedReason" in updated.body.value[0]!, false, "an update clears why it was paused");
      assert.equal((await call("PUT", `/ScheduledReport/resume/${reportId}`)).body.value[0]!.reportStatus, "Active");
      clock.set(restart + 60_000);
      assert.equal(await tick(), 1);
      const statuses = (await executions(reportId)).map((e) => e.executionStatus).sort();
      assert.deepEqual(statuses, ["Completed", "Failed"]);
      assert.equal((await call("DELETE", `/ScheduledReport/${reportId}`)).status, 200, "deleted, so later tests' ticks do not run it");
    });

    it("a run whose query no longer compiles is Failed with the compiler's reason, calls the report's callback and pauses the report", async () => {
      const { queryId, reportId, start } = await scheduled("broken query", 2);
      await sql`UPDATE insights_queries SET query = ${"SELECT Nope FROM Profile"} WHERE query_id = ${queryId}`.execute(store.db);
      clock.set(start + 60_000);
      assert.equal(await tick(), 1);
      await assertFailedAndCalledBack(reportId, new RegExp(`^Query ${queryId} is no longer valid: Incorrect column name.*the report is paused\\. Create a corrected query`));
      const [paused] = (await call("GET", `/ScheduledReport?reportId=${reportId}`)).body.value;
      assert.equal(paused!.reportStatus, "Paused");
      assert.match(String(paused!.pausedReason), /is no longer valid: Incorrect column name/);
    });

    it("a run whose query errors when run is Failed with the error and calls the report's callback", async () => {
      const { reportId, start } = await scheduled("query errors", 2);
      const run = insights.runner.run.bind(insights.runner);
      insights.runner.run = () => Promise.reject(new Error("Out of Memory Error: could not allocate block"));
      try {
        clock.set(start + 60_000);
        assert.equal(await tick(), 1);
      } finally {
        insights.runner.run = run;
      }
      await assertFailedAndCalledBack(reportId, /^The report's query failed when run: Out of Memory Error: could not allocate block; this run produced no report\./);
      // An error of the run itself may pass: the report keeps its status and schedule.
      const [rep] = (await call("GET", `/ScheduledReport?reportId=${reportId}`)).body.value;
      assert.equal(rep!.reportStatus, "Active");
      assert.equal("pausedReason" in rep!, false);
      assert.equal((await call("DELETE", `/ScheduledReport/${reportId}`)).status, 200, "deleted, so later tests' ticks do not run it");
    });

    it("a store error while recording a failed run does not stop the tick: the other due reports run, and the run is retried after its lease", async () => {
      const broken = await scheduled("unrecorded failure");
      const healthy = await scheduled("healthy");
      const globalId = (await insights.store.getReport(broken.reportId))!.globalId;
      await insights.store.deleteQuery(globalId, broken.queryId);
      const failExecution = insights.store.failExecution.bind(insights.store);
      insights.store.failExecution = () => Promise.reject(new Error("connection terminated unexpectedly"));
      try {
        clock.set(Math.max(broken.start, healthy.start) + 60_000);
        assert.equal(await tick(), 2, "both due reports were claimed and run");
      } finally {
        insights.store.failExecution = failExecution;
      }
      const ok = await executions(healthy.reportId);
      assert.deepEqual(ok.map((e) => e.executionStatus), ["Completed"], "the healthy report ran in the same tick");
      assert.deepEqual((await executions(broken.reportId)).map((e) => e.executionStatus), ["Running"], "not recorded: left Running for a later tick");
      assert.equal(callbacks(broken.reportId).length, 0, "no callback for a failure that was not recorded");
      // After the lease another tick takes it over: recorded Failed, and called back.
      clock.advance(16 * 60_000);
      await tick();
      await assertFailedAndCalledBack(broken.reportId, /no longer exists/);
    });

    it("a callback whose attempt cannot be recorded is logged, never an unhandled rejection", async () => {
      const { reportId, start } = await scheduled("unrecorded callback");
      const rejections: unknown[] = [];
      const onRejection = (reason: unknown) => rejections.push(reason);
      process.on("unhandledRejection", onRejection);
      const record = insights.store.recordCallbackAttempt.bind(insights.store);
      insights.store.recordCallbackAttempt = () => Promise.reject(new Error("connection terminated unexpectedly"));
      try {
        clock.set(start + 60_000);
        assert.equal(await tick(), 1);
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        insights.store.recordCallbackAttempt = record;
        process.off("unhandledRejection", onRejection);
      }
      assert.deepEqual(rejections, []);
      assert.equal(callbacks(reportId).length, 1, "the callback itself was made");
    });
  });
}
