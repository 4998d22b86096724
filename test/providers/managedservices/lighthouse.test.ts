/**
 * Microsoft.ManagedServices (Azure Lighthouse) with raw HTTPS requests on every store backend:
 * registration definitions and assignments as the published examples shape them, the onboarding
 * rules (Owner at the delegated scope, roles Lighthouse delegates, tenants), every error path with
 * its ARM code, and the end-to-end effect of a delegation on the managing tenant's access.
 *
 * World (test/providers/authorization/fixture.ts): Fabrikam is the customer (the automation SP is
 * Owner of S.ea and S.payg; Alice is Contributor on mg-prod above S.ea; Bob's guest is Reader on
 * S.ea; Erin is User Access Administrator on rg-app); Contoso is the managing tenant (Bob).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { storeBackends } from "../../support/stores.ts";
import { CONTRIBUTOR_ROLE_ID, OWNER_ROLE_ID, READER_ROLE_ID, USER_ACCESS_ADMINISTRATOR_ROLE_ID } from "../../../src/domain/roles.ts";
import { LIGHTHOUSE_DELETE_ROLE_ID } from "../../../src/domain/permissions.ts";
import { arm, ERIN, mintToken, O, RG, S, seedArmWorld, T } from "../authorization/fixture.ts";

const V = "api-version=2022-10-01";
const NS = "Microsoft.ManagedServices";
const json = { "content-type": "application/json" };
const sub = (s: string) => `/subscriptions/${s}`;
const rg = `${sub(S.ea)}/resourceGroups/${RG}`;
const defPath = (s: string, id: string, query = V) => `${sub(s)}/providers/${NS}/registrationDefinitions/${id}?${query}`;
const defId = (s: string, id: string) => `${sub(s)}/providers/${NS}/registrationDefinitions/${id}`;
const asgPath = (scope: string, id: string, query = V) => `${scope}/providers/${NS}/registrationAssignments/${id}?${query}`;
const APPLICATION_INSIGHTS_CONTRIBUTOR = "ae349356-3a1b-4a5e-921d-050484c6347e";

interface Definition {
  properties: Record<string, unknown> & { authorizations: Record<string, unknown>[]; eligibleAuthorizations?: Record<string, unknown>[] };
  plan: unknown; id: string; type: string; name: string;
}

/** A definition body; `properties` overrides or removes (undefined) keys. */
function definition(properties: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): { body: string; headers: Record<string, string> } {
  const base: Record<string, unknown> = {
    registrationDefinitionName: "Contoso managed services",
    description: "Monitoring and support",
    managedByTenantId: T.contoso,
    authorizations: [{ principalId: O.bob, principalIdDisplayName: "Bob", roleDefinitionId: READER_ROLE_ID }],
  };
  return { body: JSON.stringify({ properties: { ...base, ...properties }, ...extra }), headers: json };
}
const assignment = (definitionId: string) => ({ body: JSON.stringify({ properties: { registrationDefinitionId: definitionId } }), headers: json });
const errorOf = (r: { json: () => Record<string, unknown> }) => r.json().error as { code: string; message: string };

for (const backend of storeBackends()) {
  describe(`Microsoft.ManagedServices (${backend.name})`, () => {
    let server: TestServer;
    const tok: Record<string, string> = {};
    let n = 0;
    const nextId = () => `f0000000-0000-4000-8000-${String(++n).padStart(12, "0")}`;
    before(async () => {
      server = await startTestServer({ backend });
      await seedArmWorld(server.openpal.context.store);
      tok.owner = await mintToken(server, { tid: T.fabrikam, oid: O.spFabrikam, idtyp: "app" }); // Owner of S.ea and S.payg
      tok.alice = await mintToken(server, { tid: T.fabrikam, oid: O.alice }); // Contributor (inherited) on S.ea
      tok.guest = await mintToken(server, { tid: T.fabrikam, oid: O.bobGuest }); // Reader on S.ea
      tok.erin = await mintToken(server, { tid: T.fabrikam, oid: ERIN }); // User Access Administrator on rg-app
      tok.bob = await mintToken(server, { tid: T.contoso, oid: O.bob }); // the managing tenant's user
    });
    after(async () => server.close());

    describe("registration definitions (subscription scope)", () => {
      it("PUT creates (201) in the example's shape, a repeated PUT is 200, a change is 200 updated; each write is audited once", async () => {
        const id = nextId();
        const eligible = [{ principalId: O.bob, principalIdDisplayName: "Bob JIT", roleDefinitionId: APPLICATION_INSIGHTS_CONTRIBUTOR, justInTimeAccessPolicy: { multiFactorAuthProvider: "Azure", maximumActivationDuration: "PT4H" } }];
        const uaa = { principalId: O.bob, principalIdDisplayName: "UAA", roleDefinitionId: USER_ACCESS_ADMINISTRATOR_ROLE_ID, delegatedRoleDefinitionIds: [CONTRIBUTOR_ROLE_ID] };
        const body = { authorizations: [{ principalId: O.bob, principalIdDisplayName: "Bob", roleDefinitionId: READER_ROLE_ID }, uaa], eligibleAuthorizations: eligible };
        const created = await arm(server, "PUT", defPath(S.ea, id), tok.owner, definition(body));
        assert.equal(created.status, 201, created.text);
        const d = created.json() as unknown as Definition;
        assert.deepEqual(Object.keys(d), ["properties", "plan", "id", "type", "name"]);
        assert.deepEqual(d, {
          properties: {
            description: "Monitoring and support",
            registrationDefinitionName: "Contoso managed services",
            authorizations: [
              { principalId: O.bob, principalIdDisplayName: "Bob", roleDefinitionId: READER_ROLE_ID },
              { principalId: O.bob, principalIdDisplayName: "UAA", roleDefinitionId: USER_ACCESS_ADMINISTRATOR_ROLE_ID, delegatedRoleDefinitionIds: [CONTRIBUTOR_ROLE_ID] },
            ],
            eligibleAuthorizations: [{ justInTimeAccessPolicy: { multiFactorAuthProvider: "Azure", maximumActivationDuration: "PT4H" }, principalId: O.bob, principalIdDisplayName: "Bob JIT", roleDefinitionId: APPLICATION_INSIGHTS_CONTRIBUTOR }],
            provisioningState: "Succeeded",
            manageeTenantId: T.fabrikam,
            manageeTenantName: "Fabrikam",
            managedByTenantId: T.contoso,
            managedByTenantName: "Contoso",
          },
          plan: null,
          id: defId(S.ea, id),
          type: "Microsoft.ManagedServices/registrationDefinitions",
          name: id,
        });
        assert.equal((await arm(server, "PUT", defPath(S.ea, id), tok.owner, definition(body))).status, 200);
        const changed = await arm(server, "PUT", defPath(S.ea, id), tok.owner, definition({ ...body, description: "Support only" }));
        assert.equal(changed.status, 200);
        assert.equal((changed.json() as unknown as Definition).properties.description, "Support only");
        const got = await arm(server, "GET", defPath(S.ea, id), tok.owner);
        assert.equal(got.text, changed.text);
        const audit = (await server.openpal.context.store.audit.list({ tenantId: T.fabrikam })).filter((e) => e.target === defId(S.ea, id));
        assert.deepEqual(audit.map((e) => e.action), ["registrationDefinition.create", "registrationDefinition.update"]);
      });

      it("a marketplace plan is kept and answered; LIST filters by managedByTenantId eq", async () => {
        const id = nextId();
        const plan = { name: "gold", publisher: "contoso", product: "managed-ops", version: "1.0.0" };
        const put = await arm(server, "PUT", defPath(S.payg, id), tok.owner, definition({}, { plan }));
        assert.equal(put.status, 201, put.text);
        assert.deepEqual((put.json() as unknown as Definition).plan, plan);
        const list = async (filter?: string) => {
          const q = filter ? `${V}&$filter=${encodeURIComponent(filter)}` : V;
          const r = await arm(server, "GET", `${sub(S.payg)}/providers/${NS}/registrationDefinitions?${q}`, tok.owner);
          assert.equal(r.status, 200, r.text);
          return (r.json().value as Definition[]).map((d) => d.name);
        };
        assert.ok((await list()).includes(id));
        assert.ok((await list(`managedByTenantId eq '${T.contoso}'`)).includes(id));
        assert.deepEqual(await list(`managedByTenantId eq '${T.woodgrove}'`), []);
      });

      it("a Reader may read definitions but not write them", async () => {
        assert.equal((await arm(server, "GET", `${sub(S.ea)}/providers/${NS}/registrationDefinitions?${V}`, tok.guest)).status, 200);
        const r = await arm(server, "PUT", defPath(S.ea, nextId()), tok.guest, definition());
        assert.equal(r.status, 403);
        assert.match(errorOf(r).message, /action 'Microsoft\.ManagedServices\/registrationDefinitions\/write'/);
      });
    });

    describe("onboarding needs Owner at the delegated scope", () => {
      it("Contributor is refused with AuthorizationFailed naming Microsoft.Authorization/roleAssignments/write and the roles that allow it", async () => {
        const r = await arm(server, "PUT", defPath(S.ea, nextId()), tok.alice, definition());
        assert.equal(r.status, 403);
        assert.equal(errorOf(r).code, "AuthorizationFailed");
        assert.match(errorOf(r).message, new RegExp(`action 'Microsoft.Authorization/roleAssignments/write' over scope '${sub(S.ea)}'`));
        assert.match(errorOf(r).message, /Owner or User Access Administrator/);
      });
      it("User Access Administrator on a resource group cannot assign a delegation there (no registrationAssignments/write)", async () => {
        const def = nextId();
        assert.equal((await arm(server, "PUT", defPath(S.ea, def), tok.owner, definition())).status, 201);
        const r = await arm(server, "PUT", asgPath(rg, nextId()), tok.erin, assignment(defId(S.ea, def)));
        assert.equal(r.status, 403);
        assert.match(errorOf(r).message, /action 'Microsoft\.ManagedServices\/registrationAssignments\/write' over scope '.*resourceGroups\/rg-app'/);
      });
    });

    describe("registration assignments (subscription and resource group scope)", () => {
      it("PUT at a resource group (201), GET with and without $expandRegistrationDefinition, LIST at the subscription includes it, a re-pointed id is 409", async () => {
        const def = nextId();
        const other = nextId();
        const id = nextId();
        assert.equal((await arm(server, "PUT", defPath(S.ea, def), tok.owner, definition())).status, 201);
        assert.equal((await arm(server, "PUT", defPath(S.ea, other), tok.owner, definition({ registrationDefinitionName: "Other" }))).status, 201);
        const put = await arm(server, "PUT", asgPath(rg, id), tok.owner, assignment(defId(S.ea, def)));
        assert.equal(put.status, 201, put.text);
        const expected = {
          properties: { registrationDefinitionId: defId(S.ea, def), provisioningState: "Succeeded" },
          id: `${rg}/providers/${NS}/registrationAssignments/${id}`,
          type: "Microsoft.ManagedServices/registrationAssignments",
          name: id,
        };
        assert.deepEqual(put.json(), expected);
        assert.deepEqual((await arm(server, "GET", asgPath(rg, id), tok.owner)).json(), expected);
        const expanded = (await arm(server, "GET", asgPath(rg, id, `${V}&$expandRegistrationDefinition=true`), tok.owner)).json() as { properties: Record<string, unknown> };
        assert.deepEqual(Object.keys(expanded.properties), ["registrationDefinitionId", "provisioningState", "registrationDefinition"]);
        const embedded = expanded.properties.registrationDefinition as Definition;
        assert.equal(embedded.id, defId(S.ea, def));
        assert.equal(embedded.properties.managedByTenantId, T.contoso);
        assert.equal((await arm(server, "PUT", asgPath(rg, id), tok.owner, assignment(defId(S.ea, def)))).status, 200);
        const repointed = await arm(server, "PUT", asgPath(rg, id), tok.owner, assignment(defId(S.ea, other)));
        assert.equal(repointed.status, 409);
        assert.equal(errorOf(repointed).code, "RegistrationAssignmentUpdateNotPermitted");
        const list = await arm(server, "GET", `${sub(S.ea)}/providers/${NS}/registrationAssignments?${V}&$expandRegistrationDefinition=true`, tok.owner);
        const mine = (list.json().value as { name: string; properties: Record<string, unknown> }[]).find((a) => a.name === id);
        assert.ok(mine?.properties.registrationDefinition, list.text);
        const audit = (await server.openpal.context.store.audit.list({ tenantId: T.fabrikam })).filter((e) => e.action === "registrationAssignment.create" && e.target === expected.id);
        assert.equal(audit.length, 1);
      });

      it("DELETE of a definition in use is 409 RegistrationDefinitionInUse; after the assignment is deleted it is 200, then the definition is 404", async () => {
        const def = nextId();
        const id = nextId();
        assert.equal((await arm(server, "PUT", defPath(S.ea, def), tok.owner, definition())).status, 201);
        assert.equal((await arm(server, "PUT", asgPath(sub(S.ea), id), tok.owner, assignment(defId(S.ea, def)))).status, 201);
        const inUse = await arm(server, "DELETE", defPath(S.ea, def), tok.owner);
        assert.equal(inUse.status, 409);
        assert.equal(errorOf(inUse).code, "RegistrationDefinitionInUse");
        assert.match(errorOf(inUse).message, /delete its registration assignments first/);
        assert.equal((await arm(server, "DELETE", asgPath(sub(S.ea), id), tok.owner)).status, 200);
        assert.equal((await arm(server, "DELETE", asgPath(sub(S.ea), id), tok.owner)).status, 204);
        assert.equal((await arm(server, "DELETE", defPath(S.ea, def), tok.owner)).status, 200);
        assert.equal((await arm(server, "GET", defPath(S.ea, def), tok.owner)).status, 404);
        assert.equal((await arm(server, "DELETE", defPath(S.ea, def), tok.owner)).status, 204);
        const actions = (await server.openpal.context.store.audit.list({ tenantId: T.fabrikam })).filter((e) => e.target.endsWith(id) || e.target.endsWith(def)).map((e) => e.action);
        assert.deepEqual(actions, ["registrationDefinition.create", "registrationAssignment.create", "registrationAssignment.delete", "registrationDefinition.delete"]);
      });
    });

    describe("end to end: a delegation created through the API gives the managing tenant access, and deleting it takes it away", () => {
      it("Bob (Contoso) lists the customer's S.payg through GET /subscriptions only while the assignment holds; the closed interval stays in history", async () => {
        const listed = async () => {
          const r = await arm(server, "GET", "/subscriptions?api-version=2022-12-01", tok.bob);
          assert.equal(r.status, 200, r.text);
          return (r.json().value as { subscriptionId: string; managedByTenants: { tenantId: string }[] }[]).find((s) => s.subscriptionId === S.payg);
        };
        assert.equal(await listed(), undefined);
        assert.equal((await arm(server, "GET", `${sub(S.payg)}/providers/${NS}/registrationAssignments?${V}`, tok.bob)).status, 401);
        const def = nextId();
        const id = nextId();
        assert.equal((await arm(server, "PUT", defPath(S.payg, def), tok.owner, definition())).status, 201);
        assert.equal((await arm(server, "PUT", asgPath(sub(S.payg), id), tok.owner, assignment(defId(S.payg, def)))).status, 201);
        const seen = await listed();
        assert.ok(seen, "the delegated subscription is listed for the managing tenant's user");
        assert.deepEqual(seen.managedByTenants.map((t) => t.tenantId), [T.contoso]);
        // Reader through the delegation: Bob may read the delegation itself, but not end it.
        assert.equal((await arm(server, "GET", asgPath(sub(S.payg), id), tok.bob)).status, 200);
        assert.equal((await arm(server, "DELETE", asgPath(sub(S.payg), id), tok.bob)).status, 403);
        assert.equal((await arm(server, "DELETE", asgPath(sub(S.payg), id), tok.owner)).status, 200);
        assert.equal(await listed(), undefined);
        // Effective-dated: the delegation held from its creation until the deletion, not after.
        const store = server.openpal.context.store;
        const entries = (await store.audit.list({ tenantId: T.fabrikam })).filter((e) => e.target.endsWith(id));
        const [createdAt, deletedAt] = entries.map((e) => e.at);
        const heldAt = async (t: number) => (await store.access.listRegistrationAssignments({ tenantId: T.fabrikam, scope: sub(S.payg), at: t })).some((a) => a.id === id);
        assert.equal(await heldAt(createdAt as number), true);
        assert.equal(await heldAt(deletedAt as number), false);
      });

      it("a managing-tenant user holding the Managed Services Registration Assignment Delete Role may end the delegation itself", async () => {
        const def = nextId();
        const id = nextId();
        const authorizations = [{ principalId: O.bob, roleDefinitionId: READER_ROLE_ID }, { principalId: O.bob, roleDefinitionId: LIGHTHOUSE_DELETE_ROLE_ID }];
        assert.equal((await arm(server, "PUT", defPath(S.payg, def), tok.owner, definition({ authorizations }))).status, 201);
        assert.equal((await arm(server, "PUT", asgPath(sub(S.payg), id), tok.owner, assignment(defId(S.payg, def)))).status, 201);
        const del = await arm(server, "DELETE", asgPath(sub(S.payg), id), tok.bob);
        assert.equal(del.status, 200, del.text);
        const audit = (await server.openpal.context.store.audit.list({ tenantId: T.fabrikam })).find((e) => e.action === "registrationAssignment.delete" && e.target.endsWith(id));
        assert.equal(audit?.actorTenantId, T.contoso);
      });
    });

    describe("error paths", () => {
      it("every refusal has its ARM code and status, and none is a 500", async () => {
        const used = nextId();
        assert.equal((await arm(server, "PUT", defPath(S.ea, used), tok.owner, definition())).status, 201);
        const inPayg = nextId();
        assert.equal((await arm(server, "PUT", defPath(S.payg, inPayg), tok.owner, definition())).status, 201);
        const eligible = (policy: unknown, role = APPLICATION_INSIGHTS_CONTRIBUTOR) => definition({ eligibleAuthorizations: [{ principalId: O.bob, roleDefinitionId: role, ...(policy === undefined ? {} : { justInTimeAccessPolicy: policy }) }] });
        const auth = (a: Record<string, unknown>) => definition({ authorizations: [{ principalId: O.bob, roleDefinitionId: READER_ROLE_ID, ...a }] });
        const cases: [string, () => ReturnType<typeof arm>, number, string, RegExp?][] = [
          ["no token", () => arm(server, "GET", defPath(S.ea, used), undefined), 401, "AuthenticationFailed"],
          ["no api-version", () => arm(server, "GET", defPath(S.ea, used, ""), tok.owner), 400, "MissingApiVersionParameter"],
          ["unknown api-version", () => arm(server, "GET", defPath(S.ea, used, "api-version=2019-06-01"), tok.owner), 400, "NoRegisteredProviderFound", /2022-10-01/],
          ["definitions at a resource group", () => arm(server, "GET", `${rg}/providers/${NS}/registrationDefinitions?${V}`, tok.owner), 404, "InvalidResourceType", /registrationAssignments at resourceGroup scope/],
          ["definitions at the tenant", () => arm(server, "GET", `/providers/${NS}/registrationDefinitions?${V}`, tok.owner), 404, "InvalidResourceType"],
          ["a definition id that is not a GUID", () => arm(server, "PUT", defPath(S.ea, "contoso"), tok.owner, definition()), 400, "InvalidRequestUri", /is a GUID/],
          ["an unknown subscription", () => arm(server, "GET", defPath("11111111-0000-4000-8000-0000000000ff", used), tok.owner), 404, "SubscriptionNotFound"],
          ["another tenant's subscription without a delegation", () => arm(server, "GET", defPath(S.contoso, used), tok.owner), 401, "InvalidAuthenticationTokenTenant"],
          ["Reader writes a definition", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.guest, definition()), 403, "AuthorizationFailed"],
          ["Contributor assigns", () => arm(server, "PUT", asgPath(sub(S.ea), nextId()), tok.alice, assignment(defId(S.ea, used))), 403, "AuthorizationFailed", /roleAssignments\/write/],
          ["Contributor deletes an assignment", () => arm(server, "DELETE", asgPath(sub(S.ea), nextId()), tok.alice), 403, "AuthorizationFailed", /roleAssignments\/write/],
          ["Contributor deletes a definition", () => arm(server, "DELETE", defPath(S.ea, used), tok.alice), 403, "AuthorizationFailed"],
          ["body is not JSON", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, { body: "{", headers: json }), 400, "InvalidRequestContent"],
          ["body is an array", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, { body: "[]", headers: json }), 400, "InvalidRequestContent", /registrationDefinitionName/],
          ["no name", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, definition({ registrationDefinitionName: undefined })), 400, "InvalidRequestContent", /properties\.registrationDefinitionName' is required/],
          ["managedByTenantId not a GUID", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, definition({ managedByTenantId: "contoso.example" })), 400, "InvalidRequestContent", /managedByTenantId' must be a GUID/],
          ["no authorizations", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, definition({ authorizations: [] })), 400, "InvalidRequestContent", /at least one authorization/],
          ["authorizations not an array", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, definition({ authorizations: {} })), 400, "InvalidRequestContent", /must be an array/],
          ["principalId not a GUID", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, auth({ principalId: "bob" })), 400, "InvalidRequestContent", /authorizations\[0\]\.principalId/],
          ["roleDefinitionId not a role", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, auth({ roleDefinitionId: "Reader" })), 400, "InvalidRequestContent", /role definition GUID/],
          ["Owner in authorizations", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, auth({ roleDefinitionId: OWNER_ROLE_ID })), 400, "InvalidRegistrationDefinition", /grants Owner, which Azure Lighthouse never delegates; use Contributor/],
          ["Owner as an eligible authorization", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, eligible({ multiFactorAuthProvider: "Azure" }, OWNER_ROLE_ID)), 400, "InvalidRegistrationDefinition", /eligibleAuthorizations\[0\] grants Owner/],
          ["User Access Administrator without delegatedRoleDefinitionIds", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, auth({ roleDefinitionId: USER_ACCESS_ADMINISTRATOR_ROLE_ID })), 400, "InvalidRegistrationDefinition", /add "delegatedRoleDefinitionIds"/],
          ["User Access Administrator delegating Owner", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, auth({ roleDefinitionId: USER_ACCESS_ADMINISTRATOR_ROLE_ID, delegatedRoleDefinitionIds: [OWNER_ROLE_ID] })), 400, "InvalidRegistrationDefinition", /delegatedRoleDefinitionIds\[0\] is Owner/],
          ["User Access Administrator as eligible", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, eligible({ multiFactorAuthProvider: "Azure" }, USER_ACCESS_ADMINISTRATOR_ROLE_ID)), 400, "InvalidRegistrationDefinition", /permanent authorization/],
          ["delegatedRoleDefinitionIds on Reader", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, auth({ delegatedRoleDefinitionIds: [CONTRIBUTOR_ROLE_ID] })), 400, "InvalidRegistrationDefinition", /apply only to User Access Administrator/],
          ["a role that is not built-in", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, auth({ roleDefinitionId: "99999999-0000-4000-8000-000000000001" })), 400, "InvalidRegistrationDefinition", /built-in roles only/],
          ["eligible without a just-in-time policy", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, eligible(undefined)), 400, "InvalidRequestContent", /justInTimeAccessPolicy' is required/],
          ["eligible with an unknown MFA provider", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, eligible({ multiFactorAuthProvider: "Okta" })), 400, "InvalidRequestContent", /"Azure" or "None"/],
          ["eligible with a malformed duration", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, eligible({ multiFactorAuthProvider: "Azure", maximumActivationDuration: "8 hours" })), 400, "InvalidRequestContent", /ISO 8601/],
          ["eligible for more than 8 hours", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, eligible({ multiFactorAuthProvider: "Azure", maximumActivationDuration: "PT9H" })), 400, "InvalidRegistrationDefinition", /between PT30M and PT8H/],
          ["eligible with approvers", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, eligible({ multiFactorAuthProvider: "Azure", managedByTenantApprovers: [{ principalId: O.bob }] })), 400, "InvalidRegistrationDefinition", /managedByTenantApprovers/],
          ["a plan missing its version", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, definition({}, { plan: { name: "p", publisher: "x", product: "y" } })), 400, "InvalidRequestContent", /plan\.version/],
          ["an unknown managing tenant", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, definition({ managedByTenantId: "aaaaaaaa-0000-4000-8000-0000000000ff" })), 400, "InvalidRegistrationDefinition", /not a tenant known to this server/],
          ["the customer's own tenant as managing tenant", () => arm(server, "PUT", defPath(S.ea, nextId()), tok.owner, definition({ managedByTenantId: T.fabrikam })), 400, "InvalidRegistrationDefinition", /is the tenant of subscription/],
          ["a definition id already used in another subscription", () => arm(server, "PUT", defPath(S.ea, inPayg), tok.owner, definition()), 400, "InvalidRegistrationDefinition", /already exists in/],
          ["assignment without registrationDefinitionId", () => arm(server, "PUT", asgPath(sub(S.ea), nextId()), tok.owner, { body: "{\"properties\":{}}", headers: json }), 400, "InvalidRequestContent", /registrationDefinitionId' is required/],
          ["assignment with a bare GUID", () => arm(server, "PUT", asgPath(sub(S.ea), nextId()), tok.owner, assignment(used)), 400, "InvalidRequestContent", /registration definition resource id/],
          ["assignment of an unknown definition", () => arm(server, "PUT", asgPath(sub(S.ea), nextId()), tok.owner, assignment(defId(S.ea, nextId()))), 404, "RegistrationDefinitionNotFound"],
          ["assignment of another subscription's definition", () => arm(server, "PUT", asgPath(sub(S.ea), nextId()), tok.owner, assignment(defId(S.payg, inPayg))), 400, "InvalidRegistrationAssignment", /only in its own subscription/],
          ["unknown definition", () => arm(server, "GET", defPath(S.ea, nextId()), tok.owner), 404, "RegistrationDefinitionNotFound"],
          ["a definition read through another subscription", () => arm(server, "GET", defPath(S.ea, inPayg), tok.owner), 404, "RegistrationDefinitionNotFound"],
          ["unknown assignment", () => arm(server, "GET", asgPath(sub(S.ea), nextId()), tok.owner), 404, "RegistrationAssignmentNotFound"],
          ["an assignment id that is not a GUID", () => arm(server, "GET", asgPath(sub(S.ea), "x"), tok.owner), 400, "InvalidRequestUri"],
          ["an unsupported $filter", () => arm(server, "GET", `${sub(S.ea)}/providers/${NS}/registrationDefinitions?${V}&$filter=${encodeURIComponent("name eq 'x'")}`, tok.owner), 400, "InvalidFilter", /managedByTenantId/],
          ["$expandRegistrationDefinition neither true nor false", () => arm(server, "GET", `${sub(S.ea)}/providers/${NS}/registrationAssignments?${V}&$expandRegistrationDefinition=yes`, tok.owner), 400, "InvalidRequestUri", /true or false/],
          ["PATCH is not served", () => arm(server, "PATCH", defPath(S.ea, used), tok.owner, definition()), 405, "HttpMethodNotAllowed"],
        ];
        for (const [label, send, status, expected, message] of cases) {
          const r = await send();
          assert.equal(r.status, status, `${label}: ${r.text}`);
          assert.equal(errorOf(r).code, expected, label);
          if (message) assert.match(errorOf(r).message, message, label);
        }
      });

      it("refused writes leave no definition, assignment or audit entry behind", async () => {
        const id = nextId();
        await arm(server, "PUT", defPath(S.ea, id), tok.owner, definition({ authorizations: [{ principalId: O.bob, roleDefinitionId: OWNER_ROLE_ID }] }));
        await arm(server, "PUT", defPath(S.ea, id), tok.alice, definition());
        assert.equal(await server.openpal.context.store.access.getRegistrationDefinition(T.fabrikam, id), undefined);
        const audit = (await server.openpal.context.store.audit.list({ tenantId: T.fabrikam })).filter((e) => e.target.endsWith(id));
        assert.deepEqual(audit, []);
      });
    });
  });
}
