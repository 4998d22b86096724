/**
 * PAL scenarios (ATTRIBUTION-RULES.md rules 1–9): each builds a world, writes a month of daily
 * usage, runs the engine and compares the Partner Center report with amounts computed by hand in
 * the comments. Month: 2026-10 (31 days). Unless said otherwise every resource costs 10.00 USD a day.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { storeBackends } from "../support/stores.ts";
import { applyScenarioWorld, brief, daily, runScenario, scenarioStore } from "./support.ts";
import { BOB_GUEST, BOB_HOME, ALICE_GUEST, ALICE_HOME, CONTOSO_TENANT, DEV, FABRIKAM_TENANT, NORA_GUEST, NORA_HOME, NORTHWIND_TENANT, PROD, SUB_DEV, SUB_PROD, baseWorld, g, vm } from "./world.ts";

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
    const { fresh, runs } = scenarioStore(backend);

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

    describe("rule 3: scopes inherit downward, through management groups", () => {
      it("Owner at a parent management group covers the subscriptions placed below it, and only those", async () => {
        const s = await fresh();
        await applyScenarioWorld(s, baseWorld({
          managementGroups: [{ id: "platform", displayName: "Platform" }, { id: "landing-zones", displayName: "Landing zones", parent: "platform" }],
          subscriptions: [
            { id: SUB_PROD, displayName: "fabrikam-prod", offer: "EA", managementGroup: "landing-zones", resourceGroups: ["rg-web", "rg-data"] },
            { id: SUB_DEV, displayName: "fabrikam-dev", offer: "EA", resourceGroups: ["rg-dev"] },
          ],
          roleAssignments: [{ principalId: ALICE_GUEST, role: "Owner", scope: "/providers/Microsoft.Management/managementGroups/platform" }],
        }, { links: [link(ALICE_GUEST)] }));
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        // prod sits under landing-zones ⊂ platform: web1 + db1 = 2 × 310 = 620.00; dev sits under the root: nothing.
        assert.deepEqual(brief(await run.report()), ["4000001 PAL fabrikam-prod Owner 620.00 USD ---"]);
      });
    });

    describe("rule 4: Lighthouse", () => {
      it("a link in the managing tenant counts; a link made in the customer tenant for a delegated principal does not", async () => {
        const s = await fresh();
        await applyScenarioWorld(s, baseWorld({
          delegations: [
            // Contoso manages prod; its home user alice holds Contributor through the delegation.
            { scope: PROD, managedByTenantId: CONTOSO_TENANT, authorizations: [{ principalId: ALICE_HOME, role: "Contributor" }] },
            // Northwind manages dev through nora's home account…
            { scope: DEV, managedByTenantId: NORTHWIND_TENANT, authorizations: [{ principalId: NORA_HOME, role: "Contributor" }] },
          ],
        }, {
          links: [
            { tenantId: CONTOSO_TENANT, objectId: ALICE_HOME, partnerId: "4000001" },
            // …but Northwind linked nora's guest object in the customer tenant, which holds no role.
            link(NORA_GUEST, "5000001"),
          ],
        }));
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        // prod: 620.00 to Contoso; dev: nothing for Northwind.
        assert.deepEqual(brief(await run.report()), ["4000001 PAL fabrikam-prod Contributor 620.00 USD ---"]);
      });
    });

    describe("rule 5: eligible roles, and the policy", () => {
      const world = () => baseWorld({ roleAssignments: [{ principalId: ALICE_GUEST, role: "Reader", scope: PROD }] }, { links: [link(ALICE_GUEST)] });
      it("under the default policy (pec) a Reader earns nothing in the report, but the fact is kept", async () => {
        const s = await fresh();
        await applyScenarioWorld(s, world());
        const run = await runScenario(s, usage, MONTH, "pec");
        runs.push(run);
        assert.deepEqual(await run.report(), []);
        // Kept as an ineligible fact: 620.00 under AdminType Reader.
        assert.deepEqual(brief(await run.report({ includeIneligible: true })), ["4000001 PAL fabrikam-prod Reader 620.00 USD ---"]);
      });
      it("under all-roles the same Reader earns the subscription's spend", async () => {
        const s = await fresh();
        await applyScenarioWorld(s, world());
        const run = await runScenario(s, usage, MONTH, "all-roles");
        runs.push(run);
        assert.deepEqual(brief(await run.report()), ["4000001 PAL fabrikam-prod Reader 620.00 USD ---"]);
      });
    });

    describe("rule 6: time at second precision", () => {
      it("a link created at noon earns half of that day", async () => {
        const s = await fresh();
        await applyScenarioWorld(s, baseWorld({ roleAssignments: [{ principalId: ALICE_GUEST, role: "Owner", scope: PROD }] },
          { links: [link(ALICE_GUEST, "4000001", "2026-10-10T12:00:00Z")] }));
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        // Per resource: Oct 10 half (5.00) + Oct 11–31 (21 × 10 = 210.00) = 215.00; × 2 resources = 430.00.
        assert.deepEqual(brief(await run.report()), ["4000001 PAL fabrikam-prod Owner 430.00 USD ---"]);
      });
    });

    describe("rule 7: stop rules", () => {
      it("an identity disabled mid-month stops earning, and resumes when re-enabled with its link intact", async () => {
        const s = await fresh();
        const world = baseWorld({ roleAssignments: [{ principalId: ALICE_GUEST, role: "Owner", scope: PROD }] }, { links: [link(ALICE_GUEST)] });
        const fab = world.tenants![2]!;
        const users = fab.users!.map((u) => (u.id === ALICE_GUEST ? { ...u, disabled: [{ from: "2026-10-16T00:00:00Z", to: "2026-10-21T00:00:00Z" }] } : u));
        await applyScenarioWorld(s, { ...world, tenants: [world.tenants![0]!, world.tenants![1]!, { ...fab, users }] });
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        // Disabled Oct 16–20 (5 days): 26 days × 2 resources × 10 = 520.00.
        assert.deepEqual(brief(await run.report()), ["4000001 PAL fabrikam-prod Owner 520.00 USD ---"]);
      });
      it("a partner id deactivated mid-month stops earning from then", async () => {
        const s = await fresh();
        const world = baseWorld({ roleAssignments: [{ principalId: ALICE_GUEST, role: "Owner", scope: PROD }] }, { links: [link(ALICE_GUEST)] });
        const contoso = world.partners![0]!;
        await applyScenarioWorld(s, { ...world, partners: [{ ...contoso, locations: [{ id: "4000001", inactive: [{ from: "2026-10-21T00:00:00Z" }] }, { id: "4000002" }] }, world.partners![1]!] });
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        // Active Oct 1–20: 20 × 2 × 10 = 400.00.
        assert.deepEqual(brief(await run.report()), ["4000001 PAL fabrikam-prod Owner 400.00 USD ---"]);
      });
      it("removing the link or the role stops earning", async () => {
        const s = await fresh();
        await applyScenarioWorld(s, baseWorld({
          roleAssignments: [
            { principalId: ALICE_GUEST, role: "Owner", scope: PROD },
            { principalId: ALICE_GUEST, role: "Contributor", scope: DEV, to: "2026-10-06T00:00:00Z" },
          ],
        }, { links: [link(ALICE_GUEST, "4000001", undefined, "2026-10-11T00:00:00Z")] }));
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        // dev: role until Oct 6 → 5 days × 10 = 50.00; prod: link until Oct 11 → 10 days × 2 × 10 = 200.00.
        assert.deepEqual(brief(await run.report()), ["4000001 PAL fabrikam-prod Owner 200.00 USD ---", "4000001 PAL fabrikam-dev Contributor 50.00 USD ---"]);
      });
    });

    describe("rule 8: several partners each get full credit", () => {
      it("two partners on one subscription are both credited in full (no splitting)", async () => {
        const s = await fresh();
        await applyScenarioWorld(s, baseWorld({
          roleAssignments: [{ principalId: ALICE_GUEST, role: "Owner", scope: PROD }, { principalId: NORA_GUEST, role: "Contributor", scope: PROD }],
        }, { links: [link(ALICE_GUEST), link(NORA_GUEST, "5000001")] }));
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        assert.deepEqual(brief(await run.report()), ["4000001 PAL fabrikam-prod Owner 620.00 USD ---", "5000001 PAL fabrikam-prod Contributor 620.00 USD ---"]);
      });
    });

    describe("rule 9: within one partner location, a row counts once with the highest role", () => {
      it("Owner on a resource group and Contributor on the subscription: that group's rows are Owner, the rest Contributor", async () => {
        const s = await fresh();
        const bob = BOB_GUEST;
        const world = baseWorld({
          users: [{ id: bob, userPrincipalName: "bob_contoso.example#EXT#@fabrikam.example", type: "guest", homeTenantId: CONTOSO_TENANT, homeObjectId: BOB_HOME }],
          roleAssignments: [{ principalId: ALICE_GUEST, role: "Owner", scope: `${PROD}/resourceGroups/rg-web` }, { principalId: bob, role: "Contributor", scope: PROD }],
        }, { links: [link(ALICE_GUEST), link(bob)] });
        await applyScenarioWorld(s, world);
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        // web1 (310.00) is covered by both but counted once, as Owner; db1 (310.00) as Contributor.
        assert.deepEqual(brief(await run.report()), ["4000001 PAL fabrikam-prod Contributor 310.00 USD ---", "4000001 PAL fabrikam-prod Owner 310.00 USD ---"]);
      });
      it("two linked identities of one location with the same grant count each row once", async () => {
        const s = await fresh();
        await applyScenarioWorld(s, baseWorld({
          users: [{ id: BOB_GUEST, userPrincipalName: "bob_contoso.example#EXT#@fabrikam.example", type: "guest", homeTenantId: CONTOSO_TENANT, homeObjectId: BOB_HOME }],
          roleAssignments: [{ principalId: ALICE_GUEST, role: "Contributor", scope: PROD }, { principalId: BOB_GUEST, role: "Contributor", scope: PROD }],
        }, { links: [link(ALICE_GUEST), link(BOB_GUEST)] }));
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        // Identical intervals from two identities: the union is the day, not two days: 620.00.
        assert.deepEqual(brief(await run.report()), ["4000001 PAL fabrikam-prod Contributor 620.00 USD ---"]);
      });
    });
  });
}
