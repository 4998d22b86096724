import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Store } from "../../src/store/index.ts";
import { detectFormat, importRbac } from "../../src/importers/index.ts";
import { storeBackends } from "../support/stores.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const RBAC = path.resolve(repoRoot, "test/fixtures/rbac");
const AZGOVVIZ = path.join(RBAC, "azgovviz-demo");
const ROOT = "896470ca-9c6e-4176-9b38-5a655403c638";
const NOW = Date.UTC(2026, 0, 1);
const tmp = mkdtempSync(path.join(os.tmpdir(), "openpal-import-"));
const write = (name: string, data: unknown) => {
  const file = path.join(tmp, name);
  writeFileSync(file, typeof data === "string" ? data : JSON.stringify(data));
  return file;
};
const created = (r: { counts: Record<string, { created: number; updated: number }> }) => Object.values(r.counts).reduce((n, c) => n + c.created + c.updated, 0);

for (const backend of storeBackends()) {
  describe(`AzGovViz demo import (${backend.name})`, () => {
    let store: Store;
    before(async () => { store = await backend.open(); });
    after(async () => store.close());

    it("yields its 41 role assignments at their own scopes over the 11-group tree and 2 subscriptions", async () => {
      const report = await importRbac(store, [AZGOVVIZ], { now: NOW });
      assert.deepEqual(report.rejected, []);
      const groups = await store.resources.listManagementGroups(ROOT);
      assert.equal(groups.length, 11);
      const parent = (id: string) => groups.find((g) => g.id === id)?.parentId;
      assert.equal(parent(ROOT), null);
      assert.equal(parent("ESJH"), ROOT);
      assert.equal(parent("ESJH-online"), "ESJH-landingzones");
      assert.equal(parent("CUST_T5"), "ESJH-sandboxes");
      const subs = await store.resources.listSubscriptions({ tenantId: ROOT });
      assert.deepEqual(subs.map((s) => [s.id, s.displayName, s.managementGroupId]).sort(), [
        ["4dfa3b56-55bf-4059-802a-24e44a4fb60f", "landingZone", "ESJH-online"],
        ["f28ba982-5ed0-4033-9bdf-e45e4b5df466", "management", "ESJH-management"],
      ]);
      const all = await store.access.roleAssignmentHistory(ROOT);
      assert.equal(all.length, 41);
      const byId = new Map(all.map((a) => [a.id, a]));
      assert.equal(byId.get("0c3ffd6f-942d-433d-8abd-2d0d7f4383e1")?.scope, "/");
      assert.equal(byId.get("fe935a9c-928f-4dec-aafb-54ecc2642cf3")?.scope, "/providers/Microsoft.Management/managementGroups/ESJHQA");
      assert.equal(byId.get("1fe0074e-959c-4d3e-9478-9dc99a34062a")?.scope, "/subscriptions/f28ba982-5ed0-4033-9bdf-e45e4b5df466/resourceGroups/NSG");
      // An indirect row names a member; the assignment itself is the group's.
      const viaGroup = byId.get("3b6291a1-fc61-41d8-abff-43d04e35be62")!;
      assert.deepEqual([viaGroup.principalId, viaGroup.principalType], ["cb036073-f86b-46e1-9726-1eaccb62a678", "Group"]);
      const levels = { root: 0, mg: 0, sub: 0, rg: 0 };
      for (const a of all) {
        if (a.scope === "/") levels.root++;
        else if (a.scope.startsWith("/providers/")) levels.mg++;
        else if (/resourceGroups/i.test(a.scope)) levels.rg++;
        else levels.sub++;
      }
      assert.deepEqual(levels, { root: 2, mg: 31, sub: 7, rg: 1 });
      assert.equal(report.skipped.find((s) => /inherited/.test(s.reason))?.count, 174);
      assert.equal((await store.resources.listResources({ tenantId: ROOT })).length, 23);
      assert.ok((await store.directory.listMemberships(ROOT)).some((m) => m.groupId === "cb036073-f86b-46e1-9726-1eaccb62a678" && m.memberId === "43b0f5e7-cb78-4e1a-b3da-1239647dfb74"));
    });

    it("importing it twice changes nothing the second time", async () => {
      const before = (await store.access.roleAssignmentHistory(ROOT)).length;
      const report = await importRbac(store, [AZGOVVIZ], { now: NOW + 86_400_000 });
      assert.equal(created(report), 0);
      assert.equal((await store.access.roleAssignmentHistory(ROOT)).length, before);
      assert.equal((await store.resources.managementGroupHistory(ROOT)).length, 11);
      assert.equal((await store.resources.subscriptionHistory()).length, 2);
    });
  });

  describe(`az role assignment list, Resource Graph and Lighthouse imports (${backend.name})`, () => {
    let store: Store;
    const T = "11111111-1111-1111-1111-111111111111";
    const SUB = "33333333-3333-3333-3333-333333333333";
    before(async () => { store = await backend.open(); });
    after(async () => store.close());

    it("Resource Graph: containers and role assignments ({data: [...]}); classic administrators are skipped with a reason", async () => {
      const file = write("arg.json", { data: [
        { id: `/providers/Microsoft.Management/managementGroups/${T}`, name: T, type: "microsoft.management/managementgroups", tenantId: T, properties: { displayName: "Tenant Root Group" } },
        { id: "/providers/Microsoft.Management/managementGroups/Prod", name: "Prod", type: "microsoft.management/managementgroups", tenantId: T, properties: { displayName: "Production", details: { parent: { name: T } } } },
        { id: `/subscriptions/${SUB}`, name: "fabrikam-prod", type: "microsoft.resources/subscriptions", tenantId: T, subscriptionId: SUB,
          properties: { state: "Enabled", subscriptionPolicies: { quotaId: "EnterpriseAgreement_2014-09-01" }, managementGroupAncestorsChain: [{ name: "Prod" }, { name: T }] } },
        { id: `/subscriptions/${SUB}/resourceGroups/rg-web`, name: "rg-web", type: "microsoft.resources/subscriptions/resourcegroups", tenantId: T, subscriptionId: SUB, location: "westeurope", tags: { env: "prod" } },
        { id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/aaaaaaaa-0000-0000-0000-000000000001`, name: "aaaaaaaa-0000-0000-0000-000000000001", type: "microsoft.authorization/roleassignments", tenantId: T,
          properties: { scope: `/subscriptions/${SUB}`, principalId: "bbbbbbbb-0000-0000-0000-000000000001", principalType: "ServicePrincipal", roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c`, createdOn: "2024-10-14T20:25:32.17Z" } },
        { id: "/subscriptions/x/providers/Microsoft.Authorization/classicAdministrators/y", name: "y", type: "microsoft.authorization/classicadministrators", tenantId: T, properties: {} },
      ] });
      assert.equal(detectFormat(file, readFileSync(file, "utf8")), "arg");
      const report = await importRbac(store, [file], { now: NOW });
      assert.deepEqual(report.rejected, []);
      const sub = await store.resources.getSubscription(SUB);
      assert.deepEqual([sub?.offerType, sub?.managementGroupId, sub?.displayName], ["EA", "Prod", "fabrikam-prod"]);
      const ra = await store.access.getRoleAssignment(T, "aaaaaaaa-0000-0000-0000-000000000001");
      assert.equal(ra?.validFrom, Date.parse("2024-10-14T20:25:32.17Z"));
      assert.equal((await store.directory.getServicePrincipal(T, "bbbbbbbb-0000-0000-0000-000000000001"))?.appId, "imported:bbbbbbbb-0000-0000-0000-000000000001");
      assert.ok(report.skipped.some((s) => /classic administrators/.test(s.reason)));
    });

    it("az CLI: valid rows are applied, a bad row is rejected naming its row, field and fix", async () => {
      const file = write("az.json", [
        { id: `/subscriptions/${SUB}/resourceGroups/rg-web/providers/Microsoft.Authorization/roleAssignments/aaaaaaaa-0000-0000-0000-000000000002`, name: "aaaaaaaa-0000-0000-0000-000000000002",
          principalId: "cccccccc-0000-0000-0000-000000000001", principalName: "bob_contoso.example#EXT#@fabrikam.example", principalType: "User", resourceGroup: "rg-web",
          roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635`, roleDefinitionName: "Owner", scope: `/subscriptions/${SUB}/resourceGroups/rg-web`, createdOn: "2025-01-01T00:00:00Z", type: "Microsoft.Authorization/roleAssignments" },
        { id: "/bad", principalId: "not-a-guid", principalType: "User", roleDefinitionId: "x", scope: "/" },
      ]);
      const report = await importRbac(store, [file], { now: NOW }); // tenant found through the subscription
      assert.equal(report.rejected.length, 1);
      assert.equal(report.rejected[0]!.origin.row, 2);
      assert.equal(report.rejected[0]!.field, "id");
      assert.match(report.rejected[0]!.fix, /roleAssignments\/<guid>/);
      assert.equal((await store.access.getRoleAssignment(T, "aaaaaaaa-0000-0000-0000-000000000002"))?.scope, `/subscriptions/${SUB}/resourceGroups/rg-web`);
    });

    it("dry run reports and writes nothing", async () => {
      const file = write("az2.json", [{ id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/aaaaaaaa-0000-0000-0000-000000000003`, principalId: "cccccccc-0000-0000-0000-000000000002", principalType: "User", roleDefinitionId: "acdd72a7-3385-48ef-bd42-f606fba81ae7", scope: `/subscriptions/${SUB}` }]);
      const report = await importRbac(store, [file], { now: NOW, dryRun: true, tenantId: T });
      assert.equal(report.counts.roleAssignment?.created, 1);
      assert.equal(await store.access.getRoleAssignment(T, "aaaaaaaa-0000-0000-0000-000000000003"), undefined);
    });

    it("Lighthouse: the marketplace sample delegates the subscription with its four authorizations; re-import is unchanged", async () => {
      const file = path.join(RBAC, "lighthouse-samples/marketplace-delegated-resource-management.parameters.json");
      const report = await importRbac(store, [file], { now: NOW, subscriptionId: SUB });
      assert.deepEqual(report.rejected, []);
      const [def] = await store.access.listRegistrationDefinitions({ managedByTenantId: "d6ad82f3-42af-4a15-ac1e-49e6c08f624e" });
      assert.equal(def?.authorizations.length, 4);
      assert.equal(def?.authorizations[3]?.delegatedRoleDefinitionIds?.length, 2);
      assert.equal((await store.access.listRegistrationAssignments({ tenantId: T, scope: `/subscriptions/${SUB}` })).length, 1);
      assert.equal(created(await importRbac(store, [file], { now: NOW + 1, subscriptionId: SUB })), 0);
    });

    it("Lighthouse: template placeholders refuse the file with the field and the fix; a filled copy imports eligible authorizations", async () => {
      const sample = path.join(RBAC, "lighthouse-samples/eligible-authorizations.subscription.parameters.json");
      const refused = await importRbac(store, [sample], { now: NOW, subscriptionId: SUB });
      assert.ok(refused.rejected.some((r) => r.field === "parameters.managedByTenantId" && /GUID/.test(r.fix)));
      assert.equal(created(refused), 0);
      const filled = readFileSync(sample, "utf8").replace(/<insert the managing tenant id>/, "44444444-4444-4444-4444-444444444444").replace(/0{8}-0{4}-0{4}-0{4}-0{12}/g, "55555555-5555-5555-5555-555555555555");
      const ok = await importRbac(store, [write("eligible.parameters.json", filled)], { now: NOW, subscriptionId: SUB });
      assert.deepEqual(ok.rejected, []);
      const [def] = await store.access.listRegistrationDefinitions({ managedByTenantId: "44444444-4444-4444-4444-444444444444" });
      assert.deepEqual(def?.authorizations.map((a) => a.kind), ["permanent", "permanent", "eligible"]);
      assert.equal(def?.authorizations[2]?.maximumActivationDuration, "PT8H");
    });

    it("an unrecognised file is refused with the list of formats", async () => {
      const report = await importRbac(store, [write("notes.txt", "hello")], { now: NOW });
      assert.match(report.rejected[0]!.fix, /--format \(one of az-cli, arg, azgovviz-csv/);
    });
  });
}
