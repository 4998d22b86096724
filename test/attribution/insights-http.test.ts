/**
 * Insights over HTTPS (docs/SPEC-DEVIATIONS.md): a partner reads its own report, explanations,
 * diagnoses and coverage with a token of one of its own tenants; nobody else can.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../support/server.ts";
import { mintToken } from "../providers/managementpartner/fixture.ts";
import { applyScenarioWorld, runScenario } from "../scenarios/support.ts";
import { daily } from "../scenarios/support.ts";
import { ALICE_GUEST, ALICE_HOME, CONTOSO_TENANT, FABRIKAM_TENANT, NORA_GUEST, NORA_HOME, NORTHWIND_TENANT, PROD, SUB_PROD, baseWorld, vm } from "../scenarios/world.ts";

const MONTH = "2026-10";

describe("insights: a partner's own rows over HTTPS", () => {
  let server: TestServer;
  let contosoToken: string;
  let northwindToken: string;
  before(async () => {
    server = await startTestServer();
    const store = server.openpal.context.store;
    await applyScenarioWorld(store, baseWorld({
      roleAssignments: [{ principalId: ALICE_GUEST, role: "Owner", scope: PROD }, { principalId: NORA_GUEST, role: "Contributor", scope: PROD }],
    }, { links: [{ tenantId: FABRIKAM_TENANT, objectId: ALICE_GUEST, partnerId: "4000001" }, { tenantId: FABRIKAM_TENANT, objectId: NORA_GUEST, partnerId: "5000001" }] }));
    await runScenario(store, daily(MONTH, () => ({ subscription: SUB_PROD, resource: vm(SUB_PROD, "rg-web", "web1"), cost: 10 })), MONTH, "pec", server.dataDir);
    contosoToken = await mintToken(server, { tid: CONTOSO_TENANT, oid: ALICE_HOME });
    northwindToken = await mintToken(server, { tid: NORTHWIND_TENANT, oid: NORA_HOME });
  });
  after(async () => {
    await server?.close();
  });
  const get = async (path: string, token?: string) => {
    const res = await server.fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it("GET azureUsage returns only the caller organisation's rows, with Partner Center's columns", async () => {
    const r = await get(`/insights/partners/4000000/azureUsage?month=${MONTH}`, contosoToken);
    assert.equal(r.status, 200);
    const rows = r.body.value as Record<string, unknown>[];
    assert.deepEqual(rows.map((x) => [x.PartnerId, x.PartnerAttributionType, x.AdminType, x.ACR, x.CustomerName]), [["4000001", "PAL", "Owner", "310.00", "Fabrikam"]]);
  });
  it("another organisation's principal is refused (403), naming what to do", async () => {
    const r = await get(`/insights/partners/4000001/azureUsage?month=${MONTH}`, northwindToken);
    assert.equal(r.status, 403);
    assert.match(String((r.body.error as Record<string, unknown>).message), /own tenants/);
  });
  it("no token is 401 with the ARM error envelope; a bad month is 400", async () => {
    assert.equal((await get(`/insights/partners/4000001/azureUsage?month=${MONTH}`)).status, 401);
    const bad = await get(`/insights/partners/4000001/azureUsage?month=October`, contosoToken);
    assert.equal(bad.status, 400);
    assert.equal((bad.body.error as Record<string, unknown>).code, "InvalidMonth");
  });
  it("explain, diagnose and coverage answer for the partner's own ids", async () => {
    const x = await get(`/insights/partners/4000001/explain?subscription=${SUB_PROD}&month=${MONTH}`, contosoToken);
    assert.equal(x.status, 200);
    assert.equal((x.body.facts as unknown[]).length, 31);
    const d = await get(`/insights/partners/5000000/diagnose?tenant=${FABRIKAM_TENANT}&month=${MONTH}`, northwindToken);
    assert.equal(d.status, 200);
    assert.deepEqual(d.body.reasons, []);
    const c = await get(`/insights/partners/4000000/coverage?month=${MONTH}`, contosoToken);
    assert.equal(c.status, 200);
    assert.equal(((c.body.customers as Record<string, unknown>[])[0]!.money as Record<string, unknown>[])[0]!.credited, "310.00");
  });
});
