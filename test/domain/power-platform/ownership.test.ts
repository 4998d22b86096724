/**
 * The ownership timeline of Power Platform resources and the attributed-user question
 * (docs/POWER-PLATFORM.md, decisions 1–2), applied change by change with the pure planners.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  attributedIntervals, attributedUsersAt, checkHistory, planCoOwnerAdd, planCoOwnerRemove, planOwnerChange, planPublisherChange,
  planSolutionImport, type PlanOutcome, type ResourceKind, type ResourceRelationship,
} from "../../../src/domain/power-platform/index.ts";

const T = (s: string) => Date.parse(s);
const ALICE = "a11ce000-0000-4000-8000-000000000001";
const BOB = "b0b00000-0000-4000-8000-000000000002";
const SVC = "5e4c0000-0000-4000-8000-000000000003";
const APP = "app00000-0000-4000-8000-000000000001";
const FLOW = "f1000000-0000-4000-8000-000000000001";
const SOL = "50100000-0000-4000-8000-000000000001";

/** Applies a plan to an in-memory history, as a store does (close open rows, append new ones). */
function apply(history: ResourceRelationship[], plan: PlanOutcome): ResourceRelationship[] {
  if (plan.kind !== "change") return history;
  return [...history.map((r) => (plan.close.includes(r) ? { ...r, to: plan.at } : r)), ...plan.open];
}
const created = (resourceId: string, principalId: string, at: string): ResourceRelationship =>
  ({ resourceId, principalId, relation: "owner", basis: "created", from: T(at), to: null });
const who = (kind: ResourceKind, h: ResourceRelationship[], at: string) => attributedUsersAt(kind, h, T(at)).map((c) => [c.principalId, c.role, c.since === null ? null : new Date(c.since).toISOString()]);

describe("the creator is the attributed user from the instant of creation", () => {
  it("a flow's creator is its attributed user (role Creator) from createdAt, and nobody before", () => {
    const h = [created(FLOW, ALICE, "2026-08-01T00:00:00Z")];
    assert.deepEqual(who("flow", h, "2026-07-31T23:59:59Z"), []);
    assert.deepEqual(who("flow", h, "2026-08-01T00:00:00Z"), [[ALICE, "Creator", "2026-08-01T00:00:00.000Z"]]);
    assert.match(attributedUsersAt("flow", h, T("2026-09-01T00:00:00Z"))[0]?.why ?? "", /creator since 2026-08-01/);
  });
  it("a canvas app's creator is its owner (role Owner)", () => {
    assert.deepEqual(who("canvasApp", [created(APP, ALICE, "2026-08-01T00:00:00Z")], "2026-08-02T00:00:00Z"), [[ALICE, "Owner", "2026-08-01T00:00:00.000Z"]]);
  });
});

describe("an owner change ends the previous owner's interval at the instant of the change", () => {
  it("modifyAppOwner at t: Alice before t, Bob from t", () => {
    let h = [created(APP, ALICE, "2026-08-01T00:00:00Z")];
    h = apply(h, planOwnerChange("canvasApp", APP, h, BOB, T("2026-10-12T00:00:00Z"), "assigned"));
    assert.deepEqual(who("canvasApp", h, "2026-10-11T23:59:59.999Z"), [[ALICE, "Owner", "2026-08-01T00:00:00.000Z"]]);
    assert.deepEqual(who("canvasApp", h, "2026-10-12T00:00:00Z"), [[BOB, "Owner", "2026-10-12T00:00:00.000Z"]]);
    assert.equal(h.find((r) => r.principalId === ALICE)?.to, T("2026-10-12T00:00:00Z"));
  });
  it("re-owning to the current owner changes nothing", () => {
    const h = [created(APP, ALICE, "2026-08-01T00:00:00Z")];
    assert.equal(planOwnerChange("canvasApp", APP, h, ALICE.toUpperCase(), T("2026-10-12T00:00:00Z"), "assigned").kind, "unchanged");
  });
  it("a model-driven app's owner cannot be assigned, only re-owned by a solution import", () => {
    const h = [created(APP, ALICE, "2026-08-01T00:00:00Z")];
    const refused = planOwnerChange("modelDrivenApp", APP, h, BOB, T("2026-10-12T00:00:00Z"), "assigned");
    assert.equal(refused.kind, "refused");
    assert.match(refused.kind === "refused" ? refused.reason : "", /only through a solution import/);
    assert.equal(planOwnerChange("modelDrivenApp", APP, h, BOB, T("2026-10-12T00:00:00Z"), "solutionImport", SOL).kind, "change");
  });
  it("a change dated before the current owner's interval is refused (history is not rewritten)", () => {
    const h = [created(APP, ALICE, "2026-08-01T00:00:00Z")];
    assert.equal(planOwnerChange("canvasApp", APP, h, BOB, T("2026-07-01T00:00:00Z"), "assigned").kind, "refused");
  });
  it("a flow re-owned by assignment: the creator counts until t, the new owner (role Owner) from t", () => {
    let h = [created(FLOW, ALICE, "2026-08-01T00:00:00Z")];
    h = apply(h, planOwnerChange("flow", FLOW, h, BOB, T("2026-10-05T00:00:00Z"), "assigned"));
    assert.deepEqual(who("flow", h, "2026-10-05T00:00:00Z"), [[BOB, "Owner", "2026-10-05T00:00:00.000Z"]]);
  });
});

describe("co-owners: added and removed each at their instant; they count on canvas apps, never on flows", () => {
  it("a canvas app's co-owner counts from the share until the removal", () => {
    let h = [created(APP, ALICE, "2026-08-01T00:00:00Z")];
    h = apply(h, planCoOwnerAdd("canvasApp", APP, h, BOB, T("2026-10-10T00:00:00Z")));
    assert.deepEqual(who("canvasApp", h, "2026-10-09T00:00:00Z").map((c) => c[0]), [ALICE]);
    assert.deepEqual(who("canvasApp", h, "2026-10-10T00:00:00Z"), [[ALICE, "Owner", "2026-08-01T00:00:00.000Z"], [BOB, "CoOwner", "2026-10-10T00:00:00.000Z"]]);
    h = apply(h, planCoOwnerRemove(h, BOB, T("2026-10-20T00:00:00Z")));
    assert.deepEqual(who("canvasApp", h, "2026-10-19T23:59:59Z").map((c) => c[0]), [ALICE, BOB]);
    assert.deepEqual(who("canvasApp", h, "2026-10-20T00:00:00Z").map((c) => c[0]), [ALICE]);
  });
  it("a flow's co-owner is recorded but never an attributed user (\"there can only be one creator\")", () => {
    let h = [created(FLOW, ALICE, "2026-08-01T00:00:00Z")];
    h = apply(h, planCoOwnerAdd("flow", FLOW, h, BOB, T("2026-10-10T00:00:00Z")));
    assert.equal(h.length, 2);
    assert.deepEqual(who("flow", h, "2026-10-15T00:00:00Z").map((c) => c[0]), [ALICE]);
  });
  it("model-driven apps take no co-owners; the owner cannot be removed as a co-owner", () => {
    const h = [created(APP, ALICE, "2026-08-01T00:00:00Z")];
    assert.equal(planCoOwnerAdd("modelDrivenApp", APP, h, BOB, T("2026-10-10T00:00:00Z")).kind, "refused");
    assert.equal(planCoOwnerRemove(h, ALICE, T("2026-10-10T00:00:00Z")).kind, "refused");
    assert.equal(planCoOwnerRemove(h, BOB, T("2026-10-10T00:00:00Z")).kind, "unchanged");
  });
  it("a co-owner who becomes owner stops being a co-owner at that instant", () => {
    let h = [created(APP, ALICE, "2026-08-01T00:00:00Z")];
    h = apply(h, planCoOwnerAdd("canvasApp", APP, h, BOB, T("2026-10-10T00:00:00Z")));
    h = apply(h, planOwnerChange("canvasApp", APP, h, BOB, T("2026-10-12T00:00:00Z"), "assigned"));
    assert.deepEqual(who("canvasApp", h, "2026-10-12T00:00:00Z"), [[BOB, "Owner", "2026-10-12T00:00:00.000Z"]]);
    assert.deepEqual(checkHistory(h), []);
  });
});

describe("a solution import re-owns every component to the importer from the import instant", () => {
  it("imported by Alice, then by the service account: each owns every component from its import", () => {
    let app = [created(APP, BOB, "2026-08-01T00:00:00Z")];
    let flow = [created(FLOW, BOB, "2026-08-01T00:00:00Z")];
    const run = (importer: string, at: string) => {
      const plans = planSolutionImport([{ resourceId: APP, kind: "canvasApp", current: app }, { resourceId: FLOW, kind: "flow", current: flow }], importer, T(at), SOL);
      for (const p of plans) {
        if (p.open[0]?.resourceId === APP) app = apply(app, p);
        else flow = apply(flow, p);
      }
      return plans.length;
    };
    assert.equal(run(ALICE, "2026-09-15T00:00:00Z"), 2);
    assert.equal(run(SVC, "2026-10-20T00:00:00Z"), 2);
    assert.equal(run(SVC, "2026-10-25T00:00:00Z"), 0, "a re-import by the owner changes nothing");
    assert.deepEqual(who("canvasApp", app, "2026-09-14T00:00:00Z"), [[BOB, "Owner", "2026-08-01T00:00:00.000Z"]]);
    assert.deepEqual(who("canvasApp", app, "2026-09-15T00:00:00Z"), [[ALICE, "SolutionImporter", "2026-09-15T00:00:00.000Z"]]);
    assert.deepEqual(who("flow", flow, "2026-10-19T23:59:59Z"), [[ALICE, "SolutionImporter", "2026-09-15T00:00:00.000Z"]]);
    assert.deepEqual(who("flow", flow, "2026-10-20T00:00:00Z"), [[SVC, "SolutionImporter", "2026-10-20T00:00:00.000Z"]]);
    assert.equal(attributedUsersAt("flow", flow, T("2026-10-21T00:00:00Z"))[0]?.solutionId, SOL);
    assert.match(attributedUsersAt("flow", flow, T("2026-10-21T00:00:00Z"))[0]?.why ?? "", /imported solution/);
  });
  it("the month view clips each owner's interval to the month", () => {
    let h = [created(FLOW, BOB, "2026-08-01T00:00:00Z")];
    h = apply(h, planOwnerChange("flow", FLOW, h, SVC, T("2026-10-20T00:00:00Z"), "solutionImport", SOL));
    const month = { from: T("2026-10-01T00:00:00Z"), to: T("2026-11-01T00:00:00Z") };
    const got = attributedIntervals("flow", h, month).map((c) => [c.principalId, c.role, c.since, c.until]);
    assert.deepEqual(got, [[BOB, "Creator", month.from, T("2026-10-20T00:00:00Z")], [SVC, "SolutionImporter", T("2026-10-20T00:00:00Z"), month.to]]);
  });
});

describe("a Power BI dataset: the publisher, until someone takes it over", () => {
  it("published by Alice, taken over by the service account at t", () => {
    let h: ResourceRelationship[] = [];
    h = apply(h, planPublisherChange("ds", h, ALICE, T("2026-09-01T00:00:00Z"), "published"));
    h = apply(h, planPublisherChange("ds", h, SVC, T("2026-10-03T09:30:00Z"), "takeover"));
    assert.deepEqual(who("dataset", h, "2026-10-03T09:29:59Z"), [[ALICE, "Publisher", "2026-09-01T00:00:00.000Z"]]);
    assert.deepEqual(who("dataset", h, "2026-10-03T09:30:00Z"), [[SVC, "Owner", "2026-10-03T09:30:00.000Z"]]);
    assert.equal(planPublisherChange("ds", h, SVC, T("2026-10-04T00:00:00Z"), "takeover").kind, "unchanged");
  });
});

describe("Customer Insights: every instance user is a candidate that needs activity", () => {
  it("users with a role are candidates (ActiveUser) while their interval lasts", () => {
    const h: ResourceRelationship[] = [
      { resourceId: "ci", principalId: ALICE, relation: "instanceUser", basis: "instanceRole", role: "Administrator", from: null, to: T("2026-10-10T00:00:00Z") },
      { resourceId: "ci", principalId: BOB, relation: "instanceUser", basis: "instanceRole", role: "Viewer", from: T("2026-10-05T00:00:00Z"), to: null },
    ];
    const at = attributedUsersAt("ciInstance", h, T("2026-10-06T00:00:00Z"));
    assert.deepEqual(at.map((c) => [c.principalId, c.role, c.requiresActivity]), [[BOB, "ActiveUser", true], [ALICE, "ActiveUser", true]]);
  });
});

describe("history checks: one owner at a time, well-formed intervals", () => {
  it("overlapping owner intervals and from ≥ to are reported by index", () => {
    const h: ResourceRelationship[] = [
      { resourceId: APP, principalId: ALICE, relation: "owner", basis: "created", from: T("2026-08-01T00:00:00Z"), to: T("2026-10-12T00:00:00Z") },
      { resourceId: APP, principalId: BOB, relation: "owner", basis: "assigned", from: T("2026-10-11T00:00:00Z"), to: null },
      { resourceId: APP, principalId: SVC, relation: "coOwner", basis: "shared", from: T("2026-10-11T00:00:00Z"), to: T("2026-10-01T00:00:00Z") },
    ];
    const problems = checkHistory(h);
    assert.deepEqual(problems.map((p) => p.index).sort(), [1, 2]);
    assert.match(problems.find((p) => p.index === 1)?.message ?? "", /one owner at a time/);
  });
});
