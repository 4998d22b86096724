/**
 * The candidate table (src/domain/bizapps.ts, decisions 3 and 7): qualifying instants follow the
 * Azure stop rules — link removed, location id inactive, principal disabled or deleted, delegated
 * admin entry ended — and every row that does not qualify says why. Pure: no store, no DuckDB.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildCandidates, consumptionValue, type CandidateInput } from "../../src/domain/bizapps.ts";
import { bizappsRatesOf, resolveOptions } from "../../src/options/index.ts";

const OCT = { from: Date.parse("2026-10-01T00:00:00Z"), to: Date.parse("2026-11-01T00:00:00Z") };
const d = (day: number) => Date.parse(`2026-10-${String(day).padStart(2, "0")}T00:00:00Z`);
const C = "c0000000-0000-4000-8000-000000000000"; // customer tenant
const P = "p0000000-0000-4000-8000-000000000000"; // partner tenant (delegated admin)
const APP = "a0000000-0000-4000-8000-000000000001";
const ALICE = "u0000000-0000-4000-8000-000000000001";
const AGENT = "u0000000-0000-4000-8000-0000000000aa"; // lives in P

function input(over: Partial<CandidateInput> = {}): CandidateInput {
  return {
    resources: [{ tenantId: C, id: APP, kind: "canvasApp", environmentId: "env", displayName: "App", createdAt: 0, deletedAt: null }],
    environments: [{ tenantId: C, id: "env", displayName: "Prod", type: "Production" }],
    relationships: [{ tenantId: C, resourceId: APP, principalId: ALICE, relation: "owner", basis: "created", from: 0, to: null }],
    principals: [{ tenantId: C, objectId: ALICE, deletedAt: null }, { tenantId: P, objectId: AGENT, deletedAt: null }],
    disabled: [],
    links: [{ tenantId: C, objectId: ALICE, partnerId: "4100001", validFrom: 0, validTo: null }],
    locations: [{ id: "4100001", globalId: "4100000" }, { id: "4100002", globalId: "4100000" }],
    locationStatus: [],
    delegatedAdmins: [],
    ...over,
  };
}
const only = (i: CandidateInput) => {
  const rows = buildCandidates(i, OCT).rows;
  assert.equal(rows.length, 1);
  return rows[0]!;
};

describe("business-applications candidates (decision 3: the Azure stop rules)", () => {
  it("a linked, enabled owner qualifies over the whole month", () => {
    const r = only(input());
    assert.equal(r.reason, null);
    assert.deepEqual(r.qualifying, [{ from: OCT.from, to: OCT.to }]);
    assert.equal(r.linkPath, "home");
    assert.equal(r.environmentType, "Production");
    assert.equal(r.role, "Owner");
  });

  it("a removed link stops qualifying at the removal instant; a link that never overlaps the relationship is linkNotActive", () => {
    assert.deepEqual(only(input({ links: [{ tenantId: C, objectId: ALICE, partnerId: "4100001", validFrom: 0, validTo: d(10) }] })).qualifying, [{ from: OCT.from, to: d(10) }]);
    const r = only(input({
      relationships: [{ tenantId: C, resourceId: APP, principalId: ALICE, relation: "owner", basis: "created", from: d(20), to: null }],
      links: [{ tenantId: C, objectId: ALICE, partnerId: "4100001", validFrom: 0, validTo: d(10) }],
    }));
    assert.equal(r.reason, "linkNotActive");
    assert.deepEqual(r.qualifying, []);
  });

  it("an inactive location id, a disabled principal and a deleted principal stop qualifying at that instant", () => {
    assert.deepEqual(only(input({ locationStatus: [{ locationId: "4100001", active: false, validFrom: d(21), validTo: null }] })).qualifying, [{ from: OCT.from, to: d(21) }]);
    assert.deepEqual(only(input({ disabled: [{ tenantId: C, objectId: ALICE, validFrom: d(5), validTo: d(7) }] })).qualifying, [{ from: OCT.from, to: d(5) }, { from: d(7), to: OCT.to }]);
    assert.deepEqual(only(input({ principals: [{ tenantId: C, objectId: ALICE, deletedAt: d(3) + 1500 }] })).qualifying, [{ from: OCT.from, to: d(3) + 1000 }]);
    assert.equal(only(input({ locationStatus: [{ locationId: "4100001", active: false, validFrom: 0, validTo: null }] })).reason, "locationInactive");
    assert.equal(only(input({ disabled: [{ tenantId: C, objectId: ALICE, validFrom: 0, validTo: null }] })).reason, "principalDisabled");
  });

  it("an unlinked principal gets one row with no partner (noLink); a link to an unregistered location id counts for nothing", () => {
    assert.equal(only(input({ links: [] })).reason, "noLink");
    const r = only(input({ links: [{ tenantId: C, objectId: ALICE, partnerId: "9999999", validFrom: 0, validTo: null }] }));
    assert.equal(r.reason, "noLink");
    assert.equal(r.partnerLocationId, null);
  });

  it("a link that starts after the month, or ended before it, is linkNotActive (not noLink) and carries the link's dates", () => {
    const nov5 = Date.parse("2026-11-05T00:00:00Z");
    const later = only(input({ links: [{ tenantId: C, objectId: ALICE, partnerId: "4100001", validFrom: nov5, validTo: null }] }));
    assert.equal(later.reason, "linkNotActive");
    assert.equal(later.partnerLocationId, "4100001");
    assert.equal(later.globalId, "4100000");
    assert.deepEqual(later.qualifying, []);
    assert.deepEqual([later.linkFrom, later.linkTo], [nov5, null]);
    const sep10 = Date.parse("2026-09-10T00:00:00Z");
    const ended = only(input({ links: [{ tenantId: C, objectId: ALICE, partnerId: "4100001", validFrom: null, validTo: sep10 }] }));
    assert.equal(ended.reason, "linkNotActive");
    assert.deepEqual([ended.linkFrom, ended.linkTo], [null, sep10]);
    // Both: the nearer one (the later on a tie) is named; a qualifying row names the link it qualifies through.
    const both = only(input({ links: [
      { tenantId: C, objectId: ALICE, partnerId: "4100001", validFrom: 0, validTo: sep10 },
      { tenantId: C, objectId: ALICE, partnerId: "4100001", validFrom: nov5, validTo: null },
    ] }));
    assert.deepEqual([both.linkFrom, both.linkTo], [nov5, null]);
    const linked = only(input());
    assert.deepEqual([linked.linkFrom, linked.linkTo], [0, null]);
    // Never linked at all: noLink, no dates.
    const none = only(input({ links: [] }));
    assert.deepEqual([none.reason, none.linkFrom, none.linkTo], ["noLink", null, null]);
  });

  it("one row per location the principal was linked to in the month, each with its own instants", () => {
    const rows = buildCandidates(input({ links: [
      { tenantId: C, objectId: ALICE, partnerId: "4100001", validFrom: 0, validTo: d(15) },
      { tenantId: C, objectId: ALICE, partnerId: "4100002", validFrom: d(15), validTo: null },
    ] }), OCT).rows;
    assert.deepEqual(rows.map((r) => [r.partnerLocationId, r.qualifying]), [["4100001", [{ from: OCT.from, to: d(15) }]], ["4100002", [{ from: d(15), to: OCT.to }]]]);
  });

  it("a delegated administrator qualifies with a link in its home tenant, only while the delegatedAdmins entry holds (decision 7)", () => {
    const base = input({
      relationships: [{ tenantId: C, resourceId: APP, principalId: AGENT, relation: "owner", basis: "assigned", from: 0, to: null }],
      links: [
        { tenantId: P, objectId: AGENT, partnerId: "4100001", validFrom: 0, validTo: null },
        // A link recorded in the customer tenant names an object that does not exist there.
        { tenantId: C, objectId: AGENT, partnerId: "4100002", validFrom: 0, validTo: null },
      ],
      delegatedAdmins: [{ tenantId: C, partnerTenantId: P, validFrom: 0, validTo: d(12) }],
    });
    const r = only(base);
    assert.equal(r.linkPath, "delegatedAdmin");
    assert.equal(r.principalTenantId, P);
    assert.equal(r.partnerLocationId, "4100001");
    assert.deepEqual(r.qualifying, [{ from: OCT.from, to: d(12) }]);
    assert.equal(only({ ...base, delegatedAdmins: [{ tenantId: C, partnerTenantId: P, validFrom: d(1) - 86_400_000 * 40, validTo: d(1) - 86_400_000 }] }).reason, "delegationEnded");
    assert.equal(only({ ...base, delegatedAdmins: [] }).reason, "principalUnknown");
  });

  it("a resource deleted mid-month stops its relationships at the deletion; datasets are NotApplicable; CI users require activity", () => {
    assert.deepEqual(only(input({ resources: [{ tenantId: C, id: APP, kind: "canvasApp", environmentId: "env", displayName: "App", createdAt: 0, deletedAt: d(9) }] })).qualifying, [{ from: OCT.from, to: d(9) }]);
    const ds = only(input({
      resources: [{ tenantId: C, id: APP, kind: "dataset", environmentId: null, displayName: "Sales", createdAt: 0, deletedAt: null }],
      relationships: [{ tenantId: C, resourceId: APP, principalId: ALICE, relation: "publisher", basis: "published", from: 0, to: null }],
    }));
    assert.equal(ds.environmentType, "NotApplicable");
    assert.equal(ds.role, "Publisher");
    const ci = only(input({
      resources: [{ tenantId: C, id: APP, kind: "ciInstance", environmentId: null, displayName: "CI", createdAt: 0, deletedAt: null }],
      relationships: [{ tenantId: C, resourceId: APP, principalId: ALICE, relation: "instanceUser", basis: "instanceRole", from: 0, to: null, role: "Viewer" }],
    }));
    assert.equal(ci.requiresActivity, true);
    assert.equal(ci.environmentType, "NotApplicable");
    assert.equal(ci.role, "ActiveUser");
  });

  it("a flow's co-owner never counts (decision 1): no candidate row", () => {
    const rows = buildCandidates(input({
      resources: [{ tenantId: C, id: APP, kind: "flow", environmentId: "env", displayName: "Flow", createdAt: 0, deletedAt: null }],
      relationships: [
        { tenantId: C, resourceId: APP, principalId: ALICE, relation: "coOwner", basis: "shared", from: 0, to: null },
      ],
    }), OCT).rows;
    assert.equal(rows.length, 0);
  });
});

describe("MonthlyConsumptionValue (exact decimal)", () => {
  it("is quantity × rate with no binary rounding", () => {
    assert.equal(consumptionValue(3, "200"), "600");
    assert.equal(consumptionValue(12345, "0.2"), "2469");
    assert.equal(consumptionValue(7, "0.2"), "1.4");
    assert.equal(consumptionValue(3, "0.1"), "0.3");
    assert.equal(consumptionValue(0, "200"), "0");
    assert.throws(() => consumptionValue(1, "-2"), /non-negative decimal/);
  });
});

describe("Solutions Partner rates are options", () => {
  it("default to 200 per MAU and 0.2 per unified profile; a rate that is not a non-negative decimal is refused naming the option and the fix", () => {
    const ok = resolveOptions({ flags: {}, env: { OPENPAL_BIZAPPS_RATE_POWER_BI: "150.5" }, config: {} });
    assert.ok(ok.ok);
    assert.deepEqual(bizappsRatesOf(ok.options), { PowerApps: "200", PowerAutomate: "200", PowerBI: "150.5", CustomerInsights: "0.2" });
    const bad = resolveOptions({ flags: { bizappsRateCustomerInsights: "-0.2" }, env: {}, config: {} });
    assert.equal(bad.ok, false);
    assert.match((bad as { problems: readonly string[] }).problems.join("\n"), /--bizapps-rate-customer-insights \(from flag --bizapps-rate-customer-insights\): "-0.2" is not a non-negative decimal number; use e.g. 200 or 0.2/);
  });
});
