/**
 * The api-versions the current npm SDKs send are the ones the server accepts (src/arm/api-versions.ts):
 * each SDK call runs against the server, the api-version is read off the request the installed SDK
 * actually sent, and the answer must not be an api-version refusal. Also: unknown and malformed
 * versions are refused with ARM's codes and the supported list.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ClientSecretCredential } from "@azure/identity";
import { ResourceManagementClient } from "@azure/arm-resources";
import { SubscriptionClient } from "@azure/arm-resources-subscriptions";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { ManagementGroupsAPI } from "@azure/arm-managementgroups";
import { ACEProvisioningManagementPartnerAPI } from "@azure/arm-managementpartner";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { apiVersionsOf, PROVIDER_DATA } from "../../src/arm/api-versions.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

const WORLD = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "clients", "world.json");
const FABRIKAM = "f1000000-0000-4000-8000-000000000001";
const SUB = "5f100000-0000-4000-8000-000000000001";

let server: TestServer;
let credential: ClientSecretCredential;
before(async () => {
  server = await startTestServer({ options: { world: WORLD } });
  credential = new ClientSecretCredential(FABRIKAM, "a1000000-0000-4000-8000-000000000001", "client-test-secret-Xq7Lm2Pz9Rv4Kt8Wb", {
    authorityHost: server.url, disableInstanceDiscovery: true,
  });
});
after(async () => {
  await server.close();
});

interface Sent { readonly version: string | null; readonly status: number; readonly body: string }

/** A policy that records the api-version of every request and the answer's status. */
function recorder(sent: Sent[]): PipelinePolicy {
  return {
    name: "record-api-version",
    async sendRequest(request, next) {
      const response = await next(request);
      sent.push({ version: new URL(request.url).searchParams.get("api-version"), status: response.status, body: response.bodyAsText ?? "" });
      return response;
    },
  };
}

async function settle(work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    // A 404 (not linked) is a fine answer here; only the api-version matters.
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
}

const cases: { sdk: string; namespace: string; type: string; call: (sent: Sent[]) => Promise<void> }[] = [
  {
    sdk: "@azure/arm-resources resourceGroups.list", namespace: "Microsoft.Resources", type: "resourceGroups",
    call: async (sent) => {
      const c = new ResourceManagementClient(credential, SUB, { endpoint: server.url, credentialScopes: ["https://management.azure.com/.default"] });
      c.pipeline.addPolicy(recorder(sent));
      for await (const g of c.resourceGroups.list()) void g;
    },
  },
  {
    sdk: "@azure/arm-resources resourceGroups.checkExistence", namespace: "Microsoft.Resources", type: "resourceGroups",
    call: async (sent) => {
      const c = new ResourceManagementClient(credential, SUB, { endpoint: server.url, credentialScopes: ["https://management.azure.com/.default"] });
      c.pipeline.addPolicy(recorder(sent));
      const found = await c.resourceGroups.checkExistence("rg-web");
      assert.equal(found.body, true);
      assert.equal((await c.resourceGroups.checkExistence("rg-nowhere")).body, false);
    },
  },
  {
    sdk: "@azure/arm-resources providers.get", namespace: "Microsoft.Resources", type: "providers",
    call: async (sent) => {
      const c = new ResourceManagementClient(credential, SUB, { endpoint: server.url, credentialScopes: ["https://management.azure.com/.default"] });
      c.pipeline.addPolicy(recorder(sent));
      const p = await c.providers.get("Microsoft.ManagementPartner");
      assert.equal(p.registrationState, "Registered");
      assert.deepEqual(p.resourceTypes?.map((r) => r.resourceType), ["partners", "operations"]);
    },
  },
  {
    sdk: "@azure/arm-resources-subscriptions subscriptions.list", namespace: "Microsoft.Resources", type: "subscriptions",
    call: async (sent) => {
      const c = new SubscriptionClient(credential, { endpoint: server.url, credentials: { scopes: ["https://management.azure.com/.default"] } });
      c.pipeline.addPolicy(recorder(sent));
      for await (const s of c.subscriptions.list()) void s;
    },
  },
  {
    sdk: "@azure/arm-resources-subscriptions tenants.list", namespace: "Microsoft.Resources", type: "tenants",
    call: async (sent) => {
      const c = new SubscriptionClient(credential, { endpoint: server.url, credentials: { scopes: ["https://management.azure.com/.default"] } });
      c.pipeline.addPolicy(recorder(sent));
      for await (const s of c.tenants.list()) void s;
    },
  },
  {
    sdk: "@azure/arm-authorization roleAssignments.listForSubscription", namespace: "Microsoft.Authorization", type: "roleAssignments",
    call: async (sent) => {
      const c = new AuthorizationManagementClient(credential, SUB, { endpoint: server.url, credentialScopes: ["https://management.azure.com/.default"] });
      c.pipeline.addPolicy(recorder(sent));
      for await (const a of c.roleAssignments.listForSubscription()) void a;
    },
  },
  {
    sdk: "@azure/arm-authorization roleDefinitions.list", namespace: "Microsoft.Authorization", type: "roleDefinitions",
    call: async (sent) => {
      const c = new AuthorizationManagementClient(credential, SUB, { endpoint: server.url, credentialScopes: ["https://management.azure.com/.default"] });
      c.pipeline.addPolicy(recorder(sent));
      for await (const d of c.roleDefinitions.list(`/subscriptions/${SUB}`)) void d;
    },
  },
  {
    sdk: "@azure/arm-managementgroups managementGroups.list", namespace: "Microsoft.Management", type: "managementGroups",
    call: async (sent) => {
      const c = new ManagementGroupsAPI(credential, { endpoint: server.url, credentialScopes: ["https://management.azure.com/.default"] });
      c.pipeline.addPolicy(recorder(sent));
      for await (const g of c.managementGroups.list()) void g;
    },
  },
  {
    sdk: "@azure/arm-managementpartner partner.get", namespace: "Microsoft.ManagementPartner", type: "partners",
    call: async (sent) => {
      const c = new ACEProvisioningManagementPartnerAPI(credential, { $host: server.url, endpoint: server.url, credentialScopes: ["https://management.azure.com/.default"] });
      // This SDK generation builds its own pipeline per call; its api-version is a client field.
      let status = 200;
      await settle(() => c.partner.get("4000001", { onResponse: (r) => { status = r.status; } }));
      sent.push({ version: c.apiVersion, status, body: "" });
    },
  },
];

for (const c of cases) {
  test(`${c.sdk}: the api-version it sends is accepted for ${c.namespace}/${c.type}`, async () => {
    const sent: Sent[] = [];
    await c.call(sent);
    assert.ok(sent.length > 0, "the SDK sent no request");
    for (const s of sent) {
      assert.ok(s.version, "no api-version sent");
      assert.ok(apiVersionsOf(c.namespace, c.type).includes(s.version), `${c.sdk} sends ${s.version}; add it to src/arm/api-versions.ts`);
      assert.ok(s.status !== 400, `refused: ${s.body}`);
    }
  });
}

async function token(): Promise<string> {
  return (await credential.getToken("https://management.azure.com/.default")).token;
}

test("an api-version the resource type does not have is refused with NoRegisteredProviderFound and the supported list", async () => {
  const res = await server.fetch(`/subscriptions/${SUB}/resourcegroups?api-version=2015-01-01`, { headers: { authorization: `Bearer ${await token()}` } });
  assert.equal(res.status, 400);
  const body = (await res.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, "NoRegisteredProviderFound");
  assert.match(body.error.message, /2025-04-01/);
});

test("a malformed api-version is refused with InvalidApiVersionParameter and the supported list", async () => {
  const res = await server.fetch(`/providers/Microsoft.ManagementPartner/partners?api-version=latest`, { headers: { authorization: `Bearer ${await token()}` } });
  assert.equal(res.status, 400);
  const body = (await res.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, "InvalidApiVersionParameter");
  assert.match(body.error.message, /'latest' is invalid.*2018-02-01/);
});

test("the provider API lists exactly the api-versions the server accepts, per resource type", async () => {
  const res = await server.fetch(`/subscriptions/${SUB}/providers?api-version=2021-04-01`, { headers: { authorization: `Bearer ${await token()}` } });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { value: { namespace: string; registrationState: string; resourceTypes: { resourceType: string; apiVersions: string[] }[] }[] };
  assert.deepEqual(body.value.map((p) => p.namespace), PROVIDER_DATA.map((p) => p.namespace));
  for (const p of body.value) {
    assert.equal(p.registrationState, "Registered");
    for (const t of p.resourceTypes) assert.deepEqual(t.apiVersions, [...apiVersionsOf(p.namespace, t.resourceType)]);
  }
  const tenantLevel = await server.fetch(`/providers/Microsoft.Authorization?api-version=2021-04-01`, { headers: { authorization: `Bearer ${await token()}` } });
  const one = (await tenantLevel.json()) as Record<string, unknown>;
  assert.equal(one.id, "/providers/Microsoft.Authorization");
  assert.equal("registrationState" in one, false, "tenant-level providers carry no registration state");
});
