/**
 * Partner Center (ASP.NET) routes case-insensitively: every `/insights/v1/mpn` operation answers
 * with its fixed segments in any case (`/INSIGHTS/v1/MPN/scheduledQueries`), while ids and the
 * download token keep their case; unknown paths and wrong methods still answer 404/405 in the
 * envelope, and routes outside this API stay case-sensitive.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildApp, type OpenPalApp } from "../../src/server/app.ts";
import { testOptions } from "../../src/options/index.ts";
import { ManualClock } from "../../src/domain/time.ts";
import { PARTNER_CENTER_AUDIENCE, partnerInsightsOf } from "../../src/partner-insights/index.ts";
import { applyScenarioWorld } from "../scenarios/support.ts";
import { grantReportViewer } from "./support.ts";
import { ALICE_HOME, CONTOSO_TENANT, baseWorld } from "../scenarios/world.ts";

const clock = new ManualClock("2026-11-15T12:00:00Z");
type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
const ENVELOPE_KEYS = ["dataRedacted", "message", "nextLink", "statusCode", "totalCount", "value"];

describe("insights API: paths in any case", () => {
  let app: OpenPalApp;
  let dataDir: string;
  let tok: string;

  const raw = async (method: Method, url: string, payload?: unknown, token: string | null = tok) => {
    const res = await app.app.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(payload ? { payload: payload as object } : {}) });
    return res;
  };
  /** A call that must answer in the insights envelope, with the HTTP status in `statusCode`. */
  const call = async (method: Method, url: string, payload?: unknown) => {
    const res = await raw(method, url, payload);
    const body = res.json() as { value: Record<string, unknown>[]; message: string; statusCode: number; totalCount: number };
    assert.deepEqual(Object.keys(body).sort(), ENVELOPE_KEYS, `${method} ${url}: the envelope`);
    assert.equal(body.statusCode, res.statusCode, `${method} ${url}: statusCode is the HTTP status`);
    return { status: res.statusCode, body, allow: res.headers.allow };
  };
  const ok = async (method: Method, url: string, message: string, payload?: unknown) => {
    const r = await call(method, url, payload);
    assert.equal(r.status, 200, `${method} ${url}: ${r.body.message}`);
    assert.equal(r.body.message, message, `${method} ${url}`);
    return r.body.value;
  };

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-insights-case-"));
    app = await buildApp(testOptions({ dataDir, logLevel: "silent", inMemory: true, metrics: "open" }), { clock });
    await applyScenarioWorld(app.context.store, baseWorld({}, {}));
    await grantReportViewer(app.context.store, CONTOSO_TENANT, ALICE_HOME);
    const now = Math.floor(clock.now() / 1000);
    tok = await app.identity.keys.sign({
      iss: app.identity.issuerFor(CONTOSO_TENANT), aud: PARTNER_CENTER_AUDIENCE, tid: CONTOSO_TENANT, oid: ALICE_HOME, sub: ALICE_HOME, ver: "2.0", idtyp: "user",
      iat: now - 60, nbf: now - 60, exp: now + 3600,
    });
  });
  after(async () => {
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("every operation answers with its fixed segments in any case", async () => {
    for (const url of ["/insights/v1/mpn/ScheduledDataset", "/insights/v1/mpn/scheduleddataset", "/INSIGHTS/V1/MPN/SCHEDULEDDATASET", "/Insights/v1/Mpn/scheduledDataset?datasetName=Profile"]) {
      const value = await ok("GET", url, "Dataset fetched successfully");
      assert.ok(value.some((d) => d.datasetName === "Profile"), url);
    }

    const queryIds: string[] = [];
    for (const url of ["/insights/v1/mpn/scheduledqueries", "/INSIGHTS/v1/MPN/ScheduledQueries", "/insights/V1/mpn/SCHEDULEDQUERIES"]) {
      const [q] = await ok("POST", url, "Query created successfully", { Name: `q ${queryIds.length}`, Query: "SELECT MpnId, HierarchyLevel FROM Profile" });
      queryIds.push(String(q!.queryId));
    }
    for (const url of [`/insights/v1/mpn/scheduledQueries?queryId=${queryIds[0]}`, `/INSIGHTS/V1/MPN/SCHEDULEDQUERIES?queryId=${queryIds[0]}`]) {
      const value = await ok("GET", url, "Queries fetched successfully");
      assert.deepEqual(value.map((q) => q.queryId), [queryIds[0]], url);
    }
    for (const url of [`/insights/v1/mpn/scheduledqueries/testqueryresult?queryId=${queryIds[0]}`, `/INSIGHTS/v1/mpn/ScheduledQueries/TESTQUERYRESULT?queryId=${queryIds[0]}`]) {
      const rows = await ok("GET", url, "Query executed successfully");
      assert.ok(rows.length > 0 && "HierarchyLevel" in rows[0]!, url);
    }

    const report = { ReportName: "r", QueryId: queryIds[0], StartTime: "2026-11-15T12:00:00Z", ExecuteNow: true };
    const [created] = await ok("POST", "/insights/v1/MPN/scheduledreport", "Report created successfully", report);
    const reportId = String(created!.reportId);
    await ok("POST", "/Insights/V1/Mpn/SCHEDULEDREPORT", "Report created successfully", { ...report, ReportName: "r2" });
    for (const url of [`/insights/v1/mpn/scheduledreport?reportId=${reportId}`, `/INSIGHTS/V1/MPN/SCHEDULEDREPORT?reportId=${reportId}`]) {
      assert.deepEqual((await ok("GET", url, "Reports fetched successfully")).map((r) => r.reportId), [reportId], url);
    }
    // Run the ExecuteNow report (the create also poked the scheduler: wait for that tick too).
    const scheduler = partnerInsightsOf(app.context)!.scheduler;
    await scheduler.tick();
    await scheduler.idle();
    let link = "";
    for (const url of [`/insights/v1/mpn/scheduledreport/execution/${reportId}`, `/INSIGHTS/v1/MPN/ScheduledReport/EXECUTION/${reportId}?executionStatus=completed`]) {
      const [e] = await ok("GET", url, "Executions fetched successfully");
      assert.equal(e!.executionStatus, "Completed", url);
      link = String(e!.reportAccessSecureLink);
    }

    // The download link: its fixed segments in any case; the token is a value and keeps its case.
    const token = link.slice(link.lastIndexOf("/") + 1);
    assert.match(token, /[a-z]/);
    for (const url of [`/insights/v1/mpn/reportdownload/${token}`, `/INSIGHTS/V1/MPN/REPORTDOWNLOAD/${token}`]) {
      const res = await raw("GET", url, undefined, null);
      assert.equal(res.statusCode, 200, `${url}: ${res.body.slice(0, 200)}`);
      assert.match(String(res.headers["content-type"]), /^text\/csv/);
      assert.match(res.body, /HierarchyLevel/);
    }
    const folded = await call("GET", `/INSIGHTS/v1/mpn/reportDownload/${token.toUpperCase()}`);
    assert.equal(folded.status, 404, "the token is not case-folded");

    await ok("PUT", `/insights/v1/mpn/scheduledreport/${reportId}`, "Report updated successfully", { ...report, ReportName: "renamed", ExecuteNow: false, StartTime: "2026-11-16T12:00:00Z" });
    for (const [url, message] of [
      [`/insights/v1/mpn/scheduledreport/PAUSE/${reportId}`, "Report paused successfully"],
      [`/INSIGHTS/V1/MPN/SCHEDULEDREPORT/RESUME/${reportId}`, "Report resumed successfully"],
      [`/insights/v1/mpn/ScheduledReport/Pause/${reportId.toUpperCase()}`, "Report paused successfully"],
    ] as const) {
      const [r] = await ok("PUT", url, message);
      assert.equal(r!.reportId, reportId, url);
      assert.equal(r!.reportName, "renamed");
    }
    const [deleted] = await ok("DELETE", `/INSIGHTS/v1/mpn/scheduledreport/${reportId}`, "Report deleted successfully");
    assert.equal(deleted!.reportId, reportId);
    const [gone] = await ok("DELETE", `/insights/v1/MPN/SCHEDULEDQUERIES/${queryIds[1]}`, "Query deleted successfully");
    assert.equal(gone!.queryId, queryIds[1]);

    // HEAD comes with GET in every case.
    const head = await raw("HEAD", "/INSIGHTS/v1/mpn/scheduleddataset");
    assert.equal(head.statusCode, 200);
    assert.equal(head.body, "");
  });

  it("in any case, an unknown path is 404 and a wrong method 405 (with Allow), in the envelope", async () => {
    for (const url of ["/INSIGHTS/V1/MPN", "/Insights/v1/Mpn/", "/INSIGHTS/v1/mpn/Nope", "/insights/v1/MPN/scheduledqueries/abc/def", "/INSIGHTS/V1/MPN/scheduleddatasets?datasetName=x"]) {
      const r = await call("GET", url);
      assert.equal(r.status, 404, `${url}: ${r.body.message}`);
      assert.deepEqual(r.body.value, []);
      // The path is echoed as sent.
      assert.ok(r.body.message.startsWith(`No item found with given filters. GET ${url.split("?")[0]} is not a path of the insights API`), r.body.message);
    }
    const expect405 = async (method: Method, url: string, allow: string) => {
      const r = await call(method, url);
      assert.equal(r.status, 405, `${method} ${url}: ${r.body.message}`);
      assert.equal(r.allow, allow, `${method} ${url}`);
      assert.match(r.body.message, new RegExp(`^Method not allowed: ${method} ${url.replace(/[/.]/g, "\\$&")} is not an operation`));
    };
    await expect405("PATCH", "/INSIGHTS/v1/mpn/scheduledReport", "POST, GET, HEAD");
    await expect405("PATCH", "/insights/v1/mpn/ScheduledReport", "POST, GET, HEAD");
    await expect405("GET", "/insights/v1/mpn/SCHEDULEDREPORT/some-report", "PUT, DELETE");
    await expect405("POST", "/Insights/V1/Mpn/ScheduledDataset", "GET, HEAD");
    await expect405("DELETE", "/INSIGHTS/V1/MPN/REPORTDOWNLOAD/abc", "GET, HEAD");
    await expect405("POST", "/insights/v1/mpn/scheduledQueries/testQueryResult", "GET, DELETE, HEAD");
  });

  it("/metrics counts an operation called in any case under its documented route pattern, the same series as the documented case; other paths under the base count under BASE/*", async () => {
    const series = async () => {
      const text = (await app.app.inject({ method: "GET", url: "/metrics" })).body;
      return new Map([...text.matchAll(/^openpal_http_requests_total\{method="([A-Z]+)",route="([^"]*)",status="(\d+)"\} (\d+)$/gm)].map((m) => [`${m[1]} ${m[2]} ${m[3]}`, Number(m[4])]));
    };
    const before = await series();
    await ok("GET", "/insights/v1/mpn/ScheduledDataset", "Dataset fetched successfully");
    await ok("GET", "/INSIGHTS/v1/MPN/scheduleddataset", "Dataset fetched successfully");
    await ok("GET", "/Insights/V1/Mpn/SCHEDULEDDATASET?datasetName=Profile", "Dataset fetched successfully");
    assert.equal((await call("PUT", "/INSIGHTS/v1/mpn/scheduledreport/PAUSE/no-such-report")).status, 404);
    assert.equal((await call("PUT", "/insights/v1/mpn/ScheduledReport/pause/no-such-report")).status, 404);
    assert.equal((await call("GET", "/INSIGHTS/v1/mpn/Nope")).status, 404);
    assert.equal((await call("GET", "/insights/v1/mpn/Nope")).status, 404);
    const after = await series();
    const grew = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
    assert.equal(grew("GET /insights/v1/mpn/ScheduledDataset 200"), 3, "both cases count under the documented pattern");
    assert.equal(grew("PUT /insights/v1/mpn/ScheduledReport/pause/:reportId 404"), 2);
    assert.equal(grew("GET /insights/v1/mpn/* 404"), 2, "unknown paths in any case: one series");
    const labels = [...after.keys()].filter((k) => /insights|base\d/i.test(k));
    assert.deepEqual(labels.filter((k) => !/ \/insights\/v1\/mpn\//.test(k)), [], "no series under the fallback's any-case pattern");
  });

  it("a token is still required in any case; routes outside this API keep their case", async () => {
    const anon = await app.app.inject({ method: "GET", url: "/INSIGHTS/v1/mpn/scheduledqueries" });
    assert.equal(anon.statusCode, 401);
    assert.equal((anon.json() as { statusCode: number }).statusCode, 401);

    // Near misses of the base are not this API: the server's own 404, not the envelope.
    for (const url of ["/INSIGHTS/v1/MPNX", "/INSIGHTS/v2/mpn/ScheduledDataset", "/insights/v1/mpnx/ScheduledDataset", "/HEALTHZ"]) {
      const res = await raw("GET", url);
      assert.equal(res.statusCode, 404, url);
      assert.equal((res.json() as { error?: { code?: string } }).error?.code, "NotFound", url);
    }
    assert.equal((await raw("GET", "/healthz")).statusCode, 200);
    // Tenant-named routes (`/:tenant/…`) still answer for a tenant called like the API's segments.
    const oidc = await raw("GET", `/${CONTOSO_TENANT}/v2.0/.well-known/openid-configuration`);
    assert.equal(oidc.statusCode, 200);
    const named = await raw("GET", "/Insights/v2.0/.well-known/openid-configuration");
    assert.equal(named.statusCode, 400, "the identity route answers, not the insights API");
    assert.match((named.json() as { error_description: string }).error_description, /^AADSTS90002: Tenant 'Insights' not found/);
  });
});
