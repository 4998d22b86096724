/**
 * The token and ARM surface the real clients rely on, checked over HTTPS without the clients
 * (these run everywhere; az.test.ts and python-sdk.test.ts drive the same through the clients).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import { startTestServer, type TestServer } from "../support/server.ts";
import { W, WORLD_FILE } from "./support.ts";

const AZ_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
let server: TestServer;
before(async () => {
  server = await startTestServer({ options: { world: WORLD_FILE } });
});
after(async () => {
  await server.close();
});

async function form(path: string, fields: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await server.fetch(path, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields).toString() });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function appToken(): Promise<string> {
  const r = await form(`/${W.fabrikam}/oauth2/v2.0/token`, { grant_type: "client_credentials", client_id: W.appId, client_secret: W.secret, scope: "https://management.azure.com/.default" });
  return r.body.access_token as string;
}

for (const authority of ["organizations", "common"]) {
  test(`/${authority}: discovery names the segment; a password sign-in gets a token of the user's home tenant; refresh works there`, async () => {
    const doc = (await (await server.fetch(`/${authority}/v2.0/.well-known/openid-configuration`)).json()) as Record<string, string>;
    assert.equal(doc.token_endpoint, `${server.url}/${authority}/oauth2/v2.0/token`);
    assert.equal(doc.issuer, `${server.url}/{tenantid}/v2.0`);
    assert.equal((await server.fetch(`/${authority}/discovery/v2.0/keys`)).status, 200);
    const r = await form(`/${authority}/oauth2/v2.0/token`, {
      grant_type: "password", client_id: AZ_CLI, username: "alice@contoso.example", password: W.alicePassword, scope: "https://management.azure.com/.default offline_access",
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const claims = decodeJwt(r.body.access_token as string);
    assert.equal(claims.tid, W.contoso);
    assert.equal(claims.iss, `${server.url}/${W.contoso}/v2.0`);
    const refreshed = await form(`/${authority}/oauth2/v2.0/token`, { grant_type: "refresh_token", client_id: AZ_CLI, refresh_token: r.body.refresh_token as string, scope: "https://management.azure.com/.default" });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.equal(decodeJwt(refreshed.body.access_token as string).tid, W.contoso);
  });
}

test("/organizations: an app-only token needs a tenant (AADSTS50059); an unknown user is AADSTS50034", async () => {
  const app = await form("/organizations/oauth2/v2.0/token", { grant_type: "client_credentials", client_id: W.appId, client_secret: W.secret, scope: "https://management.azure.com/.default" });
  assert.equal(app.status, 400);
  assert.deepEqual(app.body.error_codes, [50059]);
  const nobody = await form("/organizations/oauth2/v2.0/token", { grant_type: "password", client_id: AZ_CLI, username: "nobody@contoso.example", password: "x", scope: "https://management.azure.com/.default" });
  assert.deepEqual(nobody.body.error_codes, [50034]);
});

test("/consumers is refused as Entra refuses an app without personal accounts (AADSTS700016, 'Microsoft Accounts')", async () => {
  const r = await form("/consumers/oauth2/v2.0/token", { grant_type: "password", client_id: AZ_CLI, username: "alice@contoso.example", password: W.alicePassword, scope: "https://management.azure.com/.default" });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, "unauthorized_client");
  assert.deepEqual(r.body.error_codes, [700016]);
  assert.match(r.body.error_description as string, /'Microsoft Accounts'/);
  assert.equal((await server.fetch("/consumers/v2.0/.well-known/openid-configuration")).status, 400);
});

test("instance discovery answers for this server's authorities and refuses other hosts; home realm discovery says Managed", async () => {
  const host = new URL(server.url).hostname;
  const ours = (await (await server.fetch(`/common/discovery/instance?api-version=1.1&authorization_endpoint=https://${host}/${W.fabrikam}/oauth2/v2.0/authorize`)).json()) as Record<string, unknown>;
  assert.equal(ours.tenant_discovery_endpoint, `${server.url}/${W.fabrikam}/v2.0/.well-known/openid-configuration`);
  const other = await server.fetch("/common/discovery/instance?api-version=1.1&authorization_endpoint=https://evil.example/x/oauth2/v2.0/authorize");
  assert.equal(other.status, 400);
  assert.equal(((await other.json()) as Record<string, unknown>).error, "invalid_instance");
  const realm = (await (await server.fetch("/common/userrealm/alice@contoso.example?api-version=1.0")).json()) as Record<string, unknown>;
  assert.equal(realm.account_type, "Managed");
});

test("HEAD on a resource group: 204 when it exists, 404 when not", async () => {
  const token = await appToken();
  const head = (name: string) => server.fetch(`/subscriptions/${W.subFabrikam}/resourcegroups/${name}?api-version=2021-04-01`, { method: "HEAD", headers: { authorization: `Bearer ${token}` } });
  assert.equal((await head("rg-web")).status, 204);
  assert.equal((await head("rg-nowhere")).status, 404);
});

test("PATCH of an invalid partner id when not linked is 404 ManagementPartnerNotFound, as the recorded service answers", async () => {
  const res = await server.fetch("/providers/Microsoft.ManagementPartner/partners/123?api-version=2018-02-01", { method: "PATCH", headers: { authorization: `Bearer ${await appToken()}` } });
  assert.equal(res.status, 404);
  assert.equal(((await res.json()) as { code: string }).code, "ManagementPartnerNotFound");
});

test("provider register answers Registered; unregister is refused with a message naming why", async () => {
  const token = await appToken();
  const post = (action: string) => server.fetch(`/subscriptions/${W.subFabrikam}/providers/Microsoft.ManagementPartner/${action}?api-version=2021-04-01`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
  const registered = await post("register");
  assert.equal(registered.status, 200);
  assert.equal(((await registered.json()) as { registrationState: string }).registrationState, "Registered");
  const unregistered = await post("unregister");
  assert.equal(unregistered.status, 409);
  assert.equal(((await unregistered.json()) as { error: { code: string } }).error.code, "ProviderUnregistrationNotSupported");
});

test("every response carries Azure's headers: ids (correlation echoed), routing id, read/write budget, HSTS, nosniff", async () => {
  const token = await appToken();
  const cases: [string, RequestInit, string][] = [
    [`/subscriptions/${W.subFabrikam}/resourcegroups?api-version=2021-04-01`, { headers: { authorization: `Bearer ${token}` } }, "x-ms-ratelimit-remaining-subscription-reads"],
    [`/subscriptions/${W.subFabrikam}/resourcegroups/rg-x?api-version=2021-04-01`, { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{}" }, "x-ms-ratelimit-remaining-subscription-writes"],
    ["/providers/Microsoft.ManagementPartner/partners?api-version=2018-02-01", {}, "x-ms-ratelimit-remaining-tenant-reads"],
    [`/${W.fabrikam}/v2.0/.well-known/openid-configuration`, {}, "x-ms-ratelimit-remaining-tenant-reads"],
    ["/v1.0/me", {}, "x-ms-ratelimit-remaining-tenant-reads"],
    ["/portal/", {}, "x-ms-ratelimit-remaining-tenant-reads"],
    ["/no/such/route", {}, "x-ms-ratelimit-remaining-tenant-reads"],
  ];
  for (const [path, init, budget] of cases) {
    const res = await server.fetch(path, { ...init, headers: { ...(init.headers as Record<string, string>), "x-ms-correlation-request-id": "c0ffee00-0000-4000-8000-000000000001" } });
    await res.arrayBuffer();
    const h = res.headers;
    assert.match(h.get("x-ms-request-id") ?? "", /^[0-9a-f-]{36}$/, path);
    assert.equal(h.get("x-ms-correlation-request-id"), "c0ffee00-0000-4000-8000-000000000001", path);
    assert.match(h.get("x-ms-routing-request-id") ?? "", /^[A-Z]+:\d{8}T\d{6}Z:[0-9a-f-]{36}$/, path);
    assert.match(h.get(budget) ?? "", /^\d+$/, `${path}: ${budget}`);
    assert.equal(h.get("strict-transport-security"), "max-age=31536000; includeSubDomains", path);
    assert.equal(h.get("x-content-type-options"), "nosniff", path);
  }
});

test("ARM cloud metadata names the server as authority and ARM", async () => {
  const list = (await (await server.fetch("/metadata/endpoints?api-version=2022-09-01")).json()) as { authentication: { loginEndpoint: string }; resourceManager: string }[];
  assert.equal(list[0]?.authentication.loginEndpoint, server.url);
  assert.equal(list[0]?.resourceManager, `${server.url}/`);
  const legacy = (await (await server.fetch("/metadata/endpoints?api-version=2015-01-01")).json()) as { authentication: { audiences: string[] } };
  assert.ok(legacy.authentication.audiences.includes("https://management.core.windows.net/"));
});
