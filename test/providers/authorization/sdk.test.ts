/**
 * Conformance with the real clients: @azure/arm-authorization 9 and @azure/arm-resources 7 over
 * HTTPS, authenticated by @azure/identity's ClientSecretCredential against this server (authority
 * host = the server, instance discovery off), on every store backend. The service principal is
 * Owner of S.ea, so it may write role assignments and resource groups there.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { ClientSecretCredential } from "@azure/identity";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { ResourceManagementClient } from "@azure/arm-resources";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { storeBackends } from "../../support/stores.ts";
import { hashClientSecret, newClientSecret } from "../../../src/identity/index.ts";
import { READER_ROLE_ID } from "../../../src/domain/roles.ts";
import { APP_ID, O, RG, S, seedArmWorld, T } from "./fixture.ts";

const rejectsWith = (status: number, code: string) => (e: { statusCode?: number; code?: string }) => e.statusCode === status && e.code === code;

for (const backend of storeBackends()) {
  describe(`the real Azure SDKs drive role assignments and resource groups (${backend.name})`, () => {
    let server: TestServer;
    let authz: AuthorizationManagementClient;
    let resources: ResourceManagementClient;

    before(async () => {
      server = await startTestServer({ backend });
      const store = server.openpal.context.store;
      await seedArmWorld(store);
      const secret = newClientSecret();
      await store.directory.addSecret({
        appId: APP_ID, keyId: "eeeeeeee-0000-4000-8000-000000000002", secretHash: hashClientSecret(secret), hint: secret.slice(0, 3),
        displayName: "sdk test", createdAt: 0, expiresAt: null,
      });
      const credential = new ClientSecretCredential(T.fabrikam, APP_ID, secret, { authorityHost: server.url, disableInstanceDiscovery: true });
      const options = { $host: server.url, endpoint: server.url, credentialScopes: ["https://management.azure.com/.default"] };
      authz = new AuthorizationManagementClient(credential, S.ea, options);
      resources = new ResourceManagementClient(credential, S.ea, options);
    });
    after(async () => server.close());

    it("roleAssignments: create at a resource group, get, listForScope with principalId eq and atScope(), getById, delete", async () => {
      const scope = `/subscriptions/${S.ea}/resourceGroups/${RG}`;
      const name = "c0000000-0000-4000-8000-000000000001";
      const created = await authz.roleAssignments.create(scope, name, {
        roleDefinitionId: `/subscriptions/${S.ea}/providers/Microsoft.Authorization/roleDefinitions/${READER_ROLE_ID}`, principalId: O.alice, principalType: "User",
      });
      assert.equal(created.name, name);
      assert.equal(created.principalId, O.alice);
      assert.equal(created.principalType, "User");
      assert.equal(created.scope, scope);
      assert.equal(created.roleDefinitionId, `/subscriptions/${S.ea}/providers/Microsoft.Authorization/roleDefinitions/${READER_ROLE_ID}`);
      assert.equal(created.createdBy, O.spFabrikam);
      assert.ok(created.createdOn instanceof Date);

      const got = await authz.roleAssignments.get(scope, name);
      assert.equal(got.id, `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`);
      const byId = await authz.roleAssignments.getById(got.id as string);
      assert.equal(byId.name, name);

      const mine: string[] = [];
      for await (const a of authz.roleAssignments.listForScope(scope, { filter: `principalId eq '${O.alice}'` })) mine.push(a.name as string);
      // Alice's Contributor on mg-prod is inherited (above), the new Reader is at the scope.
      assert.deepEqual(mine.sort(), ["a0000000-0000-4000-8000-000000000003", name].sort());
      const atScope: string[] = [];
      for await (const a of authz.roleAssignments.listForScope(`/subscriptions/${S.ea}`, { filter: "atScope()" })) atScope.push(a.name as string);
      assert.ok(!atScope.includes(name), "atScope() leaves out assignments below the scope");
      assert.ok(atScope.includes("a0000000-0000-4000-8000-000000000001"));
      const inRg: string[] = [];
      for await (const a of authz.roleAssignments.listForResourceGroup(RG)) inRg.push(a.name as string);
      assert.ok(inRg.includes(name));

      const deleted = await authz.roleAssignments.delete(scope, name);
      assert.equal(deleted.name, name);
      await assert.rejects(authz.roleAssignments.get(scope, name), rejectsWith(404, "RoleAssignmentNotFound"));
    });

    it("roleAssignments errors reach the SDK with their status and code", async () => {
      const scope = `/subscriptions/${S.ea}`;
      await assert.rejects(authz.roleAssignments.create(scope, "c0000000-0000-4000-8000-000000000002", { roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${READER_ROLE_ID}`, principalId: "99999999-0000-4000-8000-000000000000" }),
        rejectsWith(400, "PrincipalNotFound"));
      await assert.rejects(authz.roleAssignments.create(scope, "c0000000-0000-4000-8000-000000000003", { roleDefinitionId: "/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-4000-8000-000000000000", principalId: O.alice }),
        rejectsWith(400, "RoleDefinitionDoesNotExist"));
      // Bob's guest object already holds Reader on S.ea (a0…04): a second id for the same grant is a conflict.
      await assert.rejects(authz.roleAssignments.create(scope, "c0000000-0000-4000-8000-000000000004", { roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${READER_ROLE_ID}`, principalId: O.bobGuest }),
        rejectsWith(409, "RoleAssignmentExists"));
    });

    it("roleDefinitions: get by id and list with roleName eq", async () => {
      const reader = await authz.roleDefinitions.get(`/subscriptions/${S.ea}`, READER_ROLE_ID);
      assert.equal(reader.roleName, "Reader");
      assert.equal(reader.roleType, "BuiltInRole");
      assert.deepEqual(reader.permissions?.[0]?.actions, ["*/read"]);
      const byId = await authz.roleDefinitions.getById(`/providers/Microsoft.Authorization/roleDefinitions/${READER_ROLE_ID}`);
      assert.equal(byId.roleName, "Reader");
      const found: string[] = [];
      for await (const d of authz.roleDefinitions.list(`/subscriptions/${S.ea}`, { filter: "roleName eq 'User Access Administrator'" })) found.push(d.name as string);
      assert.deepEqual(found, ["18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"]);
    });

    it("resourceGroups: createOrUpdate, get, list, delete answered synchronously, then 404", async () => {
      const created = await resources.resourceGroups.createOrUpdate("rg-sdk", { location: "northeurope", tags: { env: "test" } });
      assert.equal(created.name, "rg-sdk");
      assert.equal(created.location, "northeurope");
      assert.deepEqual(created.tags, { env: "test" });
      assert.equal(created.properties?.provisioningState, "Succeeded");
      const got = await resources.resourceGroups.get("rg-sdk");
      assert.equal(got.id, `/subscriptions/${S.ea}/resourceGroups/rg-sdk`);
      const names: string[] = [];
      for await (const g of resources.resourceGroups.list()) names.push(g.name as string);
      assert.deepEqual(names.sort(), [RG, "rg-sdk"]);
      await resources.resourceGroups.beginDeleteAndWait("rg-sdk");
      await assert.rejects(resources.resourceGroups.get("rg-sdk"), rejectsWith(404, "ResourceGroupNotFound"));
    });

    it("every write is in the audit log with the caller and request id", async () => {
      const entries = (await server.openpal.context.store.audit.list({ tenantId: T.fabrikam })).filter((e) => /^(roleAssignment|resourceGroup)\./.test(e.action));
      assert.deepEqual(entries.map((e) => e.action), ["roleAssignment.create", "roleAssignment.delete", "resourceGroup.create", "resourceGroup.delete"]);
      for (const e of entries) {
        assert.equal(e.actorObjectId, O.spFabrikam);
        assert.match(e.requestId ?? "", /^[0-9a-f-]{36}$/);
      }
    });
  });
}
