/**
 * NUL (U+0000) in a request value: PostgreSQL's text cannot hold it (SQLite can), so before the
 * guard a Graph group named "a\0b" was created on SQLite and answered 500 on PostgreSQL, and a
 * token request or user-realm lookup with one answered 500 there too (found by
 * fuzz-routes.test.ts). The rule: every route refuses it with a 400 in its API's own shape,
 * naming where the character is, on both stores alike, and stores nothing.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../support/server.ts";
import { storeBackends } from "../support/stores.ts";
import { UnstorableValueError } from "../../src/store/own-schema-introspector.ts";
import { openStore } from "../../src/store/index.ts";
import { freshPostgresUrl } from "../support/stores.ts";
import { ARM_SCOPE, DEMO_WORLD_FILE, GRAPH_SCOPE, demoPrincipals, tokenFor } from "./support.ts";

const CONTOSO = "10000000-0000-4000-8000-000000000001";
const AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

for (const backend of storeBackends()) {
  describe(`a NUL in a request value (${backend.name})`, () => {
    let server: TestServer;
    let graph = "";
    let arm = "";
    before(async () => {
      server = await startTestServer({ backend, options: { world: DEMO_WORLD_FILE } });
      const alice = demoPrincipals()[0] as never;
      graph = await tokenFor(server, alice, GRAPH_SCOPE);
      arm = await tokenFor(server, alice, ARM_SCOPE);
    });
    after(async () => server?.close());

    const call = async (method: string, path: string, opts: { token?: string; form?: string; json?: unknown } = {}) => {
      const headers: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
      if (opts.form !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
      if (opts.json !== undefined) headers["content-type"] = "application/json";
      const res = await server.fetch(path, { method, headers, ...(opts.form !== undefined ? { body: opts.form } : opts.json !== undefined ? { body: JSON.stringify(opts.json) } : {}) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error: unknown } };
    };

    it("the token service refuses it in OAuth's shape (AADSTS90023), naming the path, the query or the form field", async () => {
      const cases: [string, string, string | undefined, RegExp][] = [
        ["GET", "/%00/v2.0/.well-known/openid-configuration", undefined, /request's path holds a NUL/],
        ["GET", "/common/userrealm/a%00b@contoso.example", undefined, /request's path holds a NUL/],
        ["GET", `/${CONTOSO}/oauth2/v2.0/authorize?client_id=${AZURE_CLI}&response_type=code&login_hint=a%00b`, undefined, /query parameter 'login_hint' holds a NUL/],
        ["POST", `/${CONTOSO}/oauth2/v2.0/token`, `grant_type=password&client_id=${AZURE_CLI}&username=a%00b&password=x&scope=openid`, /body field 'username' holds a NUL/],
      ];
      for (const [method, path, form, message] of cases) {
        const r = await call(method, path, form === undefined ? {} : { form });
        assert.equal(r.status, 400, `${method} ${path}`);
        assert.equal(r.body.error, "invalid_request", `${method} ${path}`);
        assert.deepEqual(r.body.error_codes, [90023], `${method} ${path}`);
        assert.match(String(r.body.error_description), /^AADSTS90023: /);
        assert.match(String(r.body.error_description), message, `${method} ${path}`);
      }
    });

    it("Graph and ARM refuse it in their shape and store nothing: no group named with it is created", async () => {
      const created = await call("POST", "/v1.0/groups", { token: graph, json: { displayName: "Fuzz\u0000group", mailEnabled: false, securityEnabled: true, mailNickname: "fuzz" } });
      assert.equal(created.status, 400);
      assert.deepEqual(Object.keys(created.body.error as object).slice(0, 2), ["code", "message"]);
      assert.match((created.body.error as { message: string }).message, /body field 'displayName' holds a NUL character \(U\+0000\)/);
      const groups = await call("GET", "/v1.0/groups", { token: graph });
      assert.equal(groups.status, 200);
      assert.ok(!JSON.stringify(groups.body).includes("Fuzz"), "no group was stored");
      const user = await call("GET", "/v1.0/users/a%00b@contoso.example", { token: graph });
      assert.equal(user.status, 400);
      const link = await call("PUT", "/providers/Microsoft.ManagementPartner/partners/4000%00001?api-version=2018-02-01", { token: arm });
      assert.equal(link.status, 400);
      assert.equal((link.body.error as { code: string }).code, "InvalidRequestContent");
      assert.match((link.body.error as { message: string }).message, /path holds a NUL/);
    });
  });
}

describe("the PostgreSQL store's last line of defence", { skip: !process.env.OPENPAL_TEST_POSTGRES_URL && "OPENPAL_TEST_POSTGRES_URL is not set" }, () => {
  it("a statement refused for a NUL in a value is the client's 400 (UnstorableValueError), not a driver error", async () => {
    const fresh = await freshPostgresUrl(process.env.OPENPAL_TEST_POSTGRES_URL as string);
    const store = await openStore({ kind: "postgres", postgresUrl: fresh.url });
    try {
      await assert.rejects(store.directory.findTenant("a\u0000b"), (e: unknown) => e instanceof UnstorableValueError && e.statusCode === 400 && /NUL, U\+0000/.test(e.message));
      assert.equal(await store.directory.findTenant("no-such.example"), undefined, "the connection still works after the refusal");
    } finally {
      await store.close();
      await fresh.drop();
    }
  });
});
