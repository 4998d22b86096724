import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decidePartnerLink, NEVER_LINKED, type PartnerLinkState } from "../../src/domain/partner-link.ts";
import { isWellFormedPartnerId, judgeLinkTarget } from "../../src/domain/partner-id.ts";

const T0 = Date.parse("2026-11-01T00:00:00Z");
const linked = (partnerId: string, version = 1): PartnerLinkState => ({ partnerId, version, createdTime: T0, updatedTime: T0 });

describe("the first write sets createdTime and version 1", () => {
  it("PUT from never linked", () => {
    const o = decidePartnerLink(NEVER_LINKED, { kind: "create", partnerId: "4000001" }, T0 + 5);
    assert.equal(o.kind, "write");
    if (o.kind !== "write") return;
    assert.deepEqual(o.next, { partnerId: "4000001", version: 1, createdTime: T0 + 5, updatedTime: T0 + 5 });
    assert.equal(o.change, "create");
  });
});

describe("DELETE bumps version, so the next PUT shows +2; createdTime survives", () => {
  it("delete then create", () => {
    const del = decidePartnerLink(linked("4000001", 3), { kind: "delete", partnerId: "4000001" }, T0 + 10);
    assert.ok(del.kind === "write");
    assert.deepEqual(del.next, { partnerId: null, version: 4, createdTime: T0, updatedTime: T0 + 10 });
    const put = decidePartnerLink(del.next, { kind: "create", partnerId: "4000002" }, T0 + 20);
    assert.ok(put.kind === "write");
    assert.equal(put.next.version, 5);
    assert.equal(put.next.createdTime, T0);
  });
});

describe("PUT while linked is refused with the linked id", () => {
  it("alreadyLinked", () => {
    assert.deepEqual(decidePartnerLink(linked("4000001"), { kind: "create", partnerId: "4000002" }, T0), { kind: "alreadyLinked", linkedPartnerId: "4000001" });
    assert.deepEqual(decidePartnerLink(linked("4000001"), { kind: "create", partnerId: "4000001" }, T0), { kind: "alreadyLinked", linkedPartnerId: "4000001" });
  });
});

describe("PATCH switches the id with version +1; PATCH to the same id changes nothing", () => {
  it("switch", () => {
    const o = decidePartnerLink(linked("4000001", 2), { kind: "update", partnerId: "5000001" }, T0 + 1);
    assert.ok(o.kind === "write");
    assert.deepEqual(o.next, { partnerId: "5000001", version: 3, createdTime: T0, updatedTime: T0 + 1 });
  });
  it("same id", () => {
    const state = linked("4000001", 2);
    assert.deepEqual(decidePartnerLink(state, { kind: "update", partnerId: "4000001" }, T0 + 1), { kind: "unchanged", state });
  });
  it("not linked", () => {
    assert.deepEqual(decidePartnerLink(NEVER_LINKED, { kind: "update", partnerId: "4000001" }, T0), { kind: "notLinked" });
  });
});

describe("reads see only the linked id", () => {
  it("GET {id} of another id, or when unlinked, is notLinked; GET without id reads the link", () => {
    const state = linked("4000001");
    assert.deepEqual(decidePartnerLink(state, { kind: "read", partnerId: "4000002" }, T0), { kind: "notLinked" });
    assert.deepEqual(decidePartnerLink(NEVER_LINKED, { kind: "read", partnerId: undefined }, T0), { kind: "notLinked" });
    assert.deepEqual(decidePartnerLink(state, { kind: "read", partnerId: undefined }, T0), { kind: "unchanged", state });
  });
});

describe("DELETE when not linked succeeds without a write; DELETE of another id deletes nothing", () => {
  it("unlinked", () => {
    assert.deepEqual(decidePartnerLink(NEVER_LINKED, { kind: "delete", partnerId: "4000001" }, T0), { kind: "unchanged", state: NEVER_LINKED });
  });
  it("other id", () => {
    assert.deepEqual(decidePartnerLink(linked("4000001"), { kind: "delete", partnerId: "4000002" }, T0), { kind: "notLinked" });
  });
});

describe("only well-formed, known, active location ids can be linked", () => {
  it("1 to 10 digits", () => {
    for (const ok of ["1", "4000001", "1234567890"]) assert.ok(isWellFormedPartnerId(ok), ok);
    for (const bad of ["", "12345678901", "4000001 ", "+4000001", "4e6", "٤٠٠٠٠٠١"]) assert.ok(!isWellFormedPartnerId(bad), bad);
  });
  it("verdicts", () => {
    assert.deepEqual(judgeLinkTarget("x", { kind: "location", active: true, organisationName: "C" }), { ok: false, reason: "malformed" });
    assert.deepEqual(judgeLinkTarget("4000009", { kind: "unknown" }), { ok: false, reason: "unknown" });
    assert.deepEqual(judgeLinkTarget("4000000", { kind: "global" }), { ok: false, reason: "global" });
    assert.deepEqual(judgeLinkTarget("4000003", { kind: "location", active: false, organisationName: "C" }), { ok: false, reason: "inactive" });
    assert.deepEqual(judgeLinkTarget("4000001", { kind: "location", active: true, organisationName: "C" }), { ok: true, partnerName: "C" });
  });
});
