import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { UsernamePasswordCredential, DeviceCodeCredential } from "@azure/identity";
import { startTestServer, type TestServer } from "../support/server.ts";
import { AZURE_CLI_CLIENT_ID, AZURE_POWERSHELL_CLIENT_ID } from "../../src/identity/index.ts";
import { APP, ARM_AUDIENCE, ARM_SCOPE, T, U, claimsOf, seedDirectory } from "./fixtures.ts";

const sdk = (server: TestServer) => ({ authorityHost: server.url, disableInstanceDiscovery: true });

async function post(server: TestServer, path: string, form: Record<string, string>) {
  const res = await server.fetch(path, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form).toString() });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const ropc = (server: TestServer, tenant: string, username: string, password: string, extra: Record<string, string> = {}) =>
  post(server, `/${tenant}/oauth2/v2.0/token`, { grant_type: "password", client_id: AZURE_CLI_CLIENT_ID, username, password, scope: `${ARM_SCOPE} openid profile offline_access`, client_info: "1", ...extra });

let server: TestServer;
before(async () => {
  server = await startTestServer();
  await seedDirectory(server.openpal.context.store);
});
after(async () => server.close());

describe("users sign in with their home credentials and get tokens for the tenant asked for", () => {
  it("UsernamePasswordCredential (Azure CLI client) gets a user token with upn, name, scp and idtyp user", async () => {
    const credential = new UsernamePasswordCredential(T.contoso.id, AZURE_CLI_CLIENT_ID, U.alice.upn, U.alice.password, sdk(server));
    const token = await credential.getToken(ARM_SCOPE);
    const claims = claimsOf(token.token);
    assert.equal(claims.tid, T.contoso.id);
    assert.equal(claims.oid, U.alice.id);
    assert.equal(claims.idtyp, "user");
    assert.equal(claims.upn, U.alice.upn);
    assert.equal(claims.preferred_username, U.alice.upn);
    assert.equal(claims.name, "Alice Contoso");
    assert.equal(claims.scp, "user_impersonation");
    assert.equal(claims.appid, AZURE_CLI_CLIENT_ID);
    assert.equal(claims.aud, ARM_AUDIENCE);
    assert.equal(claims.foreign, undefined);
    const caller = await server.openpal.identity.verifier.authenticate(token.token, [ARM_AUDIENCE]);
    assert.equal(caller.principalType, "User");
  });

  it("the response carries an id token for the client, client_info of the home account and a refresh token", async () => {
    const r = await ropc(server, T.contoso.domain, U.alice.upn, U.alice.password);
    assert.equal(r.status, 200);
    const id = claimsOf(String(r.body.id_token));
    assert.equal(id.aud, AZURE_CLI_CLIENT_ID);
    assert.equal(id.tid, T.contoso.id);
    assert.deepEqual(JSON.parse(Buffer.from(String(r.body.client_info), "base64url").toString()), { uid: U.alice.id, utid: T.contoso.id });
    assert.ok(typeof r.body.refresh_token === "string" && r.body.refresh_token.length > 40);
  });

  it("Azure PowerShell's well-known client works in every tenant without registration", async () => {
    const credential = new UsernamePasswordCredential(T.fabrikam.id, AZURE_POWERSHELL_CLIENT_ID, U.bob.upn, U.bob.password, sdk(server));
    assert.equal(claimsOf((await credential.getToken(ARM_SCOPE)).token).appid, AZURE_POWERSHELL_CLIENT_ID);
  });
});

describe("a guest signs in to the inviting tenant with its home credentials and gets the guest object there", () => {
  it("tid is the inviting tenant, oid the guest object, with idp and home_tid of the home tenant", async () => {
    const credential = new UsernamePasswordCredential(T.fabrikam.id, AZURE_CLI_CLIENT_ID, U.bob.upn, U.bob.password, sdk(server));
    const claims = claimsOf((await credential.getToken(ARM_SCOPE)).token);
    assert.equal(claims.tid, T.fabrikam.id);
    assert.equal(claims.oid, U.bobGuest.id);
    assert.equal(claims.home_tid, T.contoso.id);
    assert.equal(claims.idp, `${server.url}/${T.contoso.id}/v2.0`);
    assert.equal(claims.foreign, undefined);
  });

  it("the guest's own UPN in the inviting tenant also signs in with the home password", async () => {
    const r = await ropc(server, T.fabrikam.id, U.bobGuest.upn, U.bob.password);
    assert.equal(claimsOf(String(r.body.access_token)).oid, U.bobGuest.id);
  });
});

describe("a delegated-admin partner user without a guest object gets a foreign-principal token in the customer tenant", () => {
  it("oid is the home oid, foreign is true, home_tid and idp name the partner tenant", async () => {
    const credential = new UsernamePasswordCredential(T.northwind.id, AZURE_CLI_CLIENT_ID, U.erin.upn, U.erin.password, sdk(server));
    const token = await credential.getToken(ARM_SCOPE);
    const claims = claimsOf(token.token);
    assert.equal(claims.tid, T.northwind.id);
    assert.equal(claims.oid, U.erin.id);
    assert.equal(claims.foreign, true);
    assert.equal(claims.home_tid, T.contoso.id);
    const caller = await server.openpal.identity.verifier.authenticate(token.token, [ARM_AUDIENCE]);
    assert.equal(caller.foreign, true);
    assert.equal(caller.homeTenantId, T.contoso.id);
  });

  it("without a relationship (or a guest object) the user does not exist there: AADSTS50020", async () => {
    const r = await ropc(server, T.tailspin.id, U.erin.upn, U.erin.password);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, "invalid_grant");
    assert.deepEqual(r.body.error_codes, [50020]);
  });
});

describe("sign-in refuses bad passwords, disabled and deleted users with Entra's codes", () => {
  it("a wrong password is AADSTS50126 invalid_grant, also through the SDK", async () => {
    const r = await ropc(server, T.contoso.id, U.alice.upn, "wrong");
    assert.equal(r.status, 400);
    assert.equal(r.body.error, "invalid_grant");
    assert.deepEqual(r.body.error_codes, [50126]);
    const credential = new UsernamePasswordCredential(T.contoso.id, AZURE_CLI_CLIENT_ID, U.alice.upn, "wrong", sdk(server));
    await assert.rejects(credential.getToken(ARM_SCOPE), /AADSTS50126/);
  });

  it("a disabled user is AADSTS50057", async () => {
    const r = await ropc(server, T.fabrikam.id, U.carol.upn, U.carol.password);
    assert.deepEqual(r.body.error_codes, [50057]);
  });

  it("a deleted user and an unknown user are AADSTS50034", async () => {
    assert.deepEqual((await ropc(server, T.fabrikam.id, U.dave.upn, U.dave.password)).body.error_codes, [50034]);
    assert.deepEqual((await ropc(server, T.fabrikam.id, "nobody@fabrikam.example", "x")).body.error_codes, [50034]);
  });

  it("an unknown client is AADSTS700016 and a public client sending a secret is refused", async () => {
    assert.deepEqual((await ropc(server, T.contoso.id, U.alice.upn, U.alice.password, { client_id: "99999999-0000-4000-8000-000000000000" })).body.error_codes, [700016]);
    const r = await ropc(server, T.contoso.id, U.alice.upn, U.alice.password, { client_secret: "x" });
    assert.equal(r.body.error, "unauthorized_client");
  });

  it("a registered application may sign users in; with its secret it is authenticated first", async () => {
    const ok = await ropc(server, T.contoso.id, U.alice.upn, U.alice.password, { client_id: APP.automation.appId, client_secret: APP.automation.secret });
    assert.equal(claimsOf(String(ok.body.access_token)).azp, APP.automation.appId);
    const bad = await ropc(server, T.contoso.id, U.alice.upn, U.alice.password, { client_id: APP.automation.appId, client_secret: "wrong" });
    assert.deepEqual(bad.body.error_codes, [7000215]);
  });
});

describe("refresh tokens rotate on use, work across the user's tenants and stop when the user is disabled", () => {
  it("a refresh token gives new tokens and a new refresh token; the old one is then refused", async () => {
    const first = await ropc(server, T.contoso.id, U.alice.upn, U.alice.password);
    const rt = String(first.body.refresh_token);
    const refreshed = await post(server, `/${T.contoso.id}/oauth2/v2.0/token`, { grant_type: "refresh_token", client_id: AZURE_CLI_CLIENT_ID, refresh_token: rt, scope: ARM_SCOPE });
    assert.equal(refreshed.status, 200);
    assert.notEqual(refreshed.body.refresh_token, rt);
    assert.equal(claimsOf(String(refreshed.body.access_token)).oid, U.alice.id);
    const again = await post(server, `/${T.contoso.id}/oauth2/v2.0/token`, { grant_type: "refresh_token", client_id: AZURE_CLI_CLIENT_ID, refresh_token: rt, scope: ARM_SCOPE });
    assert.equal(again.status, 400);
    assert.equal(again.body.error, "invalid_grant");
  });

  it("a home refresh token gets a guest token in the inviting tenant and a foreign token in a delegated customer", async () => {
    const home = await ropc(server, T.contoso.id, U.bob.upn, U.bob.password);
    const inFabrikam = await post(server, `/${T.fabrikam.id}/oauth2/v2.0/token`, { grant_type: "refresh_token", client_id: AZURE_CLI_CLIENT_ID, refresh_token: String(home.body.refresh_token), scope: ARM_SCOPE });
    assert.equal(claimsOf(String(inFabrikam.body.access_token)).oid, U.bobGuest.id);
    const inNorthwind = await post(server, `/${T.northwind.id}/oauth2/v2.0/token`, { grant_type: "refresh_token", client_id: AZURE_CLI_CLIENT_ID, refresh_token: String(inFabrikam.body.refresh_token), scope: ARM_SCOPE });
    assert.equal(claimsOf(String(inNorthwind.body.access_token)).foreign, true);
  });

  it("a refresh token of a user disabled since is refused with AADSTS50057, and of a deleted user with AADSTS50034", async () => {
    const store = server.openpal.context.store;
    const id = "00000000-0000-4000-8000-00000000f00d";
    const { hashPassword } = await import("../../src/identity/index.ts");
    await store.directory.putUser({ tenantId: T.contoso.id, id, userPrincipalName: "frank@contoso.example", displayName: "Frank", kind: "member", passwordHash: hashPassword("Frank-Pass1"), homeTenantId: null, homeObjectId: null, createdAt: 0, deletedAt: null });
    const first = await ropc(server, T.contoso.id, "frank@contoso.example", "Frank-Pass1");
    await store.directory.disable(T.contoso.id, id, Date.now() - 1000);
    const disabled = await post(server, `/${T.contoso.id}/oauth2/v2.0/token`, { grant_type: "refresh_token", client_id: AZURE_CLI_CLIENT_ID, refresh_token: String(first.body.refresh_token) });
    assert.deepEqual(disabled.body.error_codes, [50057]);
    await store.directory.enable(T.contoso.id, id, Date.now() - 500);
    await store.directory.markUserDeleted(T.contoso.id, id, Date.now());
    const deleted = await post(server, `/${T.contoso.id}/oauth2/v2.0/token`, { grant_type: "refresh_token", client_id: AZURE_CLI_CLIENT_ID, refresh_token: String(first.body.refresh_token) });
    assert.deepEqual(deleted.body.error_codes, [50034]);
  });

  it("a refresh token presented by another client is refused", async () => {
    const first = await ropc(server, T.contoso.id, U.alice.upn, U.alice.password);
    const r = await post(server, `/${T.contoso.id}/oauth2/v2.0/token`, { grant_type: "refresh_token", client_id: AZURE_POWERSHELL_CLIENT_ID, refresh_token: String(first.body.refresh_token) });
    assert.equal(r.body.error, "invalid_grant");
  });
});

/** Completes the device code page like a user in a browser would. */
async function completeDevicePage(server: TestServer, userCode: string, upn: string, password: string, action = "signin"): Promise<string> {
  const page = await server.fetch("/devicelogin");
  assert.equal(page.status, 200);
  assert.match(await page.text(), /name="otc"/);
  const res = await server.fetch("/devicelogin", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ otc: userCode, login: upn, passwd: password, action }).toString() });
  return res.text();
}

describe("the device code flow: the app polls while the user signs in at the verification page", () => {
  it("DeviceCodeCredential gets a token after the user enters the code and signs in", async () => {
    let html = "";
    const credential = new DeviceCodeCredential({
      tenantId: T.contoso.id, clientId: AZURE_CLI_CLIENT_ID, ...sdk(server),
      userPromptCallback: (info) => {
        assert.equal(info.verificationUri, `${server.url}/devicelogin`);
        assert.match(info.message, new RegExp(info.userCode));
        void completeDevicePage(server, info.userCode, U.alice.upn, U.alice.password).then((t) => { html = t; });
      },
    });
    const token = await credential.getToken(ARM_SCOPE);
    assert.equal(claimsOf(token.token).oid, U.alice.id);
    assert.match(html, /You have signed in/);
  });

  it("polling before sign-in is authorization_pending (AADSTS70016); a declined code is authorization_declined", async () => {
    const dc = await post(server, `/${T.contoso.id}/oauth2/v2.0/devicecode`, { client_id: AZURE_CLI_CLIENT_ID, scope: ARM_SCOPE });
    for (const key of ["device_code", "user_code", "verification_uri", "expires_in", "interval", "message"]) assert.ok(dc.body[key], key);
    const poll = () => post(server, `/${T.contoso.id}/oauth2/v2.0/token`, { grant_type: "urn:ietf:params:oauth:grant-type:device_code", client_id: AZURE_CLI_CLIENT_ID, device_code: String(dc.body.device_code) });
    const pending = await poll();
    assert.equal(pending.body.error, "authorization_pending");
    assert.deepEqual(pending.body.error_codes, [70016]);
    const wrong = await completeDevicePage(server, String(dc.body.user_code), U.alice.upn, "wrong");
    assert.match(wrong, /AADSTS50126/);
    assert.equal((await poll()).body.error, "authorization_pending");
    await completeDevicePage(server, String(dc.body.user_code), "", "", "decline");
    assert.equal((await poll()).body.error, "authorization_declined");
  });

  it("an approved code is redeemed once; an expired code is expired_token", async () => {
    const dc = await post(server, `/${T.fabrikam.id}/oauth2/v2.0/devicecode`, { client_id: AZURE_CLI_CLIENT_ID, scope: ARM_SCOPE });
    await completeDevicePage(server, String(dc.body.user_code), U.bob.upn, U.bob.password);
    const poll = () => post(server, `/${T.fabrikam.id}/oauth2/v2.0/token`, { grant_type: "urn:ietf:params:oauth:grant-type:device_code", client_id: AZURE_CLI_CLIENT_ID, device_code: String(dc.body.device_code) });
    const ok = await poll();
    assert.equal(claimsOf(String(ok.body.access_token)).oid, U.bobGuest.id);
    assert.equal((await poll()).body.error, "invalid_grant");

    const store = server.openpal.context.store;
    const { handleHash } = await import("../../src/identity/tokens.ts");
    const handle = "expired-device-code-handle";
    await store.grants.add({ tenantId: T.contoso.id, handleHash: handleHash(handle), kind: "device_code", clientId: AZURE_CLI_CLIENT_ID, userCode: "EXPRDCODE", status: "pending", objectId: null, details: { scope: ARM_SCOPE }, createdAt: 0, expiresAt: Date.now() - 1 });
    const expired = await post(server, `/${T.contoso.id}/oauth2/v2.0/token`, { grant_type: "urn:ietf:params:oauth:grant-type:device_code", client_id: AZURE_CLI_CLIENT_ID, device_code: handle });
    assert.equal(expired.body.error, "expired_token");
  });
});
