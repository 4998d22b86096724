import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Store } from "../../src/store/index.ts";
import { AccessConflictError } from "../../src/store/index.ts";
import { effectiveAccess } from "../../src/domain/access.ts";
import { storeBackends } from "../support/stores.ts";

const T = "11111111-1111-1111-1111-111111111111";
const P = "22222222-2222-2222-2222-222222222222";
const SUB = "33333333-3333-3333-3333-333333333333";
const OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const day = (d: number) => Date.UTC(2026, 9, d);

for (const backend of storeBackends()) {
  describe(`resources and access store (${backend.name})`, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
      await store.directory.putTenant({ id: T, displayName: "Fabrikam", domain: "fabrikam.example", createdAt: 1 });
    });
    after(async () => store.close());

    describe("management groups form a tree under the tenant root group", () => {
      it("creates the root group on first use and refuses unknown parents", async () => {
        assert.equal(await store.resources.putManagementGroup({ tenantId: T, id: "Platform", displayName: "Platform" }, { at: day(1) }), "created");
        assert.equal((await store.resources.getManagementGroup(T, T))?.displayName, "Tenant Root Group");
        assert.equal((await store.resources.getManagementGroup(T, "platform"))?.parentId, T);
        await assert.rejects(store.resources.putManagementGroup({ tenantId: T, id: "X", displayName: "X", parentId: "Nowhere" }, { at: day(1) }), /parent "Nowhere" does not exist.*create the parent first/);
      });
      it("a move closes the old row and keeps history; the same put again changes nothing", async () => {
        await store.resources.putManagementGroup({ tenantId: T, id: "LZ", displayName: "Landing zones" }, { at: day(1) });
        assert.equal(await store.resources.putManagementGroup({ tenantId: T, id: "lz", displayName: "Landing zones", parentId: "Platform" }, { at: day(5) }), "updated");
        assert.equal(await store.resources.putManagementGroup({ tenantId: T, id: "LZ", displayName: "Landing zones", parentId: "PLATFORM" }, { at: day(6) }), "unchanged");
        assert.equal((await store.resources.getManagementGroup(T, "LZ", day(2)))?.parentId, T);
        assert.equal((await store.resources.getManagementGroup(T, "LZ", day(5)))?.parentId, "Platform");
        assert.equal((await store.resources.managementGroupHistory(T)).filter((g) => g.id === "LZ").length, 2);
      });
      it("refuses to delete a group that still holds others", async () => {
        await assert.rejects(store.resources.deleteManagementGroup(T, "Platform", day(7)), /still holds 1 group/);
      });
    });

    describe("subscriptions: offer type and placement are effective-dated", () => {
      it("moving EA → AzurePlan closes the EA row", async () => {
        await store.resources.putSubscription({ tenantId: T, id: SUB.toUpperCase(), displayName: "prod", offerType: "EA", accountOwnerId: "owner-1", managementGroupId: "LZ" }, { at: day(1), since: null });
        assert.equal(await store.resources.putSubscription({ tenantId: T, id: SUB, displayName: "prod", offerType: "AzurePlan", managementGroupId: "lz" }, { at: day(10) }), "updated");
        const history = await store.resources.subscriptionHistory(SUB);
        assert.deepEqual(history.map((s) => [s.offerType, s.validFrom, s.validTo, s.managementGroupId]), [["EA", null, day(10), "LZ"], ["AzurePlan", day(10), null, "LZ"]]);
        assert.equal((await store.resources.getSubscription(SUB, day(5)))?.accountOwnerId, "owner-1");
        await assert.rejects(store.resources.putSubscription({ tenantId: T, id: SUB, displayName: "prod", offerType: "Free" as never }, { at: day(11) }), /not one of EA, AzurePlan, CSP, PayAsYouGo/);
      });
    });

    describe("resource groups and resources", () => {
      it("puts, lists and deletes; deleting a group closes its resources", async () => {
        await store.resources.putResourceGroup({ tenantId: T, subscriptionId: SUB, name: "RG-Web", location: "westeurope", tags: { b: "2", a: "1" } }, { at: day(1) });
        assert.equal(await store.resources.putResourceGroup({ tenantId: T, subscriptionId: SUB, name: "rg-web", location: "westeurope", tags: { a: "1", b: "2" } }, { at: day(2) }), "unchanged");
        const id = `/subscriptions/${SUB}/resourceGroups/RG-Web/providers/Microsoft.Web/sites/app1`;
        await store.resources.putResource({ tenantId: T, id, subscriptionId: SUB, resourceGroup: "RG-Web", type: "Microsoft.Web/sites", name: "app1", location: "westeurope" }, { at: day(1) });
        assert.equal((await store.resources.getResource(T, id.toLowerCase()))?.resourceGroup, "RG-Web");
        assert.equal((await store.resources.listResourceGroups(SUB)).map((g) => g.name).join(), "RG-Web");
        assert.equal(await store.resources.deleteResourceGroup(SUB, "rg-web", day(3)), true);
        assert.equal(await store.resources.getResource(T, id), undefined);
        assert.equal((await store.resources.getResource(T, id, day(2)))?.name, "app1");
      });
    });

    describe("role assignments: create opens, delete closes, list follows ARM's list-for-scope", () => {
      it("a repeated create is unchanged; a twin under another id or a changed one is refused", async () => {
        const ra = { tenantId: T, id: "aaaaaaaa-0000-0000-0000-000000000001", scope: `/subscriptions/${SUB}`, principalId: "alice", principalType: "User", roleDefinitionId: OWNER };
        assert.equal(await store.access.createRoleAssignment(ra, { at: day(2) }), "created");
        assert.equal(await store.access.createRoleAssignment({ ...ra, scope: `/SUBSCRIPTIONS/${SUB}` }, { at: day(3) }), "unchanged");
        await assert.rejects(store.access.createRoleAssignment({ ...ra, roleDefinitionId: READER }, { at: day(3) }), (e: Error) => e instanceof AccessConflictError && e.code === "RoleAssignmentUpdateNotPermitted");
        await assert.rejects(store.access.createRoleAssignment({ ...ra, id: "aaaaaaaa-0000-0000-0000-000000000009" }, { at: day(3) }), (e: Error) => e instanceof AccessConflictError && e.code === "RoleAssignmentExists");
      });
      it("atScope lists the scope and its ancestors (through management groups); otherwise also below", async () => {
        await store.access.createRoleAssignment({ tenantId: T, id: "aaaaaaaa-0000-0000-0000-000000000002", scope: "/providers/Microsoft.Management/managementGroups/Platform", principalId: "bob", principalType: "User", roleDefinitionId: READER }, { at: day(2) });
        await store.access.createRoleAssignment({ tenantId: T, id: "aaaaaaaa-0000-0000-0000-000000000003", scope: `/subscriptions/${SUB}/resourceGroups/rg-data`, principalId: "bob", principalType: "User", roleDefinitionId: READER }, { at: day(2) });
        const at = await store.access.listRoleAssignmentsForScope(T, `/subscriptions/${SUB}`, { atScope: true });
        assert.deepEqual(at.map((a) => a.id.slice(-1)).sort(), ["1", "2"]);
        const all = await store.access.listRoleAssignmentsForScope(T, `/subscriptions/${SUB}`);
        assert.deepEqual(all.map((a) => a.id.slice(-1)).sort(), ["1", "2", "3"]);
        const bobs = await store.access.listRoleAssignmentsForScope(T, `/subscriptions/${SUB}`, { principalId: "BOB" });
        assert.deepEqual(bobs.map((a) => a.id.slice(-1)).sort(), ["2", "3"]);
      });
      it("delete closes the interval; the history keeps it", async () => {
        const closed = await store.access.deleteRoleAssignment(T, "AAAAAAAA-0000-0000-0000-000000000003", day(9));
        assert.equal(closed?.validTo, day(9));
        assert.equal(await store.access.getRoleAssignment(T, "aaaaaaaa-0000-0000-0000-000000000003"), undefined);
        assert.equal((await store.access.getRoleAssignment(T, "aaaaaaaa-0000-0000-0000-000000000003", day(5)))?.principalId, "bob");
        assert.equal(await store.access.deleteRoleAssignment(T, "aaaaaaaa-0000-0000-0000-000000000003", day(10)), undefined);
      });
    });

    describe("role definitions: custom roles per tenant; built-ins are not overwritten", () => {
      it("stores a custom role and finds it by name in its tenant", async () => {
        await store.access.putRoleDefinition({ tenantId: T, id: "CCCCCCCC-0000-0000-0000-000000000001", name: "Deployer", assignableScopes: [`/subscriptions/${SUB}`] }, { at: day(1) });
        const catalog = await store.access.roleCatalog(T);
        assert.equal(catalog.find("deployer", T)?.type, "CustomRole");
        assert.equal(catalog.find("Owner")?.id, OWNER);
        await assert.rejects(store.access.putRoleDefinition({ tenantId: T, id: OWNER, name: "Mine" }, { at: day(1) }), /built-in "Owner"/);
      });
    });

    describe("Lighthouse: definitions, assignments and activations", () => {
      it("stores delegations and refuses assignments at other scopes or to unknown definitions", async () => {
        const def = {
          tenantId: T, id: "dddddddd-0000-0000-0000-000000000001", scope: `/subscriptions/${SUB}`, name: "Contoso MSP", description: null,
          managedByTenantId: P, managedByTenantName: "Contoso", plan: null,
          authorizations: [{ principalId: "msp-sp", roleDefinitionId: OWNER, kind: "permanent" as const }, { principalId: "msp-eng", roleDefinitionId: OWNER, kind: "eligible" as const, maximumActivationDuration: "PT8H" }],
        };
        assert.equal(await store.access.putRegistrationDefinition(def, { at: day(1) }), "created");
        assert.equal(await store.access.putRegistrationDefinition(def, { at: day(2) }), "unchanged");
        assert.equal(await store.access.createRegistrationAssignment({ tenantId: T, id: "eeeeeeee-0000-0000-0000-000000000001", scope: `/subscriptions/${SUB}`, registrationDefinitionId: def.id }, { at: day(1) }), "created");
        await assert.rejects(store.access.createRegistrationAssignment({ tenantId: T, id: "eeeeeeee-0000-0000-0000-000000000002", scope: "/", registrationDefinitionId: def.id }, { at: day(1) }), /must be a subscription or a resource group/);
        await assert.rejects(store.access.createRegistrationAssignment({ tenantId: T, id: "eeeeeeee-0000-0000-0000-000000000003", scope: `/subscriptions/${SUB}`, registrationDefinitionId: "nope" }, { at: day(1) }), /does not exist/);
        await assert.rejects(store.access.deleteRegistrationDefinition(T, def.id, day(3)), /still assigned/);
        assert.equal((await store.access.listRegistrationDefinitions({ managedByTenantId: P.toUpperCase() })).length, 1);
        assert.equal(await store.access.addActivation({ tenantId: T, registrationAssignmentId: "eeeeeeee-0000-0000-0000-000000000001", principalId: "msp-eng", roleDefinitionId: OWNER, from: day(4), to: day(4) + 3600_000 }), "created");
        assert.equal(await store.access.addActivation({ tenantId: T, registrationAssignmentId: "eeeeeeee-0000-0000-0000-000000000001", principalId: "msp-eng", roleDefinitionId: OWNER, from: day(4), to: day(4) + 3600_000 }), "unchanged");
      });
    });

    describe("loadAccessSnapshot feeds effectiveAccess", () => {
      it("reads principals, memberships and grants so that group, MG and Lighthouse paths resolve", async () => {
        await store.directory.putTenant({ id: P, displayName: "Contoso", domain: "contoso.example", createdAt: 1 });
        await store.directory.putUser({ tenantId: P, id: "msp-eng", userPrincipalName: "eng@contoso.example", displayName: "Eng", kind: "member", passwordHash: null, homeTenantId: null, homeObjectId: null, createdAt: 1, deletedAt: null });
        await store.directory.putUser({ tenantId: T, id: "carol", userPrincipalName: "carol_contoso.example#EXT#@fabrikam.example", displayName: "Carol", kind: "guest", passwordHash: null, homeTenantId: P, homeObjectId: "carol-home", createdAt: 1, deletedAt: null });
        await store.directory.putGroup({ tenantId: T, id: "ops", displayName: "Ops", createdAt: 1, deletedAt: null });
        await store.directory.addMember(T, "ops", "carol", day(3));
        await store.access.createRoleAssignment({ tenantId: T, id: "aaaaaaaa-0000-0000-0000-000000000004", scope: "/providers/Microsoft.Management/managementGroups/LZ", principalId: "ops", principalType: "Group", roleDefinitionId: OWNER }, { at: day(1) });
        const snapshot = await store.access.loadAccessSnapshot({ tenantIds: [T, P], range: { from: day(1), to: day(31) } });
        const access = effectiveAccess(snapshot, { kind: "partner", homeTenantIds: [P] }, { from: day(1), to: day(31) });
        const summary = access.entries.map((e) => `${e.principal.objectId} ${e.path.kind} ${e.scope} ${e.intervals.map((i) => `${new Date(i.from!).getUTCDate()}-${new Date(i.to!).getUTCDate()}`).join(",")}`);
        assert.deepEqual(summary, [
          "carol group /providers/Microsoft.Management/managementGroups/LZ 3-31",
          `carol group /subscriptions/${SUB} 3-31`,
          `msp-eng delegation /subscriptions/${SUB} 4-4`,
        ]);
      });
    });
  });
}
