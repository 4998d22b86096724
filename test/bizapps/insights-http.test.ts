/**
 * Business applications over HTTPS (/insights): a partner's principal reads its own organisation's
 * business-applications usage (with the run's time as "as of"), explanations, diagnoses and
 * coverage; another partner's rows are never visible; bad input is a 4xx naming the fix.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../support/server.ts";
import { mintToken } from "../providers/managementpartner/fixture.ts";
import { APP1, DS3, FLOW6, MONTH, RAN_AT, seedBizapps } from "./support.ts";
import { ALICE_HOME, CONTOSO_TENANT, NORA_GUEST, NORA_HOME, NORTHWIND_TENANT } from "../scenarios/world.ts";

describe("insights: business applications over HTTPS", () => {
  let server: TestServer;
  let contoso: string;
  let northwind: string;
  before(async () => {
    server = await startTestServer();
    await seedBizapps(server.openpal.context.store, server.dataDir);
    contoso = await mintToken(server, { tid: CONTOSO_TENANT, oid: ALICE_HOME });
    northwind = await mintToken(server, { tid: NORTHWIND_TENANT, oid: NORA_HOME });
  });
  after(async () => {
    await server?.close();
  });
  const get = async (path: string, token?: string) => {
    const res = await server.fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const text = await res.text();
    return { status: res.status, text, body: (text.startsWith("{") ? JSON.parse(text) : {}) as Record<string, unknown>, type: res.headers.get("content-type") ?? "" };
  };
  const message = (r: { body: Record<string, unknown> }) => String((r.body.error as Record<string, unknown> | undefined)?.message ?? "");

  it("GET bizappsUsage returns only the caller organisation's rows, with the run's time as asOf", async () => {
    const r = await get(`/insights/partners/4000000/bizappsUsage?month=${MONTH}`, contoso);
    assert.equal(r.status, 200);
    assert.equal(r.body.asOf, new Date(RAN_AT).toISOString());
    const rows = r.body.value as Record<string, unknown>[];
    assert.deepEqual(rows.map((x) => x.ResourceId).sort(), [DS3, FLOW6].sort());
    assert.ok(rows.every((x) => x.PGAPartnerId === "4000000" && x.PartnerAssociationType === "PAL"));
    assert.doesNotMatch(r.text, new RegExp(`${APP1}|${NORA_GUEST}|Northwind`));
  });
  it("another organisation's rows are never visible: its ids are 403 for us, and ours for it", async () => {
    for (const id of ["5000000", "5000001"]) {
      const r = await get(`/insights/partners/${id}/bizappsUsage?month=${MONTH}`, contoso);
      assert.equal(r.status, 403);
      assert.match(message(r), /own tenants/);
    }
    const r = await get(`/insights/partners/4000001/bizappsUsage?month=${MONTH}`, northwind);
    assert.equal(r.status, 403);
    const own = await get(`/insights/partners/5000000/bizappsUsage?month=${MONTH}`, northwind);
    assert.deepEqual((own.body.value as Record<string, unknown>[]).map((x) => x.ResourceId), [APP1]);
  });
  it("productionOnly=true keeps Production and NotApplicable rows; format=csv is the report's CSV", async () => {
    const r = await get(`/insights/partners/4000001/bizappsUsage?month=${MONTH}&productionOnly=true`, contoso);
    assert.deepEqual((r.body.value as Record<string, unknown>[]).map((x) => x.ResourceId), [DS3]);
    const csv = await get(`/insights/partners/4000000/bizappsUsage?month=${MONTH}&format=csv`, contoso);
    assert.equal(csv.status, 200);
    assert.match(csv.type, /text\/csv/);
    assert.match(csv.text, /^PartnerId,PGAPartnerId,PartnerName,CustomerTenantId,/);
    assert.equal(csv.text.trimEnd().split("\n").length, 3);
  });
  it("bad input is a 4xx naming the fix: month, productionOnly, format, a month without a run, no token, unknown partner", async () => {
    const month = await get(`/insights/partners/4000000/bizappsUsage?month=Oct`, contoso);
    assert.equal(month.status, 400);
    assert.equal((month.body.error as Record<string, unknown>).code, "InvalidMonth");
    const po = await get(`/insights/partners/4000000/bizappsUsage?month=${MONTH}&productionOnly=yes`, contoso);
    assert.equal(po.status, 400);
    assert.match(message(po), /must be true or false/);
    const fmt = await get(`/insights/partners/4000000/bizappsUsage?month=${MONTH}&format=xml`, contoso);
    assert.equal(fmt.status, 400);
    assert.match(message(fmt), /use json \(default\) or csv/);
    const none = await get(`/insights/partners/4000000/bizappsUsage?month=2026-09`, contoso);
    assert.equal(none.status, 404);
    assert.match(message(none), /openpal attribution run --month 2026-09/);
    assert.equal((await get(`/insights/partners/4000000/bizappsUsage?month=${MONTH}`)).status, 401);
    assert.equal((await get(`/insights/partners/9999999/bizappsUsage?month=${MONTH}`, contoso)).status, 404);
  });
  it("explain, diagnose and coverage of business applications keep the other partner anonymous", async () => {
    const x = await get(`/insights/partners/4000000/explain?resource=${APP1}&month=${MONTH}`, contoso);
    assert.equal(x.status, 200);
    assert.match(String(x.body.decision), /another partner acted last/);
    assert.doesNotMatch(x.text, /Northwind|5000000/);
    assert.ok(!x.text.includes(NORA_GUEST));
    const d = await get(`/insights/partners/4000000/diagnose?resource=${APP1}&month=${MONTH}`, contoso);
    assert.equal(d.status, 200);
    assert.deepEqual((d.body.reasons as Record<string, unknown>[]).map((r) => r.code), ["anotherPartnerLater"]);
    assert.doesNotMatch(d.text, /Northwind/);
    const c = await get(`/insights/partners/4000000/coverage?month=${MONTH}`, contoso);
    assert.equal(c.status, 200);
    const ba = c.body.businessApplications as Record<string, unknown>;
    assert.equal(ba.asOf, new Date(RAN_AT).toISOString());
    assert.deepEqual(((ba.customers as Record<string, unknown>[])[0]!.credited as Record<string, unknown>), { mau: 10, unifiedProfiles: 0, value: "2000.00" });
    assert.doesNotMatch(c.text, /Northwind/);
    const bad = await get(`/insights/partners/4000000/diagnose?resource=${APP1}&month=2026-9`, contoso);
    assert.equal(bad.status, 400);
    const neither = await get(`/insights/partners/4000000/explain?month=${MONTH}`, contoso);
    assert.equal(neither.status, 400);
    assert.match(message(neither), /resource=/);
  });
});
