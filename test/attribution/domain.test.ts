/**
 * The pure attribution rules (src/domain/attribution.ts, src/domain/partner-of-record.ts):
 * rule 6 time arithmetic, rule 9 AdminType order, rule 16 duplicate flags, rules 10–12 DPOR.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compareAdminType, coveredSeconds, duplicateFlags, formatDecimal, highestRole, parseDecimal, roleRanks, sumDecimals, toSecond } from "../../src/domain/attribution.ts";
import { checkDporPermission, decideDpor, effectiveDporInterval } from "../../src/domain/partner-of-record.ts";

const T = (iso: string) => Date.parse(iso);

describe("rule 6: covered time is the union of intervals, at second precision", () => {
  it("overlapping and touching intervals count once; the period clips them", () => {
    const day = { from: T("2026-10-10T00:00:00Z"), to: T("2026-10-11T00:00:00Z") };
    const covered = coveredSeconds([
      { from: T("2026-10-10T12:00:00Z"), to: T("2026-10-10T18:00:00Z") },
      { from: T("2026-10-10T15:00:00Z"), to: T("2026-10-10T20:00:00Z") },
      { from: T("2026-10-10T20:00:00Z"), to: null },
    ], day);
    assert.equal(covered, 12 * 3600);
  });
  it("milliseconds are truncated to the second", () => {
    assert.equal(toSecond(T("2026-10-10T12:00:00.999Z")), T("2026-10-10T12:00:00Z"));
  });
});

describe("rule 9: AdminType order Owner > Contributor > User Access Administrator > other eligible (alphabetical) > ineligible", () => {
  const roles = [
    { name: "Reader", eligible: false },
    { name: "Storage Account Contributor", eligible: true },
    { name: "User Access Administrator", eligible: true },
    { name: "Contributor", eligible: true },
    { name: "Owner", eligible: true },
    { name: "AcrPush", eligible: true },
    { name: "Backup Reader", eligible: false },
  ];
  it("sorts by the rule", () => {
    assert.deepEqual([...roles].sort(compareAdminType).map((r) => r.name),
      ["Owner", "Contributor", "User Access Administrator", "AcrPush", "Storage Account Contributor", "Backup Reader", "Reader"]);
  });
  it("an Owner the policy does not count ranks with the ineligible roles", () => {
    assert.equal(highestRole([{ name: "Owner", eligible: false }, { name: "AcrPush", eligible: true }])?.name, "AcrPush");
  });
  it("dense ranks give SQL a MIN() that picks the AdminType", () => {
    const ranks = roleRanks(roles);
    assert.equal(ranks.get("e|owner"), 1);
    assert.equal(ranks.get("i|reader"), 7);
  });
});

describe("rule 16: duplicate flags within the organisation (PAL before DPOR, larger credit, smaller location id)", () => {
  it("keeps one original per group and flags the rest", () => {
    const flags = duplicateFlags([
      { globalId: "4000000", locationId: "4000002", type: "PAL", credited: 10 },
      { globalId: "4000000", locationId: "4000001", type: "PAL", credited: 10 },
      { globalId: "4000000", locationId: "4000001", type: "DPOR", credited: 10 },
      { globalId: "5000000", locationId: "5000001", type: "PAL", credited: 5 },
    ]);
    assert.deepEqual(flags, [
      { pga: true, pgaAttachType: true, mpn: false }, // 4000002 loses to 4000001 (smaller id)
      { pga: false, pgaAttachType: false, mpn: false }, // the original
      { pga: true, pgaAttachType: false, mpn: true }, // DPOR behind a PAL of the same location
      { pga: false, pgaAttachType: false, mpn: false }, // another organisation: never a duplicate of the first
    ]);
  });
  it("the larger credit is the original, so the deduplicated total keeps the best coverage", () => {
    const flags = duplicateFlags([
      { globalId: "g", locationId: "1", type: "PAL", credited: 4 },
      { globalId: "g", locationId: "2", type: "PAL", credited: 9 },
    ]);
    assert.deepEqual(flags.map((f) => f.pga), [true, false]);
  });
});

describe("money: exact decimal sums", () => {
  it("adds decimal text exactly and rounds once, half away from zero", () => {
    assert.equal(formatDecimal(sumDecimals(["0.1", "0.2", "0.005"])), "0.31");
    assert.equal(formatDecimal(parseDecimal("-2.345")), "-2.35");
    assert.equal(formatDecimal(sumDecimals(["77.500000000000000000"]), 6), "77.500000");
  });
});

describe("rule 10: only the EA account owner may set, change or remove the partner of record", () => {
  const sub = { id: "s1", tenantId: "t1", offerType: "EA", accountOwnerId: "OWNER-1" };
  it("the account owner may (object ids compare case-insensitively)", () => {
    assert.deepEqual(checkDporPermission({ tenantId: "t1", objectId: "owner-1" }, sub), { ok: true });
  });
  it("anyone else, a delegated admin, or a non-EA subscription is refused with the reason", () => {
    const other = checkDporPermission({ tenantId: "t1", objectId: "admin" }, sub);
    assert.equal(other.ok, false);
    assert.equal(!other.ok && other.reason, "notAccountOwner");
    const foreign = checkDporPermission({ tenantId: "t9", objectId: "owner-1", foreign: true }, sub);
    assert.equal(!foreign.ok && foreign.reason, "delegatedAdmin");
    const plan = checkDporPermission({ tenantId: "t1", objectId: "owner-1" }, { ...sub, offerType: "AzurePlan" });
    assert.equal(!plan.ok && plan.reason, "notEnterpriseAgreement");
    assert.match(!plan.ok ? plan.message : "", /Partner Admin Link/);
  });
  it("one partner at a time: setting another closes the open interval; setting the same writes nothing", () => {
    assert.deepEqual(decideDpor({ partnerId: "4000001", since: 0 }, { kind: "set", partnerId: "5000001" }), { kind: "write", close: true, open: "5000001" });
    assert.deepEqual(decideDpor({ partnerId: "4000001", since: 0 }, { kind: "set", partnerId: "4000001" }), { kind: "unchanged" });
    assert.deepEqual(decideDpor({ partnerId: null, since: null }, { kind: "remove" }), { kind: "unchanged" });
  });
});

describe("rule 12: leaving EA ends the DPOR, and it is not carried over", () => {
  const offers = [
    { offerType: "EA", validFrom: null, validTo: T("2026-10-11T00:00:00Z") },
    { offerType: "AzurePlan", validFrom: T("2026-10-11T00:00:00Z"), validTo: T("2026-10-21T00:00:00Z") },
    { offerType: "EA", validFrom: T("2026-10-21T00:00:00Z"), validTo: null },
  ];
  it("credit stops at the move and does not resume when the subscription returns to EA", () => {
    assert.deepEqual(effectiveDporInterval({ from: T("2026-09-01T00:00:00Z"), to: null }, offers), [{ from: T("2026-09-01T00:00:00Z"), to: T("2026-10-11T00:00:00Z") }]);
  });
  it("a DPOR set while the subscription is not EA earns nothing; one set after the return does", () => {
    assert.deepEqual(effectiveDporInterval({ from: T("2026-10-15T00:00:00Z"), to: null }, offers), []);
    assert.deepEqual(effectiveDporInterval({ from: T("2026-10-25T00:00:00Z"), to: null }, offers), [{ from: T("2026-10-25T00:00:00Z"), to: null }]);
  });
});
