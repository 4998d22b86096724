/**
 * Conformance with the real clients: @azure/arm-managementpartner driven over HTTPS, authenticated
 * by @azure/identity's ClientSecretCredential against this server's token endpoint (authority
 * host = the server, instance discovery off), on every store backend.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { ClientSecretCredential } from "@azure/identity";
import { ACEProvisioningManagementPartnerAPI } from "@azure/arm-managementpartner";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { storeBackends } from "../../support/stores.ts";
import { hashClientSecret, newClientSecret } from "../../../src/identity/index.ts";
import { APP_ID, O, P, seedWorld, T } from "./fixture.ts";

for (const backend of storeBackends()) {
  describe(`the real SDK drives the whole PAL lifecycle (${backend.name})`, () => {
    let server: TestServer;
    let client: ACEProvisioningManagementPartnerAPI;

    before(async () => {
      server = await startTestServer({ backend });
      const store = server.openpal.context.store;
      await seedWorld(store);
      const secret = newClientSecret();
      await store.directory.addSecret({
        appId: APP_ID, keyId: "eeeeeeee-0000-4000-8000-000000000001", secretHash: hashClientSecret(secret), hint: secret.slice(0, 3),
        displayName: "sdk test", createdAt: 0, expiresAt: null,
      });
      const credential = new ClientSecretCredential(T.fabrikam, APP_ID, secret, { authorityHost: server.url, disableInstanceDiscovery: true });
      client = new ACEProvisioningManagementPartnerAPI(credential, {
        $host: server.url, endpoint: server.url, credentialScopes: ["https://management.azure.com/.default"],
      });
    });
    after(async () => server.close());

    it("create, get, update, partners.get and delete answer what PAL-API.md says, as the SDK deserialises it", async () => {
      const created = await client.partner.create(P.contosoUs);
      assert.equal(created.partnerId, P.contosoUs);
      assert.equal(created.partnerName, "Contoso Consulting");
      assert.equal(created.tenantId, T.fabrikam);
      assert.equal(created.objectId, O.spFabrikam);
      assert.equal(created.version, 1);
      assert.equal(created.etag, 1);
      assert.equal(created.state, "Active");
      assert.equal(created.name, P.contosoUs);
      assert.equal(created.type, "Microsoft.ManagementPartner/partners");
      assert.ok(created.createdTime instanceof Date);

      const got = await client.partner.get(P.contosoUs);
      assert.equal(got.version, 1);

      const updated = await client.partner.update(P.northwindUs);
      assert.equal(updated.partnerId, P.northwindUs);
      assert.equal(updated.partnerName, "Northwind Traders");
      assert.equal(updated.version, 2);
      assert.equal(updated.createdTime?.getTime(), created.createdTime?.getTime());

      const own = await client.partners.get();
      assert.equal(own.partnerId, P.northwindUs);

      await client.partner.delete(P.northwindUs);
      await assert.rejects(client.partners.get(), (e: { statusCode?: number; code?: string }) => e.statusCode === 404 && e.code === "ManagementPartnerNotFound");
      const again = await client.partner.create(P.contosoGb);
      assert.equal(again.version, 4);
    });

    it("errors reach the SDK caller with their status and code", async () => {
      await assert.rejects(client.partner.create(P.contosoUs), (e: { statusCode?: number; code?: string }) => e.statusCode === 409 && e.code === "PartnerAlreadyLinked");
      await assert.rejects(client.partner.update(P.contosoGlobal), (e: { statusCode?: number; code?: string; message?: string }) =>
        e.statusCode === 400 && e.code === "PartnerIdInvalid" && /Associated \(location\) Partner ID/.test(e.message ?? ""));
    });

    it("operation.list pages through the four operations", async () => {
      const names: string[] = [];
      for await (const op of client.operation.list()) names.push(op.name ?? "");
      assert.deepEqual(names, ["read", "write", "action", "delete"].map((v) => `Microsoft.ManagementPartner/partners/${v}`));
    });
  });
}
