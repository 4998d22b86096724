/**
 * A scheduled report runs with its user's authority, re-checked at every execution: when the
 * user no longer holds Executive report viewer or Global Administrator in the partner tenant, was
 * deleted or is disabled, the execution produces nothing, is Failed with the reason and how to
 * fix it, and the report is paused until a user holding the role resumes it (SQLite and
 * PostgreSQL; docs/SPEC-DEVIATIONS.md 144).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { buildApp, type OpenPalApp } from "../../src/server/app.ts";
import { testOptions } from "../../src/options/index.ts";
import { ManualClock } from "../../src/domain/time.ts";
import type { Store } from "../../src/store/index.ts";
import { DirectoryRole } from "../../src/graph/roles.ts";
import { PARTNER_CENTER_AUDIENCE, partnerInsightsOf } from "../../src/partner-insights/index.ts";
import { storeBackends } from "../support/stores.ts";
import { applyScenarioWorld } from "../scenarios/support.ts";
import { grantReportViewer } from "./support.ts";
import { ALICE_HOME, BOB_HOME, CONTOSO_TENANT, baseWorld } from "../scenarios/world.ts";

const HOUR = 3_600_000;
const ALICE_UPN = "alice@contoso.example";
const BOB_UPN = "bob@contoso.example";

type Body = { value: Record<string, unknown>[]; message: string; statusCode: number };

for (const backend of storeBackends()) {
  describe(`insights scheduled reports and their user's role (${backend.name})`, () => {
    let store: Store;
    let dataDir: string;
    let app: OpenPalApp;
    const clock = new ManualClock("2026-11-15T00:00:00Z");
    // The reports' callback receiver.
    let receiver: Server;
    let receiverUrl: string;
    const received: { method: string; url: string; body: string }[] = [];

    const token = async (oid: string, upn: string) => {
      const now = Math.floor(clock.now() / 1000);
      return app.identity.keys.sign({
        iss: app.identity.issuerFor(CONTOSO_TENANT), aud: PARTNER_CENTER_AUDIENCE, tid: CONTOSO_TENANT, oid, sub: oid, upn, ver: "2.0", idtyp: "user",
        iat: now - 60, nbf: now - 60, exp: now + 30 * 24 * 3600,
      });
    };
    const alice = () => token(ALICE_HOME, ALICE_UPN);
    const bob = () => token(BOB_HOME, BOB_UPN);
    const call = async (tok: string, method: "GET" | "POST" | "PUT", url: string, payload?: unknown) => {
      const res = await app.app.inject({ method, url: `/insights/v1/mpn${url}`, headers: { authorization: `Bearer ${tok}` }, ...(payload ? { payload: payload as object } : {}) });
      return { status: res.statusCode, body: res.json() as Body };
    };
    const tick = async () => {
      const insights = partnerInsightsOf(app.context)!;
      await insights.scheduler.idle(); // a tick an API call poked (resume) finishes first
      const n = await insights.scheduler.tick();
      await insights.scheduler.idle();
      return n;
    };
    /** A report of Alice's, every 4 hours from 5 hours ahead. */
    const aliceReport = async (name: string) => {
      const tok = await alice();
      const q = await call(tok, "POST", "/ScheduledQueries", { Name: name, Query: "SELECT MpnId, HierarchyLevel FROM Profile" });
      assert.equal(q.status, 200, q.body.message);
      const startTime = new Date(clock.now() + 5 * HOUR).toISOString().replace(/\.\d{3}Z$/, "Z");
      const r = await call(tok, "POST", "/ScheduledReport", { ReportName: name, QueryId: q.body.value[0]!.queryId, StartTime: startTime, RecurrenceInterval: 4 });
      assert.equal(r.status, 200, r.body.message);
      assert.equal(r.body.value[0]!.user, ALICE_UPN);
      return { reportId: String(r.body.value[0]!.reportId), start: Date.parse(startTime) };
    };
    const reportFiles = (reportId: string): string[] => {
      const root = path.join(dataDir, "insights", "reports");
      if (!existsSync(root)) return [];
      return readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.includes(reportId) && /\.(csv|tsv)$/.test(f));
    };
    const executions = async (tok: string, reportId: string, status = "Completed;Failed;Running") =>
      call(tok, "GET", `/ScheduledReport/execution/${reportId}?getLatestExecution=false&executionStatus=${encodeURIComponent(status)}`);
    const report = async (tok: string, reportId: string) => (await call(tok, "GET", `/ScheduledReport?reportId=${reportId}`)).body.value[0]!;

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
      dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-insights-authority-"));
      await applyScenarioWorld(store, baseWorld({}, {}));
      app = await buildApp(testOptions({ dataDir, logLevel: "silent", inMemory: true, insightsCallbackHosts: "127.0.0.1" }), { store, clock });
      // Bob holds Global Administrator throughout: he reads what Alice no longer may, and takes over.
      await store.directoryRoles.grant(CONTOSO_TENANT, DirectoryRole.GlobalAdministrator, BOB_HOME, null);
    });
    after(async () => {
      await app?.close();
      await store?.close();
      await new Promise<void>((r) => receiver.close(() => r()));
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("a refused run calls the report's callback for its Failed execution, as a completed run does; the paused report says why (pausedReason) until it is resumed or updated", async () => {
      await grantReportViewer(store, CONTOSO_TENANT, ALICE_HOME);
      const tok = await alice();
      const admin = await bob();
      const q = await call(tok, "POST", "/ScheduledQueries", { Name: "callback", Query: "SELECT MpnId FROM Profile" });
      const start = clock.now() + 5 * HOUR;
      const created = await call(tok, "POST", "/ScheduledReport", {
        ReportName: "callback", QueryId: q.body.value[0]!.queryId, StartTime: new Date(start).toISOString(), RecurrenceInterval: 4, CallbackUrl: receiverUrl, CallbackMethod: "POST",
      });
      assert.equal(created.status, 200, created.body.message);
      const reportId = String(created.body.value[0]!.reportId);
      assert.equal("pausedReason" in created.body.value[0]!, false, "an Active report has no pausedReason");
      const callbacks = () => received.filter((x) => x.url === `/hooks/${reportId}`);

      await store.directoryRoles.revoke(CONTOSO_TENANT, DirectoryRole.ExecutiveReportViewer, ALICE_HOME, clock.now() + HOUR);
      clock.set(start + 60_000);
      assert.equal(await tick(), 1);
      const failed = (await executions(admin, reportId, "Failed")).body.value[0]!;
      assert.equal(failed.executionStatus, "Failed");
      // The callback: the same POST {CallbackUrl}/{reportId} with {reportId, executionId} as a completed run's, naming the Failed execution.
      assert.equal(callbacks().length, 1, "one callback for the refused run");
      assert.equal(callbacks()[0]!.method, "POST");
      assert.deepEqual(JSON.parse(callbacks()[0]!.body), { reportId, executionId: failed.executionId });
      const attempts = await partnerInsightsOf(app.context)!.store.callbackAttempts(String(failed.executionId));
      assert.deepEqual(attempts.map((a) => a.statusCode), [200], "the attempt is recorded");

      // The report says why it is paused.
      const paused = await report(admin, reportId);
      assert.equal(paused.reportStatus, "Paused");
      const why = String(paused.pausedReason);
      assert.match(why, /^Access denied: the report's user alice@contoso\.example .* no longer holds a role that may see revenue/);
      assert.match(why, new RegExp(`execution ${String(failed.executionId)} \\(scheduled \\S+Z\\) produced no report and the report was paused`));
      assert.match(why, new RegExp(`PUT /insights/v1/mpn/ScheduledReport/resume/${reportId}`), "how to re-enable it");

      // Resumed (Alice holds the role again): the reason is gone.
      await grantReportViewer(store, CONTOSO_TENANT, ALICE_HOME);
      const resumed = await call(tok, "PUT", `/ScheduledReport/resume/${reportId}`);
      assert.equal(resumed.status, 200, resumed.body.message);
      assert.equal(resumed.body.value[0]!.reportStatus, "Active");
      assert.equal("pausedReason" in resumed.body.value[0]!, false);
      assert.equal("pausedReason" in (await report(admin, reportId)), false);

      // Refused again, then updated by Bob (who takes it over): still paused, no reason left.
      await store.directoryRoles.revoke(CONTOSO_TENANT, DirectoryRole.ExecutiveReportViewer, ALICE_HOME, clock.now());
      clock.set(start + 4 * HOUR + 60_000);
      assert.equal(await tick(), 1);
      assert.equal(callbacks().length, 2, "the second refused run calls back too");
      assert.match(String((await report(admin, reportId)).pausedReason), /^Access denied/);
      const updated = await call(admin, "PUT", `/ScheduledReport/${reportId}`, { ReportName: "callback, updated", QueryId: q.body.value[0]!.queryId, StartTime: new Date(clock.now() + 5 * HOUR).toISOString(), RecurrenceInterval: 4, CallbackUrl: receiverUrl });
      assert.equal(updated.status, 200, updated.body.message);
      assert.equal(updated.body.value[0]!.user, BOB_UPN);
      assert.equal(updated.body.value[0]!.reportStatus, "Paused");
      assert.equal("pausedReason" in updated.body.value[0]!, false);
      assert.equal("pausedReason" in (await report(admin, reportId)), false);
      await call(admin, "PUT", `/ScheduledReport/pause/${reportId}`);
      await grantReportViewer(store, CONTOSO_TENANT, ALICE_HOME);
    });

    it("a report whose user lost Executive report viewer produces no data: the execution is Failed naming the role and how to grant it, and the report is paused until resumed", async () => {
      await grantReportViewer(store, CONTOSO_TENANT, ALICE_HOME);
      const { reportId, start } = await aliceReport("lost role");
      await store.directoryRoles.revoke(CONTOSO_TENANT, DirectoryRole.ExecutiveReportViewer, ALICE_HOME, clock.now() + HOUR);

      clock.set(start + 10 * 60_000);
      assert.equal(await tick(), 1, "the occurrence is claimed and recorded");
      assert.deepEqual(reportFiles(reportId), [], "no report file is written");

      const admin = await bob();
      assert.equal((await executions(admin, reportId, "Completed")).status, 404, "no Completed execution");
      const failed = await executions(admin, reportId);
      assert.equal(failed.status, 200, failed.body.message);
      assert.equal(failed.body.value.length, 1);
      const e = failed.body.value[0]!;
      assert.equal(e.executionStatus, "Failed");
      assert.equal(e.reportAccessSecureLink, null);
      assert.equal(e.reportLocation, null);
      const why = String(e.errorMessage);
      assert.match(why, /^Access denied: the report's user alice@contoso\.example .* no longer holds a role that may see revenue \(Executive report viewer or Global Administrator\) in tenant c0000000/);
      assert.match(why, /this run produced no report and the report is paused/);
      assert.match(why, /"directoryRoles": \["Executive report viewer"\]/, "how to grant the role (world file)");
      assert.match(why, /POST \/v1\.0\/roleManagement\/directory\/roleAssignments/, "how to grant the role (Graph)");
      assert.match(why, new RegExp(`PUT /insights/v1/mpn/ScheduledReport/resume/${reportId}`), "how to re-enable the report");
      assert.equal((await report(admin, reportId)).reportStatus, "Paused");

      // Later occurrences do not run while the report is paused.
      clock.set(start + 9 * HOUR);
      assert.equal(await tick(), 0);
      assert.equal((await executions(admin, reportId)).body.value.length, 1);
      assert.deepEqual(reportFiles(reportId), []);

      // Granted again, Alice resumes her report: it stays hers and runs at its next occurrence.
      await grantReportViewer(store, CONTOSO_TENANT, ALICE_HOME);
      const resumed = await call(await alice(), "PUT", `/ScheduledReport/resume/${reportId}`);
      assert.equal(resumed.status, 200, resumed.body.message);
      assert.equal(resumed.body.value[0]!.reportStatus, "Active");
      assert.equal(resumed.body.value[0]!.user, ALICE_UPN);
      clock.set(start + 12 * HOUR);
      assert.equal(await tick(), 1);
      const done = await executions(admin, reportId, "Completed");
      assert.equal(done.status, 200, done.body.message);
      assert.equal(done.body.value.length, 1);
      assert.equal(reportFiles(reportId).length, 1);
      await call(admin, "PUT", `/ScheduledReport/pause/${reportId}`);
    });

    it("a report whose user was deleted or disabled is not run either; a user holding the role who updates or resumes it takes it over", async () => {
      await grantReportViewer(store, CONTOSO_TENANT, ALICE_HOME);
      const admin = await bob();

      const disabled = await aliceReport("disabled user");
      await store.directory.disable(CONTOSO_TENANT, ALICE_HOME, clock.now() + HOUR);
      clock.set(disabled.start + 60_000);
      assert.equal(await tick(), 1);
      const d = (await executions(admin, disabled.reportId)).body.value[0]!;
      assert.equal(d.executionStatus, "Failed");
      assert.match(String(d.errorMessage), /^Access denied: the report's user alice@contoso\.example \(object id a1000000-\S+\) is disabled in tenant c0000000.*"accountEnabled": true/);
      assert.deepEqual(reportFiles(disabled.reportId), []);
      assert.equal((await report(admin, disabled.reportId)).reportStatus, "Paused");
      await store.directory.enable(CONTOSO_TENANT, ALICE_HOME, clock.now());
      // Enabled again, Alice may run it: Bob's update leaves it hers (and paused).
      const update = async (reportId: string, name: string) => {
        const current = await report(admin, reportId);
        const startTime = new Date(clock.now() + 5 * HOUR).toISOString();
        return call(admin, "PUT", `/ScheduledReport/${reportId}`, { ReportName: name, QueryId: current.queryId, StartTime: startTime, RecurrenceInterval: 4 });
      };
      const kept = await update(disabled.reportId, "disabled user, updated");
      assert.equal(kept.status, 200, kept.body.message);
      assert.equal(kept.body.value[0]!.user, ALICE_UPN);
      assert.equal(kept.body.value[0]!.reportStatus, "Paused");

      const deleted = await aliceReport("deleted user");
      await store.directory.markUserDeleted(CONTOSO_TENANT, ALICE_HOME, clock.now() + HOUR);
      clock.set(deleted.start + 60_000);
      assert.equal(await tick(), 1);
      const x = (await executions(admin, deleted.reportId)).body.value[0]!;
      assert.equal(x.executionStatus, "Failed");
      assert.match(String(x.errorMessage), /^Access denied: the report's user alice@contoso\.example \(object id a1000000-\S+\) was deleted from tenant c0000000/);
      assert.deepEqual(reportFiles(deleted.reportId), []);
      assert.equal((await report(admin, deleted.reportId)).reportStatus, "Paused");

      // Bob (Global Administrator) updates it: Alice cannot run it any more, so it becomes his,
      // still paused; he resumes it and it runs.
      const taken = await update(deleted.reportId, "deleted user, taken over");
      assert.equal(taken.status, 200, taken.body.message);
      assert.equal(taken.body.value[0]!.user, BOB_UPN);
      assert.equal(taken.body.value[0]!.reportStatus, "Paused");
      const newStart = Date.parse(String(taken.body.value[0]!.startTime));
      const resumed = await call(admin, "PUT", `/ScheduledReport/resume/${deleted.reportId}`);
      assert.equal(resumed.status, 200, resumed.body.message);
      assert.equal(resumed.body.value[0]!.user, BOB_UPN);
      assert.equal(resumed.body.value[0]!.reportStatus, "Active");
      clock.set(newStart + 60_000);
      assert.equal(await tick(), 1);
      assert.equal((await executions(admin, deleted.reportId, "Completed")).body.value.length, 1);
      assert.equal(reportFiles(deleted.reportId).length, 1);
      // When Bob loses the role in turn, his report stops too.
      await store.directoryRoles.revoke(CONTOSO_TENANT, DirectoryRole.GlobalAdministrator, BOB_HOME, clock.now());
      clock.set(newStart + 4 * HOUR + 60_000);
      assert.equal(await tick(), 1);
      await store.directoryRoles.grant(CONTOSO_TENANT, DirectoryRole.GlobalAdministrator, BOB_HOME, clock.now());
      const last = (await executions(admin, deleted.reportId)).body.value[0]!;
      assert.equal(last.executionStatus, "Failed");
      assert.match(String(last.errorMessage), /the report's user bob@contoso\.example .* no longer holds/);
      assert.equal(reportFiles(deleted.reportId).length, 1);
    });

    it("a report recorded before its user's directory ids were kept is checked by its user's UPN", async () => {
      await store.directoryRoles.grant(CONTOSO_TENANT, DirectoryRole.ExecutiveReportViewer, BOB_HOME, clock.now());
      const tok = await bob();
      const q = await call(tok, "POST", "/ScheduledQueries", { Name: "legacy", Query: "SELECT MpnId FROM Profile" });
      const start = clock.now() + 5 * HOUR;
      const r = await call(tok, "POST", "/ScheduledReport", { ReportName: "legacy", QueryId: q.body.value[0]!.queryId, StartTime: new Date(start).toISOString(), RecurrenceInterval: 4 });
      const reportId = String(r.body.value[0]!.reportId);
      await sql`UPDATE insights_reports SET owner_tenant_id = NULL, owner_object_id = NULL WHERE report_id = ${reportId}`.execute(store.db);
      clock.set(start + 60_000);
      assert.equal(await tick(), 1);
      assert.equal((await executions(tok, reportId, "Completed")).body.value.length, 1, "Bob holds the role: it runs");
      await store.directoryRoles.revoke(CONTOSO_TENANT, DirectoryRole.ExecutiveReportViewer, BOB_HOME, clock.now());
      await store.directoryRoles.revoke(CONTOSO_TENANT, DirectoryRole.GlobalAdministrator, BOB_HOME, clock.now());
      clock.set(start + 4 * HOUR + 60_000);
      assert.equal(await tick(), 1);
      await store.directoryRoles.grant(CONTOSO_TENANT, DirectoryRole.GlobalAdministrator, BOB_HOME, clock.now());
      const e = (await executions(tok, reportId)).body.value[0]!;
      assert.equal(e.executionStatus, "Failed");
      assert.match(String(e.errorMessage), /the report's user bob@contoso\.example \(object id b0000000-\S+\) no longer holds/);
    });
  });
}
