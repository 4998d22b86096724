/**
 * `openpal import powerplatform`: admin-list JSON and CoE Starter Kit CSV inventories into the
 * store; formats recognised from content; idempotent; unknown environments and users skipped
 * with the reason; an owner that differs from the store's is an owner change at the import instant.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { storeBackends } from "../support/stores.ts";
import type { Store } from "../../src/store/index.ts";
import { applyWorld, type WorldFile } from "../../src/world/index.ts";
import { systemClock } from "../../src/domain/time.ts";
import { attributedUsersAt } from "../../src/domain/power-platform/index.ts";
import { detectPpFormat, importPowerPlatform } from "../../src/importers/power-platform/index.ts";

const dir = (name: string) => fileURLToPath(new URL(`../fixtures/powerplatform/${name}`, import.meta.url));
const FAB = "fabf0000-0000-4000-8000-000000000000";
const NOW = Date.parse("2026-11-02T00:00:00Z");

describe("power platform inventories: the format is recognised from the content", () => {
  for (const [file, format] of [["admin-apps.json", "powerapps-json"], ["get-adminflow.json", "flows-json"], ["datasets-as-admin.json", "powerbi-datasets-json"], ["coe-environments.csv", "coe-environments"], ["coe-apps.csv", "coe-apps"], ["coe-userroles.csv", "coe-userroles"]] as const) {
    it(`${file} is ${format}`, () => assert.equal(detectPpFormat(readFileSync(dir(file), "utf8")), format));
  }
});

for (const backend of storeBackends()) {
  describe(`openpal import powerplatform (${backend.name})`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
      const r = await applyWorld(store, JSON.parse(readFileSync(dir("world.json"), "utf8")) as WorldFile, { clock: systemClock, actor: "test" });
      assert.ok(r.ok);
    });
    after(() => store.close());
    const files = ["admin-apps.json", "get-adminflow.json", "coe-environments.csv", "coe-apps.csv", "coe-userroles.csv", "datasets-as-admin.json"].map(dir);

    it("imports every file in one go: created, changed (an owner that differs), skipped with reasons", async () => {
      const report = await importPowerPlatform(store, files, { now: NOW, tenantId: FAB });
      // Created: Visitor badges, Visitor notifications, the UAT environment, UAT checklist, the Headcount dataset.
      assert.equal(report.created, 5, JSON.stringify(report));
      assert.equal(report.skipped["unknown environment (declare it in a world file or import the CoE environments table first)"], 1);
      assert.equal(report.skipped["unknown user (creator is not a principal of the tenant)"], 1);
      assert.equal(report.skipped["unknown user (owner or creator is not a principal of the tenant)"], 1);
      assert.equal(report.skipped["unknown workspace (declare it in a world file)"], 1);
      assert.equal(report.skipped["view-only role (never counts)"], 1);
      const badges = attributedUsersAt("canvasApp", await store.powerPlatform.relationships(FAB, "faba0000-0000-4000-8000-000000000010"), NOW);
      assert.deepEqual(badges.map((c) => c.principalId), ["fabf0000-0001-4000-8000-000000000002"]);
      const uat = attributedUsersAt("canvasApp", await store.powerPlatform.relationships(FAB, "faba0000-0000-4000-8000-000000000020"), NOW);
      assert.deepEqual(uat.map((c) => c.role), ["Owner", "CoOwner"]);
      const flow = await store.powerPlatform.getResource(FAB, "fabc0000-0000-4000-8000-000000000010");
      assert.equal(flow?.environmentId, "fabe0000-0000-4000-8000-0000000000de", "Default-<tenantId> names the default environment");
    });

    it("importing the same files again changes nothing", async () => {
      const before = await store.powerPlatform.listRelationships(FAB);
      const again = await importPowerPlatform(store, files, { now: NOW + 1000, tenantId: FAB });
      assert.equal(again.created, 0);
      assert.equal(again.changed, 0);
      assert.deepEqual(await store.powerPlatform.listRelationships(FAB), before);
    });

    it("an unrecognised file is refused, naming --format, and nothing is written", async () => {
      await assert.rejects(importPowerPlatform(store, [dir("world.json")], { now: NOW }), /format not recognised; pass --format/);
    });
  });
}
