/**
 * The business-applications usage report (`openpal report bizapps-usage`): one row per (partner
 * location, resource, month) with Partner Center's columns, read from the rollups; filters by
 * location or organisation; --production-only keeps Production and NotApplicable rows
 * (decision 6); every bad input names the fix.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { storeBackends } from "../support/stores.ts";
import type { Store } from "../../src/store/index.ts";
import { BIZAPPS_USAGE_COLUMNS, bizappsCsv, bizappsUsageReport } from "../../src/bizapps/report.ts";
import { ReportError } from "../../src/domain/report.ts";
import { APP1, DS3, ENV_PROD, FLOW6, MONTH, RAN_AT, seedBizapps } from "./support.ts";
import { ALICE_GUEST, FABRIKAM_TENANT, NORA_GUEST } from "../scenarios/world.ts";

for (const backend of storeBackends()) {
  describe(`bizapps-usage report (${backend.name})`, () => {
    let store: Store;
    let dataDir: string;
    before(async () => {
      store = await backend.open();
      dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-bizreport-"));
      await seedBizapps(store, dataDir);
    });
    after(async () => {
      await store?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("every row carries the report's columns, PAL association and the run's time as asOf", async () => {
      const r = await bizappsUsageReport(store, { month: MONTH });
      assert.equal(r.asOf, new Date(RAN_AT).toISOString());
      assert.equal(r.rows.length, 3);
      for (const row of r.rows) assert.deepEqual(Object.keys(row), [...BIZAPPS_USAGE_COLUMNS]);
      const app = r.rows.find((x) => x.ResourceId === APP1);
      assert.deepEqual(app, {
        PartnerId: "5000001", PGAPartnerId: "5000000", PartnerName: "Northwind Traders", CustomerTenantId: FABRIKAM_TENANT, CustomerName: "Fabrikam",
        EnvironmentId: ENV_PROD, EnvironmentName: "Fabrikam Production", EnvironmentType: "Production", Workload: "PowerApps", ResourceType: "CanvasApp",
        ResourceId: APP1, ResourceName: "Field inspections", Month: MONTH, PartnerAssociationType: "PAL", AttributedUserObjectId: NORA_GUEST,
        AttributedUserRole: "CoOwner", QuantityType: "MAU", Quantity: 12, MonthlyConsumptionValue: "2400.00",
      });
    });
    it("--partner-id with a location id keeps that location's rows; with a global id, every location of the organisation", async () => {
      const loc = await bizappsUsageReport(store, { month: MONTH, partnerId: "4000001" });
      assert.deepEqual(loc.rows.map((r) => r.ResourceId).sort(), [DS3, FLOW6].sort());
      const org = await bizappsUsageReport(store, { month: MONTH, partnerId: "4000000" });
      assert.deepEqual(org.rows.map((r) => r.ResourceId).sort(), [DS3, FLOW6].sort());
      const byGlobal = await bizappsUsageReport(store, { month: MONTH, globalId: "5000000" });
      assert.deepEqual(byGlobal.rows.map((r) => [r.ResourceId, r.AttributedUserObjectId]), [[APP1, NORA_GUEST]]);
      const other = await bizappsUsageReport(store, { month: MONTH, partnerId: "4000002" });
      assert.deepEqual(other.rows, []);
    });
    it("--production-only drops the Sandbox flow and keeps Production and NotApplicable (Power BI) rows", async () => {
      const r = await bizappsUsageReport(store, { month: MONTH, productionOnly: true });
      assert.deepEqual(r.rows.map((x) => [x.ResourceId, x.EnvironmentType]).sort(), [[APP1, "Production"], [DS3, "NotApplicable"]].sort());
      const all = await bizappsUsageReport(store, { month: MONTH, globalId: "4000000" });
      assert.ok(all.rows.some((x) => x.ResourceId === FLOW6 && x.EnvironmentType === "Sandbox" && x.AttributedUserObjectId === ALICE_GUEST));
    });
    it("a month without a run names the command to run and the months that have results", async () => {
      await assert.rejects(bizappsUsageReport(store, { month: "2026-09" }), (e: unknown) => e instanceof ReportError && /openpal attribution run --month 2026-09/.test(e.message) && /2026-10/.test(e.message));
    });
    it("an unknown partner id, a location given as global id, or both ids are refused with the fix", async () => {
      await assert.rejects(bizappsUsageReport(store, { month: MONTH, partnerId: "9999999" }), (e: unknown) => e instanceof ReportError && /9999999 is not registered/.test(e.message));
      await assert.rejects(bizappsUsageReport(store, { month: MONTH, globalId: "4000001" }), (e: unknown) => e instanceof ReportError && /--global-id 4000000/.test(e.message));
      await assert.rejects(bizappsUsageReport(store, { month: MONTH, partnerId: "4000001", globalId: "4000000" }), /not both/);
      await assert.rejects(bizappsUsageReport(store, { month: "2026-13" }), /YYYY-MM/);
    });
  });
}

describe("bizapps-usage CSV", () => {
  it("has the columns as header and quotes values with commas or quotes (RFC 4180)", () => {
    const row = Object.fromEntries(BIZAPPS_USAGE_COLUMNS.map((c) => [c, c === "Quantity" ? 3 : c === "ResourceName" ? 'Sales, "EU"' : c === "EnvironmentId" ? null : "x"]));
    const csv = bizappsCsv([row as never]);
    const [header, line] = csv.trimEnd().split("\n");
    assert.equal(header, BIZAPPS_USAGE_COLUMNS.join(","));
    assert.match(line as string, /,"Sales, ""EU""",/);
    assert.match(line as string, /^x,x,x,x,x,,x,/);
  });
});
