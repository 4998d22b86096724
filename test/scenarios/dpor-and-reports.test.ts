/**
 * DPOR and report scenarios (ATTRIBUTION-RULES.md rules 8, 10–12, 16 and the unknown-subscription
 * rule of "Usage inputs"). Month 2026-10 (31 days); each resource costs 10.00 USD a day.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { storeBackends } from "../support/stores.ts";
import { applyScenarioWorld, brief, daily, runScenario, scenarioStore } from "./support.ts";
import { ALICE_GUEST, BOB_GUEST, BOB_HOME, CONTOSO_TENANT, FABRIKAM_TENANT, NORA_GUEST, OWNER, PROD, SUB_PROD, baseWorld, g, vm } from "./world.ts";

const MONTH = "2026-10";
const WEB = vm(SUB_PROD, "rg-web", "web1");
const DATA = vm(SUB_PROD, "rg-data", "db1");
const usage = [
  ...daily(MONTH, () => ({ subscription: SUB_PROD, resource: WEB, cost: 10 })),
  ...daily(MONTH, () => ({ subscription: SUB_PROD, resource: DATA, cost: 10 })),
];
const link = (objectId: string, partnerId = "4000001") => ({ tenantId: FABRIKAM_TENANT, objectId, partnerId });

for (const backend of storeBackends()) {
  describe(`DPOR and report scenarios (${backend.name})`, () => {
    const { fresh, runs } = scenarioStore(backend);

    describe("rules 8 and 11: PAL and DPOR coexist", () => {
      it("one partner's PAL and another partner's DPOR on the same subscription are both credited in full", async () => {
        const s = await fresh();
        await applyScenarioWorld(s, baseWorld({ roleAssignments: [{ principalId: ALICE_GUEST, role: "Owner", scope: PROD }] },
          { links: [link(ALICE_GUEST)], partnersOfRecord: [{ subscriptionId: SUB_PROD, partnerId: "5000001", from: "2026-09-01T00:00:00Z" }] }));
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        // Contoso PAL 620.00 (Owner); Northwind DPOR 620.00 (no AdminType); different organisations: no duplicates.
        assert.deepEqual(brief(await run.report()), ["4000001 PAL fabrikam-prod Owner 620.00 USD ---", "5000001 DPOR fabrikam-prod - 620.00 USD ---"]);
      });
    });

    describe("rule 12: leaving EA ends the DPOR for good", () => {
      it("moved to Azure plan on Oct 11: DPOR earns Oct 1–10 only, and moving back to EA on Oct 21 does not revive it", async () => {
        const s = await fresh();
        await applyScenarioWorld(s, baseWorld({}, { partnersOfRecord: [{ subscriptionId: SUB_PROD, partnerId: "5000001", from: "2026-09-01T00:00:00Z" }] }));
        const base = { tenantId: FABRIKAM_TENANT, id: SUB_PROD, displayName: "fabrikam-prod", accountOwnerId: OWNER };
        await s.resources.putSubscription({ ...base, offerType: "AzurePlan" }, { at: Date.parse("2026-10-11T00:00:00Z") });
        await s.resources.putSubscription({ ...base, offerType: "EA" }, { at: Date.parse("2026-10-21T00:00:00Z") });
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        // 10 days × 2 resources × 10 = 200.00.
        assert.deepEqual(brief(await run.report()), ["5000001 DPOR fabrikam-prod - 200.00 USD ---"]);
        // The store agrees: no partner of record now, and history says why it ended.
        assert.equal(await s.partnersOfRecord.current(SUB_PROD), undefined);
        assert.equal(await s.partnersOfRecord.endIfOfferLeftEa(SUB_PROD), true);
        const [h] = await s.partnersOfRecord.history({ subscriptionId: SUB_PROD });
        assert.equal(h?.endReason, "offerChanged");
        assert.equal(h?.validTo, Date.parse("2026-10-11T00:00:00Z"));
      });
    });

    describe("rule 16: duplicate flags (priority PAL before DPOR, then the larger credit, then the smaller location id)", () => {
      it("flags the second location of one organisation and the DPOR behind a PAL, so unflagged rows sum without double counting", async () => {
        const s = await fresh();
        await applyScenarioWorld(s, baseWorld({
          users: [{ id: BOB_GUEST, userPrincipalName: "bob_contoso.example#EXT#@fabrikam.example", type: "guest", homeTenantId: CONTOSO_TENANT, homeObjectId: BOB_HOME }],
          // alice → 4000001: Owner on rg-web (web1). bob → 4000002 (same organisation): Contributor on prod (web1 + db1).
          roleAssignments: [{ principalId: ALICE_GUEST, role: "Owner", scope: `${PROD}/resourceGroups/rg-web` }, { principalId: BOB_GUEST, role: "Contributor", scope: PROD }],
        }, { links: [link(ALICE_GUEST), link(BOB_GUEST, "4000002")], partnersOfRecord: [{ subscriptionId: SUB_PROD, partnerId: "4000001", from: "2026-09-01T00:00:00Z" }] }));
        const run = await runScenario(s, usage, MONTH);
        runs.push(run);
        // Facts per usage row of web1: 4000001 PAL (Owner), 4000002 PAL (Contributor), 4000001 DPOR — all 10.00.
        //   PGA order: 4000001 PAL first (PAL, equal credit, smaller id) → 4000002 PAL and DPOR flagged at PGA level.
        //   PGA+type: PAL group → 4000002 PAL flagged; DPOR group has one fact → not flagged.
        //   MPN: 4000001 has PAL and DPOR → DPOR flagged; 4000002 alone → not flagged.
        // Facts per usage row of db1: 4000002 PAL (Contributor), 4000001 DPOR.
        //   PGA: 4000002 PAL first → DPOR flagged. PGA+type and MPN: alone in their groups.
        assert.deepEqual(brief(await run.report()), [
          "4000001 DPOR fabrikam-prod - 310.00 USD D--", // db1
          "4000001 DPOR fabrikam-prod - 310.00 USD D-D", // web1
          "4000001 PAL fabrikam-prod Owner 310.00 USD ---",
          "4000002 PAL fabrikam-prod Contributor 310.00 USD ---", // db1
          "4000002 PAL fabrikam-prod Contributor 310.00 USD DD-", // web1
        ]);
        // Unflagged at PGA level = each usage row once: 620.00 = the subscription's spend.
        const rows = await run.report({ globalId: "4000000" });
        const pgaTotal = rows.filter((r) => !r.IsACRDuplicateAtPGALevel).reduce((n, r) => n + Number(r.ACR), 0);
        assert.equal(pgaTotal, 620);
      });
    });

    describe("usage inputs: unknown subscriptions are counted and reported, never dropped silently", () => {
      it("usage of a subscription the control plane does not know appears in the run summary with its rows and cost", async () => {
        const s = await fresh();
        const stranger = g("99", 1);
        await applyScenarioWorld(s, baseWorld({ roleAssignments: [{ principalId: NORA_GUEST, role: "Owner", scope: PROD }] }, { links: [link(NORA_GUEST, "5000001")] }));
        const run = await runScenario(s, [...usage, ...daily(MONTH, () => ({ subscription: stranger, resource: vm(stranger, "rg", "x"), cost: "2.5", currency: "EUR", usd: "2.75" }))], MONTH);
        runs.push(run);
        assert.equal(run.summary.usageRows, 93);
        assert.deepEqual(run.summary.unknownSubscriptions, [{ subscriptionId: stranger, rows: 31, cost: { EUR: "77.500000000000000000" } }]);
        const stored = await s.attribution.run(MONTH, "pec");
        assert.deepEqual(stored?.unknownSubscriptions, run.summary.unknownSubscriptions);
        assert.deepEqual(brief(await run.report()), ["5000001 PAL fabrikam-prod Owner 620.00 USD ---"]);
      });
    });

    describe("re-running a month replaces its results", () => {
      it("a second run after a change gives the new numbers, not the sum of both", async () => {
        const s = await fresh();
        await applyScenarioWorld(s, baseWorld({ roleAssignments: [{ principalId: ALICE_GUEST, role: "Owner", scope: PROD }] }, { links: [link(ALICE_GUEST)] }));
        const first = await runScenario(s, usage, MONTH);
        runs.push(first);
        await s.links.apply(FABRIKAM_TENANT, ALICE_GUEST, { partnerId: "4000001", version: 1, createdTime: 0, updatedTime: 0 }, { partnerId: null, version: 2, createdTime: 0, updatedTime: Date.parse("2026-10-16T00:00:00Z") }, Date.parse("2026-10-16T00:00:00Z"));
        await runScenario(s, [], MONTH, "pec", first.dataDir);
        // Linked Oct 1–15: 15 × 2 × 10 = 300.00.
        assert.deepEqual(brief(await first.report()), ["4000001 PAL fabrikam-prod Owner 300.00 USD ---"]);
      });
    });
  });
}
