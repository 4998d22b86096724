/**
 * Explain (rule 18), diagnose (rule 17) and the coverage report (revenue at risk), on scenario
 * worlds. Month 2026-10; each resource costs 10.00 USD a day (31 days).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { storeBackends } from "../support/stores.ts";
import { coverageReport, diagnoseCustomer, explainAttribution } from "../../src/attribution/index.ts";
import { applyScenarioWorld, daily, runScenario, scenarioStore } from "./support.ts";
import { ALICE_GUEST, BOB_GUEST, BOB_HOME, CONTOSO_TENANT, DEV, FABRIKAM_TENANT, NORA_GUEST, NORA_HOME, NORTHWIND_TENANT, PROD, SUB_DEV, SUB_PROD, baseWorld, g, vm } from "./world.ts";

const MONTH = "2026-10";
const WEB = vm(SUB_PROD, "rg-web", "web1");
const usage = [
  ...daily(MONTH, () => ({ subscription: SUB_PROD, resource: WEB, cost: 10 })),
  ...daily(MONTH, () => ({ subscription: SUB_PROD, resource: vm(SUB_PROD, "rg-data", "db1"), cost: 10 })),
  ...daily(MONTH, () => ({ subscription: SUB_DEV, resource: vm(SUB_DEV, "rg-dev", "box1"), cost: 10 })),
];
const link = (objectId: string, partnerId = "4000001") => ({ tenantId: FABRIKAM_TENANT, objectId, partnerId });
const NOW = Date.parse("2026-11-05T00:00:00Z");

for (const backend of storeBackends()) {
  describe(`explain, diagnose and coverage (${backend.name})`, () => {
    const { fresh, runs } = scenarioStore(backend);

    describe("rule 18: every credited amount is explained as a chain", () => {
      it("a resource credited through a group shows usage ← scope ← group assignment ← principal ← link ← partner id", async () => {
        const s = await fresh();
        const team = g("60", 7);
        await applyScenarioWorld(s, baseWorld({
          groups: [{ id: team, displayName: "contoso-team", members: [ALICE_GUEST] }],
          roleAssignments: [{ principalId: team, role: "Contributor", scope: PROD }],
        }, { links: [link(ALICE_GUEST)] }));
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        const x = await explainAttribution(s, run.dataDir, { partnerId: "4000001", subscriptionId: SUB_PROD, resourceId: WEB, month: MONTH });
        assert.equal(x.facts.length, 31);
        assert.deepEqual(x.totals, [{ partnerLocationId: "4000001", attributionType: "PAL", eligible: true, credited: "310.00", currency: "USD" }]);
        const chain = x.facts[0]!.chains[0]!;
        assert.match(chain[0]!, /^usage row .*web1 2026-10-01T00:00:00Z/);
        assert.match(chain[1]!, new RegExp(`^scope ${PROD}$`));
        assert.match(chain[2]!, new RegExp(`via group ${team} grants Contributor`));
        assert.match(chain[3]!, new RegExp(`principal .*${ALICE_GUEST}.*home tenant ${CONTOSO_TENANT}`));
        assert.match(chain[4]!, /^link to 4000001 in tenant/);
        assert.match(chain[5]!, /^partner id 4000001 \(.*organisation 4000000\), active$/);
      });

      it("a DPOR partner sees consumption aggregated by service, not resources or identities (rule 13)", async () => {
        const s = await fresh();
        await applyScenarioWorld(s, baseWorld({}, { partnersOfRecord: [{ subscriptionId: SUB_PROD, partnerId: "5000001", from: "2026-09-01T00:00:00Z" }] }));
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        const x = await explainAttribution(s, run.dataDir, { partnerId: "5000000", subscriptionId: SUB_PROD, month: MONTH, audience: "partner" });
        assert.equal(x.facts.length, 0);
        assert.deepEqual(x.dporServices, [{ partnerLocationId: "5000001", serviceName: "Virtual Machines", credited: "620.00", currency: "USD", associatedSince: "2026-09-01T00:00:00Z" }]);
      });
    });

    describe("rule 17: why a customer is missing", () => {
      it("lists every reason that applies, each with evidence and a fix", async () => {
        const s = await fresh();
        const world = baseWorld({
          users: [{ id: BOB_GUEST, userPrincipalName: "bob_contoso.example#EXT#@fabrikam.example", type: "guest", homeTenantId: CONTOSO_TENANT, homeObjectId: BOB_HOME }],
          roleAssignments: [
            { principalId: ALICE_GUEST, role: "Reader", scope: PROD }, // linked, but only an ineligible role
            { principalId: BOB_GUEST, role: "Owner", scope: DEV }, // eligible, but not linked
          ],
          // Northwind manages dev through Lighthouse, but linked nora's guest in the customer tenant.
          delegations: [{ scope: DEV, managedByTenantId: NORTHWIND_TENANT, authorizations: [{ principalId: NORA_HOME, role: "Contributor" }] }],
        }, { links: [link(ALICE_GUEST), link(NORA_GUEST, "5000001")] });
        const fab = world.tenants![2]!;
        const users = fab.users!.map((u) => (u.id === ALICE_GUEST ? { ...u, disabled: [{ from: "2026-10-20T00:00:00Z" }] } : u));
        await applyScenarioWorld(s, { ...world, tenants: [world.tenants![0]!, world.tenants![1]!, { ...fab, users }] });
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);

        const contoso = await diagnoseCustomer(s, { partnerId: "4000001", tenantId: FABRIKAM_TENANT, month: MONTH, dataDir: run.dataDir, now: NOW });
        const codes = contoso.reasons.map((r) => r.code).sort();
        assert.deepEqual(codes, ["identityDisabled", "noLink", "onlyIneligibleRoles"]);
        for (const r of contoso.reasons) assert.ok(r.fix.length > 10 && Object.keys(r.evidence).length > 0, `${r.code} has a fix and evidence`);

        const northwind = await diagnoseCustomer(s, { partnerId: "5000000", tenantId: FABRIKAM_TENANT, month: MONTH, dataDir: run.dataDir, now: NOW });
        assert.ok(northwind.reasons.some((r) => r.code === "lighthouseLinkInCustomerTenant"), JSON.stringify(northwind.reasons));
        assert.ok(northwind.reasons.find((r) => r.code === "lighthouseLinkInCustomerTenant")!.fix.includes(NORTHWIND_TENANT));
      });

      it("reports usage outside the link's interval and an inactive partner id", async () => {
        const s = await fresh();
        const world = baseWorld({ roleAssignments: [{ principalId: ALICE_GUEST, role: "Owner", scope: DEV }] },
          { links: [{ ...link(ALICE_GUEST), from: "2026-10-21T00:00:00Z" }] });
        const contoso = world.partners![0]!;
        await applyScenarioWorld(s, { ...world, partners: [{ ...contoso, locations: [{ id: "4000001", inactive: [{ from: "2026-10-25T00:00:00Z" }] }, { id: "4000002" }] }, world.partners![1]!] });
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        const d = await diagnoseCustomer(s, { partnerId: "4000001", tenantId: FABRIKAM_TENANT, month: MONTH, dataDir: run.dataDir, now: NOW });
        assert.deepEqual(d.reasons.map((r) => r.code).sort(), ["partnerIdInactive", "usageOutsideLink"]);
      });
    });

    describe("coverage: identities, share of spend, revenue at risk", () => {
      it("an eligible but unlinked identity puts its scope's spend at risk; an ineligible one does not", async () => {
        const s = await fresh();
        await applyScenarioWorld(s, baseWorld({
          users: [{ id: BOB_GUEST, userPrincipalName: "bob_contoso.example#EXT#@fabrikam.example", type: "guest", homeTenantId: CONTOSO_TENANT, homeObjectId: BOB_HOME }],
          roleAssignments: [
            { principalId: ALICE_GUEST, role: "Owner", scope: `${PROD}/resourceGroups/rg-web` }, // linked: web1 credited (310)
            { principalId: BOB_GUEST, role: "Owner", scope: DEV }, // not linked: dev (310) at risk
          ],
        }, { links: [link(ALICE_GUEST)] }));
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        const r = await coverageReport(s, { partnerId: "4000000", month: MONTH, dataDir: run.dataDir, now: NOW });
        assert.equal(r.customers.length, 1);
        const fab = r.customers[0]!;
        assert.equal(fab.tenantName, "Fabrikam");
        // Spend 930.00 (3 resources × 310); credited web1 310.00 (33.3%); dev's 310.00 at risk.
        assert.deepEqual(fab.money, [{ currency: "USD", spend: "930.00", credited: "310.00", potential: "620.00", atRisk: "310.00", coveredShare: 0.3333 }]);
        const bob = fab.identities.find((i) => i.objectId === BOB_GUEST)!;
        assert.equal(bob.linkedTo, null);
        assert.deepEqual(bob.roles, [{ scope: DEV, role: "Owner", eligible: true }]);
      });
    });
  });
}
