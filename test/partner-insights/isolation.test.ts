/**
 * Tenant isolation over the demo world: whatever a partner asks — every column, WHERE clauses
 * naming another partner's ids, LIFETIME — it gets its own organisation's rows, and their sum is
 * its own credited ACR. A customer tenant's user gets no rows at all (403).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ManualClock } from "../../src/domain/time.ts";
import { readWorldFile } from "../../src/world/index.ts";
import { DEMO_WORLD_FILE, seedDemo } from "../../src/insights/demo.ts";
import { parseDecimal, formatDecimal } from "../../src/domain/attribution.ts";
import { applyScenarioWorld } from "../scenarios/support.ts";
import { call, pcToken } from "./support.ts";

const ORGS = [
  { globalId: "4000000", tenant: "10000000-0000-4000-8000-000000000001", user: "10000000-0001-4000-8000-000000000001" },
  { globalId: "5100000", tenant: "20000000-0000-4000-8000-000000000002", user: "20000000-0001-4000-8000-000000000001" },
];
const q = (text: string) => `/ScheduledQueries/testQueryResult?exportQuery=${encodeURIComponent(text)}`;

describe("insights API: isolation across the demo world", () => {
  let server: TestServer;
  before(async () => {
    const clock = new ManualClock("2026-11-10T00:00:00Z");
    server = await startTestServer({ deps: { clock } });
    const parsed = readWorldFile(DEMO_WORLD_FILE);
    assert.ok(parsed.ok);
    await applyScenarioWorld(server.openpal.context.store, parsed.world);
    await seedDemo({ store: server.openpal.context.store, clock }, server.dataDir, DEMO_WORLD_FILE, ["2026-10"]);
  });
  after(async () => {
    await server?.close();
  });

  for (const org of ORGS) {
    it(`partner ${org.globalId} sees only its own rows, and they add up to its credited ACR`, async () => {
      const token = await pcToken(server, org.tenant, org.user);
      const others = ORGS.filter((o) => o !== org).map((o) => `'${o.globalId}'`).join(", ");
      const all = await call(server, "GET", q("SELECT PGAMpnId, MpnId, CustomerTenantId, SubscriptionId, PartnerAttributionType, IsACRDuplicateAtPGALevel, TotalACR FROM AzureUsage TIMESPAN LIFETIME"), token);
      assert.equal(all.status, 200, all.body.message);
      assert.ok(all.body.value.length > 0, "the demo credits every partner something");
      assert.ok(all.body.value.every((r) => r.PGAMpnId === org.globalId), "only its own global id");
      const sneaky = await call(server, "GET", q(`SELECT PGAMpnId, TotalACR FROM AzureUsage WHERE PGAMpnId IN (${others}) TIMESPAN LIFETIME`), token);
      assert.deepEqual(sneaky.body.value, []);
      const profile = await call(server, "GET", q("SELECT MpnId, PGA_MPNId FROM Profile"), token);
      assert.ok(profile.body.value.every((r) => r.PGA_MPNId === org.globalId));
      // Sum of the non-duplicate rows = the organisation's eligible rollups (the CLI report's basis).
      const rollups = (await server.openpal.context.store.attribution.rollups({ month: "2026-10", policy: "pec", globalId: org.globalId })).filter((r) => r.eligible && !r.dupPga);
      const byQuery = all.body.value.filter((r) => r.IsACRDuplicateAtPGALevel === 0).reduce((s, r) => s + parseDecimal(String(r.TotalACR)), 0n);
      // Each row is rounded to cents; compare at the precision of the row count.
      const exact = rollups.reduce((s, r) => s + parseDecimal(r.acr), 0n);
      const diff = Number(formatDecimal(byQuery - exact, 4));
      assert.ok(Math.abs(diff) <= 0.005 * all.body.value.length, `${formatDecimal(byQuery)} vs ${formatDecimal(exact)}`);
    });
  }

  it("the demo world's Executive report viewer (bob@contoso, directoryRoles in the world file) sees Contoso's rows", async () => {
    const token = await pcToken(server, "10000000-0000-4000-8000-000000000001", "10000000-0001-4000-8000-000000000002");
    const r = await call(server, "GET", q("SELECT PGAMpnId, TotalACR FROM AzureUsage TIMESPAN LIFETIME"), token);
    assert.equal(r.status, 200, r.body.message);
    assert.ok(r.body.value.length > 0 && r.body.value.every((row) => row.PGAMpnId === "4000000"));
  });

  it("a customer tenant's user is refused (403), whatever the query", async () => {
    const token = await pcToken(server, "30000000-0000-4000-8000-000000000003", "30000000-0001-4000-8000-000000000001");
    const r = await call(server, "GET", q("SELECT PGAMpnId, TotalACR FROM AzureUsage TIMESPAN LIFETIME"), token);
    assert.equal(r.status, 403);
    assert.deepEqual(r.body.value, []);
  });
});
