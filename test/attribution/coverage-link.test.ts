/**
 * Coverage must not contradict the user's own action (issue 13, item 7): a link made a minute ago
 * is shown as linked now, and "no credit yet for the latest month with data" is a separate,
 * explained state; and diagnose's text shows code as code (item 6): the API marks commands as
 * `code` spans, the CLI prints them without the backticks.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatCoverage, identityLink, type CoverageReport } from "../../src/attribution/index.ts";
import { formatDiagnosis } from "../../src/attribution/diagnose.ts";
import { plainCode } from "../../src/domain/report.ts";
import type { CoverageIdentity, DiagnoseResult } from "../../src/attribution/wire.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { mintToken, PAL, V } from "../providers/managementpartner/fixture.ts";
import { applyScenarioWorld, daily, runScenario } from "../scenarios/support.ts";
import { ALICE_GUEST, ALICE_HOME, BOB_GUEST, BOB_HOME, CONTOSO_TENANT, DEV, FABRIKAM_TENANT, PROD, SUB_DEV, SUB_PROD, baseWorld, vm } from "../scenarios/world.ts";

const MONTH = "2026-10";
const OCT = { from: Date.parse("2026-10-01T00:00:00Z"), to: Date.parse("2026-11-01T00:00:00Z") };
const NOW = Date.parse("2026-12-02T10:00:00Z");
const OWN = ["4000001", "4000002"];
const at = (iso: string) => Date.parse(iso);

describe("coverage: the link now, and the month's credit apart (identityLink)", () => {
  it("a link made a minute ago is linked now, with no credit yet for a month that ended before it", () => {
    const r = identityLink([{ partnerId: "4000001", validFrom: NOW - 60_000, validTo: null }], OCT, NOW, OWN);
    assert.deepEqual(r, { linkedTo: "4000001", linkedSince: "2026-12-02T09:59:00.000Z", linkedToOwnLocation: true, linkedInMonth: null, linkState: "noCreditYet" });
  });
  it("a link that held during the month and still holds is linked", () => {
    const r = identityLink([{ partnerId: "4000001", validFrom: at("2026-10-15T00:00:00Z"), validTo: null }], OCT, NOW, OWN);
    assert.equal(r.linkState, "linked");
    assert.equal(r.linkedInMonth, "4000001");
  });
  it("removed and linked again after the month: linked since the new link; the month had a link of this partner, so it is linked, and that link is named", () => {
    const r = identityLink([
      { partnerId: "4000001", validFrom: at("2026-09-01T00:00:00Z"), validTo: at("2026-10-10T00:00:00Z") },
      { partnerId: "4000002", validFrom: at("2026-11-20T00:00:00Z"), validTo: null },
    ], OCT, NOW, OWN);
    // The month had a link of this partner (credit for Oct 1–10), so the month is not "no credit yet".
    assert.deepEqual(r, { linkedTo: "4000002", linkedSince: "2026-11-20T00:00:00.000Z", linkedToOwnLocation: true, linkedInMonth: "4000001", linkState: "linked" });
  });
  it("removed since the month: not linked now, and the month's link is still named", () => {
    const r = identityLink([{ partnerId: "4000001", validFrom: at("2026-09-01T00:00:00Z"), validTo: at("2026-11-10T00:00:00Z") }], OCT, NOW, OWN);
    assert.deepEqual(r, { linkedTo: null, linkedSince: null, linkedToOwnLocation: false, linkedInMonth: "4000001", linkState: "notLinked" });
  });
  it("linked to another organisation's location is linkedElsewhere, whatever the month had", () => {
    assert.equal(identityLink([{ partnerId: "5000001", validFrom: null, validTo: null }], OCT, NOW, OWN).linkState, "linkedElsewhere");
  });
});

const identity = (over: Partial<CoverageIdentity>): CoverageIdentity => ({
  tenantId: FABRIKAM_TENANT, objectId: BOB_GUEST, displayName: "Bob", kind: "guest", linkedTo: null, linkedSince: null, linkedToOwnLocation: false,
  linkedInMonth: null, linkState: "notLinked", enabled: true, roles: [{ scope: DEV, role: "Owner", eligible: true }], ...over,
});
const report = (i: CoverageIdentity): CoverageReport => ({
  globalId: "4000000", partnerName: "Contoso", month: MONTH, policy: "pec",
  customers: [{ tenantId: FABRIKAM_TENANT, tenantName: "Fabrikam", identities: [i], money: [{ currency: "USD", spend: "930.00", credited: "0.00", potential: "310.00", atRisk: "310.00", coveredShare: 0 }] }],
});

describe("openpal coverage (text)", () => {
  it("prints a fresh link as linked, since when, and the month's missing credit as its own explained line", () => {
    const text = formatCoverage(report(identity({ linkedTo: "4000001", linkedSince: "2026-12-02T09:59:00.000Z", linkedToOwnLocation: true, linkState: "noCreditYet" })));
    assert.match(text, /Bob \(guest, .*\): linked to 4000001 since 2026-12-02 09:59 UTC; no credit yet for 2026-10\n/);
    assert.doesNotMatch(text, /NOT linked/);
    assert.match(text, /\n {4}no credit yet for 2026-10: the link started after that month, .*usage from 2026-12-02 09:59 UTC on is credited once its month has usage data and is attributed\./);
  });
  it("a link removed since the month says so", () => {
    const text = formatCoverage(report(identity({ linkedInMonth: "4000001" })));
    assert.match(text, /NOT linked \(was linked to 4000001 during 2026-10; the link has been removed since\)/);
  });
});

describe("diagnose text: code shown as code", () => {
  it("the CLI prints commands without the backticks that mark them in the API's messages", () => {
    assert.equal(plainCode("run `az managementpartner create --partner-id 1` (or `openpal x`)."), "run az managementpartner create --partner-id 1 (or openpal x).");
    const d: DiagnoseResult = {
      tenantId: FABRIKAM_TENANT, tenantName: "Fabrikam", month: MONTH, identities: [],
      reasons: [{ code: "noLink", message: "no identity is linked; see `openpal coverage`.", evidence: {}, fix: "Link one with `az managementpartner create --partner-id <location id>`." }],
    };
    const text = formatDiagnosis(d);
    assert.doesNotMatch(text, /`/);
    assert.match(text, /fix: Link one with az managementpartner create --partner-id <location id>\./);
    assert.match(text, /\[noLink\] no identity is linked; see openpal coverage\./);
  });
});

describe("coverage over HTTPS right after a link is made", () => {
  let server: TestServer;
  let contosoToken: string;
  before(async () => {
    server = await startTestServer();
    const store = server.openpal.context.store;
    await applyScenarioWorld(store, baseWorld({
      users: [{ id: BOB_GUEST, userPrincipalName: "bob_contoso.example#EXT#@fabrikam.example", type: "guest", homeTenantId: CONTOSO_TENANT, homeObjectId: BOB_HOME }],
      roleAssignments: [{ principalId: ALICE_GUEST, role: "Owner", scope: PROD }, { principalId: BOB_GUEST, role: "Owner", scope: DEV }],
    }, { links: [{ tenantId: FABRIKAM_TENANT, objectId: ALICE_GUEST, partnerId: "4000001", from: "2026-09-01T00:00:00Z" }] }));
    await runScenario(store, [
      ...daily(MONTH, () => ({ subscription: SUB_PROD, resource: vm(SUB_PROD, "rg-web", "web1"), cost: 10 })),
      ...daily(MONTH, () => ({ subscription: SUB_DEV, resource: vm(SUB_DEV, "rg-dev", "box1"), cost: 10 })),
    ], MONTH, "pec", server.dataDir);
    contosoToken = await mintToken(server, { tid: CONTOSO_TENANT, oid: ALICE_HOME });
  });
  after(async () => {
    await server?.close();
  });
  const coverage = async () => {
    const res = await server.fetch(`/insights/partners/4000000/coverage`, { headers: { authorization: `Bearer ${contosoToken}` } });
    assert.equal(res.status, 200);
    return (await res.json()) as CoverageReport;
  };

  it("GET /insights coverage shows the identity linked now, with no credit yet for the latest month with data", async () => {
    const before = await coverage();
    assert.equal(before.month, MONTH, "the default month is the latest one with usage data");
    const bobBefore = before.customers[0]!.identities.find((i) => i.objectId === BOB_GUEST)!;
    assert.equal(bobBefore.linkState, "notLinked");

    const bobToken = await mintToken(server, { tid: FABRIKAM_TENANT, oid: BOB_GUEST });
    const put = await server.fetch(`${PAL}/partners/4000001?${V}`, { method: "PUT", headers: { authorization: `Bearer ${bobToken}` } });
    assert.equal(put.status, 200);

    const after = await coverage();
    const bob = after.customers[0]!.identities.find((i) => i.objectId === BOB_GUEST)!;
    assert.equal(bob.linkedTo, "4000001", "the link just made is shown");
    assert.equal(bob.linkedToOwnLocation, true);
    assert.equal(bob.linkState, "noCreditYet");
    assert.equal(bob.linkedInMonth, null);
    assert.ok(bob.linkedSince && Math.abs(Date.parse(bob.linkedSince) - Date.now()) < 120_000, `linked since about now: ${bob.linkedSince}`);
    // The month's numbers do not change: the link started after it.
    assert.deepEqual(after.customers[0]!.money, before.customers[0]!.money);
    const alice = after.customers[0]!.identities.find((i) => i.objectId === ALICE_GUEST)!;
    assert.equal(alice.linkState, "linked");
    // And the CLI's text of the same answer.
    assert.match(formatCoverage(after), /: linked to 4000001 since .*; no credit yet for 2026-10\n/);
  });
});
