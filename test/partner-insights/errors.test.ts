/**
 * Every documented error of the insights API, with its status and Partner Center's message, in
 * the envelope; bad input is a 4xx naming the problem, never a 500.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildApp, type OpenPalApp } from "../../src/server/app.ts";
import { testOptions } from "../../src/options/index.ts";
import { ManualClock } from "../../src/domain/time.ts";
import { PARTNER_CENTER_AUDIENCE } from "../../src/partner-insights/index.ts";
import { applyScenarioWorld } from "../scenarios/support.ts";
import { grantReportViewer } from "./support.ts";
import { ALICE_HOME, BOB_HOME, CONTOSO_TENANT, FABRIKAM_TENANT, OWNER, baseWorld } from "../scenarios/world.ts";
import { DirectoryRole } from "../../src/graph/roles.ts";

const clock = new ManualClock("2026-11-15T12:00:00Z");

describe("insights API: documented errors", () => {
  let app: OpenPalApp;
  let dataDir: string;
  let tok: string;
  let queryId: string;
  const sign = (tid: string, oid: string, aud = PARTNER_CENTER_AUDIENCE) => {
    const now = Math.floor(clock.now() / 1000);
    return app.identity.keys.sign({ iss: app.identity.issuerFor(tid), aud, tid, oid, sub: oid, ver: "2.0", idtyp: "user", iat: now - 60, nbf: now - 60, exp: now + 3600 });
  };
  const call = async (method: "GET" | "POST" | "PUT" | "DELETE", url: string, payload?: unknown, t: string | null = tok, raw?: string) => {
    const res = await app.app.inject({
      method, url: `/insights/v1/mpn${url}`, headers: { ...(t ? { authorization: `Bearer ${t}` } : {}), ...(raw !== undefined ? { "content-type": "application/json" } : {}) },
      ...(raw !== undefined ? { payload: raw } : payload ? { payload: payload as object } : {}),
    });
    const body = res.json() as { value: unknown[]; message: string; statusCode: number; totalCount: number };
    assert.equal(body.statusCode, res.statusCode, "statusCode in the envelope is the HTTP status");
    assert.deepEqual(body.value, res.statusCode >= 400 ? [] : body.value);
    return { status: res.statusCode, message: body.message };
  };
  const expect = async (p: Promise<{ status: number; message: string }>, status: number, message: RegExp) => {
    const r = await p;
    assert.equal(r.status, status, r.message);
    assert.match(r.message, message);
  };

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-insights-err-"));
    app = await buildApp(testOptions({ dataDir, logLevel: "silent", inMemory: true, insightsCallbackHosts: "hooks.example.com" }), { clock });
    await applyScenarioWorld(app.context.store, baseWorld({}, {}));
    await grantReportViewer(app.context.store, CONTOSO_TENANT, ALICE_HOME);
    tok = await sign(CONTOSO_TENANT, ALICE_HOME);
    const q = await app.app.inject({ method: "POST", url: "/insights/v1/mpn/ScheduledQueries", headers: { authorization: `Bearer ${tok}` }, payload: { Name: "q", Query: "SELECT MpnId FROM Profile" } });
    queryId = (q.json() as { value: { queryId: string }[] }).value[0]!.queryId;
  });
  after(async () => {
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const report = (over: Record<string, unknown>) => ({ ReportName: "r", QueryId: queryId, StartTime: "2026-11-16T00:00:00Z", RecurrenceInterval: 24, ...over });

  it("400 Invalid table name / Incorrect column name / Null or missing value", async () => {
    await expect(call("POST", "/ScheduledQueries", { Name: "x", Query: "SELECT MpnId FROM Nope" }), 400, /^Invalid table name/);
    await expect(call("POST", "/ScheduledQueries", { Name: "x", Query: "SELECT Nope FROM AzureUsage" }), 400, /^Incorrect column name: 'Nope' at line 1, column 8/);
    await expect(call("POST", "/ScheduledQueries", { Name: "x" }), 400, /^Null or missing value: Query is required/);
    await expect(call("POST", "/ScheduledQueries", { Query: "SELECT MpnId FROM Profile" }), 400, /^Null or missing value: Name is required/);
    await expect(call("POST", "/ScheduledReport", report({ ReportName: "" })), 400, /^Null or missing value: ReportName/);
    await expect(call("GET", "/ScheduledQueries/testQueryResult"), 400, /^Null or missing value/);
    await expect(call("GET", "/ScheduledDataset?datasetName=Nope"), 400, /^Invalid table name/);
  });
  it("400 Recurrence Interval must be between 4 and 2160", async () => {
    await expect(call("POST", "/ScheduledReport", report({ RecurrenceInterval: 3 })), 400, /^Recurrence Interval must be between 4 and 2160/);
    await expect(call("POST", "/ScheduledReport", report({ RecurrenceInterval: 2161 })), 400, /^Recurrence Interval must be between 4 and 2160/);
  });
  it("400 Invalid QueryId", async () => {
    await expect(call("POST", "/ScheduledReport", report({ QueryId: "00000000-0000-4000-8000-000000000000" })), 400, /^Invalid QueryId/);
    await expect(call("GET", "/ScheduledQueries/testQueryResult?queryId=nope"), 400, /^Invalid QueryId/);
  });
  it("400 when a scheduled report starts less than 4 hours ahead", async () => {
    await expect(call("POST", "/ScheduledReport", report({ StartTime: "2026-11-15T15:00:00Z" })), 400, /at least 4 hours/);
  });
  it("400 for bad times, formats, methods, query times without ExecuteNow, and callback hosts not allowed", async () => {
    await expect(call("POST", "/ScheduledReport", report({ StartTime: "tomorrow" })), 400, /yyyy-MM-ddTHH:mm:ssZ/);
    await expect(call("POST", "/ScheduledReport", report({ Format: "XLSX" })), 400, /CSV or TSV/);
    await expect(call("POST", "/ScheduledReport", report({ CallbackUrl: "https://hooks.example.com/x", CallbackMethod: "PATCH" })), 400, /GET or POST/);
    await expect(call("POST", "/ScheduledReport", report({ QueryStartTime: "2026-10-01T00:00:00Z" })), 400, /ExecuteNow/);
    await expect(call("POST", "/ScheduledReport", report({ CallbackUrl: "http://169.254.169.254/latest" })), 400, /--insights-callback-hosts/);
    await expect(call("POST", "/ScheduledReport", report({ CallbackUrl: "not a url" })), 400, /absolute URL/);
    assert.equal((await call("POST", "/ScheduledReport", report({ CallbackUrl: "https://hooks.example.com/x" }))).status, 200);
  });
  it("400 for a body that is not JSON, or not an object", async () => {
    await expect(call("POST", "/ScheduledQueries", undefined, tok, "{not json"), 400, /not valid JSON/);
    await expect(call("POST", "/ScheduledQueries", undefined, tok, "[1,2]"), 400, /JSON object/);
    await expect(call("POST", "/ScheduledQueries", { Name: 5, Query: "SELECT MpnId FROM Profile" }), 400, /Name must be a string/);
  });
  it("404 No item found with given filters.", async () => {
    await expect(call("GET", "/ScheduledReport?reportId=00000000-0000-4000-8000-000000000000"), 404, /^No item found with given filters\.$/);
    await expect(call("GET", "/ScheduledQueries?queryName=none"), 404, /^No item found with given filters\.$/);
    await expect(call("DELETE", "/ScheduledQueries/00000000-0000-4000-8000-000000000000"), 404, /^No item found/);
    await expect(call("PUT", "/ScheduledReport/pause/00000000-0000-4000-8000-000000000000"), 404, /^No item found/);
  });
  it("404 There are no executions … before the first completed run", async () => {
    const created = await app.app.inject({ method: "POST", url: "/insights/v1/mpn/ScheduledReport", headers: { authorization: `Bearer ${tok}` }, payload: report({}) });
    const id = (created.json() as { value: { reportId: string }[] }).value[0]!.reportId;
    await expect(call("GET", `/ScheduledReport/execution/${id}`), 404, /^There are no executions that have occurred for the given filter conditions$/);
    await expect(call("GET", `/ScheduledReport/execution/${id}?executionStatus=Done`), 400, /executionStatus "Done"/);
  });
  it("400 deleting a system query", async () => {
    await expect(call("DELETE", "/ScheduledQueries/d1a4d75e-5ca8-4847-845f-ee0a9be6f07b"), 400, /^Invalid QueryId: .*system query/);
  });
  it("403 for a partner-tenant user without Executive report viewer or Global Administrator; either role, held now, lets the user in", async () => {
    const bob = await sign(CONTOSO_TENANT, BOB_HOME);
    const denied = /^Access denied: the user .* does not hold a role that may see revenue .*Executive report viewer or Global Administrator/;
    await expect(call("GET", "/ScheduledDataset", undefined, bob), 403, denied);
    await expect(call("POST", "/ScheduledQueries", { Name: "x", Query: "SELECT MpnId FROM Profile" }, bob), 403, denied);
    const roles = app.context.store.directoryRoles;
    for (const role of [DirectoryRole.GlobalAdministrator, DirectoryRole.ExecutiveReportViewer]) {
      await roles.grant(CONTOSO_TENANT, role, BOB_HOME, clock.now() - 1000);
      await expect(call("GET", "/ScheduledDataset", undefined, bob), 200, /^Dataset fetched successfully$/);
      await roles.revoke(CONTOSO_TENANT, role, BOB_HOME, clock.now());
      await expect(call("GET", "/ScheduledDataset", undefined, bob), 403, denied);
    }
    // Another tenant's role does not count: the role is held in the partner tenant.
    await roles.grant(FABRIKAM_TENANT, DirectoryRole.ExecutiveReportViewer, BOB_HOME, null);
    await expect(call("GET", "/ScheduledDataset", undefined, bob), 403, denied);
  });
  it("403 for an app-only token of the partner tenant, even one holding the role (app + user only)", async () => {
    const now = Math.floor(clock.now() / 1000);
    const sp = "a1a1a1a1-0000-4000-8000-000000000099";
    await app.context.store.directoryRoles.grant(CONTOSO_TENANT, DirectoryRole.GlobalAdministrator, sp, null);
    const appToken = await app.identity.keys.sign({ iss: app.identity.issuerFor(CONTOSO_TENANT), aud: PARTNER_CENTER_AUDIENCE, tid: CONTOSO_TENANT, oid: sp, sub: sp, ver: "2.0", idtyp: "app", azp: sp, iat: now - 60, nbf: now - 60, exp: now + 3600 });
    await expect(call("GET", "/ScheduledDataset", undefined, appToken), 403, /^Access denied: app-only tokens are not accepted/);
  });
  it("an unknown path under /insights/v1/mpn is 404 and a wrong method 405 (with Allow), both in the envelope", async () => {
    const raw = async (method: "GET" | "PATCH" | "POST" | "DELETE", url: string) => {
      const res = await app.app.inject({ method, url, headers: { authorization: `Bearer ${tok}` } });
      const body = res.json() as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ["dataRedacted", "message", "nextLink", "statusCode", "totalCount", "value"], `${method} ${url}: the envelope`);
      assert.equal(body.statusCode, res.statusCode);
      assert.deepEqual(body.value, []);
      assert.equal(body.totalCount, 0);
      return { status: res.statusCode, message: String(body.message), allow: res.headers.allow };
    };
    for (const url of ["/insights/v1/mpn", "/insights/v1/mpn/", "/insights/v1/mpn/Nope", "/insights/v1/mpn/ScheduledQueries/abc/def", "/insights/v1/mpn/scheduleddatasets?datasetName=x"]) {
      const r = await raw("GET", url);
      assert.equal(r.status, 404, `${url}: ${r.message}`);
      assert.match(r.message, /^No item found with given filters\. GET \/insights\/v1\/mpn\S* is not a path of the insights API/);
      assert.doesNotMatch(r.message, /\?/, "the query string is not echoed");
    }
    const patch = await raw("PATCH", "/insights/v1/mpn/ScheduledReport");
    assert.equal(patch.status, 405, patch.message);
    assert.match(patch.message, /^Method not allowed: PATCH \/insights\/v1\/mpn\/ScheduledReport .*answers POST, GET/);
    assert.equal(patch.allow, "POST, GET, HEAD");
    const get = await raw("GET", "/insights/v1/mpn/ScheduledReport/some-report");
    assert.equal(get.status, 405, get.message);
    assert.equal(get.allow, "PUT, DELETE");
    const post = await raw("POST", "/insights/v1/mpn/ScheduledDataset");
    assert.equal(post.status, 405, post.message);
    assert.equal(post.allow, "GET, HEAD");
    const del = await raw("DELETE", "/insights/v1/mpn/reportDownload/abc");
    assert.equal(del.status, 405, del.message);
    // Outside the base the server's own 404 answers.
    const outside = await app.app.inject({ method: "GET", url: "/insights/v1/mpnx" });
    assert.equal(outside.statusCode, 404);
    assert.equal((outside.json() as { error?: unknown }).error !== undefined, true);
  });
  it("401 for a missing, malformed or wrong-audience token; 403 for a tenant that is no partner's", async () => {
    await expect(call("GET", "/ScheduledDataset", undefined, null), 401, /Authentication failed.*api\.partnercenter\.microsoft\.com/);
    await expect(call("GET", "/ScheduledDataset", undefined, "garbage"), 401, /Authentication failed/);
    await expect(call("GET", "/ScheduledDataset", undefined, await sign(CONTOSO_TENANT, ALICE_HOME, "https://management.azure.com/")), 401, /audience/);
    await expect(call("GET", "/ScheduledDataset", undefined, await sign(FABRIKAM_TENANT, OWNER)), 403, /not a partner organisation's tenant/);
  });
});
