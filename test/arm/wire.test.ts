/**
 * What the SDKs hide, checked with raw HTTPS requests: headers, exact bytes, status codes, path
 * casing, trailing slash and the bodies (none, empty JSON, curl JSON, form) clients send.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startTestServer, type TestServer } from "../support/server.ts";
import { arm, mintToken, O, P, PAL, seedWorld, T, V } from "../providers/managementpartner/fixture.ts";

describe("the ARM layer on the wire", () => {
  let server: TestServer;
  let alice: string;
  before(async () => {
    server = await startTestServer();
    await seedWorld(server.openpal.context.store);
    alice = await mintToken(server, { tid: T.fabrikam, oid: O.alice });
  });
  after(async () => server.close());

  describe("every answer carries the no-cache trio and ARM ids; JSON is utf-8; no ETag, Location or async headers", () => {
    it("on success, on provider errors and on ARM errors", async () => {
      for (const r of [await arm(server, "PUT", `${PAL}/partners/${P.contosoUs}?${V}`, alice), await arm(server, "GET", `${PAL}/partners/9?${V}`, alice), await arm(server, "GET", `${PAL}/partners`, alice)]) {
        assert.equal(r.headers.get("cache-control"), "no-cache");
        assert.equal(r.headers.get("pragma"), "no-cache");
        assert.equal(r.headers.get("expires"), "-1");
        assert.equal(r.headers.get("content-type"), "application/json; charset=utf-8");
        assert.match(r.headers.get("x-ms-request-id") ?? "", /^[0-9a-f-]{36}$/);
        for (const absent of ["etag", "location", "azure-asyncoperation"]) assert.equal(r.headers.get(absent), null, absent);
      }
      await arm(server, "DELETE", `${PAL}/partners/${P.contosoUs}?${V}`, alice);
    });
  });

  describe("only 200 is success: PUT, PATCH, GET and DELETE never answer 201 or 204", () => {
    it("walks a lifecycle", async () => {
      const statuses = [];
      for (const [method, id] of [["PUT", P.contosoUs], ["GET", P.contosoUs], ["PATCH", P.contosoGb], ["DELETE", P.contosoGb], ["DELETE", P.contosoGb]] as const) {
        statuses.push((await arm(server, method, `${PAL}/partners/${id}?${V}`, alice)).status);
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
    });
  });

  describe("providers, the namespace and the types match case-insensitively; id and type come back canonical", () => {
    it("lower case (docs, az rest) and upper case paths reach the same resource", async () => {
      const put = await arm(server, "PUT", `/providers/microsoft.managementpartner/partners/${P.contosoUs}?${V}`, alice);
      assert.equal(put.status, 200);
      const upper = await arm(server, "GET", `/PROVIDERS/MICROSOFT.MANAGEMENTPARTNER/PARTNERS/${P.contosoUs}?${V}`, alice);
      assert.equal(upper.status, 200);
      assert.equal(upper.text, put.text);
      const body = upper.json() as { id: string; type: string };
      assert.equal(body.id, `/providers/microsoft.managementpartner/partners/${P.contosoUs}`);
      assert.equal(body.type, "Microsoft.ManagementPartner/partners");
      assert.equal((await arm(server, "GET", `/Providers/Microsoft.ManagementPartner/Operations?${V}`, alice)).status, 200);
      await arm(server, "DELETE", `${PAL}/partners/${P.contosoUs}?${V}`, alice);
    });
  });

  describe("GET /partners and GET /partners/ (empty id, trailing slash) both answer the caller's one resource", () => {
    it("same bytes, an object not a list", async () => {
      await arm(server, "PUT", `${PAL}/partners/${P.contosoUs}?${V}`, alice);
      const plain = await arm(server, "GET", `${PAL}/partners?${V}`, alice);
      const slash = await arm(server, "GET", `${PAL}/partners/?${V}`, alice);
      assert.equal(plain.status, 200);
      assert.equal(slash.text, plain.text);
      assert.equal((plain.json() as { name: string }).name, P.contosoUs);
      await arm(server, "DELETE", `${PAL}/partners/${P.contosoUs}?${V}`, alice);
    });
  });

  describe("PUT and PATCH ignore the body: none, Content-Length 0 with a JSON type, curl JSON, a form, even broken JSON", () => {
    it("each one links by the URL's id", async () => {
      const bodies: { body?: string; headers?: Record<string, string> }[] = [
        {},
        { body: "", headers: { "content-type": "application/json" } },
        { body: JSON.stringify({ partnerId: "9999999" }), headers: { "content-type": "application/json" } },
        { body: "partnerId=4000002", headers: { "content-type": "application/x-www-form-urlencoded" } },
        { body: "{not json", headers: { "content-type": "application/json" } },
        { body: "hello", headers: { "content-type": "text/plain" } },
      ];
      for (const init of bodies) {
        const put = await arm(server, "PUT", `${PAL}/partners/${P.contosoUs}?${V}`, alice, init);
        assert.equal(put.status, 200, JSON.stringify(init));
        assert.equal((put.json() as { name: string }).name, P.contosoUs);
        const del = await arm(server, "DELETE", `${PAL}/partners/${P.contosoUs}?${V}`, alice, init);
        assert.equal(del.status, 200);
      }
    });
  });

  describe("GET /operations answers the published list, byte for byte", () => {
    it("matches the spec example's value, compact, one page", async () => {
      const r = await arm(server, "GET", `${PAL}/operations?${V}`, alice);
      const example = JSON.parse(readFileSync(new URL("../fixtures/spec/managementpartner-2018-02-01/GetOperations.json", import.meta.url), "utf8")) as { responses: { 200: { body: unknown } } };
      assert.equal(r.text, JSON.stringify(example.responses[200].body));
    });
  });

  describe("GET never changes the link", () => {
    it("version and updatedTime are the same before and after reads", async () => {
      const put = await arm(server, "PUT", `${PAL}/partners/${P.contosoUs}?${V}`, alice);
      for (let i = 0; i < 3; i++) await arm(server, "GET", `${PAL}/partners?${V}`, alice);
      assert.equal((await arm(server, "GET", `${PAL}/partners/${P.contosoUs}?${V}`, alice)).text, put.text);
      await arm(server, "DELETE", `${PAL}/partners/${P.contosoUs}?${V}`, alice);
    });
  });

  describe("addressing errors name the fix", () => {
    it("unknown namespace, unknown type, unsupported method", async () => {
      const ns = await arm(server, "GET", `/providers/Microsoft.Nope/things?${V}`, alice);
      assert.equal(ns.status, 400);
      assert.match(ns.text, /"code":"InvalidResourceNamespace".*Microsoft\.ManagementPartner/);
      const type = await arm(server, "GET", `${PAL}/widgets?${V}`, alice);
      assert.equal(type.status, 404);
      assert.match(type.text, /"code":"InvalidResourceType".*partners, operations/);
      const method = await arm(server, "POST", `${PAL}/partners/${P.contosoUs}?${V}`, alice);
      assert.equal(method.status, 405);
      assert.match(method.text, /"code":"HttpMethodNotAllowed".*GET, PUT, PATCH, DELETE/);
      const putCollection = await arm(server, "PUT", `${PAL}/partners/?${V}`, alice);
      assert.equal(putCollection.status, 405);
    });

    it("an Authorization header that is not a Bearer token is 401 AuthenticationFailed", async () => {
      const r = await arm(server, "GET", `${PAL}/partners?${V}`, undefined, { headers: { authorization: "Basic dXNlcjpwYXNz" } });
      assert.equal(r.status, 401);
      assert.match(r.text, /"code":"AuthenticationFailed"/);
      assert.match(r.headers.get("www-authenticate") ?? "", /^Bearer authorization_uri=/);
    });
  });
});
