/**
 * The Power Platform aggregate on both stores: the ownership timeline written through the audited
 * ownership writes (creator, owner change, co-owner added and removed, a solution imported by two
 * accounts in turn, a dataset taken over), each read back at its instant; paging; the one-open-owner
 * guard; and the solution zip reader that feeds imports.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { storeBackends } from "../support/stores.ts";
import type { Store } from "../../src/store/index.ts";
import { attributedUsersAt } from "../../src/domain/power-platform/index.ts";
import { changeOwner, importSolutionManifest, OwnershipError, setCoOwner, setPublisher, type Actor } from "../../src/powerplatform/ownership.ts";
import { readSolutionZip } from "../../src/powerplatform/dataverse/solution-zip.ts";
import { solutionZip, zipOf } from "../powerplatform/solution-fixture.ts";

const T = (s: string) => Date.parse(s);
const TID = "aaaaaaaa-0000-4000-8000-00000000f001";
const OTHER = "aaaaaaaa-0000-4000-8000-00000000f002";
const ALICE = "a11ce000-0000-4000-8000-000000000001";
const BOB = "b0b00000-0000-4000-8000-000000000002";
const SVC = "5e4c0000-0000-4000-8000-000000000003";
const ENV = "e0000000-0000-4000-8000-000000000001";
const APP = "a0000000-0000-4000-8000-000000000001";
const FLOW = "f0000000-0000-4000-8000-000000000001";
const WS = "c0000000-0000-4000-8000-000000000001";
const DS = "d0000000-0000-4000-8000-000000000001";
const actor = (objectId: string): Actor => ({ tenantId: TID, objectId, requestId: "req-1" });

async function seed(store: Store): Promise<void> {
  for (const [tid, domain] of [[TID, "pp.example"], [OTHER, "other.example"]] as const) {
    await store.directory.putTenant({ id: tid, displayName: domain, domain, createdAt: 0 });
  }
  for (const [id, upn] of [[ALICE, "alice"], [BOB, "bob"], [SVC, "svc"]] as const) {
    await store.directory.putUser({ tenantId: TID, id, userPrincipalName: `${upn}@pp.example`, displayName: upn, kind: "member", passwordHash: null, homeTenantId: null, homeObjectId: null, createdAt: 0, deletedAt: null });
  }
  const pp = store.powerPlatform;
  await pp.putEnvironment({ tenantId: TID, id: ENV, displayName: "Fabrikam Production", type: "Production", location: "unitedstates", createdBy: ALICE, createdAt: T("2026-01-01T00:00:00Z"), deletedAt: null });
  await pp.putEnvironment({ tenantId: TID, id: "e0000000-0000-4000-8000-0000000000de", displayName: "Default", type: "Default", location: "unitedstates", createdBy: null, createdAt: 0, deletedAt: null });
  await pp.putResource({ tenantId: TID, id: APP, kind: "canvasApp", environmentId: ENV, workspaceId: null, displayName: "Field inspections", createdBy: ALICE, createdAt: T("2026-08-01T00:00:00Z"), modifiedAt: T("2026-08-01T00:00:00Z"), deletedAt: null, details: {} });
  await pp.insertRelationship(TID, { resourceId: APP, principalId: ALICE, relation: "owner", basis: "created", from: T("2026-08-01T00:00:00Z"), to: null });
  await pp.putResource({ tenantId: TID, id: FLOW, kind: "flow", environmentId: ENV, workspaceId: null, displayName: "Approvals", createdBy: BOB, createdAt: T("2026-08-01T00:00:00Z"), modifiedAt: T("2026-08-01T00:00:00Z"), deletedAt: null, details: { state: "Started" } });
  await pp.insertRelationship(TID, { resourceId: FLOW, principalId: BOB, relation: "owner", basis: "created", from: T("2026-08-01T00:00:00Z"), to: null });
}

for (const backend of storeBackends()) {
  describe(`power platform store (${backend.name})`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
      await seed(store);
    });
    after(() => store.close());

    const who = async (id: string, kind: "canvasApp" | "flow" | "dataset", at: string) =>
      attributedUsersAt(kind, await store.powerPlatform.relationships(TID, id), T(at)).map((c) => `${c.principalId}:${c.role}`);

    it("environments round-trip; the Default one is found by type; another tenant sees none of them", async () => {
      assert.equal((await store.powerPlatform.getEnvironment(TID, ENV.toUpperCase()))?.type, "Production");
      assert.equal((await store.powerPlatform.defaultEnvironment(TID))?.displayName, "Default");
      assert.deepEqual(await store.powerPlatform.listEnvironments(OTHER), []);
      assert.equal(await store.powerPlatform.putEnvironment({ ...(await store.powerPlatform.getEnvironment(TID, ENV))! }), "unchanged");
    });

    it("an owner change is effective-dated and audited: Alice before 2026-10-12, Bob from it, the old owner kept as co-owner when asked", async () => {
      const at = T("2026-10-12T00:00:00Z");
      assert.equal(await changeOwner(store, TID, APP, BOB, at, actor(SVC), "CanEdit"), "changed");
      assert.deepEqual(await who(APP, "canvasApp", "2026-10-11T23:59:59Z"), [`${ALICE}:Owner`]);
      assert.deepEqual(await who(APP, "canvasApp", "2026-10-12T00:00:00Z"), [`${BOB}:Owner`, `${ALICE}:CoOwner`]);
      assert.equal(await changeOwner(store, TID, APP, BOB, at + 1000, actor(SVC)), "unchanged");
      const entries = (await store.audit.list({ tenantId: TID })).filter((e) => e.action === "powerPlatform.owner.change");
      assert.equal(entries.length, 1);
      assert.equal(entries[0]?.actorObjectId, SVC);
      assert.equal(entries[0]?.at, at);
    });

    it("a co-owner removed at t counts before t and not from t", async () => {
      await setCoOwner(store, TID, APP, ALICE, false, T("2026-10-20T00:00:00Z"), actor(SVC));
      assert.deepEqual(await who(APP, "canvasApp", "2026-10-19T00:00:00Z"), [`${BOB}:Owner`, `${ALICE}:CoOwner`]);
      assert.deepEqual(await who(APP, "canvasApp", "2026-10-20T00:00:00Z"), [`${BOB}:Owner`]);
      await setCoOwner(store, TID, APP, SVC, true, T("2026-10-21T00:00:00Z"), actor(BOB));
      assert.deepEqual(await who(APP, "canvasApp", "2026-10-21T00:00:00Z"), [`${BOB}:Owner`, `${SVC}:CoOwner`]);
    });

    it("unknown principals and resources are refused and change nothing", async () => {
      const before = (await store.powerPlatform.relationships(TID, APP)).length;
      await assert.rejects(changeOwner(store, TID, APP, "99999999-0000-4000-8000-000000000009", T("2026-10-22T00:00:00Z"), actor(SVC)), (e: unknown) => e instanceof OwnershipError && e.code === "PrincipalNotFound");
      await assert.rejects(changeOwner(store, OTHER, APP, BOB, T("2026-10-22T00:00:00Z"), actor(SVC)), (e: unknown) => e instanceof OwnershipError && e.code === "ResourceNotFound");
      assert.equal((await store.powerPlatform.relationships(TID, APP)).length, before);
    });

    it("the store refuses a second open owner even if a writer skips the planner", async () => {
      await assert.rejects(store.transaction((tx) => tx.powerPlatform.insertRelationship(TID, { resourceId: FLOW, principalId: ALICE, relation: "owner", basis: "assigned", from: T("2026-10-01T00:00:00Z"), to: null })));
      assert.equal((await store.powerPlatform.relationships(TID, FLOW)).length, 1);
    });

    it("a solution imported by Alice then by the service account: each owns every component from its import instant", async () => {
      const zip = readSolutionZip(solutionZip({ uniqueName: "fabrikam_cases", components: [{ type: 29, id: FLOW, displayName: "Approvals" }, { type: 300, schemaName: "cr123_casesapp_1a2b3", displayName: "Cases" }, { type: 1, schemaName: "account" }] }));
      assert.ok(zip.ok);
      const first = await store.transaction((tx) => importSolutionManifest(tx, TID, ENV, zip.manifest, T("2026-09-15T00:00:00Z"), actor(ALICE), null));
      assert.equal(first.createdComponents, 1, "the canvas app comes with the solution");
      assert.equal(first.reownedComponents, 2, "the app the import brings is owned by the importer, and the flow is re-owned");
      const app2 = first.componentIds.find((id) => id !== FLOW) as string;
      const second = await store.transaction((tx) => importSolutionManifest(tx, TID, ENV, { ...zip.manifest, version: "1.1.0.0" }, T("2026-10-20T00:00:00Z"), actor(SVC), "job-2"));
      assert.equal(second.solution.id, first.solution.id);
      assert.equal(second.reownedComponents, 2);
      assert.deepEqual(await who(FLOW, "flow", "2026-09-14T00:00:00Z"), [`${BOB}:Creator`]);
      assert.deepEqual(await who(FLOW, "flow", "2026-09-15T00:00:00Z"), [`${ALICE}:SolutionImporter`]);
      assert.deepEqual(await who(FLOW, "flow", "2026-10-20T00:00:00Z"), [`${SVC}:SolutionImporter`]);
      assert.deepEqual(await who(app2, "canvasApp", "2026-10-19T00:00:00Z"), [`${ALICE}:SolutionImporter`]);
      assert.deepEqual(await who(app2, "canvasApp", "2026-10-20T00:00:00Z"), [`${SVC}:SolutionImporter`]);
      assert.deepEqual((await store.powerPlatform.listImports(TID, first.solution.id)).map((i) => [i.importedBy, i.version]), [[ALICE, "1.0.0.0"], [SVC, "1.1.0.0"]]);
      assert.equal((await store.powerPlatform.listComponents(TID, first.solution.id)).length, 2);
      assert.equal((await store.audit.list({ tenantId: TID })).filter((e) => e.action === "powerPlatform.solution.import").length, 2);
    });

    it("a dataset published then taken over: the publisher until the take-over instant, the taker from it", async () => {
      await store.powerPlatform.putWorkspace({ tenantId: TID, id: WS, displayName: "Finance", createdAt: 0 });
      await store.powerPlatform.addWorkspaceMember(TID, WS, SVC, "Member", T("2026-09-01T00:00:00Z"));
      assert.equal(await store.powerPlatform.workspaceRole(TID, WS, SVC, T("2026-08-01T00:00:00Z")), undefined);
      assert.equal(await store.powerPlatform.workspaceRole(TID, WS, SVC, T("2026-10-01T00:00:00Z")), "Member");
      await store.powerPlatform.putResource({ tenantId: TID, id: DS, kind: "dataset", environmentId: null, workspaceId: WS, displayName: "Sales", createdBy: ALICE, createdAt: T("2026-09-01T00:00:00Z"), modifiedAt: T("2026-09-01T00:00:00Z"), deletedAt: null, details: {} });
      await store.transaction(async (tx) => {
        const ds = (await tx.powerPlatform.getResource(TID, DS))!;
        await setPublisher(tx, TID, ds, ALICE, T("2026-09-01T00:00:00Z"), "published", actor(ALICE));
        await setPublisher(tx, TID, ds, SVC, T("2026-10-03T09:30:00Z"), "takeover", actor(SVC));
      });
      assert.deepEqual(await who(DS, "dataset", "2026-10-03T09:29:59Z"), [`${ALICE}:Publisher`]);
      assert.deepEqual(await who(DS, "dataset", "2026-10-03T09:30:00Z"), [`${SVC}:Owner`]);
    });

    it("relationshipsOverlapping returns a month's relationships across resources, for the engine", async () => {
      const oct = await store.powerPlatform.relationshipsOverlapping({ from: T("2026-10-01T00:00:00Z"), to: T("2026-11-01T00:00:00Z") }, TID);
      assert.ok(oct.some((r) => r.resourceId === FLOW && r.principalId === ALICE && r.to === T("2026-10-20T00:00:00Z")));
      const july = await store.powerPlatform.relationshipsOverlapping({ from: T("2026-07-01T00:00:00Z"), to: T("2026-08-01T00:00:00Z") }, TID);
      assert.deepEqual(july, []);
    });

    it("listResources pages by id within an environment", async () => {
      const all = await store.powerPlatform.listResources(TID, { environmentId: ENV });
      const first = await store.powerPlatform.listResources(TID, { environmentId: ENV, limit: 1 });
      const rest = await store.powerPlatform.listResources(TID, { environmentId: ENV, afterId: first[0]?.id });
      assert.deepEqual([...first, ...rest].map((r) => r.id), all.map((r) => r.id));
      assert.deepEqual((await store.powerPlatform.listResources(TID, { environmentId: ENV, kinds: ["flow"] })).map((r) => r.id), [FLOW]);
    });
  });
}

describe("solution zips: the manifest is read with a zip and an XML library; malformed files are refused with the reason", () => {
  it("reads unique name, version, managed and the root components with display names", () => {
    const read = readSolutionZip(solutionZip({ uniqueName: "fabrikam_cases", version: "2.0.1.0", components: [{ type: 29, id: FLOW, displayName: "Approvals" }, { type: 300, schemaName: "cr123_app", displayName: "Cases" }] }));
    assert.ok(read.ok);
    assert.equal(read.manifest.uniqueName, "fabrikam_cases");
    assert.equal(read.manifest.version, "2.0.1.0");
    assert.equal(read.manifest.managed, true);
    assert.deepEqual(read.manifest.components.map((c) => [c.kind, c.id, c.schemaName, c.displayName]), [["flow", FLOW, null, "Approvals"], ["canvasApp", null, "cr123_app", "Cases"]]);
  });
  const refused = (bytes: Uint8Array) => {
    const r = readSolutionZip(bytes);
    assert.equal(r.ok, false);
    return r.ok ? "" : r.message;
  };
  it("not a zip", () => assert.match(refused(new TextEncoder().encode("hello")), /not a zip archive/));
  it("a damaged zip", () => assert.match(refused(solutionZip({ uniqueName: "x_y", components: [] }).slice(0, 60)), /damaged zip|no solution\.xml/));
  it("no solution.xml", () => assert.match(refused(zipOf({ "readme.txt": "hi" })), /no solution\.xml/));
  it("solution.xml not well-formed", () => assert.match(refused(zipOf({ "solution.xml": "<ImportExportXml><SolutionManifest>" })), /not well-formed XML/));
  it("no unique name", () => assert.match(refused(zipOf({ "solution.xml": "<ImportExportXml><SolutionManifest><Version>1.0</Version><Managed>1</Managed></SolutionManifest></ImportExportXml>" })), /UniqueName/));
});
