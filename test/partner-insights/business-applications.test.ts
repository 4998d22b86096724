/**
 * BusinessApplicationsUsage over the insights API: the credited rows of `store.bizapps` under the
 * report column names, a partner sees its own organisation's rows only, metrics aggregate over the
 * selected columns, TIMESPAN picks whole months, and reports download them as CSV.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../support/server.ts";
import { storeBackends } from "../support/stores.ts";
import { applyScenarioWorld } from "../scenarios/support.ts";
import { ALICE_HOME, BOB_HOME, CONTOSO_TENANT, FABRIKAM_TENANT, NORA_HOME, NORTHWIND_TENANT, baseWorld } from "../scenarios/world.ts";
import { ManualClock } from "../../src/domain/time.ts";
import type { BizappsRollup, BizappsRun } from "../../src/store/bizapps.ts";
import { BUSINESS_APPLICATIONS_SYSTEM_QUERY_ID } from "../../src/partner-insights/index.ts";
import { call, grantReportViewer, pcToken, runDue } from "./support.ts";

const NOW = "2026-11-15T12:00:00Z";
const REPORT_COLUMNS = ["PartnerId", "PGAPartnerId", "PartnerName", "CustomerTenantId", "CustomerName", "EnvironmentId", "EnvironmentName",
  "EnvironmentType", "Workload", "ResourceType", "ResourceId", "ResourceName", "Month", "PartnerAssociationType", "AttributedUserObjectId",
  "AttributedUserRole", "QuantityType", "Quantity", "MonthlyConsumptionValue"];

const ENV = "e0000000-0000-4000-8000-0000000000e1";
const row = (over: Partial<BizappsRollup> & Pick<BizappsRollup, "month" | "partnerLocationId" | "globalId" | "resourceId" | "quantity">): BizappsRollup => ({
  customerTenantId: FABRIKAM_TENANT, customerName: "Fabrikam", partnerName: over.globalId === "4000000" ? "Contoso Consulting" : "Northwind Traders",
  environmentId: ENV, environmentName: "Fabrikam Production", environmentType: "Production", workload: "PowerApps", resourceType: "CanvasApp",
  resourceName: `app ${over.resourceId.slice(-2)}`, attributedUserObjectId: ALICE_HOME, attributedUserRole: "Owner", linkPath: "home",
  quantityType: "MAU", quantitySource: "metrics", monthlyConsumptionValue: String(over.quantity * 200), decidedBy: "onlyPartner", lastActAt: null,
  ...over,
});
const rid = (n: number) => `a0000000-0000-4000-8000-0000000000${String(n).padStart(2, "0")}`;
const run = (month: string, credited: number): BizappsRun => ({ month, ranAt: Date.parse(NOW), eventsRead: 0, resources: credited, credited, facts: 0, factsPath: null, details: {} });

const OCTOBER: BizappsRollup[] = [
  row({ month: "2026-10", partnerLocationId: "4000001", globalId: "4000000", resourceId: rid(1), quantity: 12 }),
  row({ month: "2026-10", partnerLocationId: "4000002", globalId: "4000000", resourceId: rid(2), quantity: 3, workload: "PowerAutomate", resourceType: "Flow", attributedUserRole: "Creator" }),
  row({ month: "2026-10", partnerLocationId: "4000001", globalId: "4000000", resourceId: rid(3), quantity: 1500, workload: "CustomerInsights", resourceType: "Instance",
    environmentId: null, environmentName: null, environmentType: "NotApplicable", quantityType: "UnifiedProfiles", monthlyConsumptionValue: "300.2", attributedUserRole: "ActiveUser" }),
  row({ month: "2026-10", partnerLocationId: "4000001", globalId: "4000000", resourceId: rid(4), quantity: 7, environmentType: "Sandbox", environmentName: "Fabrikam Sandbox" }),
  row({ month: "2026-10", partnerLocationId: "5000001", globalId: "5000000", resourceId: rid(5), quantity: 40, attributedUserObjectId: NORA_HOME }),
];
const SEPTEMBER = [row({ month: "2026-09", partnerLocationId: "4000001", globalId: "4000000", resourceId: rid(1), quantity: 9 })];
const NOVEMBER = [row({ month: "2026-11", partnerLocationId: "4000001", globalId: "4000000", resourceId: rid(1), quantity: 99 })];

const test = (query: string) => `/ScheduledQueries/testQueryResult?exportQuery=${encodeURIComponent(query)}`;

for (const backend of storeBackends()) describe(`insights API: BusinessApplicationsUsage (${backend.name})`, () => {
  let server: TestServer;
  let contoso: string;
  let northwind: string;
  const clock = new ManualClock(NOW);

  before(async () => {
    server = await startTestServer({ backend, deps: { clock } });
    const store = server.openpal.context.store;
    await applyScenarioWorld(store, baseWorld({}, {}));
    await grantReportViewer(store, CONTOSO_TENANT, ALICE_HOME);
    await grantReportViewer(store, NORTHWIND_TENANT, NORA_HOME);
    await store.transaction(async (tx) => {
      await tx.bizapps.replaceMonth(run("2026-09", SEPTEMBER.length), SEPTEMBER);
      await tx.bizapps.replaceMonth(run("2026-10", OCTOBER.length), OCTOBER);
      await tx.bizapps.replaceMonth(run("2026-11", NOVEMBER.length), NOVEMBER);
    });
    contoso = await pcToken(server, CONTOSO_TENANT, ALICE_HOME);
    northwind = await pcToken(server, NORTHWIND_TENANT, NORA_HOME);
  });
  after(async () => {
    await server?.close();
  });

  it("is listed with the report columns of the business-applications report, its metrics and monthly date ranges", async () => {
    const r = await call(server, "GET", "/ScheduledDataset?datasetName=businessapplicationsusage", contoso);
    assert.equal(r.status, 200, r.body.message);
    const d = r.body.value[0]!;
    assert.equal(d.datasetName, "BusinessApplicationsUsage");
    const names = [...(d.selectableColumns as string[]), ...(d.availableMetrics as string[])];
    for (const c of [...REPORT_COLUMNS, "GlobalPartnerID", "MetricType", "MAU"]) assert.ok(names.includes(c), `${c} is offered`);
    assert.deepEqual(d.availableDateRanges, ["LAST_MONTH", "LAST_3_MONTHS", "LAST_6_MONTHS", "LAST_1_YEAR", "LIFETIME"]);
  });

  it("each partner sees its own organisation's rows only, whatever it filters on", async () => {
    const all = `SELECT ${REPORT_COLUMNS.join(", ")} FROM BusinessApplicationsUsage TIMESPAN LIFETIME`;
    const c = await call(server, "GET", test(all), contoso);
    assert.equal(c.status, 200, c.body.message);
    assert.equal(c.body.value.length, SEPTEMBER.length + OCTOBER.filter((r) => r.globalId === "4000000").length + NOVEMBER.length);
    assert.ok(c.body.value.every((r) => r.PGAPartnerId === "4000000" && r.PartnerAssociationType === "PAL"));
    const n = await call(server, "GET", test(all), northwind);
    assert.equal(n.status, 200, n.body.message);
    assert.deepEqual(n.body.value.map((r) => [r.PartnerId, r.ResourceId, r.Quantity, r.MonthlyConsumptionValue, r.AttributedUserObjectId]), [["5000001", rid(5), 40, "8000.00", NORA_HOME]]);
    const sneaky = await call(server, "GET", test("SELECT PartnerId, Quantity FROM BusinessApplicationsUsage WHERE PGAPartnerId = '5000000' TIMESPAN LIFETIME"), contoso);
    assert.equal(sneaky.status, 200, sneaky.body.message);
    assert.deepEqual(sneaky.body.value, []);
  });

  it("one row per location, resource and month carries every report column (a row without an environment has empty environment cells)", async () => {
    const r = await call(server, "GET", test(`SELECT ${REPORT_COLUMNS.join(", ")} FROM BusinessApplicationsUsage WHERE ResourceId = '${rid(3)}' TIMESPAN LAST_MONTH`), contoso);
    assert.equal(r.status, 200, r.body.message);
    assert.deepEqual(r.body.value, [{
      PartnerId: "4000001", PGAPartnerId: "4000000", PartnerName: "Contoso Consulting", CustomerTenantId: FABRIKAM_TENANT, CustomerName: "Fabrikam",
      EnvironmentId: "", EnvironmentName: "", EnvironmentType: "NotApplicable", Workload: "CustomerInsights", ResourceType: "Instance",
      ResourceId: rid(3), ResourceName: "app 03", Month: "2026-10", PartnerAssociationType: "PAL", AttributedUserObjectId: ALICE_HOME,
      AttributedUserRole: "ActiveUser", QuantityType: "UnifiedProfiles", Quantity: 1500, MonthlyConsumptionValue: "300.20",
    }]);
  });

  it("metrics aggregate over the distinct columns selected; LAST_MONTH is October only", async () => {
    const r = await call(server, "GET", test("SELECT Workload, MetricType, Quantity, MAU, UnifiedProfiles, MonthlyConsumptionValue, ResourceCount, CustomerCount FROM BusinessApplicationsUsage ORDER BY Workload ASC TIMESPAN LAST_MONTH"), contoso);
    assert.equal(r.status, 200, r.body.message);
    assert.deepEqual(r.body.value, [
      { Workload: "CustomerInsights", MetricType: "UnifiedProfiles", Quantity: 1500, MAU: 0, UnifiedProfiles: 1500, MonthlyConsumptionValue: "300.20", ResourceCount: 1, CustomerCount: 1 },
      { Workload: "PowerApps", MetricType: "MAU", Quantity: 19, MAU: 19, UnifiedProfiles: 0, MonthlyConsumptionValue: "3800.00", ResourceCount: 2, CustomerCount: 1 },
      { Workload: "PowerAutomate", MetricType: "MAU", Quantity: 3, MAU: 3, UnifiedProfiles: 0, MonthlyConsumptionValue: "600.00", ResourceCount: 1, CustomerCount: 1 },
    ]);
    const prod = await call(server, "GET", test("SELECT GlobalPartnerID, MAU FROM BusinessApplicationsUsage WHERE EnvironmentType IN ('Production', 'NotApplicable') TIMESPAN LAST_3_MONTHS"), contoso);
    assert.deepEqual(prod.body.value, [{ GlobalPartnerID: "4000000", MAU: 9 + 12 + 3 }], "September and October, production only");
    const life = await call(server, "GET", test("SELECT Month, MAU FROM BusinessApplicationsUsage ORDER BY Month ASC TIMESPAN LIFETIME"), contoso);
    assert.deepEqual(life.body.value, [{ Month: "2026-09", MAU: 9 }, { Month: "2026-10", MAU: 22 }, { Month: "2026-11", MAU: 99 }]);
  });

  it("its system query runs, and bad names are refused with the dataset's name in the message", async () => {
    const r = await call(server, "GET", `/ScheduledQueries/testQueryResult?queryId=${BUSINESS_APPLICATIONS_SYSTEM_QUERY_ID}`, northwind);
    assert.equal(r.status, 200, r.body.message);
    assert.deepEqual(Object.keys(r.body.value[0]!), REPORT_COLUMNS);
    const bad = await call(server, "GET", test("SELECT TotalACR FROM BusinessApplicationsUsage"), contoso);
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^Incorrect column name: 'TotalACR' .* of BusinessApplicationsUsage/);
  });

  it("a report over it runs and its CSV downloads with the selected columns", async () => {
    const q = await call(server, "POST", "/ScheduledQueries", contoso, { Name: "bizapps", Query: "SELECT PartnerId, ResourceId, Month, Quantity, MonthlyConsumptionValue FROM BusinessApplicationsUsage ORDER BY Quantity DESC TIMESPAN LAST_MONTH" });
    assert.equal(q.status, 200, q.body.message);
    const rep = await call(server, "POST", "/ScheduledReport", contoso, { ReportName: "bizapps now", QueryId: q.body.value[0]!.queryId, StartTime: NOW, ExecuteNow: true, Format: "CSV" });
    assert.equal(rep.status, 200, rep.body.message);
    let exec: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !exec; i++) {
      await runDue(server);
      const e = await call(server, "GET", `/ScheduledReport/execution/${rep.body.value[0]!.reportId}`, contoso);
      if (e.status === 200) exec = e.body.value[0];
    }
    assert.ok(exec, "an execution completed");
    const dl = await server.fetch(String(exec.reportAccessSecureLink));
    assert.equal(dl.status, 200);
    assert.equal(await dl.text(), [
      "PartnerId,ResourceId,Month,Quantity,MonthlyConsumptionValue",
      `4000001,${rid(3)},2026-10,1500,300.20`,
      `4000001,${rid(1)},2026-10,12,2400.00`,
      `4000001,${rid(4)},2026-10,7,1400.00`,
      `4000002,${rid(2)},2026-10,3,600.00`,
      "",
    ].join("\n"));
  });

  it("a partner-tenant user without the role gets no rows (403)", async () => {
    const r = await call(server, "GET", test("SELECT PartnerId, Quantity FROM BusinessApplicationsUsage TIMESPAN LIFETIME"), await pcToken(server, CONTOSO_TENANT, BOB_HOME));
    assert.equal(r.status, 403);
    assert.deepEqual(r.body.value, []);
  });
});
