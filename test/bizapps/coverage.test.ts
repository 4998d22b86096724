/**
 * Coverage of business applications per customer tenant: MAU / profiles credited to the partner;
 * at risk — our identity as attributed user without a link, an unlinked owner while our linked
 * identity is the one using the resource, another partner winning over our qualifying identity —
 * each with the fix; resources held only by customer accounts "not covered".
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { storeBackends } from "../support/stores.ts";
import type { Store } from "../../src/store/index.ts";
import { bizappsCoverage, firstLinked, formatBizappsCoverage } from "../../src/bizapps/coverage.ts";
import { APP1, APP5, DS3, ENV_PROD, FLOW2, FLOW6, MDA4, MONTH, RAN_AT, seedBizapps } from "./support.ts";
import { ALICE_GUEST, FABRIKAM_TENANT, NORA_GUEST, NORA_HOME, NORTHWIND_TENANT, OWNER } from "../scenarios/world.ts";

for (const backend of storeBackends()) {
  describe(`business-applications coverage (${backend.name})`, () => {
    let store: Store;
    let dataDir: string;
    before(async () => {
      store = await backend.open();
      dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-bizcov-"));
      await seedBizapps(store, dataDir);
    });
    after(async () => {
      await store?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("per customer: credited MAU and value, at risk and not covered, each resource with its status and reason", async () => {
      const c = await bizappsCoverage(store, dataDir, { partnerId: "4000000", month: MONTH });
      assert.equal(c.asOf, new Date(RAN_AT).toISOString());
      assert.equal(c.customers.length, 1);
      const f = c.customers[0]!;
      assert.equal(f.tenantId, FABRIKAM_TENANT);
      assert.deepEqual(f.credited, { mau: 10, unifiedProfiles: 0, value: "2000.00" });
      assert.deepEqual(f.atRisk, { mau: 12 + 30 + 9, unifiedProfiles: 0, resources: 3 });
      assert.deepEqual(f.notCovered, { mau: 4, unifiedProfiles: 0, resources: 1 });
      const by = new Map(f.resources.map((r) => [r.resourceId, r]));
      assert.deepEqual([DS3, FLOW6].map((id) => by.get(id)?.status), ["credited", "credited"]);
      assert.equal(by.get(APP1)?.reason, "anotherPartnerLater");
      assert.equal(by.get(MDA4)?.reason, "noLink");
      assert.match(by.get(MDA4)?.fix ?? "", /az managementpartner create --partner-id 4000001/);
      assert.equal(by.get(FLOW2)?.status, "notCovered");
      assert.equal(by.get(FLOW2)?.attributedUser.account, "customer");
    });
    it("an app owned by a customer account but used by our linked identity is at risk, with the owner change to that identity", async () => {
      const c = await bizappsCoverage(store, dataDir, { partnerId: "4000001", month: MONTH });
      const app5 = c.customers[0]!.resources.find((r) => r.resourceId === APP5)!;
      assert.equal(app5.status, "atRisk");
      assert.equal(app5.reason, "usedByLinkedIdentity");
      assert.equal(app5.attributedUser.objectId, OWNER);
      assert.match(app5.message ?? "", /last 2026-10-19T09:00:00Z/);
      assert.match(app5.fix ?? "", new RegExp(`set-owner --environment ${ENV_PROD} --app ${APP5} --owner ${ALICE_GUEST}`));
    });
    it("another partner's resources that none of our identities holds are not listed; its identity's unlinked app is 'not covered' for us", async () => {
      const c = await bizappsCoverage(store, dataDir, { partnerId: "5000000", month: MONTH });
      const by = new Map(c.customers[0]!.resources.map((r) => [r.resourceId, r]));
      assert.equal(by.get(APP1)?.status, "credited");
      assert.equal(by.get(APP1)?.attributedUser.objectId, NORA_GUEST);
      assert.equal(by.has(DS3), false);
      assert.equal(by.has(FLOW6), false);
      assert.equal(by.get(MDA4)?.status, "notCovered");
      assert.equal(by.get(MDA4)?.attributedUser.account, "otherPartner");
    });
    it("to a partner, customer and other partners' accounts have no object id", async () => {
      const c = await bizappsCoverage(store, dataDir, { partnerId: "4000000", month: MONTH, audience: "partner" });
      const json = JSON.stringify(c);
      assert.ok(!json.includes(OWNER) && !json.includes(NORA_GUEST));
      assert.doesNotMatch(json, /Northwind/);
    });
    it("a month without a run says what to run instead of failing (Azure coverage still shows)", async () => {
      const c = await bizappsCoverage(store, dataDir, { partnerId: "4000000", month: "2026-09" });
      assert.deepEqual(c.customers, []);
      assert.match(c.message ?? "", /openpal attribution run --month 2026-09/);
      assert.match(formatBizappsCoverage(c), /openpal attribution run --month 2026-09 first/);
    });
    it("the text view lists at-risk resources first with their fix", async () => {
      const text = formatBizappsCoverage(await bizappsCoverage(store, dataDir, { partnerId: "4000000" }));
      assert.match(text, /credited: 10 MAU, 0 unified profiles, value 2000.00; at risk: 3 resources/);
      assert.match(text, /AT RISK/);
      assert.match(text, /fix: .*openpal powerplatform set-owner/);
    });
  });
}

describe("business-applications coverage fixes", () => {
  it("a fix names only a linked identity of the resource's own tenant, never one of another tenant (an account owns only its directory's resources)", () => {
    const linked = new Map([[NORA_HOME, NORTHWIND_TENANT], [ALICE_GUEST, FABRIKAM_TENANT]]);
    assert.equal(firstLinked(linked, FABRIKAM_TENANT), ALICE_GUEST);
    assert.equal(firstLinked(new Map([[NORA_HOME, NORTHWIND_TENANT]]), FABRIKAM_TENANT), undefined);
  });
});
