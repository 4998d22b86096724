/**
 * The partner registry behind linking (admin endpoints, operator key) and ARM's GET /tenants.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { arm, mintToken, O, P, PAL, seedWorld, T, V } from "./fixture.ts";

describe("partner registry and tenant list", () => {
  let server: TestServer;
  let admin: Record<string, string>;
  before(async () => {
    server = await startTestServer();
    await seedWorld(server.openpal.context.store);
    admin = { authorization: `Bearer ${server.openpal.context.adminKey}`, "content-type": "application/json" };
  });
  after(async () => server.close());

  describe("admin endpoints need the operator key", () => {
    it("401 without it or with a wrong one, naming where the key is", async () => {
      for (const headers of [{} as Record<string, string>, { authorization: "Bearer wrong" }, { authorization: `Bearer ${server.openpal.context.adminKey}x` }]) {
        const r = await server.fetch("/admin/partners", { headers });
        assert.equal(r.status, 401);
        assert.match(await r.text(), /admin\.key/);
      }
    });
  });

  describe("PUT /admin/partners/{globalId} registers an organisation whose locations can then be linked", () => {
    it("creates, lists, and the new location links with its name", async () => {
      const body = { name: "Woodgrove Partners", tenantIds: [T.woodgrove], locations: [{ id: "7000001", country: "NL" }, { id: "7000002", active: false }] };
      const r = await server.fetch("/admin/partners/7000000", { method: "PUT", headers: admin, body: JSON.stringify(body) });
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { globalId: "7000000", name: "Woodgrove Partners", tenantIds: [T.woodgrove], locations: [{ id: "7000001", country: "NL", active: true }, { id: "7000002", country: null, active: false }] });
      const list = (await (await server.fetch("/admin/partners", { headers: admin })).json()) as { value: { globalId: string }[] };
      assert.deepEqual(list.value.map((o) => o.globalId), ["4000000", "5000000", "7000000"]);
      const token = await mintToken(server, { tid: T.fabrikam, oid: O.alice });
      const put = await arm(server, "PUT", `${PAL}/partners/7000001?${V}`, token);
      assert.equal((put.json() as { properties: { partnerName: string } }).properties.partnerName, "Woodgrove Partners");
      await arm(server, "DELETE", `${PAL}/partners/7000001?${V}`, token);
      const audit = await server.openpal.context.store.audit.list({ limit: 100000 });
      assert.ok(audit.some((a) => a.action === "partner.create" && a.target === "/admin/partners/7000000"));
    });

    it("bad bodies are 400 naming every problem's path; ids owned by another organisation are 409", async () => {
      const bad = await server.fetch("/admin/partners/x1", { method: "PUT", headers: admin, body: JSON.stringify({ name: "", locations: [{ id: "abc" }] }) });
      assert.equal(bad.status, 400);
      const message = ((await bad.json()) as { error: { message: string } }).error.message;
      for (const part of ["globalId 'x1'", "$.name", "$.locations[0].id"]) assert.ok(message.includes(part), part);
      const taken = await server.fetch("/admin/partners/8000000", { method: "PUT", headers: admin, body: JSON.stringify({ name: "Thief", locations: [{ id: P.contosoUs }] }) });
      assert.equal(taken.status, 409);
    });
  });

  describe("deactivating a location stops new links to it (effective-dated); activating allows them again", () => {
    it("deactivate, refuse, activate, accept", async () => {
      const token = await mintToken(server, { tid: T.fabrikam, oid: O.alice });
      const off = await server.fetch(`/admin/partners/locations/${P.northwindUs}/deactivate`, { method: "POST", headers: admin });
      assert.deepEqual(await off.json(), { id: P.northwindUs, globalId: P.northwindGlobal, active: false });
      const refused = await arm(server, "PUT", `${PAL}/partners/${P.northwindUs}?${V}`, token);
      assert.equal(refused.status, 400);
      assert.match(refused.text, /inactive/);
      await server.fetch(`/admin/partners/locations/${P.northwindUs}/activate`, { method: "POST", headers: admin });
      assert.equal((await arm(server, "PUT", `${PAL}/partners/${P.northwindUs}?${V}`, token)).status, 200);
      await arm(server, "DELETE", `${PAL}/partners/${P.northwindUs}?${V}`, token);
      const history = await server.openpal.context.store.partners.listLocationStatus(P.northwindUs);
      assert.deepEqual(history.map((h) => [h.active, h.validTo === null]), [[false, false], [true, true]]);
      const unknown = await server.fetch("/admin/partners/locations/9999999/deactivate", { method: "POST", headers: admin });
      assert.equal(unknown.status, 404);
    });
  });

  describe("GET /tenants lists the tenants the caller can get a token for", () => {
    const tenantIds = async (token: string) => ((await arm(server, "GET", "/tenants?api-version=2020-01-01", token)).json() as { value: { tenantId: string }[] }).value.map((t) => t.tenantId);

    it("a user: home tenant plus every tenant with a guest object of it, from any of those tokens", async () => {
      const expected = [T.contoso, T.fabrikam, T.woodgrove];
      assert.deepEqual(await tenantIds(await mintToken(server, { tid: T.contoso, oid: O.bob })), expected);
      assert.deepEqual(await tenantIds(await mintToken(server, { tid: T.fabrikam, oid: O.bobGuest })), expected);
      assert.deepEqual(await tenantIds(await mintToken(server, { tid: T.fabrikam, oid: O.alice })), [T.fabrikam]);
    });

    it("a service principal: every tenant where its app has a live service principal", async () => {
      assert.deepEqual(await tenantIds(await mintToken(server, { tid: T.contoso, oid: O.spContoso, idtyp: "app" })), [T.contoso, T.fabrikam]);
    });

    it("answers ARM's shape and requires a known api-version", async () => {
      const r = await arm(server, "GET", "/tenants?api-version=2020-01-01", await mintToken(server, { tid: T.fabrikam, oid: O.alice }));
      assert.equal(r.text, JSON.stringify({ value: [{ id: `/tenants/${T.fabrikam}`, tenantId: T.fabrikam, displayName: "Fabrikam", defaultDomain: "fabrikam.example", tenantCategory: "Home" }] }));
      const missing = await arm(server, "GET", "/tenants", await mintToken(server, { tid: T.fabrikam, oid: O.alice }));
      assert.equal(missing.status, 400);
      assert.equal((await arm(server, "GET", "/tenants?api-version=2020-01-01", undefined)).status, 401);
    });
  });
});
