/**
 * PAL scenarios (ATTRIBUTION-RULES.md rules 1–9): each builds a world, writes a month of daily
 * usage, runs the engine and compares the Partner Center report with amounts computed by hand in
 * the comments. Month: 2026-10 (31 days). Unless said otherwise every resource costs 10.00 USD a day.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { storeBackends } from "../support/stores.ts";
import type { Store } from "../../src/store/index.ts";
import { applyScenarioWorld, brief, daily, runScenario, type ScenarioRun } from "./support.ts";
import { ALICE_GUEST, FABRIKAM_TENANT, PROD, SUB_DEV, SUB_PROD, baseWorld, g, vm } from "./world.ts";

const MONTH = "2026-10";
const WEB = vm(SUB_PROD, "rg-web", "web1");
const DATA = vm(SUB_PROD, "rg-data", "db1");
const DEVBOX = vm(SUB_DEV, "rg-dev", "box1");
/** 31 days × 10 USD for each of web1, db1 (prod) and box1 (dev). */
const usage = [
  ...daily(MONTH, () => ({ subscription: SUB_PROD, resource: WEB, cost: 10 })),
  ...daily(MONTH, () => ({ subscription: SUB_PROD, resource: DATA, cost: 10 })),
  ...daily(MONTH, () => ({ subscription: SUB_DEV, resource: DEVBOX, cost: 10 })),
];
const link = (objectId: string, partnerId = "4000001", from?: string, to?: string) => ({ tenantId: FABRIKAM_TENANT, objectId, partnerId, ...(from ? { from } : {}), ...(to ? { to } : {}) });

for (const backend of storeBackends()) {
  describe(`PAL scenarios (${backend.name})`, () => {
    let store: Store;
    const runs: ScenarioRun[] = [];
    before(async () => {
      store = await backend.open();
    });
    after(async () => {
      for (const r of runs) r.cleanup();
      await store.close();
    });
    const fresh = async () => {
      await store.close();
      store = await backend.open();
      return store;
    };

    describe("rule 2: access through a group, and through nested groups", () => {
      it("a linked member of a nested group with Contributor on a resource group earns that resource group's spend", async () => {
        const s = await fresh();
        const outer = g("60", 1);
        const inner = g("60", 2);
        await applyScenarioWorld(s, baseWorld({
          // alice ∈ inner ∈ outer; outer holds Contributor on rg-web.
          groups: [{ id: inner, displayName: "inner", members: [ALICE_GUEST] }, { id: outer, displayName: "outer", members: [inner] }],
          roleAssignments: [{ principalId: outer, role: "Contributor", scope: `${PROD}/resourceGroups/rg-web` }],
        }, { links: [link(ALICE_GUEST)] }));
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        // web1: 31 × 10 = 310.00; db1 (rg-data) and box1 (dev) are outside the scope.
        assert.deepEqual(brief(await run.report()), ["4000001 PAL fabrikam-prod Contributor 310.00 USD ---"]);
      });
    });
  });
}
