/**
 * The insights API driven the way the public scripts drive it (PARTNER-INSIGHTS-API.md): list
 * datasets, create a query, test it, create an ExecuteNow report, poll its executions, download
 * the CSV by its secure link without a token — and the numbers equal the CLI report's.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startTestServer, type TestServer } from "../support/server.ts";
import { applyScenarioWorld, daily, runScenario } from "../scenarios/support.ts";
import { ALICE_GUEST, ALICE_HOME, CONTOSO_TENANT, FABRIKAM_TENANT, NORA_GUEST, NORA_HOME, NORTHWIND_TENANT, PROD, SUB_PROD, baseWorld, vm } from "../scenarios/world.ts";
import { ManualClock } from "../../src/domain/time.ts";
import { azureUsageReport } from "../../src/attribution/index.ts";
import { parseDecimal, formatDecimal } from "../../src/domain/attribution.ts";
import { AZURE_USAGE_SYSTEM_QUERY_ID, LINK_LIFETIME_MS, partnerInsightsOf } from "../../src/partner-insights/index.ts";
import { BASE, call, grantReportViewer, pcToken, runDue } from "./support.ts";

const MONTH = "2026-10";
const NOW = "2026-11-15T12:00:00Z";

describe("insights API: the public-script flow", () => {
  let server: TestServer;
  let contoso: string;
  let northwind: string;
  let receiver: Server;
  let receiverUrl: string;
  const received: { method: string; url: string; body: string }[] = [];
  let failNext = 0;
  const clock = new ManualClock(NOW);

  before(async () => {
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        received.push({ method: req.method ?? "", url: req.url ?? "", body });
        res.statusCode = failNext-- > 0 ? 503 : 200;
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    server = await startTestServer({ options: { insightsCallbackHosts: "127.0.0.1" }, deps: { clock } });
    const store = server.openpal.context.store;
    await applyScenarioWorld(store, baseWorld({
      roleAssignments: [{ principalId: ALICE_GUEST, role: "Owner", scope: PROD }, { principalId: NORA_GUEST, role: "Contributor", scope: PROD }],
    }, { links: [{ tenantId: FABRIKAM_TENANT, objectId: ALICE_GUEST, partnerId: "4000001" }, { tenantId: FABRIKAM_TENANT, objectId: NORA_GUEST, partnerId: "5000001" }] }));
    await runScenario(store, daily(MONTH, (day) => ({ subscription: SUB_PROD, resource: vm(SUB_PROD, "rg-web", "web1"), cost: 10, service: day.endsWith("01T00:00:00Z") ? "Storage" : "Virtual Machines" })), MONTH, "pec", server.dataDir);
    await grantReportViewer(store, CONTOSO_TENANT, ALICE_HOME);
    await grantReportViewer(store, NORTHWIND_TENANT, NORA_HOME);
    contoso = await pcToken(server, CONTOSO_TENANT, ALICE_HOME);
    northwind = await pcToken(server, NORTHWIND_TENANT, NORA_HOME);
    partnerInsightsOf(server.openpal.context)!.scheduler.backoffMs = [5, 5];
  });
  after(async () => {
    await server?.close();
    await new Promise<void>((r) => receiver.close(() => r()));
  });

  it("GET ScheduledDataset lists AzureUsage, Profile and BusinessApplicationsUsage with columns, metrics, date ranges", async () => {
    const r = await call(server, "GET", "/ScheduledDataset", contoso);
    assert.equal(r.status, 200);
    assert.equal(r.body.message, "Dataset fetched successfully");
    assert.equal(r.body.statusCode, 200);
    assert.equal(r.body.dataRedacted, false);
    assert.equal(r.body.nextLink, null);
    const names = r.body.value.map((d) => d.datasetName);
    assert.deepEqual(names, ["AzureUsage", "Profile", "BusinessApplicationsUsage"]);
    const az = r.body.value[0]!;
    assert.ok((az.selectableColumns as string[]).includes("PGAMpnId"));
    assert.ok((az.availableMetrics as string[]).includes("TotalACR"));
    assert.ok((az.availableDateRanges as string[]).includes("LAST_MONTH"));
    assert.equal(az.minimumRecurrenceInterval, 4);
    const one = await call(server, "GET", "/ScheduledDataset?datasetName=azureusage", contoso);
    assert.equal(one.body.totalCount, 1);
  });

  it("create (camelCase), test, report ExecuteNow (PascalCase), poll, download without a token: ACR equals the CLI report's", async () => {
    const q = await call(server, "POST", "/ScheduledQueries", contoso, {
      name: "ACR by subscription",
      description: "for the test",
      query: "SELECT MpnId, PartnerAttributionType, SubscriptionId, AdminType, IsACRDuplicateAtPGALevel, TotalACR FROM AzureUsage WHERE PartnerAttributionType = 'PAL' TIMESPAN LAST_MONTH",
    });
    assert.equal(q.status, 200);
    assert.equal(q.body.message, "Query created successfully");
    const query = q.body.value[0]!;
    assert.equal(query.type, "userDefined");
    assert.match(String(query.queryId), /^[0-9a-f-]{36}$/);
    assert.match(String(query.createdTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const t = await call(server, "GET", `/ScheduledQueries/testQueryResult?queryId=${query.queryId}`, contoso);
    assert.equal(t.status, 200);
    assert.deepEqual(t.body.value.map((x) => [x.MpnId, x.PartnerAttributionType, x.AdminType, x.IsACRDuplicateAtPGALevel, x.TotalACR]), [["4000001", "PAL", "Owner", 0, "310.00"]]);

    const rep = await call(server, "POST", "/ScheduledReport", contoso, {
      ReportName: "ACR now", Description: "one-off", QueryId: query.queryId, StartTime: "2026-11-15T12:00:00Z", ExecuteNow: true, Format: "CSV",
      CallbackUrl: receiverUrl, CallbackMethod: "POST",
    });
    assert.equal(rep.status, 200, JSON.stringify(rep.body));
    assert.equal(rep.body.message, "Report created successfully");
    const report = rep.body.value[0]!;
    assert.equal(report.format, "csv");
    assert.equal(report.reportStatus, "Active");
    assert.equal(report.executeNow, true);
    assert.equal(report.query, query.query);

    // Poll until Completed, as the scripts do (the scheduler was poked at create; tick to be sure).
    let exec: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !exec; i++) {
      await runDue(server);
      const e = await call(server, "GET", `/ScheduledReport/execution/${report.reportId}`, contoso);
      if (e.status === 200) exec = e.body.value[0];
    }
    assert.ok(exec, "an execution completed");
    assert.equal(exec.executionStatus, "Completed");
    assert.equal(exec.format, "csv");
    const link = String(exec.reportAccessSecureLink);
    assert.ok(link.startsWith(`${server.url}${BASE}/reportDownload/`));
    assert.equal(exec.reportExpiryTime, new Date(Date.parse(String(exec.reportGeneratedTime)) + LINK_LIFETIME_MS).toISOString().replace(/\.\d{3}Z$/, "Z"));

    const dl = await server.fetch(link);
    assert.equal(dl.status, 200);
    assert.match(dl.headers.get("content-type") ?? "", /text\/csv/);
    const csv = (await dl.text()).trim().split("\n");
    assert.equal(csv[0], "MpnId,PartnerAttributionType,SubscriptionId,AdminType,IsACRDuplicateAtPGALevel,TotalACR");
    const csvTotal = csv.slice(1).map((l) => l.split(",")).filter((c) => c[4] === "0").reduce((s, c) => s + parseDecimal(c[5]!), 0n);
    const cli = (await azureUsageReport(server.openpal.context.store, { month: MONTH, globalId: "4000000" })).filter((r) => r.PartnerAttributionType === "PAL" && !r.IsACRDuplicateAtPGALevel);
    assert.equal(formatDecimal(csvTotal), formatDecimal(cli.reduce((s, r) => s + parseDecimal(r.ACR), 0n)));
    assert.equal(formatDecimal(csvTotal), "310.00");

    // The callback: one POST to {CallbackUrl}/{reportId}.
    await partnerInsightsOf(server.openpal.context)!.scheduler.idle();
    const posts = received.filter((x) => x.url === `/hooks/${String(report.reportId)}`);
    assert.equal(posts.length, 1);
    assert.equal(posts[0]!.method, "POST");
  });

  it("ServiceName and MeterCategory split ACR per service when selected", async () => {
    const t = await call(server, "GET", `/ScheduledQueries/testQueryResult?exportQuery=${encodeURIComponent("SELECT ServiceName, MeterCategory, TotalACR FROM AzureUsage WHERE MpnId = '4000001' ORDER BY TotalACR TIMESPAN LAST_MONTH")}`, contoso);
    assert.equal(t.status, 200, JSON.stringify(t.body));
    assert.deepEqual(t.body.value.map((x) => [x.ServiceName, x.MeterCategory, x.TotalACR]), [["Virtual Machines", "Virtual Machines", "300.00"], ["Storage", "Storage", "10.00"]]);
  });

  it("X-AadUserTicket carries the token; PascalCase and camelCase bind the same", async () => {
    const r = await call(server, "GET", "/ScheduledDataset", undefined, undefined, { "X-AadUserTicket": contoso });
    assert.equal(r.status, 200);
    const a = await call(server, "POST", "/ScheduledQueries", undefined, { Name: "p", Query: "SELECT MpnId FROM Profile" }, { "X-AadUserTicket": contoso });
    assert.equal(a.status, 200);
    assert.equal(a.body.value[0]!.name, "p");
  });

  it("system queries have their documented ids and run; includeOnlySystemQueries lists only them", async () => {
    const sys = await call(server, "GET", "/ScheduledQueries?includeOnlySystemQueries=true", contoso);
    assert.equal(sys.status, 200);
    assert.ok(sys.body.value.every((q) => q.type === "system"));
    assert.ok(sys.body.value.some((q) => q.queryId === AZURE_USAGE_SYSTEM_QUERY_ID));
    const own = await call(server, "GET", "/ScheduledQueries?includeSystemQueries=false", contoso);
    assert.ok(own.body.value.every((q) => q.type === "userDefined"));
    const t = await call(server, "GET", `/ScheduledQueries/testQueryResult?queryId=${AZURE_USAGE_SYSTEM_QUERY_ID}`, contoso);
    assert.equal(t.status, 200, JSON.stringify(t.body));
    // One row per service (the query selects ServiceName and MeterCategory).
    assert.deepEqual(t.body.value.map((x) => [x.PGAMpnId, x.MpnId, x.PartnerName, x.CustomerName, x.CustomerTpid, x.ServiceName, x.TotalACR]), [
      ["4000000", "4000001", "Contoso Consulting", "Fabrikam", "", "Storage", "10.00"],
      ["4000000", "4000001", "Contoso Consulting", "Fabrikam", "", "Virtual Machines", "300.00"],
    ]);
  });

  it("`;` separates several ids; getLatestExecution=false lists the last 90 days", async () => {
    const mk = async (name: string) => (await call(server, "POST", "/ScheduledQueries", contoso, { Name: name, Query: "SELECT MpnId, TotalACR FROM AzureUsage TIMESPAN LAST_MONTH" })).body.value[0]!.queryId as string;
    const a = await mk("a");
    const b = await mk("b");
    const both = await call(server, "GET", `/ScheduledQueries?queryId=${a};${b}&includeSystemQueries=false`, contoso);
    assert.deepEqual(both.body.value.map((q) => q.queryId).sort(), [a, b].sort());
    const rep = (await call(server, "POST", "/ScheduledReport", contoso, { reportName: "twice", queryId: a, startTime: NOW, executeNow: true })).body.value[0]!;
    await runDue(server);
    // A second run of the same report: PUT re-arms ExecuteNow.
    clock.advance(60_000);
    const put = await call(server, "PUT", `/ScheduledReport/${rep.reportId}`, contoso, { reportName: "twice", queryId: a, startTime: NOW, executeNow: true, format: "tsv" });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await runDue(server);
    const latest = await call(server, "GET", `/ScheduledReport/execution/${rep.reportId}`, contoso);
    assert.equal(latest.body.value.length, 1);
    const all = await call(server, "GET", `/ScheduledReport/execution/${rep.reportId}?getLatestExecution=false`, contoso);
    assert.equal(all.body.value.length, 2);
    assert.equal(all.body.value[0]!.format, "tsv");
    const ids = all.body.value.map((e) => e.executionId as string);
    const picked = await call(server, "GET", `/ScheduledReport/execution/${rep.reportId}?executionId=${ids[0]};${ids[1]}&getLatestExecution=false&executionStatus=Completed;Failed`, contoso);
    assert.equal(picked.body.value.length, 2);
    const reports = await call(server, "GET", `/ScheduledReport?reportId=${rep.reportId};00000000-0000-0000-0000-000000000000`, contoso);
    assert.equal(reports.body.value.length, 1);
  });

  it("a callback that fails is retried with back-off, every attempt recorded", async () => {
    const q = (await call(server, "POST", "/ScheduledQueries", contoso, { Name: "cb", Query: "SELECT MpnId FROM Profile" })).body.value[0]!;
    failNext = 2;
    const rep = (await call(server, "POST", "/ScheduledReport", contoso, { ReportName: "cb", QueryId: q.queryId, StartTime: NOW, ExecuteNow: true, CallbackUrl: receiverUrl, CallbackMethod: "GET" })).body.value[0]!;
    await runDue(server);
    const exec = (await call(server, "GET", `/ScheduledReport/execution/${rep.reportId}`, contoso)).body.value[0]!;
    const attempts = await partnerInsightsOf(server.openpal.context)!.store.callbackAttempts(String(exec.executionId));
    assert.deepEqual(attempts.map((a) => [a.attempt, a.method, a.statusCode]), [[1, "GET", 503], [2, "GET", 503], [3, "GET", 200]]);
    assert.equal(new URL(attempts[0]!.url).searchParams.get("reportId"), rep.reportId);
  });

  it("pause and resume change reportStatus; DELETE removes the report and its executions", async () => {
    const q = (await call(server, "POST", "/ScheduledQueries", contoso, { Name: "sched", Query: "SELECT MpnId FROM Profile" })).body.value[0]!;
    const rep = (await call(server, "POST", "/ScheduledReport", contoso, { ReportName: "s", QueryId: q.queryId, StartTime: "2026-11-16T00:00:00Z", RecurrenceInterval: 24, RecurrenceCount: 3 })).body.value[0]!;
    assert.equal(rep.reportStatus, "Active");
    assert.equal(rep.recurrenceInterval, 24);
    assert.equal(rep.recurrenceCount, 3);
    assert.equal((await call(server, "PUT", `/ScheduledReport/pause/${rep.reportId}`, contoso)).body.value[0]!.reportStatus, "Paused");
    assert.equal((await call(server, "PUT", `/ScheduledReport/resume/${rep.reportId}`, contoso)).body.value[0]!.reportStatus, "Active");
    const del = await call(server, "DELETE", `/ScheduledReport/${rep.reportId}`, contoso);
    assert.equal(del.status, 200);
    assert.equal((await call(server, "GET", `/ScheduledReport?reportId=${rep.reportId}`, contoso)).status, 404);
  });

  it("a partner never sees another partner's queries, reports or rows", async () => {
    const q = (await call(server, "POST", "/ScheduledQueries", contoso, { Name: "mine", Query: "SELECT MpnId, TotalACR FROM AzureUsage TIMESPAN LAST_MONTH" })).body.value[0]!;
    assert.equal((await call(server, "GET", `/ScheduledQueries?queryId=${q.queryId}`, northwind)).status, 404);
    assert.equal((await call(server, "DELETE", `/ScheduledQueries/${q.queryId}`, northwind)).status, 404);
    assert.equal((await call(server, "GET", `/ScheduledQueries/testQueryResult?queryId=${q.queryId}`, northwind)).status, 400);
    const rep = (await call(server, "POST", "/ScheduledReport", contoso, { ReportName: "mine", QueryId: q.queryId, StartTime: NOW, ExecuteNow: true })).body.value[0]!;
    assert.equal((await call(server, "GET", `/ScheduledReport/execution/${rep.reportId}`, northwind)).status, 404);
    assert.equal((await call(server, "PUT", `/ScheduledReport/pause/${rep.reportId}`, northwind)).status, 404);
    // Northwind's own view of the same usage: only its own rows, whatever the WHERE says.
    const t = await call(server, "GET", `/ScheduledQueries/testQueryResult?exportQuery=${encodeURIComponent("SELECT PGAMpnId, MpnId, TotalACR FROM AzureUsage WHERE PGAMpnId IN ('4000000', '5000000') TIMESPAN LIFETIME")}`, northwind);
    assert.deepEqual(t.body.value.map((x) => [x.PGAMpnId, x.MpnId, x.TotalACR]), [["5000000", "5000001", "310.00"]]);
    const p = await call(server, "GET", `/ScheduledQueries/testQueryResult?exportQuery=${encodeURIComponent("SELECT MpnId, PGA_MPNId, HierarchyLevel FROM Profile")}`, northwind);
    assert.ok(p.body.value.every((x) => x.PGA_MPNId === "5000000"));
  });

  it("a download link serves only its file, refuses a forged token, and expires", async () => {
    const q = (await call(server, "POST", "/ScheduledQueries", contoso, { Name: "exp", Query: "SELECT MpnId FROM Profile" })).body.value[0]!;
    const rep = (await call(server, "POST", "/ScheduledReport", contoso, { ReportName: "exp", QueryId: q.queryId, StartTime: NOW, ExecuteNow: true })).body.value[0]!;
    await runDue(server);
    const exec = (await call(server, "GET", `/ScheduledReport/execution/${rep.reportId}`, contoso)).body.value[0]!;
    const link = String(exec.reportAccessSecureLink);
    assert.equal((await server.fetch(link)).status, 200);
    const forged = link.slice(0, -3) + (link.endsWith("AAA") ? "BBB" : "AAA");
    assert.equal((await server.fetch(forged)).status, 404);
    assert.equal((await server.fetch(`${BASE}/reportDownload/..%2F..%2Fopenpal.db`)).status, 404);
    clock.advance(LINK_LIFETIME_MS + 1000);
    const expired = await server.fetch(link);
    assert.equal(expired.status, 410);
    assert.match(((await expired.json()) as { message: string }).message, /expired/);
  });
});
