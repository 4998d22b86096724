/**
 * "Why is this app / flow / dataset / instance not credited to us?" — each reason with its
 * evidence and the concrete fix (which account to link with which command, which command changes
 * the owner, which solution to re-import), from the facts Parquet and the rollups.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { storeBackends } from "../support/stores.ts";
import type { Store } from "../../src/store/index.ts";
import { diagnoseBizappsResource, formatBizappsDiagnosis } from "../../src/bizapps/diagnose.ts";
import { bizappsFactsFile } from "../../src/bizapps/facts-reader.ts";
import { ReportError } from "../../src/domain/report.ts";
import { APP1, DS3, ENV_PROD, ENV_SANDBOX, FLOW2, FLOW6, MDA4, MONTH, RAN_AT, RUN, WORKSPACE, fact, seedBizapps, writeBizappsFacts } from "./support.ts";
import { ALICE_GUEST, BOB_GUEST, FABRIKAM_TENANT, g } from "../scenarios/world.ts";

const NOV = "2026-11";
const CI = g("c1", 1);

for (const backend of storeBackends()) {
  describe(`diagnose a business application (${backend.name})`, () => {
    let store: Store;
    let dataDir: string;
    before(async () => {
      store = await backend.open();
      dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-bizdiag-"));
      await seedBizapps(store, dataDir);
      // November: a dataset credited with zero MAU, and Alice failing to qualify in four ways.
      const nov = { month: NOV, qualifies: false, qualifyingFrom: null, qualifyingTo: null, qualifyingSeconds: 0, lastActAt: null, lastActOperation: null };
      const facts = [
        fact({ month: NOV, resourceId: DS3, resourceKind: "dataset", workload: "PowerBI", resourceType: "Dataset", environmentId: null, environmentType: "NotApplicable",
          attributedUserRole: "Publisher", relation: "publisher", basis: "published", credited: true, decidedBy: "onlyPartner", quantity: 0 }),
        fact({ ...nov, resourceId: CI, resourceKind: "ciInstance", workload: "CustomerInsights", resourceType: "Instance", attributedUserRole: "ActiveUser", relation: "instanceUser",
          basis: "instanceRole", notQualifyingReason: "noActivity", quantityType: "UnifiedProfiles", quantity: 5000 }),
        fact({ ...nov, resourceId: APP1, notQualifyingReason: "linkNotActive" }),
        fact({ ...nov, resourceId: FLOW6, resourceKind: "flow", workload: "PowerAutomate", resourceType: "Flow", environmentId: ENV_SANDBOX, environmentType: "Sandbox", notQualifyingReason: "locationInactive" }),
        fact({ ...nov, resourceId: MDA4, resourceKind: "modelDrivenApp", resourceType: "ModelDrivenApp", notQualifyingReason: "principalDisabled" }),
      ];
      await writeBizappsFacts(bizappsFactsFile(dataDir, NOV), facts);
      await store.transaction((tx) => tx.bizapps.replaceMonth({ ...RUN, month: NOV, ranAt: RAN_AT + 30 * 86400_000 }, [{
        month: NOV, customerTenantId: FABRIKAM_TENANT, customerName: "Fabrikam", partnerLocationId: "4000001", globalId: "4000000", partnerName: "Contoso Consulting",
        environmentId: null, environmentName: null, environmentType: "NotApplicable", workload: "PowerBI", resourceType: "Dataset", resourceId: DS3, resourceName: "Sales",
        attributedUserObjectId: ALICE_GUEST, attributedUserRole: "Publisher", linkPath: "home", quantityType: "MAU", quantity: 0, quantitySource: "activity",
        monthlyConsumptionValue: "0.00", decidedBy: "onlyPartner", lastActAt: null,
      }]));
    });
    after(async () => {
      await store?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const codes = (d: { reasons: readonly { code: string }[] }) => d.reasons.map((r) => r.code);

    it("another partner acted later: names its last act time and ours, and how to change the owner", async () => {
      const d = await diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: APP1, month: MONTH });
      assert.equal(d.credited, false);
      assert.deepEqual(codes(d), ["anotherPartnerLater"]);
      const r = d.reasons[0]!;
      assert.match(r.message, /credited to Northwind Traders \(5000000\): .* at 2026-10-25T08:00:00Z; your last act was 2026-10-20T10:00:00Z/);
      assert.match(r.fix, new RegExp(`Use the app \\(launch or edit it\\) with ${ALICE_GUEST}.*Remove-AdminPowerAppRoleAssignment`));
      assert.deepEqual(d.identities.map((i) => [i.objectId, i.role, i.qualifies]), [[ALICE_GUEST, "Owner", true]]);
    });
    it("to a partner, the other partner stays anonymous", async () => {
      const d = await diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: APP1, month: MONTH, audience: "partner" });
      assert.doesNotMatch(JSON.stringify(d), /Northwind|5000000/);
      assert.match(d.reasons[0]!.message, /credited to another partner/);
    });
    it("the credited partner has nothing to fix", async () => {
      const d = await diagnoseBizappsResource(store, dataDir, { partnerId: "5000001", resourceId: APP1, month: MONTH });
      assert.equal(d.credited, true);
      assert.deepEqual(d.reasons, []);
      assert.match(formatBizappsDiagnosis(d), /credited to you: 12 MAU/);
    });
    it("no relationship for any of our identities: held by a customer account; the fix makes our linked account the flow's owner", async () => {
      const d = await diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: FLOW2, month: MONTH });
      assert.deepEqual(codes(d), ["noRelationship"]);
      assert.match(d.reasons[0]!.message, /held by customer account .* \(Creator\)/);
      assert.match(d.reasons[0]!.fix, new RegExp(`openpal powerplatform set-owner --environment ${ENV_SANDBOX} --flow ${FLOW2} --owner ${ALICE_GUEST}`));
    });
    it("with --production-only, a Sandbox environment is a reason of its own", async () => {
      const d = await diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: FLOW2, month: MONTH, productionOnly: true });
      assert.deepEqual(codes(d), ["noRelationship", "nonProduction"]);
      const prod = await diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: DS3, month: MONTH, productionOnly: true });
      assert.deepEqual(codes(prod), []);
    });
    it("our unlinked identity imported the solution: link that account (the command and the tenant)", async () => {
      const d = await diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: MDA4, month: MONTH });
      assert.deepEqual(codes(d), ["noLink"]);
      assert.match(d.reasons[0]!.message, new RegExp(`${BOB_GUEST}.*SolutionImporter`));
      assert.match(d.reasons[0]!.fix, new RegExp(`Sign in to tenant ${FABRIKAM_TENANT} as bob_contoso.example#EXT#@fabrikam.example .*az managementpartner create --partner-id 4000001`));
    });
    it("credited with a zero metric, an inactive Customer Insights user, a link outside the relationship, an inactive location and a disabled account each name their fix", async () => {
      const zero = await diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: DS3, month: NOV });
      assert.deepEqual(codes(zero), ["metricZero"]);
      assert.match(zero.reasons[0]!.fix, /openpal activity import/);
      const ci = await diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: CI, month: NOV });
      assert.deepEqual(codes(ci), ["noActivity"]);
      assert.match(ci.reasons[0]!.fix, /Use the instance/);
      assert.deepEqual(codes(await diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: APP1, month: NOV })), ["linkNotActive"]);
      const loc = await diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: FLOW6, month: NOV });
      assert.deepEqual(codes(loc), ["locationInactive"]);
      assert.match(loc.reasons[0]!.fix, /Reactivate location 4000001/);
      const dis = await diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: MDA4, month: NOV });
      assert.deepEqual(codes(dis), ["principalDisabled"]);
      assert.match(dis.reasons[0]!.fix, /re-enable/);
    });
    it("the default month is the latest attributed one", async () => {
      const d = await diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: DS3 });
      assert.equal(d.month, NOV);
    });
    it("an unknown resource or partner id is refused with the fix; a partner without presence learns nothing", async () => {
      await assert.rejects(diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: "00000000-0000-4000-8000-00000000dead", month: MONTH }), (e: unknown) => e instanceof ReportError && /is not known/.test(e.message));
      await assert.rejects(diagnoseBizappsResource(store, dataDir, { partnerId: "7777777", resourceId: APP1, month: MONTH }), /7777777 is not registered/);
    });
    it("a model-driven app's owner changes only by a solution import; a dataset by a take-over", async () => {
      const { ownerFix } = await import("../../src/bizapps/fixes.ts");
      assert.match(ownerFix({ id: MDA4, kind: "modelDrivenApp", name: "Case management", customerTenantId: FABRIKAM_TENANT, environmentId: ENV_PROD, workspaceId: null, solution: "fabrikam_cases" }, ALICE_GUEST),
        /re-import the solution fabrikam_cases: `openpal powerplatform import-solution fabrikam_cases.zip --environment/);
      assert.match(ownerFix({ id: DS3, kind: "dataset", name: "Sales", customerTenantId: FABRIKAM_TENANT, environmentId: null, workspaceId: WORKSPACE, solution: null }, ALICE_GUEST),
        new RegExp(`openpal powerplatform take-over --workspace ${WORKSPACE} --dataset ${DS3}`));
    });
  });
}
