/**
 * Debian's Azure SDK for Python (`python3-azure`) against the server, with the credentials a
 * script would use (docs/CLIENTS.md): ClientSecretCredential and UsernamePasswordCredential with
 * the server as authority and instance discovery off; the partner, subscription, resource group,
 * provider and role assignment operations. The calls run in python_sdk.py; each is asserted here.
 *
 * MSAL for Python asks home realm discovery at https://<host>/common/userrealm/… without the port,
 * so password sign-in needs the server on port 443; the sandbox maps 443 to the test server.
 */
import { after, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { apiVersionsOf } from "../../src/arm/api-versions.ts";
import { HERE, PYTHON, requireClients, run, startClientServer, W, type ClientServer } from "./support.ts";

let ctx: ClientServer | undefined;
after(async () => {
  await ctx?.close();
});

type Outcome = { ok: unknown; status?: number; code?: string; message?: string; error?: string; trace?: string };

let results: Record<string, Outcome> | undefined;
async function sdkRun(c: ClientServer): Promise<Record<string, Outcome>> {
  if (results) return results;
  const config = {
    url: c.server.url, tenant: W.fabrikam, appId: W.appId, secret: W.secret, subscription: W.subFabrikam, resourceGroup: "rg-web",
    user: "alice@contoso.example", password: W.alicePassword, userSubscription: W.subContoso, partnerIds: ["4000001", "4000002"],
  };
  const r = await run(PYTHON, [path.join(HERE, "python_sdk.py"), JSON.stringify(config)], c.env);
  assert.equal(r.status, 0, `python_sdk.py failed.\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  results = r.json<Record<string, Outcome>>();
  return results;
}

function value(all: Record<string, Outcome>, name: string): unknown {
  const o = all[name];
  assert.ok(o, `${name} was not run`);
  assert.ok(o.ok !== null || (o.status === undefined && o.error === undefined), `${name} failed: ${JSON.stringify(o, null, 2)}`);
  return o.ok;
}

async function setUp(t: TestContext): Promise<Record<string, Outcome> | undefined> {
  if (!requireClients(t, "python")) return undefined;
  ctx ??= await startClientServer({ map443: true });
  return sdkRun(ctx);
}

for (const who of ["sp", "user"] as const) {
  const label = who === "sp" ? "ClientSecretCredential (service principal, tenant given)" : "UsernamePasswordCredential without a tenant (organizations)";
  test(`${label}: token of the right tenant; subscriptions, tenants, resource groups and check_existence`, async (t) => {
    const all = await setUp(t);
    if (!all) return;
    const sub = who === "sp" ? W.subFabrikam : W.subContoso;
    assert.equal(value(all, `${who}.token_tid`), who === "sp" ? W.fabrikam : W.contoso);
    assert.ok((value(all, `${who}.subscriptions.list`) as string[]).includes(sub));
    assert.equal(value(all, `${who}.subscriptions.get`), who === "sp" ? "fabrikam-prod" : "contoso-internal");
    assert.ok((value(all, `${who}.tenants.list`) as string[]).includes(who === "sp" ? W.fabrikam : W.contoso));
    if (who === "sp") {
      assert.deepEqual(value(all, "sp.resource_groups.list"), ["rg-data", "rg-web"]);
      assert.equal(value(all, "sp.resource_groups.get"), "rg-web");
      assert.equal(value(all, "sp.resource_groups.check_existence"), true);
      assert.equal(value(all, "sp.resource_groups.check_existence_missing"), false);
    } else {
      assert.deepEqual(value(all, "user.resource_groups.list"), ["rg-tools"]);
    }
  });

  test(`${label}: providers get, list and register`, async (t) => {
    const all = await setUp(t);
    if (!all) return;
    assert.equal(value(all, `${who}.providers.get`), "Registered");
    assert.ok((value(all, `${who}.providers.list`) as string[]).includes("Microsoft.ManagementPartner"));
    assert.equal(value(all, `${who}.providers.register`), "Registered");
  });

  test(`${label}: role assignments and definitions of the subscription`, async (t) => {
    const all = await setUp(t);
    if (!all) return;
    const principals = value(all, `${who}.role_assignments.list`) as string[];
    // Without a filter, the subscription's list includes the assignments below it (Alice's guest
    // object is Reader on rg-web).
    if (who === "sp") assert.deepEqual(principals, [W.erin, W.aliceGuest, W.spFabrikam].sort());
    else assert.deepEqual(principals, [W.alice]);
    assert.ok((value(all, `${who}.role_definitions.list`) as number) > 0);
  });

  test(`${label}: the partner operations (create, get, update, delete); update when not linked is 404`, async (t) => {
    const all = await setUp(t);
    if (!all) return;
    assert.equal(all[`${who}.partner.update_not_linked`]?.status, 404, JSON.stringify(all[`${who}.partner.update_not_linked`]));
    assert.equal(all[`${who}.partner.update_not_linked`]?.code, "ManagementPartnerNotFound");
    assert.equal(value(all, `${who}.partner.create`), "4000001");
    assert.equal(value(all, `${who}.partner.get`), "4000001");
    assert.equal(value(all, `${who}.partners.get`), "4000001");
    assert.equal(value(all, `${who}.partner.update`), "4000002");
    value(all, `${who}.partner.delete`);
    assert.equal(all[`${who}.partners.get_after_delete`]?.status, 404);
  });
}

test("UsernamePasswordCredential with a tenant where the user is a guest: token of that tenant, its resources", async (t) => {
  const all = await setUp(t);
  if (!all) return;
  assert.equal(value(all, "guest.token_tid"), W.fabrikam);
  assert.equal(value(all, "guest.resource_groups.get"), "rg-web");
});

test("every api-version Debian's Python SDK and az send is one the server accepts for that resource type", async (t) => {
  if (!requireClients(t, "python")) return;
  ctx ??= await startClientServer({ map443: true });
  const r = await run(PYTHON, [path.join(HERE, "python_sdk.py"), JSON.stringify({ mode: "versions", url: ctx.server.url })], ctx.env);
  const rows = r.json<[string, string, string, string][]>();
  assert.ok(rows.length >= 7, r.stderr);
  for (const [client, namespace, type, version] of rows) {
    assert.ok(apiVersionsOf(namespace, type).includes(version), `${client} sends ${namespace}/${type} with api-version ${version}; add it to src/arm/api-versions.ts`);
  }
});

test("the Python SDK reached nothing but the server", async (t) => {
  if (!requireClients(t, "python")) return;
  assert.deepEqual(ctx?.sandbox.refused ?? [], []);
});
