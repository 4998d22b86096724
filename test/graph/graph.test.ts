import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../support/server.ts";
import { storeBackends } from "../support/stores.ts";
import { hashPassword } from "../../src/identity/index.ts";
import { DirectoryRole } from "../../src/graph/index.ts";

const FAB = "a0000000-0000-0000-0000-000000000001";
const CON = "a0000000-0000-0000-0000-000000000002";
const ADMIN = "b0000000-0000-0000-0000-000000000001";
const PLAIN = "b0000000-0000-0000-0000-000000000002";
const CAROL = "b0000000-0000-0000-0000-000000000003"; // member of Contoso, invited into Fabrikam

async function seed(server: TestServer) {
  const { store } = server.openpal.context;
  await store.directory.putTenant({ id: FAB, displayName: "Fabrikam", domain: "fabrikam.example", createdAt: 0 });
  await store.directory.putTenant({ id: CON, displayName: "Contoso", domain: "contoso.example", createdAt: 0 });
  const user = (tenantId: string, id: string, upn: string) => ({ tenantId, id, userPrincipalName: upn, displayName: upn.split("@")[0] ?? upn, kind: "member" as const, passwordHash: hashPassword("Passw0rd!"), homeTenantId: null, homeObjectId: null, createdAt: 0, deletedAt: null });
  await store.directory.putUser(user(FAB, ADMIN, "admin@fabrikam.example"));
  await store.directory.putUser(user(FAB, PLAIN, "plain@fabrikam.example"));
  await store.directory.putUser(user(CON, CAROL, "carol@contoso.example"));
  await store.directoryRoles.grant(FAB, DirectoryRole.GlobalAdministrator, ADMIN, null);
}

/** A Graph token for a principal, signed by the server's own key ring. */
async function graphToken(server: TestServer, tid: string, oid: string, extra: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return server.openpal.identity.keys.sign({
    iss: `${server.url}/${tid}/v2.0`, aud: "https://graph.microsoft.com", tid, oid, sub: oid, ver: "2.0", idtyp: "user",
    iat: now, nbf: now, exp: now + 600, ...extra,
  });
}

for (const backend of storeBackends()) {
  describe(`Microsoft Graph subset (${backend.name})`, () => {
    let server: TestServer;
    let admin: string;
    let plain: string;
    const call = async (token: string, method: string, path: string, body?: unknown) => {
      const res = await server.fetch(`/v1.0${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    };

    before(async () => {
      server = await startTestServer({ backend });
      await seed(server);
      admin = await graphToken(server, FAB, ADMIN);
      plain = await graphToken(server, FAB, PLAIN);
    });
    after(async () => server.close());

    describe("authentication and authorization", () => {
      it("refuses a request without a token with 401 InvalidAuthenticationToken in Graph's error shape", async () => {
        const res = await server.fetch("/v1.0/users");
        assert.equal(res.status, 401);
        const body = (await res.json()) as { error: { code: string; innerError: Record<string, string> } };
        assert.equal(body.error.code, "InvalidAuthenticationToken");
        assert.equal(body.error.innerError["request-id"], res.headers.get("x-ms-request-id"));
      });

      it("refuses an ARM token (wrong audience)", async () => {
        const arm = await graphToken(server, FAB, ADMIN, { aud: "https://management.azure.com/" });
        assert.equal((await call(arm, "GET", "/users")).status, 401);
      });

      it("lets any member read the directory but only administrators write, naming the roles that would allow it", async () => {
        assert.equal((await call(plain, "GET", "/users")).status, 200);
        const denied = await call(plain, "POST", "/groups", { displayName: "x", mailNickname: "x", securityEnabled: true, mailEnabled: false });
        assert.equal(denied.status, 403);
        assert.equal(denied.json.error.code, "Authorization_RequestDenied");
        assert.match(denied.json.error.message, /Global Administrator/);
      });

      it("refuses foreign (delegated-admin) principals", async () => {
        const foreign = await graphToken(server, FAB, CAROL, { foreign: true, home_tid: CON });
        assert.equal((await call(foreign, "GET", "/users")).status, 403);
      });
    });

    describe("users", () => {
      it("an administrator creates a member who can then be read by id and by UPN", async () => {
        const created = await call(admin, "POST", "/users", { accountEnabled: true, displayName: "Dave", mailNickname: "dave", userPrincipalName: "dave@fabrikam.example", passwordProfile: { password: "Str0ngPassw0rd" } });
        assert.equal(created.status, 201);
        assert.equal(created.json.userPrincipalName, "dave@fabrikam.example");
        assert.equal((await call(admin, "GET", `/users/${created.json.id}`)).json.displayName, "Dave");
        assert.equal((await call(admin, "GET", "/users/DAVE@fabrikam.example")).json.id, created.json.id);
        const stored = await server.openpal.context.store.directory.getUser(FAB, created.json.id);
        assert.ok(stored?.passwordHash?.startsWith("scrypt$"), "the password is stored hashed");
      });

      it("rejects a UPN outside the tenant's domain and a duplicate UPN with 400s that name the fix", async () => {
        const outside = await call(admin, "POST", "/users", { accountEnabled: true, displayName: "E", mailNickname: "e", userPrincipalName: "e@elsewhere.example", passwordProfile: { password: "Str0ngPassw0rd" } });
        assert.equal(outside.status, 400);
        assert.match(outside.json.error.message, /fabrikam\.example/);
        const dup = await call(admin, "POST", "/users", { accountEnabled: true, displayName: "P", mailNickname: "p", userPrincipalName: "plain@fabrikam.example", passwordProfile: { password: "Str0ngPassw0rd" } });
        assert.equal(dup.status, 400);
        assert.match(dup.json.error.message, /userPrincipalName already exists/);
      });

      it("answers malformed bodies with 400, never 500", async () => {
        for (const body of [undefined, [], { accountEnabled: "yes" }, { accountEnabled: true }]) {
          const r = await call(admin, "POST", "/users", body);
          assert.equal(r.status, 400, JSON.stringify(body));
        }
        const raw = await server.fetch("/v1.0/users", { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: "{oops" });
        assert.equal(raw.status, 400);
      });

      it("PATCH accountEnabled false records the time the user was disabled; true re-enables", async () => {
        const before = Date.now();
        assert.equal((await call(admin, "PATCH", `/users/${PLAIN}`, { accountEnabled: false })).status, 204);
        const intervals = (await server.openpal.context.store.directory.listDisabledIntervals(FAB)).filter((d) => d.objectId === PLAIN);
        assert.equal(intervals.length, 1);
        assert.ok((intervals[0]?.validFrom ?? 0) >= before && intervals[0]?.validTo === null);
        assert.equal((await call(admin, "GET", `/users/${PLAIN}`)).json.accountEnabled, false);
        // A disabled user's token no longer works.
        assert.equal((await call(plain, "GET", "/users")).status, 401);
        assert.equal((await call(admin, "PATCH", `/users/${PLAIN}`, { accountEnabled: true })).status, 204);
        const closed = (await server.openpal.context.store.directory.listDisabledIntervals(FAB)).filter((d) => d.objectId === PLAIN);
        assert.notEqual(closed[0]?.validTo, null);
      });

      it("DELETE records the deletion time and the user disappears", async () => {
        const u = await call(admin, "POST", "/users", { accountEnabled: true, displayName: "Gone", mailNickname: "gone", userPrincipalName: "gone@fabrikam.example", passwordProfile: { password: "Str0ngPassw0rd" } });
        assert.equal((await call(admin, "DELETE", `/users/${u.json.id}`)).status, 204);
        assert.equal((await call(admin, "GET", `/users/${u.json.id}`)).status, 404);
        assert.ok((await server.openpal.context.store.directory.getUser(FAB, u.json.id))?.deletedAt);
      });
    });

    describe("invitations", () => {
      it("inviting a user of another tenant creates a guest pointing at the home account; inviting again returns the same guest", async () => {
        const first = await call(admin, "POST", "/invitations", { invitedUserEmailAddress: "carol@contoso.example", inviteRedirectUrl: "https://example.invalid" });
        assert.equal(first.status, 201);
        const guest = await server.openpal.context.store.directory.getUser(FAB, first.json.invitedUser.id);
        assert.equal(guest?.kind, "guest");
        assert.equal(guest?.homeTenantId, CON);
        assert.equal(guest?.homeObjectId, CAROL);
        assert.equal(guest?.userPrincipalName, "carol_contoso.example#EXT#@fabrikam.example");
        const again = await call(admin, "POST", "/invitations", { invitedUserEmailAddress: "carol@contoso.example", inviteRedirectUrl: "https://example.invalid" });
        assert.equal(again.json.invitedUser.id, first.json.invitedUser.id);
      });

      it("refuses to invite an address with no home account on this server, naming the fix", async () => {
        const r = await call(admin, "POST", "/invitations", { invitedUserEmailAddress: "nobody@nowhere.example", inviteRedirectUrl: "https://example.invalid" });
        assert.equal(r.status, 400);
        assert.match(r.json.error.message, /create the user in its home tenant first/);
      });
    });

    describe("applications and service principals", () => {
      it("registers an application, adds a password returned once, and its service principal can be disabled with the time recorded", async () => {
        const app = await call(admin, "POST", "/applications", { displayName: "automation" });
        assert.equal(app.status, 201);
        const pwd = await call(admin, "POST", `/applications/${app.json.id}/addPassword`, { passwordCredential: { displayName: "ci" } });
        assert.equal(pwd.status, 200);
        assert.equal(pwd.json.secretText.length, 40);
        const listed = await call(admin, "GET", `/applications/${app.json.id}`);
        assert.equal(listed.json.passwordCredentials[0].secretText, null, "the secret is never shown again");
        assert.equal(listed.json.passwordCredentials[0].hint, pwd.json.secretText.slice(0, 3));
        const sp = await call(admin, "POST", "/servicePrincipals", { appId: app.json.appId });
        assert.equal(sp.status, 201);
        assert.equal((await call(admin, "POST", "/servicePrincipals", { appId: app.json.appId })).status, 400, "one service principal per app per tenant");
        assert.equal((await call(admin, "PATCH", `/servicePrincipals/${sp.json.id}`, { accountEnabled: false })).status, 204);
        assert.equal((await call(admin, "GET", `/servicePrincipals/${sp.json.id}`)).json.accountEnabled, false);
        assert.equal(await server.openpal.context.store.directory.isDisabled(FAB, sp.json.id, Date.now()), true);
      });
    });

    describe("groups", () => {
      it("adds members with $ref (nested groups too), lists them, refuses duplicates and cycles, removes with a closed interval", async () => {
        const outer = await call(admin, "POST", "/groups", { displayName: "Outer", mailNickname: "outer", securityEnabled: true, mailEnabled: false });
        const inner = await call(admin, "POST", "/groups", { displayName: "Inner", mailNickname: "inner", securityEnabled: true, mailEnabled: false });
        const ref = (id: string) => ({ "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${id}` });
        assert.equal((await call(admin, "POST", `/groups/${outer.json.id}/members/$ref`, ref(inner.json.id))).status, 204);
        assert.equal((await call(admin, "POST", `/groups/${inner.json.id}/members/$ref`, ref(ADMIN))).status, 204);
        assert.equal((await call(admin, "POST", `/groups/${inner.json.id}/members/$ref`, ref(ADMIN))).status, 400, "duplicate");
        const cycle = await call(admin, "POST", `/groups/${inner.json.id}/members/$ref`, ref(outer.json.id));
        assert.equal(cycle.status, 400);
        assert.match(cycle.json.error.message, /cycle/);
        const members = await call(admin, "GET", `/groups/${outer.json.id}/members`);
        assert.deepEqual(members.json.value.map((m: { "@odata.type": string }) => m["@odata.type"]), ["#microsoft.graph.group"]);
        assert.equal((await call(admin, "DELETE", `/groups/${inner.json.id}/members/${ADMIN}/$ref`)).status, 204);
        const history = (await server.openpal.context.store.directory.listMemberships(FAB)).filter((m) => m.groupId === inner.json.id && m.memberId === ADMIN);
        assert.equal(history.length, 1);
        assert.notEqual(history[0]?.validTo, null);
      });
    });

    describe("directory role assignments", () => {
      it("a Global Administrator makes another user a User Administrator, who can then create users", async () => {
        const u = await call(admin, "POST", "/users", { accountEnabled: true, displayName: "Helper", mailNickname: "helper", userPrincipalName: "helper@fabrikam.example", passwordProfile: { password: "Str0ngPassw0rd" } });
        const helper = await graphToken(server, FAB, u.json.id);
        const create = { accountEnabled: true, displayName: "X", mailNickname: "x", userPrincipalName: "x@fabrikam.example", passwordProfile: { password: "Str0ngPassw0rd" } };
        assert.equal((await call(helper, "POST", "/users", create)).status, 403);
        const grant = await call(admin, "POST", "/roleManagement/directory/roleAssignments", { principalId: u.json.id, roleDefinitionId: "User Administrator", directoryScopeId: "/" });
        assert.equal(grant.status, 201);
        assert.equal((await call(helper, "POST", "/users", create)).status, 201);
        assert.equal((await call(admin, "DELETE", `/roleManagement/directory/roleAssignments/${grant.json.id}`)).status, 204);
        assert.equal((await call(helper, "POST", "/users", { ...create, userPrincipalName: "y@fabrikam.example" })).status, 403);
      });
    });

    it("every write is in the audit log with the actor and the request id", async () => {
      const entries = await server.openpal.context.store.audit.list({ tenantId: FAB });
      const creates = entries.filter((e) => e.action === "graph.user.create");
      assert.ok(creates.length >= 2);
      assert.ok(creates.every((e) => e.actorObjectId && e.requestId));
    });
  });
}
