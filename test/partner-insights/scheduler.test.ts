/**
 * The report scheduler keeps its schedule across a restart and runs each occurrence once, also
 * with several servers on one store (SQLite and PostgreSQL).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildApp, type OpenPalApp } from "../../src/server/app.ts";
import { testOptions } from "../../src/options/index.ts";
import { ManualClock } from "../../src/domain/time.ts";
import type { Store } from "../../src/store/index.ts";
import { PARTNER_CENTER_AUDIENCE, partnerInsightsOf } from "../../src/partner-insights/index.ts";
import { storeBackends } from "../support/stores.ts";
import { applyScenarioWorld } from "../scenarios/support.ts";
import { grantReportViewer } from "./support.ts";
import { ALICE_HOME, CONTOSO_TENANT, baseWorld } from "../scenarios/world.ts";

const START = "2026-11-15T00:00:00Z";
const HOUR = 3_600_000;

async function token(app: OpenPalApp, clock: ManualClock): Promise<string> {
  const now = Math.floor(clock.now() / 1000);
  return app.identity.keys.sign({
    iss: app.identity.issuerFor(CONTOSO_TENANT), aud: PARTNER_CENTER_AUDIENCE, tid: CONTOSO_TENANT, oid: ALICE_HOME, sub: ALICE_HOME, ver: "2.0", idtyp: "user",
    iat: now - 60, nbf: now - 60, exp: now + 10 * 24 * 3600,
  });
}

async function call(app: OpenPalApp, tok: string, method: "GET" | "POST" | "PUT", url: string, payload?: unknown) {
  const res = await app.app.inject({ method, url: `/insights/v1/mpn${url}`, headers: { authorization: `Bearer ${tok}` }, ...(payload ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: res.json() as { value: Record<string, unknown>[]; message: string } };
}

for (const backend of storeBackends()) {
  describe(`insights scheduler (${backend.name})`, () => {
    let store: Store;
    let dataDir: string;
    const clock = new ManualClock(START);
    const build = () => buildApp(testOptions({ dataDir, logLevel: "silent", inMemory: true }), { store, clock });
    before(async () => {
      store = await backend.open();
      dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-insights-sched-"));
      await applyScenarioWorld(store, baseWorld({}, {}));
      await grantReportViewer(store, CONTOSO_TENANT, ALICE_HOME);
    });
    after(async () => {
      await store?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("a recurring report keeps its schedule across a restart, and runs each occurrence once", async () => {
      let app = await build();
      const tok = await token(app, clock);
      const q = await call(app, tok, "POST", "/ScheduledQueries", { Name: "profile", Query: "SELECT MpnId, HierarchyLevel FROM Profile" });
      assert.equal(q.status, 200, JSON.stringify(q.body));
      const r = await call(app, tok, "POST", "/ScheduledReport", {
        ReportName: "every 4h", QueryId: q.body.value[0]!.queryId, StartTime: "2026-11-15T05:00:00Z", RecurrenceInterval: 4, RecurrenceCount: 3, Format: "TSV",
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const reportId = String(r.body.value[0]!.reportId);
      assert.equal(await partnerInsightsOf(app.context)!.scheduler.tick(), 0, "nothing is due before StartTime");
      await app.close();

      // Restart: a new server on the same store, after the first occurrence was due.
      clock.set("2026-11-15T05:30:00Z");
      app = await build();
      assert.equal(await partnerInsightsOf(app.context)!.scheduler.tick(), 1);
      assert.equal(await partnerInsightsOf(app.context)!.scheduler.tick(), 0, "the same occurrence does not run twice");
      await app.close();

      // Two servers on one store race for the next occurrence: exactly one runs it.
      clock.set("2026-11-15T09:00:00Z");
      const a = await build();
      const b = await build();
      const ran = await Promise.all([partnerInsightsOf(a.context)!.scheduler.tick(), partnerInsightsOf(b.context)!.scheduler.tick()]);
      assert.equal(ran[0] + ran[1], 1, `one of the servers ran it (${ran.join(", ")})`);

      // The third and last occurrence; then the report is Inactive.
      clock.set("2026-11-15T13:00:00Z");
      const ran2 = await Promise.all([partnerInsightsOf(a.context)!.scheduler.tick(), partnerInsightsOf(b.context)!.scheduler.tick()]);
      assert.equal(ran2[0] + ran2[1], 1);
      clock.set("2026-11-16T13:00:00Z");
      assert.equal(await partnerInsightsOf(a.context)!.scheduler.tick(), 0, "RecurrenceCount 3 is used up");

      const ex = await call(a, tok, "GET", `/ScheduledReport/execution/${reportId}?getLatestExecution=false`);
      assert.equal(ex.status, 200);
      assert.equal(ex.body.value.length, 3);
      assert.ok(ex.body.value.every((e) => e.executionStatus === "Completed" && e.format === "tsv"));
      const rep = await call(a, tok, "GET", `/ScheduledReport?reportId=${reportId}`);
      assert.equal(rep.body.value[0]!.reportStatus, "Inactive");
      await a.close();
      await b.close();
    });

    it("a report paused misses its occurrences; resumed, it continues at the next one", async () => {
      clock.set(START);
      const app = await build();
      const tok = await token(app, clock);
      const q = await call(app, tok, "POST", "/ScheduledQueries", { Name: "p2", Query: "SELECT MpnId FROM Profile" });
      const r = await call(app, tok, "POST", "/ScheduledReport", { ReportName: "daily", QueryId: q.body.value[0]!.queryId, StartTime: "2026-11-15T06:00:00Z", RecurrenceInterval: 24 });
      const id = String(r.body.value[0]!.reportId);
      await call(app, tok, "PUT", `/ScheduledReport/pause/${id}`);
      clock.advance(7 * HOUR);
      assert.equal(await partnerInsightsOf(app.context)!.scheduler.tick(), 0);
      await call(app, tok, "PUT", `/ScheduledReport/resume/${id}`);
      assert.equal(await partnerInsightsOf(app.context)!.scheduler.tick(), 0, "the missed occurrence is skipped");
      clock.set("2026-11-16T06:00:00Z");
      assert.equal(await partnerInsightsOf(app.context)!.scheduler.tick(), 1);
      await app.close();
    });
  });
}
