/**
 * A business-applications resource is (tenant, workload, id): a Power BI dataset and a Power App
 * may share an id string in one tenant, and the dataset's events and metrics never count for the
 * app — not for its MAU, not as acts for "latest partner", not as its metric — while the dataset's
 * activity is listed as activity on an unknown resource.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { storeBackends } from "../support/stores.ts";
import { applyScenarioWorld } from "../scenarios/support.ts";
import { brief, writeActivityEvents, writeActivityMetrics } from "../scenarios/bizapps-lake.ts";
import { ALICE_GUEST, END, ENV_PROD, NAMES, NORA_GUEST, app, bizWorld, g, link, mau, view } from "../scenarios/bizapps-world.ts";
import { attributeUsage, type AttributionSummary } from "../../src/attribution/engine.ts";
import { ManualClock } from "../../src/domain/time.ts";
import type { Store } from "../../src/store/index.ts";

const MONTH = "2026-10";
/** The app's id; a Power BI dataset the control plane does not know has the same id string. */
const SHARED = g("a0", 31);

for (const backend of storeBackends()) {
  describe(`events and metrics match the resource's workload (${backend.name})`, () => {
    let store: Store;
    let dataDir: string;
    let summary: AttributionSummary;
    before(async () => {
      store = await backend.open();
      dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-bizapps-workload-"));
      // "Service desk": alice (Contoso) owner, nora (Northwind) co-owner, both linked all month.
      await applyScenarioWorld(store, bizWorld({
        apps: [{ id: SHARED, environment: ENV_PROD, displayName: "Service desk", kind: "canvas", createdBy: ALICE_GUEST, createdAt: "2026-08-01T00:00:00Z",
          coOwners: [{ principalId: NORA_GUEST, from: "2026-09-01T00:00:00Z" }] }],
      }, { links: [link(ALICE_GUEST), link(NORA_GUEST, "5000001")] }));
      await writeActivityEvents(dataDir, MONTH, [
        // The app: end1 uses it, nora launches it last on Oct 20.
        app(SHARED, END[0]!, "2026-10-02T09:00:00Z"), app(SHARED, NORA_GUEST, "2026-10-20T09:00:00Z"),
        // The dataset with the same id: end2, end3 and (later than nora) alice view it.
        view(SHARED, END[1]!, "2026-10-03T09:00:00Z"), view(SHARED, END[2]!, "2026-10-04T09:00:00Z"), view(SHARED, ALICE_GUEST, "2026-10-25T09:00:00Z"),
      ]);
      // A metrics file row for the dataset (Power BI), none for the app.
      await writeActivityMetrics(dataDir, MONTH, [mau("PowerBI", SHARED, 99)]);
      summary = await attributeUsage({ store, dataDir, month: MONTH, clock: new ManualClock("2026-12-01T00:00:00Z"), threads: 1, memoryLimit: "256MB" });
    });
    after(async () => {
      await store?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("the app's MAU, metric and latest act come from Power Apps events only: nora acted last on the app, 2 MAU from activity", async () => {
      // MAU {end1, nora} = 2 × 200; alice's later view of the dataset is not an act on the app.
      assert.deepEqual(brief(await store.bizapps.rollups({ month: MONTH }), NAMES), ["5000001 CanvasApp Service desk CoOwner nora 2 MAU 400.00 Production latestActivity"]);
      assert.equal((await store.bizapps.rollups({ month: MONTH }))[0]!.quantitySource, "activity");
    });

    it("the dataset's events are activity on an unknown resource (Power BI, that id)", () => {
      assert.deepEqual(summary.bizapps.unknownResources.map((u) => [u.workload, u.resourceId, u.events]), [["PowerBI", SHARED.toLowerCase(), 3]]);
    });
  });
}
