/**
 * Debian's Azure CLI (`azure-cli`) against the server, as a user drives it (docs/CLIENTS.md):
 * register the cloud, answer instance discovery (az < 2.54), sign in as a service principal and
 * as a user (with and without --tenant), read accounts, groups, providers and role assignments,
 * link a partner through `az rest`, sign out. No network but the server (support.ts).
 */
import { after, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { decodeJwt } from "jose";
import { HERE, PYTHON, requireClients, run, startClientServer, W, type ClientServer, type RunResult } from "./support.ts";

let ctx: ClientServer | undefined;
let skipped = false;

async function setUp(t: TestContext): Promise<ClientServer | undefined> {
  if (skipped || !requireClients(t, "az")) {
    skipped = true;
    return undefined;
  }
  ctx ??= await startClientServer();
  return ctx;
}

after(async () => {
  await ctx?.close();
});

function az(c: ClientServer, ...args: string[]): Promise<RunResult> {
  return run("az", args, c.env);
}

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.status, 0, `${what} failed (exit ${r.status}).\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

interface Account { id: string; tenantId: string; homeTenantId?: string; user: { name: string; type: string }; isDefault: boolean }

test("az cloud register with the server's endpoints, and the instance-discovery helper, prepare a clean config dir", async (t) => {
  const c = await setUp(t);
  if (!c) return;
  const url = c.server.url;
  const cloud = path.join(c.configDir, "openpal-cloud.json");
  writeFileSync(cloud, JSON.stringify({
    endpoints: {
      activeDirectory: url, resourceManager: `${url}/`, management: "https://management.core.windows.net/",
      activeDirectoryResourceId: "https://management.core.windows.net/",
      activeDirectoryGraphResourceId: `${url}/`, microsoftGraphResourceId: `${url}/`,
    },
  }));
  ok(await az(c, "cloud", "register", "--name", "OpenPAL", "--cloud-config", `@${cloud}`), "az cloud register");
  ok(await az(c, "cloud", "set", "--name", "OpenPAL"), "az cloud set");
  const shown = ok(await az(c, "cloud", "show", "--name", "OpenPAL", "--output", "json"), "az cloud show").json<{ endpoints: Record<string, string>; isActive: boolean }>();
  assert.equal(shown.isActive, true);
  assert.equal(shown.endpoints.activeDirectory, url);
  // az 2.45 cannot turn instance discovery off; the helper stores the server's answers where MSAL
  // keeps its own (docs/CLIENTS.md). Users signing in with -u need their home realm answered too.
  const primed = ok(await run(PYTHON, [path.join(HERE, "..", "..", "scripts", "az-instance-discovery.py"), "--server", url,
    "--tenant", W.fabrikam, "--tenant", W.contoso, "--user", "alice@contoso.example", "--user", "erin@fabrikam.example"], c.env), "az-instance-discovery.py");
  assert.match(primed.stdout, new RegExp(`organizations: ${url}/organizations/v2.0/.well-known/openid-configuration`));
  assert.match(primed.stdout, /alice@contoso.example: Managed/);
});

test("az login --service-principal --tenant lists the subscriptions the principal's roles reach, with a token of that tenant", async (t) => {
  const c = await setUp(t);
  if (!c) return;
  const accounts = ok(await az(c, "login", "--service-principal", "-u", W.appId, "-p", W.secret, "--tenant", W.fabrikam, "--output", "json"), "az login --service-principal").json<Account[]>();
  assert.deepEqual(accounts.map((a) => [a.id, a.tenantId, a.user.type]), [[W.subFabrikam, W.fabrikam, "servicePrincipal"]]);
  const shown = ok(await az(c, "account", "show", "--output", "json"), "az account show").json<Account>();
  assert.equal(shown.id, W.subFabrikam);
  const token = ok(await az(c, "account", "get-access-token", "--output", "json"), "az account get-access-token").json<{ accessToken: string; tenant: string }>();
  const claims = decodeJwt(token.accessToken);
  assert.equal(claims.tid, W.fabrikam);
  assert.equal(claims.oid, W.spFabrikam);
});

test("az group show, list and exists (HEAD: 204 when the group exists, 404 when not)", async (t) => {
  const c = await setUp(t);
  if (!c) return;
  const group = ok(await az(c, "group", "show", "--name", "rg-web", "--output", "json"), "az group show").json<{ id: string; name: string }>();
  assert.equal(group.id, `/subscriptions/${W.subFabrikam}/resourceGroups/rg-web`);
  const groups = ok(await az(c, "group", "list", "--output", "json"), "az group list").json<{ name: string }[]>();
  assert.deepEqual(groups.map((g) => g.name).sort(), ["rg-data", "rg-web"]);
  assert.equal(ok(await az(c, "group", "exists", "--name", "rg-web"), "az group exists").stdout.trim(), "true");
  assert.equal(ok(await az(c, "group", "exists", "--name", "rg-nowhere"), "az group exists").stdout.trim(), "false");
  const missing = await az(c, "group", "show", "--name", "rg-nowhere");
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /ResourceGroupNotFound/);
});

test("az provider list, show and register: the namespaces the server plays, registered, with their types and api-versions", async (t) => {
  const c = await setUp(t);
  if (!c) return;
  const providers = ok(await az(c, "provider", "list", "--output", "json"), "az provider list").json<{ namespace: string; registrationState: string }[]>();
  assert.deepEqual(providers.map((p) => p.namespace).sort(), [
    "Microsoft.Authorization", "Microsoft.ManagedServices", "Microsoft.Management", "Microsoft.ManagementPartner", "Microsoft.OpenPAL", "Microsoft.Resources",
  ]);
  assert.ok(providers.every((p) => p.registrationState === "Registered"));
  const pal = ok(await az(c, "provider", "show", "--namespace", "Microsoft.ManagementPartner", "--output", "json"), "az provider show")
    .json<{ resourceTypes: { resourceType: string; apiVersions: string[] }[] }>();
  assert.deepEqual(pal.resourceTypes.find((r) => r.resourceType === "partners")?.apiVersions, ["2018-02-01"]);
  ok(await az(c, "provider", "register", "--namespace", "Microsoft.ManagementPartner", "--wait"), "az provider register");
  const unknown = await az(c, "provider", "show", "--namespace", "Microsoft.Compute");
  assert.notEqual(unknown.status, 0);
  assert.match(unknown.stderr, /InvalidResourceNamespace/);
});

test("az role assignment list reads the subscription's assignments (az rest where Debian's az itself breaks)", async (t) => {
  const c = await setUp(t);
  if (!c) return;
  const scope = `/subscriptions/${W.subFabrikam}`;
  const listed = await az(c, "role", "assignment", "list", "--scope", scope, "--output", "json");
  const expected = [W.erin, W.spFabrikam].sort();
  if (listed.status === 0) {
    const principals = listed.json<{ principalId: string }[]>().map((a) => a.principalId).sort();
    assert.deepEqual(principals, expected);
  } else {
    // Debian's azure-cli 2.45 with Debian's newer azure-mgmt-authorization: the command itself
    // fails before it prints (a client defect, docs/CLIENTS.md). The requests it sends work:
    assert.match(listed.stderr, /'RoleDefinitionsOperations' object has no attribute 'config'/, `unexpected failure: ${listed.stderr}`);
  }
  const rest = ok(await az(c, "rest", "--method", "get", "--url", `${c.server.url}${scope}/providers/Microsoft.Authorization/roleAssignments?api-version=2020-04-01-preview&$filter=atScope()`), "az rest roleAssignments")
    .json<{ value: { properties: { principalId: string } }[] }>();
  assert.deepEqual(rest.value.map((a) => a.properties.principalId).sort(), expected);
});

test("PAL through az rest: link, read, change, unlink; PATCH when not linked is 404 whatever the id", async (t) => {
  const c = await setUp(t);
  if (!c) return;
  const partners = `${c.server.url}/providers/Microsoft.ManagementPartner/partners`;
  const v = "api-version=2018-02-01";
  type Partner = { properties: { partnerId: string; state: string } };
  const created = ok(await az(c, "rest", "--method", "put", "--url", `${partners}/4000001?${v}`), "PUT partner").json<Partner>();
  assert.equal(created.properties.partnerId, "4000001");
  assert.equal(created.properties.state, "Active");
  assert.equal(ok(await az(c, "rest", "--method", "get", "--url", `${partners}/?${v}`), "GET partners").json<Partner>().properties.partnerId, "4000001");
  assert.equal(ok(await az(c, "rest", "--method", "patch", "--url", `${partners}/4000002?${v}`), "PATCH partner").json<Partner>().properties.partnerId, "4000002");
  ok(await az(c, "rest", "--method", "delete", "--url", `${partners}/4000002?${v}`), "DELETE partner");
  const notLinked = await az(c, "rest", "--method", "patch", "--url", `${partners}/123?${v}`);
  assert.notEqual(notLinked.status, 0);
  assert.match(notLinked.stderr, /Not Found|ManagementPartnerNotFound/);
});

test("az logout removes the service principal; az login -u without --tenant signs in at the user's home tenant and finds its guest tenants", async (t) => {
  const c = await setUp(t);
  if (!c) return;
  ok(await az(c, "logout"), "az logout");
  assert.deepEqual(ok(await az(c, "account", "list", "--output", "json"), "az account list").json<Account[]>(), []);
  const accounts = ok(await az(c, "login", "-u", "alice@contoso.example", "-p", W.alicePassword, "--output", "json"), "az login -u (no tenant)").json<Account[]>();
  const byId = new Map(accounts.map((a) => [a.id, a]));
  assert.equal(byId.get(W.subContoso)?.tenantId, W.contoso);
  assert.equal(byId.get(W.subFabrikam)?.tenantId, W.fabrikam, "the guest tenant's subscription (Reader on a group in it)");
  // az's homeTenantId is the subscription's own tenant (it differs from tenantId only under Lighthouse).
  assert.ok(accounts.every((a) => a.homeTenantId === a.tenantId && a.user.type === "user" && a.user.name === "alice@contoso.example"), JSON.stringify(accounts));
  const home = ok(await az(c, "account", "get-access-token", "--tenant", W.contoso, "--output", "json"), "get-access-token home").json<{ accessToken: string }>();
  assert.equal(decodeJwt(home.accessToken).tid, W.contoso);
  assert.equal(decodeJwt(home.accessToken).oid, W.alice);
  const guest = ok(await az(c, "account", "get-access-token", "--subscription", W.subFabrikam, "--output", "json"), "get-access-token guest").json<{ accessToken: string }>();
  assert.equal(decodeJwt(guest.accessToken).tid, W.fabrikam);
  assert.equal(decodeJwt(guest.accessToken).oid, W.aliceGuest);
});

test("az login -u --tenant signs a user in to one tenant; az account clear forgets every account", async (t) => {
  const c = await setUp(t);
  if (!c) return;
  const accounts = ok(await az(c, "login", "-u", "erin@fabrikam.example", "-p", W.erinPassword, "--tenant", W.fabrikam, "--output", "json"), "az login -u --tenant").json<Account[]>();
  assert.deepEqual(accounts.map((a) => [a.id, a.tenantId, a.user.name]), [[W.subFabrikam, W.fabrikam, "erin@fabrikam.example"]]);
  const wrong = await az(c, "login", "-u", "erin@fabrikam.example", "-p", "not-the-password", "--tenant", W.fabrikam);
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stderr, /AADSTS50126/);
  ok(await az(c, "account", "clear"), "az account clear");
  assert.deepEqual(ok(await az(c, "account", "list", "--output", "json"), "az account list").json<Account[]>(), []);
  const after = await az(c, "account", "show");
  assert.notEqual(after.status, 0);
  assert.match(after.stderr, /az login/);
});

test("the clients reached nothing but the server (az's own version check on a fresh config dir aside)", async (t) => {
  const c = await setUp(t);
  if (!c) return;
  // On a fresh config dir az checks https://azure.microsoft.com for a newer version of itself and
  // goes on when it is unreachable; nothing of the sign-in or the ARM calls may leave the sandbox.
  assert.deepEqual(c.sandbox.refused.filter((target) => target !== "azure.microsoft.com:443"), []);
});
