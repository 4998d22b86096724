import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { ClientSecretCredential, ClientCertificateCredential } from "@azure/identity";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { startTestServer, type TestServer } from "../support/server.ts";
import { storeBackends } from "../support/stores.ts";
import { APP, ARM_AUDIENCE, ARM_SCOPE, T, claimsOf, seedDirectory } from "./fixtures.ts";

const sdk = (server: TestServer) => ({ authorityHost: server.url, disableInstanceDiscovery: true });

async function tokenRequest(server: TestServer, tenant: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await server.fetch(`/${tenant}/oauth2/v2.0/token`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The AADSTS number of an error thrown by @azure/identity. */
function aadsts(error: unknown): number | undefined {
  const match = /AADSTS(\d+)/.exec((error as Error).message);
  return match ? Number(match[1]) : undefined;
}

for (const backend of storeBackends()) {
  describe(`[${backend.name}] client_credentials issues app tokens to a service principal of the app in the tenant asked for`, () => {
    let server: TestServer;
    let cert: { certificatePem: string; privateKeyPem: string };
    before(async () => {
      server = await startTestServer({ backend });
      cert = await seedDirectory(server.openpal.context.store);
    });
    after(async () => server.close());

    it("ClientSecretCredential gets an ARM token whose claims name the tenant's service principal, verifiable with the JWKS", async () => {
      const credential = new ClientSecretCredential(T.contoso.id, APP.automation.appId, APP.automation.secret, sdk(server));
      const token = await credential.getToken(ARM_SCOPE);
      assert.ok(token.expiresOnTimestamp > Date.now());
      const jwks = createRemoteJWKSet(new URL(`${server.url}/${T.contoso.id}/discovery/v2.0/keys`));
      const { payload, protectedHeader } = await jwtVerify(token.token, jwks, { issuer: `${server.url}/${T.contoso.id}/v2.0`, audience: ARM_AUDIENCE });
      assert.equal(protectedHeader.alg, "RS256");
      assert.ok(protectedHeader.kid);
      assert.equal(payload.tid, T.contoso.id);
      assert.equal(payload.oid, APP.automation.spContoso);
      assert.equal(payload.sub, APP.automation.spContoso);
      assert.equal(payload.appid, APP.automation.appId);
      assert.equal(payload.azp, APP.automation.appId);
      assert.equal(payload.idtyp, "app");
      assert.equal(payload.ver, "2.0");
      assert.equal((payload.exp as number) - (payload.iat as number), 3600);
      const caller = await server.openpal.identity.verifier.authenticate(token.token, [ARM_AUDIENCE]);
      assert.equal(caller.principalType, "ServicePrincipal");
      assert.equal(caller.foreign, false);
    });

    it("a multi-tenant app gets one token per tenant, each with that tenant's service principal id", async () => {
      const inContoso = await new ClientSecretCredential(T.contoso.id, APP.automation.appId, APP.automation.secret, sdk(server)).getToken(ARM_SCOPE);
      const inFabrikam = await new ClientSecretCredential(T.fabrikam.domain, APP.automation.appId, APP.automation.secret, sdk(server)).getToken(ARM_SCOPE);
      assert.deepEqual([claimsOf(inContoso.token).tid, claimsOf(inContoso.token).oid], [T.contoso.id, APP.automation.spContoso]);
      assert.deepEqual([claimsOf(inFabrikam.token).tid, claimsOf(inFabrikam.token).oid], [T.fabrikam.id, APP.automation.spFabrikam]);
      assert.equal(claimsOf(inFabrikam.token).iss, `${server.url}/${T.fabrikam.id}/v2.0`);
    });

    it("a tenant without a service principal of the app refuses it with AADSTS700016 (unauthorized_client)", async () => {
      const r = await tokenRequest(server, T.tailspin.id, { grant_type: "client_credentials", client_id: APP.automation.appId, client_secret: APP.automation.secret, scope: ARM_SCOPE });
      assert.equal(r.status, 400);
      assert.equal(r.body.error, "unauthorized_client");
      assert.deepEqual(r.body.error_codes, [700016]);
      assert.match(String(r.body.error_description), /^AADSTS700016: .*\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: .*\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/s);
      for (const key of ["timestamp", "trace_id", "correlation_id", "error_uri"]) assert.ok(r.body[key], key);
    });

    it("a wrong secret is refused with 401 invalid_client AADSTS7000215, through the SDK too", async () => {
      const r = await tokenRequest(server, T.contoso.id, { grant_type: "client_credentials", client_id: APP.automation.appId, client_secret: "not-the-secret", scope: ARM_SCOPE });
      assert.equal(r.status, 401);
      assert.equal(r.body.error, "invalid_client");
      assert.deepEqual(r.body.error_codes, [7000215]);
      const credential = new ClientSecretCredential(T.contoso.id, APP.automation.appId, "not-the-secret", sdk(server));
      await assert.rejects(credential.getToken(ARM_SCOPE), (e: unknown) => aadsts(e) === 7000215);
    });

    it("an unknown tenant is refused with AADSTS90002 (invalid_request), by the SDK's discovery as well", async () => {
      const r = await tokenRequest(server, "nowhere.example", { grant_type: "client_credentials", client_id: APP.automation.appId, client_secret: APP.automation.secret, scope: ARM_SCOPE });
      assert.equal(r.status, 400);
      assert.equal(r.body.error, "invalid_request");
      assert.deepEqual(r.body.error_codes, [90002]);
      const credential = new ClientSecretCredential("d0000000-0000-4000-8000-00000000dead", APP.automation.appId, APP.automation.secret, sdk(server));
      await assert.rejects(credential.getToken(ARM_SCOPE));
    });

    it("an unknown client id is refused with AADSTS700016", async () => {
      const r = await tokenRequest(server, T.contoso.id, { grant_type: "client_credentials", client_id: "99999999-0000-4000-8000-000000000000", client_secret: "x", scope: ARM_SCOPE });
      assert.equal(r.status, 400);
      assert.deepEqual(r.body.error_codes, [700016]);
    });

    it("a disabled service principal is refused with AADSTS7000112", async () => {
      const r = await tokenRequest(server, T.fabrikam.id, { grant_type: "client_credentials", client_id: APP.disabled.appId, client_secret: APP.disabled.secret, scope: ARM_SCOPE });
      assert.equal(r.status, 400);
      assert.equal(r.body.error, "unauthorized_client");
      assert.deepEqual(r.body.error_codes, [7000112]);
    });

    it("a deleted service principal is refused like an absent one (AADSTS700016)", async () => {
      const store = server.openpal.context.store;
      await store.directory.putServicePrincipal({ tenantId: T.northwind.id, id: "5b000000-0000-4000-8000-00000000a001", appId: APP.automation.appId, displayName: "x", createdAt: 0, deletedAt: null });
      const ok = await tokenRequest(server, T.northwind.id, { grant_type: "client_credentials", client_id: APP.automation.appId, client_secret: APP.automation.secret, scope: ARM_SCOPE });
      assert.equal(ok.status, 200);
      await store.directory.markServicePrincipalDeleted(T.northwind.id, "5b000000-0000-4000-8000-00000000a001", Date.now());
      const r = await tokenRequest(server, T.northwind.id, { grant_type: "client_credentials", client_id: APP.automation.appId, client_secret: APP.automation.secret, scope: ARM_SCOPE });
      assert.deepEqual(r.body.error_codes, [700016]);
    });

    it("HTTP Basic client authentication works like client_secret in the form", async () => {
      const basic = Buffer.from(`${encodeURIComponent(APP.automation.appId)}:${encodeURIComponent(APP.automation.secret)}`).toString("base64");
      const r = await tokenRequest(server, T.contoso.id, { grant_type: "client_credentials", scope: ARM_SCOPE }, { authorization: `Basic ${basic}` });
      assert.equal(r.status, 200);
      assert.equal(r.body.token_type, "Bearer");
      assert.equal(r.body.expires_in, 3600);
      assert.equal(r.body.ext_expires_in, 3600);
      assert.equal(r.body.scope, ARM_SCOPE);
    });

    it("the response is a Bearer token with expires_in, ext_expires_in and scope; the audience follows the scope", async () => {
      const graph = await tokenRequest(server, T.contoso.id, { grant_type: "client_credentials", client_id: APP.automation.appId, client_secret: APP.automation.secret, scope: "https://graph.microsoft.com/.default" });
      assert.equal(claimsOf(String(graph.body.access_token)).aud, "https://graph.microsoft.com");
      const armDouble = await tokenRequest(server, T.contoso.id, { grant_type: "client_credentials", client_id: APP.automation.appId, client_secret: APP.automation.secret, scope: "https://management.azure.com//.default" });
      assert.equal(claimsOf(String(armDouble.body.access_token)).aud, ARM_AUDIENCE);
      const registered = await tokenRequest(server, T.contoso.id, { grant_type: "client_credentials", client_id: APP.automation.appId, client_secret: APP.automation.secret, scope: `api://${APP.automation.appId}/.default` });
      assert.equal(claimsOf(String(registered.body.access_token)).aud, `api://${APP.automation.appId}`);
      const unregistered = await tokenRequest(server, T.contoso.id, { grant_type: "client_credentials", client_id: APP.automation.appId, client_secret: APP.automation.secret, scope: "api://contoso-api/.default" });
      assert.equal(unregistered.status, 400);
      assert.deepEqual(unregistered.body.error_codes, [500011]);
    });

    it("missing and unsupported grant types and a scope without /.default get OAuth errors naming the fix, never a 500", async () => {
      const missing = await tokenRequest(server, T.contoso.id, { client_id: APP.automation.appId });
      assert.equal(missing.status, 400);
      assert.equal(missing.body.error, "invalid_request");
      assert.match(String(missing.body.error_description), /grant_type/);
      const unsupported = await tokenRequest(server, T.contoso.id, { grant_type: "magic", client_id: APP.automation.appId });
      assert.equal(unsupported.body.error, "unsupported_grant_type");
      const scope = await tokenRequest(server, T.contoso.id, { grant_type: "client_credentials", client_id: APP.automation.appId, client_secret: APP.automation.secret, scope: "https://management.azure.com/user_impersonation" });
      assert.equal(scope.body.error, "invalid_scope");
      assert.match(String(scope.body.error_description), /\/\.default/);
      const noSecret = await tokenRequest(server, T.contoso.id, { grant_type: "client_credentials", client_id: APP.automation.appId, scope: ARM_SCOPE });
      assert.equal(noSecret.status, 401);
      assert.equal(noSecret.body.error, "invalid_client");
      const noBody = await server.fetch(`/${T.contoso.id}/oauth2/v2.0/token`, { method: "POST" });
      assert.equal(noBody.status, 400);
      const dup = await server.fetch(`/${T.contoso.id}/oauth2/v2.0/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "grant_type=client_credentials&grant_type=password" });
      assert.equal(dup.status, 400);
    });

    it("ClientCertificateCredential authenticates with a certificate registered on the app (x5t#S256, PS256)", async () => {
      const credential = new ClientCertificateCredential(T.contoso.id, APP.certified.appId, { certificate: `${cert.privateKeyPem}\n${cert.certificatePem}` }, sdk(server));
      const token = await credential.getToken(ARM_SCOPE);
      const claims = claimsOf(token.token);
      assert.equal(claims.oid, APP.certified.spContoso);
      assert.equal(claims.appidacr, "2");
    });
  });
}
