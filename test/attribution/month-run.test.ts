/**
 * One `attribution run` over several policies (`attributeMonth`): the control plane is read once,
 * the Azure part runs per policy, business applications (which do not depend on the role policy)
 * are computed once, and everything is published in one store transaction. The results are those
 * of one run per policy.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { storeBackends } from "../support/stores.ts";
import { applyScenarioWorld, brief, daily, focusCsv } from "../scenarios/support.ts";
import { writeActivityEvents } from "../scenarios/bizapps-lake.ts";
import { ALICE_GUEST, END, ENV_PROD, FABRIKAM_TENANT, NORA_GUEST, app, bizWorld, g, link } from "../scenarios/bizapps-world.ts";
import { PROD, SUB_PROD, vm } from "../scenarios/world.ts";
import { attributeMonth, attributeUsage } from "../../src/attribution/engine.ts";
import { azureUsageReport } from "../../src/attribution/report.ts";
import { importUsageFile } from "../../src/usage/index.ts";
import { ManualClock } from "../../src/domain/time.ts";
import type { Store } from "../../src/store/index.ts";

const MONTH = "2026-10";
const APP = g("a0", 2);
const opts = { threads: 1, memoryLimit: "256MB" } as const;

for (const backend of storeBackends()) {
  describe(`one attribution run over both policies (${backend.name})`, () => {
    let store: Store;
    let dataDir: string;
    before(async () => {
      store = await backend.open();
      dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-month-run-"));
      // Azure: alice is a Reader on prod (credited under all-roles only). Business applications:
      // alice owns an app, nora co-owns it and acts last.
      const world = bizWorld({
        apps: [{ id: APP, environment: ENV_PROD, displayName: "Service desk", kind: "canvas", createdBy: ALICE_GUEST, createdAt: "2026-08-01T00:00:00Z",
          coOwners: [{ principalId: NORA_GUEST, from: "2026-09-01T00:00:00Z" }] }],
      }, { links: [link(ALICE_GUEST), link(NORA_GUEST, "5000001")] });
      await applyScenarioWorld(store, {
        ...world, tenants: world.tenants!.map((t) => (t.id === FABRIKAM_TENANT ? { ...t, roleAssignments: [{ principalId: ALICE_GUEST, role: "Reader", scope: PROD }] } : t)),
      });
      const file = path.join(dataDir, "usage.csv");
      writeFileSync(file, focusCsv(daily(MONTH, () => ({ subscription: SUB_PROD, resource: vm(SUB_PROD, "rg-web", "web1"), cost: 10 }))));
      await importUsageFile(file, { dataDir, ...opts });
      await writeActivityEvents(dataDir, MONTH, [app(APP, ALICE_GUEST, "2026-10-20T10:00:00Z"), app(APP, NORA_GUEST, "2026-10-25T08:00:00Z"), app(APP, END[0]!, "2026-10-26T12:00:00Z")]);
    });
    after(async () => {
      await store?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("business applications are computed once for both policies, and every result equals one run per policy", async () => {
      // One run per policy (the way `attribution run --policy X` runs twice).
      const separate: string[] = [];
      await attributeUsage({ store, dataDir, month: MONTH, policy: "pec", clock: new ManualClock("2026-12-01T00:00:00Z"), ...opts, onProgress: (s) => separate.push(s) });
      await attributeUsage({ store, dataDir, month: MONTH, policy: "all-roles", clock: new ManualClock("2026-12-01T00:00:00Z"), ...opts, onProgress: (s) => separate.push(s) });
      assert.equal(separate.filter((s) => s === "bizapps").length, 2);
      const azure = async (policy: "pec" | "all-roles") => brief(await azureUsageReport(store, { month: MONTH, policy, includeIneligible: true }));
      const before = { pec: await azure("pec"), all: await azure("all-roles"), biz: await store.bizapps.rollups({ month: MONTH }) };
      // pec keeps the Reader's fact as ineligible; all-roles credits it; the app goes to Northwind.
      assert.deepEqual(before.pec, ["4000001 PAL fabrikam-prod Reader 310.00 USD ---"]);
      assert.deepEqual(before.all, ["4000001 PAL fabrikam-prod Reader 310.00 USD ---"]);
      assert.deepEqual(before.biz.map((r) => [r.resourceId, r.partnerLocationId, r.quantity]), [[APP.toLowerCase(), "5000001", 3]]);

      const steps: string[] = [];
      const month = await attributeMonth({ store, dataDir, month: MONTH, policies: ["pec", "all-roles"], clock: new ManualClock("2026-12-02T00:00:00Z"), ...opts, onProgress: (s) => steps.push(s) });
      // Shared steps once, the Azure steps once per policy.
      assert.deepEqual(steps.filter((s) => /^(bizapps|bizapps candidates|load control plane|publish)$/.test(s)), ["load control plane", "bizapps candidates", "bizapps", "publish"]);
      assert.deepEqual(steps.filter((s) => s.startsWith("facts")), ["facts (pec)", "facts (all-roles)"]);
      assert.deepEqual(month.policies.map((p) => p.policy), ["pec", "all-roles"]);
      assert.equal(month.policies[0]!.bizapps, month.bizapps);
      assert.equal(month.policies[1]!.bizapps, month.bizapps);
      assert.ok("bizapps" in month.timings && "facts (pec)" in month.timings && "facts (all-roles)" in month.timings);
      assert.ok("bizapps" in month.policies[1]!.timings && "facts" in month.policies[1]!.timings);

      // Same results, published at the new run's time for both policies and business applications.
      assert.deepEqual(await azure("pec"), before.pec);
      assert.deepEqual(await azure("all-roles"), before.all);
      assert.deepEqual(await store.bizapps.rollups({ month: MONTH }), before.biz);
      assert.equal((await store.attribution.run(MONTH, "pec"))?.ranAt, Date.parse("2026-12-02T00:00:00Z"));
      assert.equal((await store.attribution.run(MONTH, "all-roles"))?.ranAt, Date.parse("2026-12-02T00:00:00Z"));
      assert.equal((await store.bizapps.run(MONTH))?.ranAt, Date.parse("2026-12-02T00:00:00Z"));
    });

    it("one transaction for every policy: when the business-applications write fails, neither policy's month is replaced", async () => {
      const failing: Store = {
        ...store,
        transaction: (work) => store.transaction((tx) => work({ ...tx, bizapps: { ...tx.bizapps, replaceMonth: async () => { throw new Error("bizapps write failed"); } } as unknown as typeof tx.bizapps })),
      };
      await assert.rejects(attributeMonth({ store: failing, dataDir, month: MONTH, policies: ["pec", "all-roles"], clock: new ManualClock("2026-12-03T00:00:00Z"), ...opts }), /bizapps write failed/);
      assert.equal((await store.attribution.run(MONTH, "pec"))?.ranAt, Date.parse("2026-12-02T00:00:00Z"));
      assert.equal((await store.attribution.run(MONTH, "all-roles"))?.ranAt, Date.parse("2026-12-02T00:00:00Z"));
    });

    it("no policy is refused with the fix", async () => {
      await assert.rejects(attributeMonth({ store, dataDir, month: MONTH, policies: [], clock: new ManualClock("2026-12-03T00:00:00Z"), ...opts }), /at least one policy/);
    });
  });
}
