/**
 * The `powerPlatform` section of world files: validated as a whole with every problem at its JSON
 * path, applied (timelines as the file records them, solution imports re-owning components),
 * idempotent, and exported back (round trip), on both stores.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { storeBackends } from "../support/stores.ts";
import type { Store } from "../../src/store/index.ts";
import { applyWorld, checkWorldDocument, exportWorld, validateWorld, WORLD_KINDS, type WorldFile } from "../../src/world/index.ts";
import { attributedUsersAt, type ResourceKind } from "../../src/domain/power-platform/index.ts";
import { ManualClock } from "../../src/domain/time.ts";

const FIXTURE = new URL("../fixtures/powerplatform/world.json", import.meta.url);
const world = (): WorldFile & { tenants: Record<string, unknown>[] } => JSON.parse(readFileSync(FIXTURE, "utf8")) as WorldFile & { tenants: Record<string, unknown>[] };
const T = (s: string) => Date.parse(s);
const FAB = "fabf0000-0000-4000-8000-000000000000";
const ERIN = "fabf0000-0001-4000-8000-000000000003";
const MAKER = "fabf0000-0001-4000-8000-000000000002";
const GUEST = "fabf0000-0001-4000-8000-000000000004";
const SVC = "fabf0000-0002-4000-8000-000000000001";
const CANVAS = "faba0000-0000-4000-8000-000000000001";
const MDA = "faba0000-0000-4000-8000-000000000002";
const FLOW = "fabc0000-0000-4000-8000-000000000001";
const DATASET = "fabd0000-0000-4000-8000-000000000001";
const opts = { clock: new ManualClock("2026-11-01T00:00:00Z"), actor: "test" };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const problemsOf = (doc: unknown) => {
  const parsed = checkWorldDocument(doc);
  if (!parsed.ok) return parsed.problems;
  return [...validateWorld(parsed.world).problems];
};

describe("world files: the powerPlatform section is checked as a whole, every problem at its JSON path", () => {
  it("the fixture is valid", () => assert.deepEqual(problemsOf(world()), []));
  it("schema problems: an unknown environment type and an unknown key", () => {
    const w: Json = world();
    w.tenants[1].powerPlatform.environments[1].type = "Prod";
    w.tenants[1].powerPlatform.apps[0].owner = "x";
    const paths = problemsOf(w).map((p) => p.path);
    assert.ok(paths.includes("$.tenants[1].powerPlatform.environments[1].type"), paths.join());
    assert.ok(paths.includes("$.tenants[1].powerPlatform.apps[0].owner"), paths.join());
  });
  it("references: unknown environment, unknown principal, co-owners on a model-driven app, a component from another environment", () => {
    const w: Json = world();
    const pp = w.tenants[1].powerPlatform;
    pp.apps[0].environment = "fabe0000-0000-4000-8000-0000000000ff";
    pp.flows[0].createdBy = "99999999-0000-4000-8000-000000000009";
    pp.apps[1].coOwners = [{ principalId: ERIN }];
    pp.solutions[0].components.push({ type: "flow", id: "fabc0000-0000-4000-8000-000000000002" });
    const problems = problemsOf(w);
    const at = (path: string) => problems.find((p) => p.path === path)?.message ?? `(no problem at ${path}: ${problems.map((p) => p.path).join(", ")})`;
    assert.match(at("$.tenants[1].powerPlatform.apps[0].environment"), /not declared under powerPlatform.environments/);
    assert.match(at("$.tenants[1].powerPlatform.flows[0].createdBy"), /not a user or service principal/);
    assert.match(at("$.tenants[1].powerPlatform.apps[1].coOwners"), /model-driven apps have no co-owners/);
    assert.match(at("$.tenants[1].powerPlatform.solutions[0].components[2].id"), /not in the solution's environment/);
  });
  it("histories: overlapping owners and a gap are reported at the owner entry", () => {
    const w: Json = world();
    w.tenants[1].powerPlatform.apps[0].owners[1].from = "2026-10-11T00:00:00Z";
    const problems = problemsOf(w);
    assert.ok(problems.some((p) => p.path === "$.tenants[1].powerPlatform.apps[0].owners[1]" && /one owner at a time/.test(p.message)), JSON.stringify(problems));
    const gap: Json = world();
    gap.tenants[1].powerPlatform.apps[0].owners[1].from = "2026-10-13T00:00:00Z";
    assert.ok(problemsOf(gap).some((p) => p.path === "$.tenants[1].powerPlatform.apps[0].owners[1]" && /back to back/.test(p.message)));
  });
  it("a principal of a partner tenant with a delegatedAdmins entry may own a resource (decision 7)", () => {
    const w: Json = world();
    w.tenants[1].powerPlatform.flows[1].createdBy = "c0c0c0c0-0001-4000-8000-000000000001";
    assert.deepEqual(problemsOf(w), []);
    delete w.tenants[1].delegatedAdmins;
    assert.ok(problemsOf(w).some((p) => p.path === "$.tenants[1].powerPlatform.flows[1].createdBy"));
  });
});

for (const backend of storeBackends()) {
  describe(`world files: the powerPlatform section applied and exported (${backend.name})`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
    });
    after(() => store.close());

    const who = async (kind: ResourceKind, id: string, at: string) =>
      attributedUsersAt(kind, await store.powerPlatform.relationships(FAB, id), T(at)).map((c) => `${c.principalId}:${c.role}`);

    it("applies the estate; each timeline reads back at its instants", async () => {
      const result = await applyWorld(store, world(), opts);
      assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
      assert.equal(result.summary.counts.ppEnvironment.created, 3);
      assert.equal(result.summary.counts.ppResource.created, 6);
      assert.deepEqual(await who("canvasApp", CANVAS, "2026-10-11T00:00:00Z"), [`${ERIN}:Owner`, `${MAKER}:CoOwner`]);
      assert.deepEqual(await who("canvasApp", CANVAS, "2026-10-12T00:00:00Z"), [`${GUEST}:Owner`, `${MAKER}:CoOwner`]);
      // The solution's two imports re-own both components, each from its instant.
      assert.deepEqual(await who("flow", FLOW, "2026-09-14T00:00:00Z"), [`${MAKER}:Creator`]);
      assert.deepEqual(await who("flow", FLOW, "2026-09-15T00:00:00Z"), [`${GUEST}:SolutionImporter`]);
      assert.deepEqual(await who("modelDrivenApp", MDA, "2026-10-20T00:00:00Z"), [`${SVC}:SolutionImporter`]);
      assert.deepEqual(await who("dataset", DATASET, "2026-10-03T09:29:00Z"), [`${ERIN}:Publisher`]);
      assert.deepEqual(await who("dataset", DATASET, "2026-10-03T09:30:00Z"), [`${GUEST}:Owner`]);
      assert.equal(await store.powerPlatform.isMaker(FAB, "fabe0000-0000-4000-8000-000000000001", SVC, T("2026-10-01T00:00:00Z")), true);
      assert.equal(await store.powerPlatform.workspaceRole(FAB, "fab00000-0000-4000-8000-0000000000b1", GUEST, T("2026-08-01T00:00:00Z")), undefined);
    });

    it("applying the same file again changes nothing", async () => {
      const again = await applyWorld(store, world(), opts);
      assert.ok(again.ok);
      for (const k of WORLD_KINDS) assert.equal(again.summary.counts[k].created + again.summary.counts[k].updated, 0, k);
    });

    it("the export carries the section back; applied to its own store it changes nothing, applied to an empty store it rebuilds the same timelines", async () => {
      const exported = await exportWorld(store);
      const fab = exported.tenants?.find((t) => t.id === FAB);
      assert.ok(fab?.powerPlatform);
      assert.equal(fab.powerPlatform.solutions?.[0]?.imports?.length, 2);
      const self = await applyWorld(store, exported, opts);
      assert.ok(self.ok, JSON.stringify(!self.ok && self.problems));
      for (const k of WORLD_KINDS) assert.equal(self.summary.counts[k].created + self.summary.counts[k].updated, 0, k);
      const fresh = await backend.open();
      try {
        const rebuilt = await applyWorld(fresh, exported, opts);
        assert.ok(rebuilt.ok, JSON.stringify(!rebuilt.ok && rebuilt.problems));
        const shape = (s: Store) => s.powerPlatform.listRelationships(FAB).then((rows) => rows.map((r) => [r.resourceId, r.principalId, r.relation, r.basis, r.from, r.to, r.role]).sort());
        assert.deepEqual(await shape(fresh), await shape(store));
        assert.deepEqual(await exportWorld(fresh).then((w) => w.tenants?.find((t) => t.id === FAB)?.powerPlatform), fab.powerPlatform);
      } finally {
        await fresh.close();
      }
    });

    it("a file that rewrites stored history is refused with the path and changes nothing", async () => {
      const w: Json = world();
      w.tenants[1].powerPlatform.apps[0].owners = [{ principalId: MAKER }];
      const before = await store.powerPlatform.listRelationships(FAB);
      const result = await applyWorld(store, w, opts);
      assert.equal(result.ok, false);
      assert.ok(!result.ok && result.problems.some((p) => p.path === "$.tenants[1].powerPlatform.apps[0].owners[0]" && /does not rewrite/.test(p.message)), JSON.stringify(!result.ok && result.problems));
      assert.deepEqual(await store.powerPlatform.listRelationships(FAB), before);
    });
  });
}
