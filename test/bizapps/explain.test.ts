/**
 * Explain a business application: metric ← resource ← relationship (since when, through which
 * solution import) ← principal ← link ← partner id, and the evidence of the "latest" choice
 * (decision 4). Candidates from the facts Parquet (the contract), the credit from the rollups.
 * A partner (HTTPS audience) never sees another organisation's identities or name.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { storeBackends } from "../support/stores.ts";
import type { Store } from "../../src/store/index.ts";
import { explainBizappsResource, formatBizappsExplanation } from "../../src/bizapps/explain.ts";
import { ReportError } from "../../src/domain/report.ts";
import { APP1, APP5, DS3, MDA4, MONTH, RAN_AT, seedBizapps } from "./support.ts";
import { ALICE_GUEST, BOB_GUEST, NORA_GUEST } from "../scenarios/world.ts";

for (const backend of storeBackends()) {
  describe(`explain a business application (${backend.name})`, () => {
    let store: Store;
    let dataDir: string;
    before(async () => {
      store = await backend.open();
      dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-bizexplain-"));
      await seedBizapps(store, dataDir);
    });
    after(async () => {
      await store?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("two partners qualify: the one whose candidate acted last is credited, and the evidence names each partner's last act", async () => {
      const x = await explainBizappsResource(store, dataDir, { resourceId: APP1, month: MONTH });
      assert.equal(x.asOf, new Date(RAN_AT).toISOString());
      assert.equal(x.credited?.globalId, "5000000");
      assert.equal(x.credited?.attributedUserObjectId, NORA_GUEST);
      assert.deepEqual(x.partners.map((p) => [p.globalId, p.lastActAt, p.credited]), [["5000000", "2026-10-25T08:00:00Z", true], ["4000000", "2026-10-20T10:00:00Z", false]]);
      assert.match(x.decision, /Northwind Traders acted last.*2026-10-25T08:00:00Z.*after Contoso Consulting \(last act 2026-10-20T10:00:00Z/);
      assert.deepEqual(x.metric, { quantityType: "MAU", quantity: 12, source: "activity" });
      const alice = x.candidates.find((c) => c.principalId === ALICE_GUEST);
      assert.equal(alice?.partnerLocationId, "4000001");
      assert.equal(alice?.chain.length, 6);
      assert.match(alice?.chain[2] ?? "", /relationship: Owner \[2026-08-01T00:00:00Z, ∞\) — the principal created it/);
      assert.match(alice?.chain[3] ?? "", /guest/);
    });
    it("a relationship begun by a solution import names the solution, and a candidate without a link says so", async () => {
      const x = await explainBizappsResource(store, dataDir, { resourceId: MDA4, month: MONTH });
      assert.equal(x.credited, null);
      const bob = x.candidates.find((c) => c.principalId === BOB_GUEST);
      assert.equal(bob?.solution?.uniqueName, "fabrikam_cases");
      assert.match(bob?.chain[2] ?? "", /imported the solution \(solution fabrikam_cases\)/);
      assert.match(bob?.chain[3] ?? "", /has no partner link/);
      assert.match(bob?.chain[4] ?? "", /link: none/);
      assert.match(x.decision, /not credited/);
      assert.match(formatBizappsExplanation(x), /not credited to this partner/);
    });
    it("the only qualifying partner is credited with 'only partner' as the decision", async () => {
      const x = await explainBizappsResource(store, dataDir, { resourceId: DS3, month: MONTH, partnerId: "4000001" });
      assert.match(x.decision, /Contoso Consulting is the only partner/);
      assert.equal(x.resource.environmentType, "NotApplicable");
    });
    it("to a partner, another organisation's candidate is 'another partner': no id, no name, no identity — only its last act", async () => {
      const x = await explainBizappsResource(store, dataDir, { resourceId: APP1, month: MONTH, partnerId: "4000000", audience: "partner" });
      const json = JSON.stringify(x);
      assert.doesNotMatch(json, /Northwind|5000000|5000001/);
      assert.ok(!json.includes(NORA_GUEST));
      assert.equal(x.credited, null);
      assert.deepEqual(x.partners.map((p) => [p.partnerName, p.lastActAt]), [["another partner", "2026-10-25T08:00:00Z"], ["Contoso Consulting", "2026-10-20T10:00:00Z"]]);
      assert.match(x.decision, /another partner acted last/);
    });
    it("to a partner, a resource none of its identities touches is refused like an unknown one", async () => {
      await assert.rejects(explainBizappsResource(store, dataDir, { resourceId: APP5, month: MONTH, partnerId: "4000000", audience: "partner" }), (e: unknown) => e instanceof ReportError && /no relationship with an identity of Contoso/.test(e.message));
    });
    it("an unknown resource, a month without a run and an unknown partner id are refused with the fix", async () => {
      await assert.rejects(explainBizappsResource(store, dataDir, { resourceId: "00000000-0000-4000-8000-00000000dead", month: MONTH }), /openpal powerplatform apps list/);
      await assert.rejects(explainBizappsResource(store, dataDir, { resourceId: APP1, month: "2026-09" }), /openpal attribution run --month 2026-09/);
      await assert.rejects(explainBizappsResource(store, dataDir, { resourceId: APP1, month: MONTH, partnerId: "1234567" }), /1234567 is not registered/);
    });
  });
}
