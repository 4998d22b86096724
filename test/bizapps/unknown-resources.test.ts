/**
 * Activity on resources the control plane does not know is never dropped silently, and never
 * stored without bound: a run lists the busiest UNKNOWN_RESOURCES_CAP of them (by events) in
 * `bizapps_runs.details`, with the total count and the events of the rest, and every reader says
 * "and N more" — the run summary, the usage report's note, diagnose and explain of an unknown id.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { storeBackends } from "../support/stores.ts";
import { applyScenarioWorld } from "../scenarios/support.ts";
import { writeActivityEvents, type ActivityEvent } from "../scenarios/bizapps-lake.ts";
import { bizWorld, END, FABRIKAM_TENANT } from "../scenarios/bizapps-world.ts";
import { attributeUsage, type AttributionSummary } from "../../src/attribution/engine.ts";
import { UNKNOWN_RESOURCES_CAP } from "../../src/bizapps/sql.ts";
import { bizappsUsageReport, unknownResourcesLine, unknownResourcesOf } from "../../src/bizapps/report.ts";
import { diagnoseBizappsResource } from "../../src/bizapps/diagnose.ts";
import { explainBizappsResource } from "../../src/bizapps/explain.ts";
import { formatRunSummary } from "../../src/cli/commands/attribution.ts";
import { ManualClock } from "../../src/domain/time.ts";
import type { Store } from "../../src/store/index.ts";

const MONTH = "2026-10";
const N = UNKNOWN_RESOURCES_CAP + 5;
const res = (i: number) => `dead0000-0000-4000-8000-${String(i).padStart(12, "0")}`;

for (const backend of storeBackends()) {
  describe(`unknown resources beyond the cap (${backend.name})`, () => {
    let store: Store;
    let dataDir: string;
    let summary: AttributionSummary;
    before(async () => {
      store = await backend.open();
      dataDir = mkdtempSync(path.join(os.tmpdir(), "openpal-bizapps-unknown-"));
      await applyScenarioWorld(store, bizWorld({}));
      // The first CAP resources have 2 events each, the last 5 one each: the 5 quietest are not listed.
      const events: ActivityEvent[] = [];
      for (let i = 0; i < N; i++) {
        const count = i < UNKNOWN_RESOURCES_CAP ? 2 : 1;
        for (let j = 0; j < count; j++) events.push({ tenant: FABRIKAM_TENANT, workload: "PowerApps", resource: res(i), user: END[j]!, at: `2026-10-1${j}T10:00:00Z` });
      }
      await writeActivityEvents(dataDir, MONTH, events);
      summary = await attributeUsage({ store, dataDir, month: MONTH, clock: new ManualClock("2026-12-01T00:00:00Z"), threads: 1, memoryLimit: "256MB" });
    });
    after(async () => {
      await store?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("the run stores the busiest CAP unknown resources, the total count and the events of the rest", async () => {
      assert.equal(summary.bizapps.unknownResources.length, UNKNOWN_RESOURCES_CAP);
      assert.ok(summary.bizapps.unknownResources.every((u) => u.events === 2));
      assert.equal(summary.bizapps.unknownResourceCount, N);
      assert.deepEqual(summary.bizapps.unknownResourcesNotListed, { resources: 5, events: 5 });
      const run = await store.bizapps.run(MONTH);
      assert.ok(run);
      assert.equal((run.details.unknownResources as unknown[]).length, UNKNOWN_RESOURCES_CAP);
      const u = unknownResourcesOf(run);
      assert.equal(u.total, N);
      assert.deepEqual(u.notListed, { resources: 5, events: 5 });
    });

    it("the run summary, the report and diagnose say how many more there are", async () => {
      assert.match(formatRunSummary(summary), new RegExp(`unknown resources in activity: ${N}\\n(?: {4}PowerApps .*\\n){10} {4}… and ${N - 10} more \\(--json lists the ${UNKNOWN_RESOURCES_CAP} busiest; the other 5 had 5 events\\)`));
      const report = await bizappsUsageReport(store, { month: MONTH });
      assert.match(unknownResourcesLine(report.unknownResources), new RegExp(`^${N} resources with activity unknown to the control plane are not attributed: PowerApps ${res(0)}, PowerApps ${res(1)}, PowerApps ${res(2)}, and ${N - 3} more \\(the run lists the ${UNKNOWN_RESOURCES_CAP} busiest; the other 5 had 5 events\\)\\.$`));
      // A listed resource: what the run saw of it, and the fix.
      await assert.rejects(diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: res(7), month: MONTH }),
        new RegExp(`is not known: .* The run of ${MONTH} saw 2 PowerApps events on it in tenant ${FABRIKAM_TENANT} .*openpal import powerplatform`));
      // One beyond the list: the count, "and N more".
      await assert.rejects(diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: res(N - 1), month: MONTH }),
        new RegExp(`is not known: .* ${N} resources with activity unknown .* and ${N - 3} more .* It may be one of those not listed\\.`));
      // Explain says the same to an operator.
      await assert.rejects(explainBizappsResource(store, dataDir, { resourceId: res(N - 1), month: MONTH }),
        new RegExp(`or is not known.* ${N} resources with activity unknown .* and ${N - 3} more .* It may be one of those not listed\\.`));
      // A partner learns nothing about other ids.
      await assert.rejects(diagnoseBizappsResource(store, dataDir, { partnerId: "4000000", resourceId: res(7), month: MONTH, audience: "partner" }),
        (e: unknown) => e instanceof Error && /is not known/.test(e.message) && !/saw|unknown to the control plane/.test(e.message));
    });
  });
}
