/**
 * Business-applications attribution scenarios (docs/POWER-PLATFORM.md, decisions
 * 1–7; docs/SPEC-DEVIATIONS.md): each builds a world with a `powerPlatform` section, writes a
 * month of activity (and metrics) into the activity lake, runs `attributeUsage` and compares the
 * credited rows of `store.bizapps` with the result worked out by hand in the comments.
 *
 * Month 2026-10 unless said otherwise. Rates: 200 per MAU (Power Apps, Power Automate, Power BI),
 * 0.2 per unified profile. Partners: Contoso (locations 4000001, 4000002; guest `alice`, guest
 * `bob`) and Northwind (5000001; guest `nora`); the customer Fabrikam's own accounts `owner` and
 * `end1`…`end5` are never linked. A row reads:
 *   location ResourceType ResourceName AttributedUserRole user Quantity QuantityType MonthlyConsumptionValue EnvironmentType decidedBy
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { storeBackends, type StoreBackend } from "../support/stores.ts";
import { applyScenarioWorld, scenarioStore } from "./support.ts";
import { brief, readBizappsFacts, runMonth, scenarioDir, writeActivityEvents, writeActivityMetrics } from "./bizapps-lake.ts";
import { activityMetricsFile } from "../../src/activity/lake.ts";
import { diagnoseBizappsResource } from "../../src/bizapps/diagnose.ts";
import { explainBizappsResource } from "../../src/bizapps/explain.ts";
import { bizappsCoverage } from "../../src/bizapps/coverage.ts";
import {
  ALICE_GUEST, ALICE_HOME, BOB_GUEST, CONTOSO_TENANT, END, FABRIKAM_TENANT, ENV_PROD, ENV_SANDBOX, NAMES, NORA_GUEST, NORA_HOME, NORTHWIND_TENANT, OWNER,
  app, bizWorld, ci, flowRun, g, link, mau, profiles, view,
} from "./bizapps-world.ts";

const OCT = "2026-10";
const NOV = "2026-11";
const [END1, END2, END3, END4, END5] = END as [string, string, string, string, string];
const AUG1 = "2026-08-01T00:00:00Z";
const SEP1 = "2026-09-01T00:00:00Z";

// Resource ids (hex families: a0 apps, f0 flows, da datasets, c1 instances, 5a solutions, b1 workspaces).
const APP = (n: number) => g("a0", n);
const FLOW = (n: number) => g("f0", n);
const DATASET = (n: number) => g("da", n);
const INSTANCE = (n: number) => g("c1", n);
const SOLUTION = (n: number) => g("5a", n);
const WORKSPACE = (n: number) => g("b1", n);

const canvas = (n: number, displayName: string, createdBy: string, extra: object = {}) =>
  ({ id: APP(n), environment: ENV_PROD, displayName, kind: "canvas" as const, createdBy, createdAt: AUG1, ...extra });

const dirs: { cleanup(): void }[] = [];
after(() => dirs.forEach((d) => d.cleanup()));
const newDir = () => {
  const d = scenarioDir();
  dirs.push(d);
  return d.dataDir;
};

const [sqlite] = storeBackends() as [StoreBackend, ...StoreBackend[]];

/** Scenarios run on every backend (PostgreSQL when OPENPAL_TEST_POSTGRES_URL is set). */
for (const backend of storeBackends()) {
  describe(`business-applications scenarios on every store (${backend.name})`, () => {
    const { fresh } = scenarioStore(backend);

    describe("decision 4: one partner per resource, the latest by activity while qualifying", () => {
      // "Service desk": canvas app created by alice (Contoso) on Aug 1, nora (Northwind) co-owner
      // since Sep 1; both linked all month, so both qualify from Oct 1 to Nov 1.
      const world = () => bizWorld({ apps: [canvas(2, "Service desk", ALICE_GUEST, { coOwners: [{ principalId: NORA_GUEST, from: SEP1 }] })] },
        { links: [link(ALICE_GUEST), link(NORA_GUEST, "5000001")] });

      it("owner and co-owner of two partners: the co-owner who acted later wins the whole MAU, never split", async () => {
        const s = await fresh();
        await applyScenarioWorld(s, world());
        const dir = newDir();
        await writeActivityEvents(dir, OCT, [
          app(APP(2), ALICE_GUEST, "2026-10-20T10:00:00Z"),
          app(APP(2), NORA_GUEST, "2026-10-25T08:00:00Z"),
          app(APP(2), END1, "2026-10-26T12:00:00Z"), // not a candidate: its act decides nothing
        ]);
        const rows = await runMonth(s, dir, OCT);
        // Last acts while qualifying: alice Oct 20, nora Oct 25 → Northwind, as CoOwner.
        // MAU = {alice, nora, end1} = 3 → 3 × 200 = 600.00, all of it to Northwind.
        assert.deepEqual(brief(rows, NAMES), ["5000001 CanvasApp Service desk CoOwner nora 3 MAU 600.00 Production latestActivity"]);
        assert.equal(rows[0]!.lastActAt, Date.parse("2026-10-25T08:00:00Z"));
        assert.equal(rows[0]!.linkPath, "home");
      });

      it("an act that is not a use (an edit) still decides who acted last, but adds no MAU", async () => {
        const s = await fresh();
        await applyScenarioWorld(s, world());
        const dir = newDir();
        await writeActivityEvents(dir, OCT, [
          app(APP(2), ALICE_GUEST, "2026-10-20T10:00:00Z"),
          app(APP(2), NORA_GUEST, "2026-10-25T08:00:00Z"),
          app(APP(2), ALICE_GUEST, "2026-10-28T16:00:00Z", { operation: "EditApp", use: false }),
          app(APP(2), END4, "2026-10-29T09:00:00Z", { operation: "EditApp", use: false }),
        ]);
        const rows = await runMonth(s, dir, OCT);
        // alice's edit on Oct 28 is the latest act → Contoso, as Owner (the creator of a canvas app).
        // MAU counts use events only: {alice, nora} = 2 → 400.00 (end4 only edited).
        assert.deepEqual(brief(rows, NAMES), ["4000001 CanvasApp Service desk Owner alice 2 MAU 400.00 Production latestActivity"]);
        assert.equal(rows[0]!.lastActAt, Date.parse("2026-10-28T16:00:00Z"));
      });
    });

    describe("re-running a month", () => {
      it("a month re-run replaces its previous results (other months untouched), and a failed re-run leaves them intact", async () => {
        const s = await fresh();
        // "Field inspections": canvas app created by alice (Contoso, linked) on Aug 1.
        await applyScenarioWorld(s, bizWorld({ apps: [canvas(1, "Field inspections", ALICE_GUEST)] }, { links: [link(ALICE_GUEST)] }));
        const dir = newDir();
        await writeActivityEvents(dir, OCT, [app(APP(1), END1, "2026-10-02T09:00:00Z"), app(APP(1), END2, "2026-10-03T09:00:00Z"), app(APP(1), END3, "2026-10-04T09:00:00Z")]);
        await writeActivityEvents(dir, NOV, [app(APP(1), END1, "2026-11-02T09:00:00Z")]);
        // First run: MAU {end1, end2, end3} = 3 → 600.00.
        assert.deepEqual(brief(await runMonth(s, dir, OCT), NAMES), ["4000001 CanvasApp Field inspections Owner alice 3 MAU 600.00 Production onlyPartner"]);
        // November: MAU {end1} = 1 → 200.00.
        assert.deepEqual(brief(await runMonth(s, dir, NOV), NAMES), ["4000001 CanvasApp Field inspections Owner alice 1 MAU 200.00 Production onlyPartner"]);

        // A metrics file arrives for October (MAU 10, wins over activity): the re-run replaces the row, no duplicate.
        await writeActivityMetrics(dir, OCT, [mau("PowerApps", APP(1), 10)]);
        const rerun = await runMonth(s, dir, OCT);
        assert.deepEqual(brief(rerun, NAMES), ["4000001 CanvasApp Field inspections Owner alice 10 MAU 2000.00 Production onlyPartner"]);
        assert.equal(rerun[0]!.quantitySource, "metrics");
        assert.equal((await s.bizapps.run(OCT))?.credited, 1);
        assert.deepEqual(await s.bizapps.months(), [OCT, NOV]);
        assert.deepEqual(brief(await s.bizapps.rollups({ month: NOV }), NAMES), ["4000001 CanvasApp Field inspections Owner alice 1 MAU 200.00 Production onlyPartner"]);
        const facts = await readBizappsFacts(dir, OCT);
        assert.deepEqual(facts.filter((f) => f.credited).map((f) => [f.partner_location_id, f.quantity, f.quantity_source]), [["4000001", 10, "metrics"]]);

        // A damaged metrics file: the run fails, and October still reads as after the last good run.
        const before = await s.bizapps.run(OCT);
        writeFileSync(activityMetricsFile(dir, OCT), "this is not parquet");
        await assert.rejects(runMonth(s, dir, OCT));
        assert.deepEqual(brief(await s.bizapps.rollups({ month: OCT }), NAMES), ["4000001 CanvasApp Field inspections Owner alice 10 MAU 2000.00 Production onlyPartner"]);
        assert.deepEqual(await s.bizapps.run(OCT), before);
      });
    });
  });
}

describe(`business-applications scenarios (${sqlite.name})`, () => {
  const { fresh } = scenarioStore(sqlite);

  describe("decision 3: the attributed user, linked and enabled, qualifies", () => {
    it("owner only: the linked owner of a canvas app is credited the month's MAU (distinct users with a use event)", async () => {
      const s = await fresh();
      await applyScenarioWorld(s, bizWorld({ apps: [canvas(1, "Field inspections", ALICE_GUEST)] }, { links: [link(ALICE_GUEST)] }));
      const dir = newDir();
      await writeActivityEvents(dir, "2026-09", [app(APP(1), END5, "2026-09-30T23:59:59Z")]); // September: not October's MAU
      await writeActivityEvents(dir, OCT, [
        app(APP(1), END1, "2026-10-02T09:00:00Z"),
        app(APP(1), END1, "2026-10-09T09:00:00Z"), // end1 again: one user
        app(APP(1), END2, "2026-10-14T09:00:00Z"),
        app(APP(1), END3, "2026-10-31T23:59:59Z"),
        app(APP(1), END4, "2026-10-20T09:00:00Z", { operation: "EditApp", use: false }), // an act, not a use
      ]);
      const rows = await runMonth(s, dir, OCT);
      // MAU = {end1, end2, end3} = 3 → 3 × 200 = 600.00; alice alone qualifies (she never acted: onlyPartner).
      assert.deepEqual(brief(rows, NAMES), ["4000001 CanvasApp Field inspections Owner alice 3 MAU 600.00 Production onlyPartner"]);
      const r = rows[0]!;
      assert.deepEqual(
        [r.month, r.customerTenantId, r.customerName, r.globalId, r.partnerName, r.workload, r.resourceId, r.environmentId, r.environmentName, r.linkPath, r.quantitySource, r.attributedUserObjectId],
        [OCT, FABRIKAM_TENANT, "Fabrikam", "4000000", "Contoso Consulting", "PowerApps", APP(1), ENV_PROD, "Fabrikam Production", "home", "activity", ALICE_GUEST],
      );
      assert.equal((await s.bizapps.run(OCT))?.credited, 1);
    });

    it("a co-owner added mid-month is credited the whole month's MAU (the metric is monthly, never prorated)", async () => {
      const s = await fresh();
      // "Site audits": owned by the customer's owner; alice co-owner from Oct 15.
      await applyScenarioWorld(s, bizWorld({ apps: [canvas(3, "Site audits", OWNER, { coOwners: [{ principalId: ALICE_GUEST, from: "2026-10-15T00:00:00Z" }] })] },
        { links: [link(ALICE_GUEST)] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [app(APP(3), END1, "2026-10-03T09:00:00Z"), app(APP(3), END2, "2026-10-20T09:00:00Z")]);
      // alice qualifies Oct 15 – Nov 1; MAU {end1, end2} = 2 (end1 used it before she was co-owner: still counts) → 400.00.
      assert.deepEqual(brief(await runMonth(s, dir, OCT), NAMES), ["4000001 CanvasApp Site audits CoOwner alice 2 MAU 400.00 Production onlyPartner"]);
    });

    it("an act before the co-owner was added is not an act while qualifying: the earlier co-owner's act wins", async () => {
      const s = await fresh();
      // nora co-owner Sep 1 – Oct 15, alice co-owner from Oct 15.
      await applyScenarioWorld(s, bizWorld({
        apps: [canvas(3, "Site audits", OWNER, { coOwners: [{ principalId: NORA_GUEST, from: SEP1, to: "2026-10-15T00:00:00Z" }, { principalId: ALICE_GUEST, from: "2026-10-15T00:00:00Z" }] })],
      }, { links: [link(ALICE_GUEST), link(NORA_GUEST, "5000001")] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [app(APP(3), NORA_GUEST, "2026-10-10T09:00:00Z"), app(APP(3), ALICE_GUEST, "2026-10-12T09:00:00Z")]);
      // nora acted Oct 10 while co-owner; alice's Oct 12 act was before her co-ownership → Northwind.
      // MAU {nora, alice} = 2 → 400.00.
      const rows = await runMonth(s, dir, OCT);
      assert.deepEqual(brief(rows, NAMES), ["5000001 CanvasApp Site audits CoOwner nora 2 MAU 400.00 Production latestActivity"]);
      assert.equal(rows[0]!.lastActAt, Date.parse("2026-10-10T09:00:00Z"));
    });

    it("intervals are [from, to): an act at the instant a co-ownership ends is not while qualifying; with no qualifying act the latest relationship wins", async () => {
      const s = await fresh();
      // nora co-owner Sep 1 – Oct 15 00:00, alice co-owner from Oct 15 00:00.
      await applyScenarioWorld(s, bizWorld({
        apps: [canvas(3, "Site audits", OWNER, { coOwners: [{ principalId: NORA_GUEST, from: SEP1, to: "2026-10-15T00:00:00Z" }, { principalId: ALICE_GUEST, from: "2026-10-15T00:00:00Z" }] })],
      }, { links: [link(ALICE_GUEST), link(NORA_GUEST, "5000001")] }));
      const dir = newDir();
      // nora acts exactly at Oct 15 00:00 (her interval has ended); alice acts Oct 14 (hers has not begun).
      await writeActivityEvents(dir, OCT, [app(APP(3), NORA_GUEST, "2026-10-15T00:00:00Z"), app(APP(3), ALICE_GUEST, "2026-10-14T23:59:59Z")]);
      const rows = await runMonth(s, dir, OCT);
      // Neither acted while qualifying → the relationship that began most recently: alice's (Oct 15) → Contoso.
      // MAU {nora, alice} = 2 → 400.00.
      assert.deepEqual(brief(rows, NAMES), ["4000001 CanvasApp Site audits CoOwner alice 2 MAU 400.00 Production latestRelationship"]);
      assert.equal(rows[0]!.lastActAt, null);
    });

    it("a resource owned only by customer accounts credits nothing; its facts say noLink", async () => {
      const s = await fresh();
      // "HR onboarding": owner and co-owner are Fabrikam's own accounts; alice is linked but holds nothing.
      await applyScenarioWorld(s, bizWorld({
        apps: [canvas(12, "HR onboarding", OWNER, { coOwners: [{ principalId: END1, from: SEP1 }] })],
        flows: [{ id: FLOW(12), environment: ENV_PROD, displayName: "Onboarding mail", createdBy: OWNER, createdAt: AUG1 }],
      }, { links: [link(ALICE_GUEST)] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [app(APP(12), END1, "2026-10-05T09:00:00Z"), app(APP(12), END2, "2026-10-06T09:00:00Z"), app(APP(12), ALICE_GUEST, "2026-10-07T09:00:00Z")]);
      await writeActivityMetrics(dir, OCT, [mau("PowerAutomate", FLOW(12), 25)]);
      assert.deepEqual(await runMonth(s, dir, OCT), []);
      assert.equal((await s.bizapps.run(OCT))?.credited, 0);
      const facts = await readBizappsFacts(dir, OCT);
      // App: owner and co-owner end1, each one row with no partner. Flow: owner, one row.
      const shown = facts.map((f) => [f.resource_id, NAMES[String(f.principal_id)], f.partner_location_id, f.qualifies, f.not_qualifying_reason, f.credited].join(" ")).sort();
      assert.deepEqual(shown, [
        `${APP(12)} end1  false noLink false`,
        `${APP(12)} owner  false noLink false`,
        `${FLOW(12)} owner  false noLink false`,
      ]);
    });
  });

  describe("decision 4 without acts, and locations of one partner", () => {
    it("when no candidate acted, the partner whose qualifying relationship began most recently wins", async () => {
      const s = await fresh();
      // "Dispatch": alice owner since Aug 1 (creator), nora co-owner since Oct 10; only end users act.
      await applyScenarioWorld(s, bizWorld({ apps: [canvas(40, "Dispatch", ALICE_GUEST, { coOwners: [{ principalId: NORA_GUEST, from: "2026-10-10T00:00:00Z" }] })] },
        { links: [link(ALICE_GUEST), link(NORA_GUEST, "5000001")] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [app(APP(40), END1, "2026-10-02T09:00:00Z"), app(APP(40), END2, "2026-10-28T09:00:00Z")]);
      const rows = await runMonth(s, dir, OCT);
      // nora's relationship began Oct 10, alice's Aug 1 → Northwind; MAU {end1, end2} = 2 → 400.00; no act to show.
      assert.deepEqual(brief(rows, NAMES), ["5000001 CanvasApp Dispatch CoOwner nora 2 MAU 400.00 Production latestRelationship"]);
      assert.equal(rows[0]!.lastActAt, null);
    });

    it("an act while qualifying beats a relationship that began later without one", async () => {
      const s = await fresh();
      // "Dispatch": alice owner since Aug 1 and acts Oct 5; nora co-owner from Oct 10, no act.
      await applyScenarioWorld(s, bizWorld({ apps: [canvas(40, "Dispatch", ALICE_GUEST, { coOwners: [{ principalId: NORA_GUEST, from: "2026-10-10T00:00:00Z" }] })] },
        { links: [link(ALICE_GUEST), link(NORA_GUEST, "5000001")] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [app(APP(40), ALICE_GUEST, "2026-10-05T09:00:00Z")]);
      // Only alice acted → Contoso; MAU {alice} = 1 → 200.00.
      assert.deepEqual(brief(await runMonth(s, dir, OCT), NAMES), ["4000001 CanvasApp Dispatch Owner alice 1 MAU 200.00 Production latestActivity"]);
    });

    it("two locations of one partner: the resource goes to the location of the candidate who acted last, once", async () => {
      const s = await fresh();
      // "Routes": alice (Contoso US, 4000001) owner, bob (Contoso GB, 4000002) co-owner since Sep 1.
      await applyScenarioWorld(s, bizWorld({ apps: [canvas(41, "Routes", ALICE_GUEST, { coOwners: [{ principalId: BOB_GUEST, from: SEP1 }] })] },
        { links: [link(ALICE_GUEST), link(BOB_GUEST, "4000002")] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [app(APP(41), ALICE_GUEST, "2026-10-05T09:00:00Z"), app(APP(41), BOB_GUEST, "2026-10-07T09:00:00Z")]);
      const rows = await runMonth(s, dir, OCT);
      // bob acted last → 4000002 only (not both locations); MAU {alice, bob} = 2 → 400.00.
      assert.deepEqual(rows.map((r) => [r.partnerLocationId, r.globalId, r.attributedUserRole, NAMES[r.attributedUserObjectId], r.quantity, Number(r.monthlyConsumptionValue).toFixed(2)]),
        [["4000002", "4000000", "CoOwner", "bob", 2, "400.00"]]);
    });
  });

  describe("solutions: importing re-owns every component (decision 2)", () => {
    it("a model-driven app re-owned by a second solution import: the last PAL-linked importer wins (the import is its act)", async () => {
      const s = await fresh();
      // "Case management" created by owner on Aug 15, in managed solution fabrikam_cases,
      // imported by alice on Sep 15 and by nora on Oct 20: alice [Oct 1, Oct 20), nora [Oct 20, Nov 1).
      await applyScenarioWorld(s, bizWorld({
        apps: [{ id: APP(4), environment: ENV_PROD, displayName: "Case management", kind: "modelDriven", createdBy: OWNER, createdAt: "2026-08-15T00:00:00Z" }],
        solutions: [{ id: SOLUTION(1), uniqueName: "fabrikam_cases", environment: ENV_PROD, managed: true, components: [{ type: "app", id: APP(4) }],
          imports: [{ by: ALICE_GUEST, at: "2026-09-15T00:00:00Z" }, { by: NORA_GUEST, at: "2026-10-20T00:00:00Z" }] }],
      }, { links: [link(ALICE_GUEST), link(NORA_GUEST, "5000001")] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [
        app(APP(4), END1, "2026-10-05T09:00:00Z"), app(APP(4), END2, "2026-10-05T10:00:00Z"), app(APP(4), END3, "2026-10-05T11:00:00Z"),
        app(APP(4), ALICE_GUEST, "2026-10-25T09:00:00Z"), // after nora's import: alice no longer qualifies
      ]);
      const rows = await runMonth(s, dir, OCT);
      // Acts while qualifying: alice none in October (her import was Sep 15); nora's import at Oct 20 → Northwind.
      // MAU {end1, end2, end3, alice} = 4 → 800.00.
      assert.deepEqual(brief(rows, NAMES), ["5000001 ModelDrivenApp Case management SolutionImporter nora 4 MAU 800.00 Production latestActivity"]);
      assert.equal(rows[0]!.lastActAt, Date.parse("2026-10-20T00:00:00Z"));
    });

    it("one import re-owns every component: the importer is credited for the app and the flow of the solution", async () => {
      const s = await fresh();
      // fabrikam_orders holds "Orders" (canvas) and "Order mail" (flow), both created by owner; nora imports it on Oct 3.
      await applyScenarioWorld(s, bizWorld({
        apps: [canvas(9, "Orders", OWNER)],
        flows: [{ id: FLOW(9), environment: ENV_PROD, displayName: "Order mail", createdBy: OWNER, createdAt: AUG1 }],
        solutions: [{ id: SOLUTION(3), uniqueName: "fabrikam_orders", environment: ENV_PROD, managed: true,
          components: [{ type: "app", id: APP(9) }, { type: "flow", id: FLOW(9) }], imports: [{ by: NORA_GUEST, at: "2026-10-03T00:00:00Z" }] }],
      }, { links: [link(NORA_GUEST, "5000001")] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [app(APP(9), END1, "2026-10-01T09:00:00Z"), app(APP(9), END2, "2026-10-20T09:00:00Z")]);
      await writeActivityMetrics(dir, OCT, [mau("PowerAutomate", FLOW(9), 5)]);
      const rows = await runMonth(s, dir, OCT);
      // nora owns both from Oct 3: Orders MAU {end1, end2} = 2 → 400.00; Order mail 5 (metrics) → 1000.00.
      assert.deepEqual(brief(rows, NAMES), [
        "5000001 CanvasApp Orders SolutionImporter nora 2 MAU 400.00 Production onlyPartner",
        "5000001 Flow Order mail SolutionImporter nora 5 MAU 1000.00 Production onlyPartner",
      ]);
      assert.ok(rows.every((r) => r.lastActAt === Date.parse("2026-10-03T00:00:00Z")), "the import is nora's act on each component");
    });

    it("a solution re-imported by an unlinked account takes ownership: the linked importer is credited for October, not for November", async () => {
      const s = await fresh();
      // "Expense claims" (canvas) in solution fabrikam_expenses: alice imports Sep 10, owner (unlinked) re-imports Oct 12.
      await applyScenarioWorld(s, bizWorld({
        apps: [canvas(5, "Expense claims", OWNER)],
        solutions: [{ id: SOLUTION(2), uniqueName: "fabrikam_expenses", environment: ENV_PROD, managed: true, components: [{ type: "app", id: APP(5) }],
          imports: [{ by: ALICE_GUEST, at: "2026-09-10T00:00:00Z" }, { by: OWNER, at: "2026-10-12T00:00:00Z" }] }],
      }, { links: [link(ALICE_GUEST)] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [app(APP(5), END1, "2026-10-03T09:00:00Z"), app(APP(5), END2, "2026-10-20T09:00:00Z")]);
      await writeActivityEvents(dir, NOV, [app(APP(5), END1, "2026-11-03T09:00:00Z"), app(APP(5), END2, "2026-11-04T09:00:00Z"), app(APP(5), END3, "2026-11-05T09:00:00Z")]);
      // October: alice owns Oct 1 – Oct 12 → Contoso, MAU {end1, end2} = 2 → 400.00.
      assert.deepEqual(brief(await runMonth(s, dir, OCT), NAMES), ["4000001 CanvasApp Expense claims SolutionImporter alice 2 MAU 400.00 Production onlyPartner"]);
      // November: owner holds it all month, unlinked → nothing.
      assert.deepEqual(await runMonth(s, dir, NOV), []);
    });
  });

  describe("decision 1: a flow's attributed user is its one owner", () => {
    it("a flow whose owner was changed: the new owner from the change, the creator until it; co-owners never count", async () => {
      const s = await fresh();
      await applyScenarioWorld(s, bizWorld({
        flows: [
          // "Invoice approvals": created by owner, owner changed to alice on Oct 8; nora co-owner since Sep 1 (does not count).
          { id: FLOW(1), environment: ENV_PROD, displayName: "Invoice approvals", createdBy: OWNER, createdAt: AUG1,
            owners: [{ principalId: OWNER, to: "2026-10-08T00:00:00Z" }, { principalId: ALICE_GUEST, from: "2026-10-08T00:00:00Z" }],
            coOwners: [{ principalId: NORA_GUEST, from: SEP1 }] },
          // "Nightly sync": created by alice, owner changed to owner on Oct 8: alice (Creator) qualifies Oct 1 – Oct 8.
          { id: FLOW(2), environment: ENV_PROD, displayName: "Nightly sync", createdBy: ALICE_GUEST, createdAt: AUG1,
            owners: [{ principalId: ALICE_GUEST, to: "2026-10-08T00:00:00Z" }, { principalId: OWNER, from: "2026-10-08T00:00:00Z" }] },
        ],
      }, { links: [link(ALICE_GUEST), link(NORA_GUEST, "5000001")] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [flowRun(FLOW(1), NORA_GUEST, "2026-10-30T09:00:00Z")]); // the co-owner's run: no candidate
      await writeActivityMetrics(dir, OCT, [mau("PowerAutomate", FLOW(1), 7), mau("PowerAutomate", FLOW(2), 3)]);
      const rows = await runMonth(s, dir, OCT);
      // Invoice approvals: 7 × 200 = 1400.00 to Contoso (alice, Owner by assignment); Nightly sync: 3 × 200 = 600.00 (alice, Creator).
      assert.deepEqual(brief(rows, NAMES), [
        "4000001 Flow Invoice approvals Owner alice 7 MAU 1400.00 Production onlyPartner",
        "4000001 Flow Nightly sync Creator alice 3 MAU 600.00 Production onlyPartner",
      ]);
      assert.ok(rows.every((r) => r.workload === "PowerAutomate" && r.quantitySource === "metrics"));
    });
  });

  describe("Power BI: the publisher, replaced by a take-over", () => {
    it("a dataset taken over: the taker qualifies from the take-over, the publisher until it; the latest act while qualifying wins", async () => {
      const s = await fresh();
      // "Sales": published by nora (Northwind) on Sep 1, taken over by alice (Contoso) on Oct 3 09:30.
      await applyScenarioWorld(s, bizWorld({
        powerBi: { workspaces: [{ id: WORKSPACE(1), displayName: "Finance",
          members: [{ principalId: NORA_GUEST, role: "Admin" }, { principalId: ALICE_GUEST, role: "Member" }],
          datasets: [{ id: DATASET(1), displayName: "Sales", publishedBy: NORA_GUEST, publishedAt: SEP1, takeovers: [{ by: ALICE_GUEST, at: "2026-10-03T09:30:00Z" }] }] }] },
      }, { links: [link(ALICE_GUEST), link(NORA_GUEST, "5000001")] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [
        view(DATASET(1), NORA_GUEST, "2026-10-02T09:00:00Z"), // publisher, qualifying
        view(DATASET(1), ALICE_GUEST, "2026-10-10T09:00:00Z"), // owner since the take-over, qualifying
        view(DATASET(1), NORA_GUEST, "2026-10-20T09:00:00Z"), // no longer the publisher: not an act while qualifying
        view(DATASET(1), END1, "2026-10-05T09:00:00Z"), view(DATASET(1), END2, "2026-10-06T09:00:00Z"),
      ]);
      const rows = await runMonth(s, dir, OCT);
      // Latest qualifying acts: nora Oct 2, alice Oct 10 → Contoso, role Owner (take-over); no environment.
      // MAU {nora, alice, end1, end2} = 4 → 800.00.
      assert.deepEqual(brief(rows, NAMES), ["4000001 Dataset Sales Owner alice 4 MAU 800.00 NotApplicable latestActivity"]);
      assert.equal(rows[0]!.workload, "PowerBI");
      assert.equal(rows[0]!.environmentId, null);
    });
  });

  describe("Customer Insights: active users, unified profiles from a metrics file", () => {
    it("an instance with active users of two partners and an unlinked customer user: the latest linked active user's partner gets the profiles", async () => {
      const s = await fresh();
      await applyScenarioWorld(s, bizWorld({
        customerInsights: { instances: [{ id: INSTANCE(1), displayName: "Customer 360", environment: ENV_PROD, users: [
          { principalId: ALICE_GUEST, role: "Administrator", from: SEP1 },
          { principalId: NORA_GUEST, role: "Contributor", from: SEP1 },
          { principalId: OWNER, role: "Administrator", from: SEP1 },
          { principalId: BOB_GUEST, role: "Viewer", from: SEP1 }, // linked, but no activity: not an active user
        ] }] },
      }, { links: [link(ALICE_GUEST), link(NORA_GUEST, "5000001"), link(BOB_GUEST, "4000002")] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [ci(INSTANCE(1), ALICE_GUEST, "2026-10-05T09:00:00Z"), ci(INSTANCE(1), NORA_GUEST, "2026-10-18T09:00:00Z"), ci(INSTANCE(1), OWNER, "2026-10-28T09:00:00Z")]);
      await writeActivityMetrics(dir, OCT, [profiles(INSTANCE(1), 12345)]);
      const rows = await runMonth(s, dir, OCT);
      // Active linked users: alice (Oct 5), nora (Oct 18); owner is unlinked, bob did nothing → Northwind.
      // 12,345 profiles × 0.2 = 2469.00.
      assert.deepEqual(brief(rows, NAMES), ["5000001 Instance Customer 360 ActiveUser nora 12345 UnifiedProfiles 2469.00 Production latestActivity"]);
      assert.equal(rows[0]!.workload, "CustomerInsights");
      assert.equal(rows[0]!.quantitySource, "metrics");
      // Facts: bob is a linked instance user without activity (noActivity); owner has no link; alice qualifies but is not credited.
      const facts = (await readBizappsFacts(dir, OCT)).map((f) => [NAMES[String(f.principal_id)], f.partner_location_id, f.qualifies, f.not_qualifying_reason, f.credited].join(" ")).sort();
      assert.deepEqual(facts, ["alice 4000001 true  false", "bob 4000002 false noActivity false", "nora 5000001 true  true", "owner  false noLink false"]);
    });
  });

  describe("decision 6: environment type and --production-only", () => {
    it("a Sandbox app is credited with EnvironmentType Sandbox; production-only drops it and keeps datasets and instances without an environment", async () => {
      const s = await fresh();
      await applyScenarioWorld(s, bizWorld({
        apps: [canvas(6, "Prod app", ALICE_GUEST), { ...canvas(7, "Sandbox trial app", ALICE_GUEST), environment: ENV_SANDBOX }],
        powerBi: { workspaces: [{ id: WORKSPACE(2), displayName: "Board", datasets: [{ id: DATASET(2), displayName: "Board pack", publishedBy: ALICE_GUEST, publishedAt: SEP1 }] }] },
        customerInsights: { instances: [{ id: INSTANCE(2), displayName: "Loyalty profiles", users: [{ principalId: ALICE_GUEST, role: "Contributor", from: SEP1 }] }] },
      }, { links: [link(ALICE_GUEST)] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [
        app(APP(6), END1, "2026-10-02T09:00:00Z"), app(APP(6), END2, "2026-10-02T10:00:00Z"),
        app(APP(7), END1, "2026-10-03T09:00:00Z"),
        view(DATASET(2), END3, "2026-10-04T09:00:00Z"),
        ci(INSTANCE(2), ALICE_GUEST, "2026-10-05T09:00:00Z"),
      ]);
      await writeActivityMetrics(dir, OCT, [profiles(INSTANCE(2), 1000)]);
      const all = await runMonth(s, dir, OCT);
      // Prod app 2 MAU → 400.00; Sandbox app 1 MAU → 200.00; Board pack 1 MAU → 200.00; Loyalty profiles 1,000 × 0.2 = 200.00.
      const prod = "4000001 CanvasApp Prod app Owner alice 2 MAU 400.00 Production onlyPartner";
      const sandbox = "4000001 CanvasApp Sandbox trial app Owner alice 1 MAU 200.00 Sandbox onlyPartner";
      const dataset = "4000001 Dataset Board pack Publisher alice 1 MAU 200.00 NotApplicable onlyPartner";
      const instance = "4000001 Instance Loyalty profiles ActiveUser alice 1000 UnifiedProfiles 200.00 NotApplicable onlyPartner";
      assert.deepEqual(brief(all, NAMES), [prod, sandbox, dataset, instance].sort());
      assert.deepEqual(brief(await s.bizapps.rollups({ month: OCT, productionOnly: true }), NAMES), [prod, dataset, instance].sort());
    });
  });

  describe("stop rules (decision 3)", () => {
    it("an identity disabled mid-month qualifies until then; its acts while disabled do not count; disabled all month earns nothing", async () => {
      const s = await fresh();
      await applyScenarioWorld(s, bizWorld({
        apps: [
          canvas(10, "Inventory", ALICE_GUEST, { coOwners: [{ principalId: NORA_GUEST, from: SEP1 }] }),
          canvas(11, "Timesheets", ALICE_GUEST),
          canvas(12, "Old tracker", BOB_GUEST),
        ],
      }, {
        links: [link(ALICE_GUEST), link(NORA_GUEST, "5000001"), link(BOB_GUEST)],
        disabled: { [ALICE_GUEST]: [{ from: "2026-10-16T00:00:00Z" }], [BOB_GUEST]: [{ from: SEP1 }] },
      }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [
        app(APP(10), ALICE_GUEST, "2026-10-05T09:00:00Z"), app(APP(10), NORA_GUEST, "2026-10-12T09:00:00Z"), app(APP(10), ALICE_GUEST, "2026-10-20T09:00:00Z"),
        app(APP(11), END1, "2026-10-25T09:00:00Z"),
        app(APP(12), END2, "2026-10-10T09:00:00Z"),
      ]);
      const rows = await runMonth(s, dir, OCT);
      // Inventory: alice's acts while qualifying: Oct 5 (Oct 20 she was disabled); nora Oct 12 → Northwind; MAU {alice, nora} = 2 → 400.00.
      // Timesheets: alice qualifies Oct 1 – Oct 16 → Contoso; MAU {end1} = 1 → 200.00. Old tracker: bob disabled all month → nothing.
      assert.deepEqual(brief(rows, NAMES), [
        "4000001 CanvasApp Timesheets Owner alice 1 MAU 200.00 Production onlyPartner",
        "5000001 CanvasApp Inventory CoOwner nora 2 MAU 400.00 Production latestActivity",
      ]);
      const facts = await readBizappsFacts(dir, OCT);
      const bob = facts.filter((f) => f.resource_id === APP(12)).map((f) => [NAMES[String(f.principal_id)], f.partner_location_id, f.qualifies, f.not_qualifying_reason]);
      assert.deepEqual(bob, [["bob", "4000001", false, "principalDisabled"]]);
      const timesheets = facts.filter((f) => f.resource_id === APP(11)).map((f) => [f.qualifying_from, f.qualifying_to, f.credited]);
      assert.deepEqual(timesheets, [["2026-10-01T00:00:00.000Z", "2026-10-16T00:00:00.000Z", true]]);
    });

    it("a link that ended before the relationship began, or an inactive location, qualifies nothing (facts: linkNotActive, locationInactive)", async () => {
      const s = await fresh();
      // "Permits": owner's app; alice co-owner from Oct 10, but her link ended Oct 5.
      // "Audits": owner's app; bob (Contoso GB, 4000002) co-owner since Sep 1; 4000002 is deactivated since Sep 1.
      const world = bizWorld({
        apps: [
          canvas(13, "Permits", OWNER, { coOwners: [{ principalId: ALICE_GUEST, from: "2026-10-10T00:00:00Z" }] }),
          canvas(14, "Audits", OWNER, { coOwners: [{ principalId: BOB_GUEST, from: SEP1 }] }),
        ],
      }, { links: [link(ALICE_GUEST, "4000001", undefined, "2026-10-05T00:00:00Z"), link(BOB_GUEST, "4000002")] });
      const contoso = world.partners![0]!;
      await applyScenarioWorld(s, { ...world, partners: [{ ...contoso, locations: [{ id: "4000001" }, { id: "4000002", inactive: [{ from: SEP1 }] }] }, world.partners![1]!] });
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [app(APP(13), ALICE_GUEST, "2026-10-12T09:00:00Z"), app(APP(14), BOB_GUEST, "2026-10-12T09:00:00Z")]);
      assert.deepEqual(await runMonth(s, dir, OCT), []);
      const facts = (await readBizappsFacts(dir, OCT)).filter((f) => f.partner_location_id !== null)
        .map((f) => [f.resource_id, NAMES[String(f.principal_id)], f.partner_location_id, f.qualifies, f.not_qualifying_reason]);
      assert.deepEqual(facts, [[APP(13), "alice", "4000001", false, "linkNotActive"], [APP(14), "bob", "4000002", false, "locationInactive"]]);
    });

    it("a link created after the month credits nothing for that month, and the month it begins in", async () => {
      const s = await fresh();
      await applyScenarioWorld(s, bizWorld({ apps: [canvas(8, "Visits", ALICE_GUEST)] }, { links: [link(ALICE_GUEST, "4000001", "2026-11-05T00:00:00Z")] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [app(APP(8), END1, "2026-10-02T09:00:00Z")]);
      await writeActivityEvents(dir, NOV, [app(APP(8), END1, "2026-11-02T09:00:00Z"), app(APP(8), END2, "2026-11-20T09:00:00Z")]);
      assert.deepEqual(await runMonth(s, dir, OCT), []);
      // October's fact says why: linked, but not in October — with the link's start.
      const facts = (await readBizappsFacts(dir, OCT)).map((f) => [NAMES[String(f.principal_id)], f.partner_location_id, f.not_qualifying_reason, f.link_from, f.link_to]);
      assert.deepEqual(facts, [["alice", "4000001", "linkNotActive", "2026-11-05T00:00:00.000Z", null]]);
      // Diagnose names the date and that nothing can be back-dated; explain and coverage say the same.
      const d = await diagnoseBizappsResource(s, dir, { partnerId: "4000000", resourceId: APP(8), month: OCT });
      assert.deepEqual(d.reasons.map((r) => r.code), ["linkNotActive"]);
      assert.match(d.reasons[0]!.message, /its link to 4000001 starts on 2026-11-05T00:00:00Z, after 2026-10/);
      assert.match(d.reasons[0]!.fix, /cannot be back-dated, so credit starts in 2026-11, the first month the link is active/);
      assert.deepEqual(d.reasons[0]!.evidence.link, { from: "2026-11-05T00:00:00Z", to: null });
      const x = await explainBizappsResource(s, dir, { resourceId: APP(8), month: OCT });
      assert.deepEqual(x.candidates[0]!.link, { from: "2026-11-05T00:00:00Z", to: null });
      assert.match(x.candidates[0]!.chain.join("\n"), /link: to 4000001 in the customer tenant, linked \[2026-11-05T00:00:00Z, ∞\): it starts after 2026-10/);
      const cov = await bizappsCoverage(s, dir, { partnerId: "4000000", month: OCT });
      const atRisk = cov.customers.flatMap((c) => c.resources).find((r) => r.resourceId === APP(8).toLowerCase());
      assert.equal(atRisk?.reason, "linkNotActive");
      assert.match(atRisk?.message ?? "", /starts on 2026-11-05T00:00:00Z, after 2026-10/);
      // November: linked Nov 5 – Dec 1 → MAU {end1, end2} = 2 → 400.00.
      assert.deepEqual(brief(await runMonth(s, dir, NOV), NAMES), ["4000001 CanvasApp Visits Owner alice 2 MAU 400.00 Production onlyPartner"]);
    });

    it("a link removed before the month: the fact says linkNotActive with the end date; diagnose names it and the command to link again", async () => {
      const s = await fresh();
      await applyScenarioWorld(s, bizWorld({ apps: [canvas(9, "Rounds", ALICE_GUEST)] }, { links: [link(ALICE_GUEST, "4000001", SEP1, "2026-09-20T00:00:00Z")] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [app(APP(9), END1, "2026-10-02T09:00:00Z")]);
      assert.deepEqual(await runMonth(s, dir, OCT), []);
      const facts = (await readBizappsFacts(dir, OCT)).map((f) => [f.partner_location_id, f.not_qualifying_reason, f.link_from, f.link_to]);
      assert.deepEqual(facts, [["4000001", "linkNotActive", "2026-09-01T00:00:00.000Z", "2026-09-20T00:00:00.000Z"]]);
      const d = await diagnoseBizappsResource(s, dir, { partnerId: "4000000", resourceId: APP(9), month: OCT });
      assert.deepEqual(d.reasons.map((r) => r.code), ["linkNotActive"]);
      assert.match(d.reasons[0]!.message, /its link to 4000001 ended on 2026-09-20T00:00:00Z, before 2026-10/);
      assert.match(d.reasons[0]!.fix, /az managementpartner create --partner-id 4000001.*cannot be back-dated: credit resumes in the month the new link is active/);
    });
  });

  describe("decision 7: delegated administrators", () => {
    it("a delegated admin's own account owns the app and qualifies with its home-tenant link; a link on its guest object does not", async () => {
      const s = await fresh();
      await applyScenarioWorld(s, bizWorld({
        apps: [canvas(20, "Partner portal", ALICE_HOME), canvas(21, "Supplier portal", NORA_HOME)],
      }, {
        delegatedAdmins: [{ partnerTenantId: CONTOSO_TENANT }, { partnerTenantId: NORTHWIND_TENANT }],
        // Contoso links alice's home account in Contoso; Northwind linked nora's guest object in Fabrikam, which owns nothing.
        links: [{ tenantId: CONTOSO_TENANT, objectId: ALICE_HOME, partnerId: "4000001" }, link(NORA_GUEST, "5000001")],
      }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [app(APP(20), END1, "2026-10-02T09:00:00Z"), app(APP(21), END2, "2026-10-02T09:00:00Z")]);
      const rows = await runMonth(s, dir, OCT);
      // Partner portal: 1 MAU → 200.00 to Contoso through the delegated-admin path; Supplier portal: nothing.
      assert.deepEqual(brief(rows, NAMES), ["4000001 CanvasApp Partner portal Owner alice@contoso 1 MAU 200.00 Production onlyPartner"]);
      assert.equal(rows[0]!.linkPath, "delegatedAdmin");
    });
  });

  describe("links are per object", () => {
    it("a guest's app is not credited through a link on its home account (that path is for delegated administrators only)", async () => {
      const s = await fresh();
      await applyScenarioWorld(s, bizWorld({ apps: [canvas(22, "Guest app", ALICE_GUEST)] },
        { links: [{ tenantId: CONTOSO_TENANT, objectId: ALICE_HOME, partnerId: "4000001" }] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [app(APP(22), END1, "2026-10-02T09:00:00Z")]);
      // The guest object alice (in Fabrikam) has no link of its own → nothing.
      assert.deepEqual(await runMonth(s, dir, OCT), []);
    });
  });

  describe("decision 5: the metric", () => {
    it("a metrics file overrides the MAU counted from activity; a resource without one keeps its activity MAU", async () => {
      const s = await fresh();
      await applyScenarioWorld(s, bizWorld({ apps: [canvas(30, "Field sales", ALICE_GUEST), canvas(31, "Field service", ALICE_GUEST)] }, { links: [link(ALICE_GUEST)] }));
      const dir = newDir();
      await writeActivityEvents(dir, OCT, [
        app(APP(30), END1, "2026-10-02T09:00:00Z"), app(APP(30), END2, "2026-10-02T09:00:00Z"), app(APP(30), END3, "2026-10-02T09:00:00Z"),
        app(APP(31), END1, "2026-10-03T09:00:00Z"),
      ]);
      await writeActivityMetrics(dir, OCT, [mau("PowerApps", APP(30), 40), mau("PowerApps", APP(99), 500)]); // APP(99) is unknown: ignored
      const rows = await runMonth(s, dir, OCT);
      // Field sales: 40 (metrics, not the 3 counted) × 200 = 8000.00; Field service: 1 from activity → 200.00.
      assert.deepEqual(brief(rows, NAMES), [
        "4000001 CanvasApp Field sales Owner alice 40 MAU 8000.00 Production onlyPartner",
        "4000001 CanvasApp Field service Owner alice 1 MAU 200.00 Production onlyPartner",
      ]);
      assert.deepEqual(rows.map((r) => [r.resourceName, r.quantitySource]).sort(), [["Field sales", "metrics"], ["Field service", "activity"]]);
    });

    it("a credited resource without any use, or an instance without a profiles count, keeps its row with Quantity 0 (SPEC-DEVIATIONS 131)", async () => {
      const s = await fresh();
      await applyScenarioWorld(s, bizWorld({
        apps: [canvas(32, "Unused app", ALICE_GUEST)],
        customerInsights: { instances: [{ id: INSTANCE(3), displayName: "Uncounted profiles", environment: ENV_PROD, users: [{ principalId: ALICE_GUEST, role: "Viewer", from: SEP1 }] }] },
      }, { links: [link(ALICE_GUEST)] }));
      const dir = newDir();
      // Only alice's act on the instance (she is an active user); nobody uses the app; no metrics file.
      await writeActivityEvents(dir, OCT, [ci(INSTANCE(3), ALICE_GUEST, "2026-10-05T09:00:00Z")]);
      const rows = await runMonth(s, dir, OCT);
      assert.deepEqual(brief(rows, NAMES), [
        "4000001 CanvasApp Unused app Owner alice 0 MAU 0.00 Production onlyPartner",
        "4000001 Instance Uncounted profiles ActiveUser alice 0 UnifiedProfiles 0.00 Production onlyPartner",
      ]);
      assert.deepEqual(rows.map((r) => [r.resourceName, r.quantitySource]).sort(), [["Uncounted profiles", "none"], ["Unused app", "activity"]]);
    });
  });
});
