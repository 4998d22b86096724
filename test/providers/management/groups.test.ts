/**
 * Microsoft.Management managementGroups with raw HTTPS requests on every store backend: create
 * under a parent (write needed on the parent), get, list, move, and every error path.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { storeBackends } from "../../support/stores.ts";
import { arm, mintToken, MG, O, seedArmWorld, T } from "../authorization/fixture.ts";

const V = "api-version=2021-04-01";
const mg = (id: string) => `/providers/Microsoft.Management/managementGroups/${id}?${V}`;
const json = { "content-type": "application/json" };
const under = (parent: string, displayName = "Team") => ({ body: JSON.stringify({ properties: { displayName, details: { parent: { id: `/providers/Microsoft.Management/managementGroups/${parent}` } } } }), headers: json });
const code = (text: string) => (JSON.parse(text) as { error: { code: string } }).error.code;

for (const backend of storeBackends()) {
  describe(`management groups (${backend.name})`, () => {
    let server: TestServer;
    let alice: string;
    let guest: string;
    before(async () => {
      server = await startTestServer({ backend });
      await seedArmWorld(server.openpal.context.store);
      alice = await mintToken(server, { tid: T.fabrikam, oid: O.alice }); // Contributor on mg-prod
      guest = await mintToken(server, { tid: T.fabrikam, oid: O.bobGuest }); // Reader on a subscription only
    });
    after(async () => server.close());

    it("Contributor on the parent creates a child synchronously (200); get shows the parent; list shows what the caller can read", async () => {
      const put = await arm(server, "PUT", mg("mg-team"), alice, under(MG));
      assert.equal(put.status, 200, put.text);
      const got = (await arm(server, "GET", mg("mg-team"), alice)).json() as { name: string; properties: { displayName: string; details: { parent: { name: string } } } };
      assert.equal(got.properties.displayName, "Team");
      assert.equal(got.properties.details.parent.name, MG);
      const list = (await arm(server, "GET", `/providers/Microsoft.Management/managementGroups?${V}`, alice)).json() as { value: { name: string }[] };
      assert.deepEqual(list.value.map((g) => g.name).sort(), [MG, "mg-team"]);
      const audit = (await server.openpal.context.store.audit.list({ tenantId: T.fabrikam })).filter((e) => e.action === "managementGroup.create");
      assert.equal(audit.length, 1);
    });

    it("error paths: no write on the parent (root), unknown parent, a cycle, unknown group, bad JSON", async () => {
      const cases: [string, () => ReturnType<typeof arm>, number, string][] = [
        ["create under the root without a role there", () => arm(server, "PUT", mg("mg-x"), alice, { body: "{}", headers: json }), 403, "AuthorizationFailed"],
        ["Reader of a subscription creates", () => arm(server, "PUT", mg("mg-y"), guest, under(MG)), 403, "AuthorizationFailed"],
        ["unknown parent", () => arm(server, "PUT", mg("mg-z"), alice, under("nope")), 400, "InvalidManagementGroupParent"],
        ["move under its own child", () => arm(server, "PUT", mg(MG), alice, under("mg-team")), 400, "InvalidManagementGroupParent"],
        ["the tenant root group", () => arm(server, "PUT", mg(T.fabrikam), alice, under(MG)), 400, "InvalidManagementGroupParent"],
        ["unknown group", () => arm(server, "GET", mg("nope"), alice), 404, "ManagementGroupNotFound"],
        ["bad JSON", () => arm(server, "PUT", mg("mg-q"), alice, { body: "{", headers: json }), 400, "InvalidRequestContent"],
        ["bad api-version", () => arm(server, "GET", `/providers/Microsoft.Management/managementGroups?api-version=2017-01-01`, alice), 400, "NoRegisteredProviderFound"],
      ];
      for (const [label, send, status, expected] of cases) {
        const r = await send();
        assert.equal(r.status, status, `${label}: ${r.text}`);
        assert.equal(code(r.text), expected, label);
      }
    });
  });
}
