/**
 * Microsoft.Authorization and Microsoft.Resources with raw HTTPS requests: who may write what
 * (the action model), inheritance, tenants, and every error path with its ARM code.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { storeBackends } from "../../support/stores.ts";
import { READER_ROLE_ID } from "../../../src/domain/roles.ts";
import { arm, ERIN, GROUP, mintToken, MG, O, RG, S, seedArmWorld, T } from "./fixture.ts";

const V = "api-version=2022-04-01";
const RV = "api-version=2021-04-01";
const ra = (scope: string, id: string) => `${scope}/providers/Microsoft.Authorization/roleAssignments/${id}?${V}`;
const readerBody = (principalId: string, extra: Record<string, unknown> = {}) => JSON.stringify({ properties: { roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${READER_ROLE_ID}`, principalId, ...extra } });
const json = { "content-type": "application/json" };
const sub = `/subscriptions/${S.ea}`;
const rg = `${sub}/resourceGroups/${RG}`;

for (const backend of storeBackends()) {
  describe(`Authorization and Resources rules (${backend.name})`, () => {
    let server: TestServer;
    const tok: Record<string, string> = {};
    let n = 0;
    const nextId = () => `d0000000-0000-4000-8000-${String(++n).padStart(12, "0")}`;
    before(async () => {
      server = await startTestServer({ backend });
      await seedArmWorld(server.openpal.context.store);
      tok.alice = await mintToken(server, { tid: T.fabrikam, oid: O.alice });
      tok.erin = await mintToken(server, { tid: T.fabrikam, oid: ERIN });
      tok.guest = await mintToken(server, { tid: T.fabrikam, oid: O.bobGuest });
      tok.carol = await mintToken(server, { tid: T.fabrikam, oid: O.carol });
      tok.sp = await mintToken(server, { tid: T.fabrikam, oid: O.spFabrikam, idtyp: "app" });
      tok.bob = await mintToken(server, { tid: T.contoso, oid: O.bob });
      tok.foreign = await mintToken(server, { tid: T.fabrikam, oid: O.bob, foreign: true, home_tid: T.contoso });
    });
    after(async () => server.close());

    describe("writing role assignments needs Microsoft.Authorization/roleAssignments/write at the scope (Owner, User Access Administrator)", () => {
      it("Contributor (inherited from mg-prod) is refused with AuthorizationFailed naming client, action, scope and the roles that allow it", async () => {
        const r = await arm(server, "PUT", ra(sub, nextId()), tok.alice, { body: readerBody(ERIN), headers: json });
        assert.equal(r.status, 403);
        const e = r.json().error as { code: string; message: string };
        assert.equal(e.code, "AuthorizationFailed");
        assert.match(e.message, new RegExp(`object id '${O.alice}'.*action 'Microsoft.Authorization/roleAssignments/write' over scope '${sub}'`));
        assert.match(e.message, /Owner or User Access Administrator/);
      });
      it("User Access Administrator on the resource group may assign there (201) but not on the subscription above it", async () => {
        assert.equal((await arm(server, "PUT", ra(rg, nextId()), tok.erin, { body: readerBody(O.alice), headers: json })).status, 201);
        assert.equal((await arm(server, "PUT", ra(sub, nextId()), tok.erin, { body: readerBody(O.alice), headers: json })).status, 403);
      });
      it("Owner of the subscription may assign on a resource inside it (inherited), and a repeated PUT is 200 unchanged", async () => {
        const scope = `${rg}/providers/Microsoft.Storage/storageAccounts/st1`;
        const id = nextId();
        const first = await arm(server, "PUT", ra(scope, id), tok.sp, { body: readerBody(ERIN), headers: json });
        assert.equal(first.status, 201);
        assert.equal((first.json().properties as { scope: string }).scope, scope);
        const again = await arm(server, "PUT", ra(scope, id), tok.sp, { body: readerBody(ERIN), headers: json });
        assert.equal(again.status, 200);
      });
      it("a disabled Owner holds nothing; a Reader may read but not write", async () => {
        assert.equal((await arm(server, "PUT", ra(sub, nextId()), tok.carol, { body: readerBody(ERIN), headers: json })).status, 403);
        assert.equal((await arm(server, "GET", `${sub}/providers/Microsoft.Authorization/roleAssignments?${V}`, tok.guest)).status, 200);
        assert.equal((await arm(server, "PUT", ra(sub, nextId()), tok.guest, { body: readerBody(ERIN), headers: json })).status, 403);
      });
      it("delegated-admin (foreign) callers hold no roles here; the message says why", async () => {
        const r = await arm(server, "GET", `${sub}/providers/Microsoft.Authorization/roleAssignments?${V}`, tok.foreign);
        assert.equal(r.status, 403);
        assert.match(r.text, /Delegated-admin \(GDAP\)/);
      });
      it("DELETE of an assignment that is not there is 204; of one that is, 200 with its body and the interval closed", async () => {
        assert.equal((await arm(server, "DELETE", ra(sub, nextId()), tok.sp)).status, 204);
        const id = nextId();
        await arm(server, "PUT", ra(sub, id), tok.sp, { body: readerBody(ERIN), headers: json });
        const del = await arm(server, "DELETE", ra(sub, id), tok.sp);
        assert.equal(del.status, 200);
        assert.equal(del.json().name, id);
        const history = await server.openpal.context.store.access.roleAssignmentHistory(T.fabrikam);
        assert.notEqual(history.find((a) => a.id === id)?.validTo, null);
      });
    });

    describe("bad requests get ARM's codes, never a 500", () => {
      const cases: [string, () => Promise<{ status: number; text: string }>, number, string][] = [];
      it("each error path", async () => {
        cases.push(
          ["name not a GUID", () => arm(server, "PUT", ra(sub, "not-a-guid"), tok.sp, { body: readerBody(ERIN), headers: json }), 400, "InvalidRoleAssignmentId"],
          ["malformed JSON", () => arm(server, "PUT", ra(sub, nextId()), tok.sp, { body: "{oops", headers: json }), 400, "InvalidRequestContent"],
          ["missing principalId", () => arm(server, "PUT", ra(sub, nextId()), tok.sp, { body: JSON.stringify({ properties: { roleDefinitionId: READER_ROLE_ID } }), headers: json }), 400, "InvalidRequestContent"],
          ["unknown role", () => arm(server, "PUT", ra(sub, nextId()), tok.sp, { body: JSON.stringify({ properties: { roleDefinitionId: "nope", principalId: ERIN } }), headers: json }), 400, "RoleDefinitionDoesNotExist"],
          ["unknown principal", () => arm(server, "PUT", ra(sub, nextId()), tok.sp, { body: readerBody("99999999-0000-4000-8000-000000000000"), headers: json }), 400, "PrincipalNotFound"],
          ["wrong principalType", () => arm(server, "PUT", ra(sub, nextId()), tok.sp, { body: readerBody(ERIN, { principalType: "Group" }), headers: json }), 400, "UnmatchedPrincipalType"],
          ["same id, other principal", () => arm(server, "PUT", ra(sub, "a0000000-0000-4000-8000-000000000004"), tok.sp, { body: readerBody(GROUP), headers: json }), 409, "RoleAssignmentUpdateNotPermitted"],
          ["unsupported $filter", () => arm(server, "GET", `${sub}/providers/Microsoft.Authorization/roleAssignments?${V}&$filter=${encodeURIComponent("roleId eq 'x'")}`, tok.sp), 400, "InvalidFilter"],
          ["unknown subscription", () => arm(server, "GET", `/subscriptions/99999999-0000-4000-8000-000000000000/providers/Microsoft.Authorization/roleAssignments?${V}`, tok.sp), 404, "SubscriptionNotFound"],
          ["unknown resource group", () => arm(server, "GET", `${sub}/resourceGroups/nope/providers/Microsoft.Authorization/roleAssignments?${V}`, tok.sp), 404, "ResourceGroupNotFound"],
          ["unknown management group", () => arm(server, "GET", `/providers/Microsoft.Management/managementGroups/nope/providers/Microsoft.Authorization/roleAssignments?${V}`, tok.sp), 404, "ManagementGroupNotFound"],
          ["another tenant's subscription", () => arm(server, "GET", `/subscriptions/${S.contoso}/providers/Microsoft.Authorization/roleAssignments?${V}`, tok.sp), 401, "InvalidAuthenticationTokenTenant"],
          ["not found", () => arm(server, "GET", ra(sub, nextId()), tok.sp), 404, "RoleAssignmentNotFound"],
          ["role definition not found", () => arm(server, "GET", `${sub}/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-4000-8000-000000000000?${V}`, tok.sp), 404, "RoleDefinitionNotFound"],
          ["a scope that is not one", () => arm(server, "GET", `/subscriptions/${S.ea}/widgets/x/providers/Microsoft.Authorization/roleAssignments?${V}`, tok.sp), 400, "InvalidRequestUri"],
          ["type not served at this scope", () => arm(server, "GET", `${sub}/providers/Microsoft.ManagementPartner/partners?api-version=2018-02-01`, tok.sp), 404, "InvalidResourceType"],
          ["api-version", () => arm(server, "GET", `${sub}/providers/Microsoft.Authorization/roleAssignments?api-version=2015-07-01`, tok.sp), 400, "NoRegisteredProviderFound"],
          ["RG without location", () => arm(server, "PUT", `${sub}/resourcegroups/rg-x?${RV}`, tok.sp, { body: "{}", headers: json }), 400, "LocationRequired"],
          ["RG moved to another location", () => arm(server, "PUT", `${sub}/resourcegroups/${RG}?${RV}`, tok.sp, { body: JSON.stringify({ location: "eastus" }), headers: json }), 409, "InvalidResourceGroupLocation"],
          ["RG bad name", () => arm(server, "PUT", `${sub}/resourcegroups/bad.?${RV}`, tok.sp, { body: JSON.stringify({ location: "eastus" }), headers: json }), 400, "InvalidRequestUri"],
          ["RG delete of nothing", () => arm(server, "DELETE", `${sub}/resourcegroups/nope?${RV}`, tok.sp), 404, "ResourceGroupNotFound"],
          ["RG write by a Reader", () => arm(server, "PUT", `${sub}/resourcegroups/rg-r?${RV}`, tok.guest, { body: JSON.stringify({ location: "eastus" }), headers: json }), 403, "AuthorizationFailed"],
          ["subscription without any role", () => arm(server, "GET", `/subscriptions/${S.payg}?${RV}`, tok.guest), 404, "SubscriptionNotFound"],
        );
        for (const [label, send, status, code] of cases) {
          const r = await send();
          assert.equal(r.status, status, `${label}: ${r.text}`);
          assert.equal((JSON.parse(r.text) as { error: { code: string } }).error.code, code, label);
        }
      });
    });

    describe("Contributor may write resource groups (inherited from the management group); the delete closes assignments inside", () => {
      it("create, then delete, closes Erin's UAA on the group", async () => {
        assert.equal((await arm(server, "PUT", `${sub}/resourcegroups/rg-alice?${RV}`, tok.alice, { body: JSON.stringify({ location: "westeurope" }), headers: json })).status, 201);
        const del = await arm(server, "DELETE", `${sub}/resourceGroups/${RG}?${RV}`, tok.sp);
        assert.equal(del.status, 200);
        const erin = await server.openpal.context.store.access.getRoleAssignment(T.fabrikam, "a0000000-0000-4000-8000-000000000006");
        assert.equal(erin, undefined);
      });
    });

    describe("subscriptions are listed where the caller holds a role, at, above or below them; the list and get shapes", () => {
      it("Alice sees S.ea through mg-prod; Bob sees Contoso's only; quotaId follows the offer", async () => {
        const list = (await arm(server, "GET", `/subscriptions?api-version=2022-12-01`, tok.alice)).json() as { value: { subscriptionId: string; tenantId: string; subscriptionPolicies: { quotaId: string } }[] };
        assert.deepEqual(list.value.map((s) => s.subscriptionId), [S.ea]);
        assert.equal(list.value[0]?.subscriptionPolicies.quotaId, "EnterpriseAgreement_2014-09-01");
        const bob = (await arm(server, "GET", `/SUBSCRIPTIONS/?api-version=2020-01-01`, tok.bob)).json() as { value: { subscriptionId: string }[] };
        assert.deepEqual(bob.value.map((s) => s.subscriptionId), [S.contoso]);
        const one = await arm(server, "GET", `/subscriptions/${S.ea}?api-version=2020-01-01`, tok.alice);
        assert.equal(one.status, 200);
        assert.equal((one.json() as { displayName: string }).displayName, "Fabrikam EA");
      });
      it("management group scope: listing at mg-prod shows the Contributor assignment there", async () => {
        const r = await arm(server, "GET", `/providers/Microsoft.Management/managementGroups/${MG}/providers/Microsoft.Authorization/roleAssignments?${V}&$filter=atScope()`, tok.alice);
        assert.equal(r.status, 200);
        assert.deepEqual((r.json() as { value: { name: string }[] }).value.map((a) => a.name), ["a0000000-0000-4000-8000-000000000003"]);
      });
    });
  });
}
