/**
 * Business-applications attribution (decisions 3–7), through `attributeUsage`: candidates,
 * the latest partner, the metric, the stop rules, and the month replaced atomically with the
 * Azure month, on SQLite and PostgreSQL.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { storeBackends } from "../support/stores.ts";
import { applyScenarioWorld } from "../scenarios/support.ts";
import { attributeUsage, type AttributionSummary } from "../../src/attribution/engine.ts";
import { bizappsFactsFile } from "../../src/bizapps/facts-reader.ts";
import { activityEventsFile, activityMetricsFile } from "../../src/activity/lake.ts";
import { ManualClock } from "../../src/domain/time.ts";
import type { Store } from "../../src/store/index.ts";
import { formatRunSummary } from "../../src/cli/commands/attribution.ts";
import type { WorldFile } from "../../src/world/index.ts";

const MONTH = "2026-10";
const X = { globalId: "4100000", location: "4100001" };
const X2 = "4100002"; // Xenon's second location
const Y = { globalId: "4200000", location: "4200001" };
const T = "fabf0000-0000-4000-8000-000000000000";
const u = (n: number) => `fabf0000-0001-4000-8000-${String(n).padStart(12, "0")}`;
const ALICE = u(1); // linked to X
const BOB = u(2); // linked to Y
const CAROL = u(3); // not linked
const DAN = u(4); // linked to X, disabled from Oct 5
const ERIN = u(5); // linked to X's second location
const USERS = [u(11), u(12), u(13)];
const PROD = "fabe0000-0000-4000-8000-000000000001";
const SANDBOX = "fabe0000-0000-4000-8000-000000000002";
const app = (n: number) => `faba0000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const DATASET = "fabd0000-0000-4000-8000-000000000001";
const DATASET2 = "fabd0000-0000-4000-8000-000000000002";
const CI = "fab1c000-0000-4000-8000-000000000001";

const world = {
  partners: [
    { name: "Xenon Partners", globalId: X.globalId, locations: [{ id: X.location, country: "US" }, { id: X2, country: "DE" }] },
    { name: "Yonder Consulting", globalId: Y.globalId, locations: [{ id: Y.location, country: "US" }] },
  ],
  tenants: [{
    id: T, displayName: "Fabrikam", domain: "fabrikam-bz.example",
    users: [
      { id: ALICE, userPrincipalName: "alice@fabrikam-bz.example" },
      { id: BOB, userPrincipalName: "bob@fabrikam-bz.example" },
      { id: CAROL, userPrincipalName: "carol@fabrikam-bz.example" },
      { id: DAN, userPrincipalName: "dan@fabrikam-bz.example", disabled: [{ from: "2026-10-05T00:00:00Z" }] },
      { id: ERIN, userPrincipalName: "erin@fabrikam-bz.example" },
      ...USERS.map((id, i) => ({ id, userPrincipalName: `user${i}@fabrikam-bz.example` })),
    ],
    powerPlatform: {
      environments: [
        { id: PROD, displayName: "Fabrikam Production", type: "Production" },
        { id: SANDBOX, displayName: "Fabrikam Sandbox", type: "Sandbox" },
      ],
      apps: [
        // 1: owner only (alice, X).
        { id: app(1), environment: PROD, displayName: "Owner only", kind: "canvas", createdBy: ALICE, createdAt: "2026-08-01T00:00:00Z" },
        // 2: owner alice (X) and co-owner bob (Y): both act, bob last.
        { id: app(2), environment: PROD, displayName: "Both act", kind: "canvas", createdBy: ALICE, createdAt: "2026-08-01T00:00:00Z",
          coOwners: [{ principalId: BOB, from: "2026-09-01T00:00:00Z" }] },
        // 3: owner alice (X) and co-owner bob (Y) from Oct 3, nobody acts: the latest relationship (bob) wins.
        { id: app(3), environment: SANDBOX, displayName: "Nobody acts", kind: "canvas", createdBy: ALICE, createdAt: "2026-08-01T00:00:00Z",
          coOwners: [{ principalId: BOB, from: "2026-10-03T00:00:00Z" }] },
        // 4: owner alice, a metrics file says 42 MAU.
        { id: app(4), environment: PROD, displayName: "Metrics", kind: "canvas", createdBy: ALICE, createdAt: "2026-08-01T00:00:00Z" },
        // 5: owner carol, not linked: nothing credited.
        { id: app(5), environment: PROD, displayName: "Unlinked", kind: "canvas", createdBy: CAROL, createdAt: "2026-08-01T00:00:00Z" },
        // 6: owner dan (X), disabled from Oct 5, acted Oct 10: still credited (qualified Oct 1–5), last act none while qualifying.
        { id: app(6), environment: PROD, displayName: "Disabled owner", kind: "canvas", createdBy: DAN, createdAt: "2026-08-01T00:00:00Z" },
        // 7: model-driven app owned by alice (X), re-owned by bob's (Y) solution import on Oct 20; alice acted Oct 15.
        { id: app(7), environment: PROD, displayName: "Imported", kind: "modelDriven", createdBy: ALICE, createdAt: "2026-08-01T00:00:00Z" },
        // 8: owner alice (X, first location) acted Oct 3; co-owner erin (X, second location) acted Oct 28.
        { id: app(8), environment: PROD, displayName: "Two locations", kind: "canvas", createdBy: ALICE, createdAt: "2026-08-01T00:00:00Z",
          coOwners: [{ principalId: ERIN, from: "2026-09-01T00:00:00Z" }] },
      ],
      solutions: [{ id: "fab50000-0000-4000-8000-000000000001", uniqueName: "fabrikam_cases", environment: PROD, managed: true, version: "1.0.0.0",
        components: [{ type: "app", id: app(7) }], imports: [{ by: BOB, at: "2026-10-20T00:00:00Z" }] }],
      powerBi: { workspaces: [{ id: "fab00000-0000-4000-8000-0000000000b1", displayName: "Finance",
        datasets: [
          { id: DATASET, displayName: "Sales", publishedBy: ALICE, publishedAt: "2026-09-01T00:00:00Z" },
          // Taken over by bob (Y) on Oct 10 through the API (the server recorded the act); alice acted Oct 5.
          { id: DATASET2, displayName: "Forecast", publishedBy: ALICE, publishedAt: "2026-09-01T00:00:00Z", takeovers: [{ by: BOB, at: "2026-10-10T00:00:00Z" }] },
        ] }] },
      customerInsights: { instances: [{ id: CI, displayName: "Customer 360",
        users: [{ principalId: ALICE, role: "Administrator", from: "2026-09-01T00:00:00Z" }, { principalId: BOB, role: "Viewer", from: "2026-09-01T00:00:00Z" }] }] },
    },
  }],
  links: [
    { tenantId: T, objectId: ALICE, partnerId: X.location, from: "2026-09-01T00:00:00Z" },
    { tenantId: T, objectId: BOB, partnerId: Y.location, from: "2026-09-01T00:00:00Z" },
    { tenantId: T, objectId: DAN, partnerId: X.location, from: "2026-09-01T00:00:00Z" },
    { tenantId: T, objectId: ERIN, partnerId: X2, from: "2026-09-01T00:00:00Z" },
  ],
} as unknown as WorldFile;

interface Ev { at: string; resource: string; user: string; op?: string; use?: boolean; workload?: string }

/** Writes the month's activity lake files directly (the lake contract, src/activity/lake.ts). */
async function writeActivity(dataDir: string, events: readonly Ev[], metrics: readonly { resource: string; metric: string; value: number; workload?: string }[] = []): Promise<void> {
  mkdirSync(path.dirname(activityEventsFile(dataDir, MONTH)), { recursive: true });
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  try {
    const s = (v: string) => `'${v}'`;
    const rows = events.map((e, i) => `(${s(`e${i}`)}, TIMESTAMP ${s(e.at)}, ${s(T)}, ${s(e.workload ?? "PowerApps")}, ${s(e.resource)}, ${s(e.user)}, ${s(e.op ?? "LaunchPowerApp")}, ${e.use ?? true}, 'openpal-activity')`);
    if (rows.length) {
      await c.run(`COPY (SELECT * FROM (VALUES ${rows.join(", ")}) t(event_id, "at", tenant_id, workload, resource_id, user_object_id, operation, is_use, source))
        TO ${s(activityEventsFile(dataDir, MONTH))} (FORMAT PARQUET)`);
    }
    const mrows = metrics.map((m) => `(${s(T)}, ${s(m.workload ?? "PowerApps")}, ${s(m.resource)}, ${s(m.metric)}, CAST(${m.value} AS BIGINT), 'openpal-metrics')`);
    if (mrows.length) {
      await c.run(`COPY (SELECT * FROM (VALUES ${mrows.join(", ")}) t(tenant_id, workload, resource_id, metric, value, source))
        TO ${s(activityMetricsFile(dataDir, MONTH))} (FORMAT PARQUET)`);
    }
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

async function readBizFacts(dataDir: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  try {
    await c.run(`SET TimeZone = 'UTC'`);
    return (await c.runAndReadAll(`SELECT * FROM read_parquet('${bizappsFactsFile(dataDir, MONTH)}') ORDER BY resource_id, principal_id, partner_location_id`)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

const EVENTS: Ev[] = [
  ...USERS.map((user, i) => ({ at: `2026-10-0${i + 2} 09:00:00`, resource: app(1), user })),
  { at: "2026-10-20 10:00:00", resource: app(2), user: ALICE },
  { at: "2026-10-25 10:00:00", resource: app(2), user: BOB, op: "EditApp", use: false },
  { at: "2026-10-11 10:00:00", resource: app(2), user: USERS[0] as string },
  ...USERS.map((user, i) => ({ at: `2026-10-1${i} 09:00:00`, resource: app(4), user })),
  { at: "2026-10-10 10:00:00", resource: app(6), user: DAN },
  { at: "2026-10-12 10:00:00", resource: CI, user: BOB, workload: "CustomerInsights", op: "ViewSegment", use: false },
  { at: "2026-10-12 10:00:00", resource: DATASET, user: USERS[1] as string, workload: "PowerBI", op: "ViewReport" },
  { at: "2026-10-15 10:00:00", resource: app(7), user: ALICE },
  { at: "2026-10-03 10:00:00", resource: app(8), user: ALICE },
  { at: "2026-10-28 10:00:00", resource: app(8), user: ERIN },
  { at: "2026-10-05 10:00:00", resource: DATASET2, user: ALICE, workload: "PowerBI", op: "ViewReport" },
  { at: "2026-10-13 10:00:00", resource: "feed0000-0000-4000-8000-000000000000", user: USERS[1] as string, workload: "PowerBI", op: "ViewReport" },
];
const METRICS = [
  { resource: app(4), metric: "MonthlyActiveUsers", value: 42 },
  { resource: CI, metric: "UnifiedProfiles", value: 12345, workload: "CustomerInsights" },
];

for (const backend of storeBackends()) {
  describe(`business-applications attribution (${backend.name})`, () => {
    let store: Store;
    let dataDir: string;
    let summary: AttributionSummary;
    let facts: Record<string, unknown>[];
    const credited = async (resourceId: string) => (await store.bizapps.rollups({ month: MONTH, resourceId }))[0];

    before(async () => {
      store = await backend.open();
      dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-bizapps-"));
      await applyScenarioWorld(store, world);
      await writeActivity(dataDir, EVENTS, METRICS);
      // The server's own record of the take-over (what POST …/Default.TakeOver writes).
      await store.powerPlatform.recordActivity({ tenantId: T, id: "ev-takeover-1", at: Date.parse("2026-10-10T00:00:00Z"), workload: "PowerBI", operation: "TakeOverDataset", userId: BOB, resourceId: DATASET2, details: {} });
      summary = await attributeUsage({ store, dataDir, month: MONTH, clock: new ManualClock("2026-12-01T00:00:00Z"), threads: 1, memoryLimit: "256MB" });
      facts = await readBizFacts(dataDir);
    });
    after(async () => {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("an owner alone, linked and enabled: its partner gets the app's MAU (distinct users with a use event) at 200 per MAU", async () => {
      const r = await credited(app(1));
      assert.ok(r);
      assert.equal(r.partnerLocationId, X.location);
      assert.equal(r.partnerName, "Xenon Partners");
      assert.equal(r.quantity, 3);
      assert.equal(r.quantitySource, "activity");
      assert.equal(r.monthlyConsumptionValue, "600");
      assert.equal(r.decidedBy, "onlyPartner");
      assert.equal(r.environmentType, "Production");
      assert.equal(r.environmentName, "Fabrikam Production");
      assert.equal(r.attributedUserRole, "Owner");
      assert.equal(r.linkPath, "home");
    });

    it("two partners qualify: the one whose candidate acted last while qualifying is credited, the metric is not split", async () => {
      const rows = await store.bizapps.rollups({ month: MONTH, resourceId: app(2) });
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.partnerLocationId, Y.location);
      assert.equal(rows[0]?.decidedBy, "latestActivity");
      assert.equal(rows[0]?.attributedUserRole, "CoOwner");
      assert.equal(rows[0]?.lastActAt, Date.parse("2026-10-25T10:00:00Z"));
      // MAU counts use events only: USERS[0] and alice; bob's edit is an act, not a use.
      assert.equal(rows[0]?.quantity, 2);
      const alice = facts.find((f) => f.resource_id === app(2) && f.principal_id === ALICE);
      assert.equal(alice?.qualifies, true);
      assert.equal(alice?.credited, false);
      assert.equal(alice?.last_act_operation, "LaunchPowerApp");
    });

    it("when no candidate acted, the partner whose qualifying relationship began most recently is credited", async () => {
      const r = await credited(app(3));
      assert.equal(r?.partnerLocationId, Y.location);
      assert.equal(r?.decidedBy, "latestRelationship");
      assert.equal(r?.quantity, 0);
      assert.equal(r?.environmentType, "Sandbox");
    });

    it("an explicit metrics file wins over the activity events", async () => {
      const r = await credited(app(4));
      assert.equal(r?.quantity, 42);
      assert.equal(r?.quantitySource, "metrics");
      assert.equal(r?.monthlyConsumptionValue, "8400");
    });

    it("an unlinked owner earns nothing: one fact with no partner, reason noLink", async () => {
      assert.equal(await credited(app(5)), undefined);
      const f = facts.filter((x) => x.resource_id === app(5));
      assert.equal(f.length, 1);
      assert.equal(f[0]?.partner_location_id, null);
      assert.equal(f[0]?.not_qualifying_reason, "noLink");
    });

    it("a disabled owner stops qualifying at the instant it is disabled; acts after that are not acts while qualifying", async () => {
      const f = facts.find((x) => x.resource_id === app(6));
      assert.equal(f?.qualifies, true);
      assert.equal(String(f?.qualifying_to), String(new Date("2026-10-05T00:00:00Z")));
      assert.equal(f?.qualifying_seconds, 4n * 86400n);
      assert.equal(f?.last_act_at, null);
      assert.equal(f?.candidate_events, 1n);
      assert.equal((await credited(app(6)))?.partnerLocationId, X.location);
    });

    it("a Customer Insights instance user without activity on the instance in the month does not qualify; unified profiles come from the metrics file at 0.2", async () => {
      const r = await credited(CI);
      assert.equal(r?.partnerLocationId, Y.location);
      assert.equal(r?.attributedUserRole, "ActiveUser");
      assert.equal(r?.quantityType, "UnifiedProfiles");
      assert.equal(r?.quantity, 12345);
      assert.equal(r?.monthlyConsumptionValue, "2469");
      assert.equal(r?.decidedBy, "onlyPartner");
      const alice = facts.find((x) => x.resource_id === CI && x.principal_id === ALICE);
      assert.equal(alice?.qualifies, false);
      assert.equal(alice?.not_qualifying_reason, "noActivity");
    });

    it("a Power BI dataset has environment type NotApplicable; activity on unknown resources is listed, never dropped", async () => {
      const r = await credited(DATASET);
      assert.equal(r?.environmentType, "NotApplicable");
      assert.equal(r?.environmentId, null);
      assert.equal(r?.quantity, 1);
      assert.deepEqual(summary.bizapps.unknownResources, [{ tenantId: T, resourceId: "feed0000-0000-4000-8000-000000000000", workload: "PowerBI", events: 1 }]);
      const run = await store.bizapps.run(MONTH);
      assert.deepEqual((run?.details.unknownResources as unknown[]).length, 1);
      assert.equal(summary.bizapps.credited, 10);
      const text = formatRunSummary(summary);
      assert.match(text, /business applications .*\n {2}resources: 11; candidates: \d+ \(\d+ qualifying\); credited rows: 10\n/);
      assert.match(text, /unknown resources in activity: 1\n {4}PowerBI feed0000-0000-4000-8000-000000000000 \(tenant fabf0000-0000-4000-8000-000000000000\): 1 events/);
    });

    it("a solution import is the importer's act on each component at the import instant", async () => {
      const r = await credited(app(7));
      assert.equal(r?.partnerLocationId, Y.location);
      assert.equal(r?.attributedUserRole, "SolutionImporter");
      assert.equal(r?.decidedBy, "latestActivity");
      const bob = facts.find((x) => x.resource_id === app(7) && x.principal_id === BOB);
      assert.equal(bob?.last_act_operation, "SolutionImport");
      assert.equal(bob?.basis, "solutionImport");
      assert.equal(bob?.solution_id, "fab50000-0000-4000-8000-000000000001");
    });

    it("the server's own recorded events are acts: a take-over recorded by the API beats an earlier act in the activity lake", async () => {
      const r = await credited(DATASET2);
      assert.equal(r?.partnerLocationId, Y.location);
      assert.equal(r?.attributedUserRole, "Owner");
      assert.equal(r?.decidedBy, "latestActivity");
      assert.equal(r?.lastActAt, Date.parse("2026-10-10T00:00:00Z"));
    });

    it("within one partner, several locations follow the Azure rule: the location of the latest candidate", async () => {
      const r = await credited(app(8));
      assert.equal(r?.partnerLocationId, X2);
      assert.equal(r?.globalId, X.globalId);
      assert.equal(r?.decidedBy, "onlyPartner");
      assert.equal(r?.attributedUserObjectId, ERIN);
    });

    it("a re-run replaces the month in the same transaction as the Azure month: when the business-applications write fails, the Azure month is not replaced either", async () => {
      const before = await store.attribution.run(MONTH, "pec");
      const bizBefore = await store.bizapps.run(MONTH);
      const failing: Store = {
        ...store,
        transaction: (work) => store.transaction((tx) => work({ ...tx, bizapps: { ...tx.bizapps, replaceMonth: async () => { throw new Error("bizapps write failed"); } } as unknown as typeof tx.bizapps })),
      };
      await assert.rejects(attributeUsage({ store: failing, dataDir, month: MONTH, clock: new ManualClock("2026-12-05T00:00:00Z"), threads: 1, memoryLimit: "256MB" }), /bizapps write failed/);
      assert.equal((await store.attribution.run(MONTH, "pec"))?.ranAt, before?.ranAt);
      assert.equal((await store.bizapps.run(MONTH))?.ranAt, bizBefore?.ranAt);
      // A successful re-run replaces both, without duplicating rows.
      await attributeUsage({ store, dataDir, month: MONTH, clock: new ManualClock("2026-12-06T00:00:00Z"), threads: 1, memoryLimit: "256MB" });
      assert.equal((await store.bizapps.run(MONTH))?.ranAt, Date.parse("2026-12-06T00:00:00Z"));
      assert.equal((await store.attribution.run(MONTH, "pec"))?.ranAt, Date.parse("2026-12-06T00:00:00Z"));
      assert.equal((await store.bizapps.rollups({ month: MONTH })).length, 10);
    });
  });
}
