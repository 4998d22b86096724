/**
 * Ownership timelines of Power Platform resources, and the question business-applications
 * attribution asks of them: **who is the attributed user of resource R at time t, since when,
 * and why** (docs/POWER-PLATFORM.md, the published table and decisions 1–2).
 *
 * Two halves, both pure:
 * - *reading*: `attributedUsersAt` (one instant) and `attributedIntervals` (a window, e.g. a
 *   month) turn a resource's stored relationship intervals into candidates, applying which
 *   relations count for which kind:
 *     canvas app        owner + co-owners               ("owner or co-owner")
 *     model-driven app  owner                           (no co-owners)
 *     flow              owner                           (creator until re-owned; co-owners never count)
 *     dataset           publisher                       (a take-over replaces the publisher)
 *     CI instance       instance users                  (qualify only with activity in the month)
 * - *writing*: `plan…` functions compute which open intervals a change closes and which it opens,
 *   at the change's instant, so every store (and the world loader) applies the same rules.
 *
 * Invariants the planners keep: at most one open `owner` and one open `publisher` per resource;
 * a principal is never owner and co-owner of the same resource at once; history is only ever
 * closed (`to` set) or appended, never rewritten.
 */
import { contains, intersect, overlaps, type Interval } from "../interval.ts";
import type { AttributedUserRole, Basis, Relation, ResourceKind, ResourceRelationship } from "./model.ts";

/** Which relations make an attributed user, per kind. */
export const COUNTING_RELATIONS: Readonly<Record<ResourceKind, readonly Relation[]>> = {
  canvasApp: ["owner", "coOwner"],
  modelDrivenApp: ["owner"],
  flow: ["owner"],
  dataset: ["publisher"],
  ciInstance: ["instanceUser"],
};

/** One attributed-user candidate of a resource, with since when and why. */
export interface AttributedUser {
  readonly principalId: string;
  /** `AttributedUserRole` of report rows. */
  readonly role: AttributedUserRole;
  readonly relation: Relation;
  readonly basis: Basis;
  /** When the relationship began (null: since always) and ends (null: still so). */
  readonly since: number | null;
  readonly until: number | null;
  /** The solution whose import made this principal the owner (basis `solutionImport`). */
  readonly solutionId: string | null;
  /** Customer Insights users qualify only with activity on the instance in the month (decision 3). */
  readonly requiresActivity: boolean;
  /** One sentence for `explain`. */
  readonly why: string;
}

/** The report role of a relationship on a resource of `kind`. */
export function attributedRole(kind: ResourceKind, r: Pick<ResourceRelationship, "relation" | "basis">): AttributedUserRole {
  switch (r.relation) {
    case "coOwner":
      return "CoOwner";
    case "instanceUser":
      return "ActiveUser";
    case "publisher":
      return r.basis === "takeover" ? "Owner" : "Publisher";
    case "owner":
      if (r.basis === "solutionImport") return "SolutionImporter";
      // "there can only be one creator": a flow's creator is its attributed user until re-owned.
      if (r.basis === "created") return kind === "flow" ? "Creator" : "Owner";
      return "Owner";
  }
}

const iso = (t: number | null) => (t === null ? "always" : new Date(t).toISOString());

function why(kind: ResourceKind, r: ResourceRelationship): string {
  const since = r.from === null ? "since always" : `since ${iso(r.from)}`;
  switch (r.basis) {
    case "created": return `${kind === "flow" ? "creator" : "owner"} ${since}: created the ${kindLabel(kind)}`;
    case "assigned": return `owner ${since}: the owner was changed to this principal`;
    case "solutionImport": return `owner ${since}: imported solution ${r.solutionId ?? "(unknown)"}, which re-owns every component to the importer`;
    case "shared": return `co-owner ${since}: the app was shared with edit rights (CanEdit)`;
    case "published": return `publisher ${since}: published the dataset`;
    case "takeover": return `owner ${since}: took the dataset over`;
    case "instanceRole": return `instance user (${r.role ?? "no role"}) ${since}; counts in a month with activity on the instance`;
  }
}

function kindLabel(kind: ResourceKind): string {
  return { canvasApp: "canvas app", modelDrivenApp: "model-driven app", flow: "flow", dataset: "dataset", ciInstance: "instance" }[kind];
}

function candidate(kind: ResourceKind, r: ResourceRelationship, clip?: Interval): AttributedUser {
  return {
    principalId: r.principalId,
    role: attributedRole(kind, r),
    relation: r.relation,
    basis: r.basis,
    since: clip ? clip.from : r.from,
    until: clip ? clip.to : r.to,
    solutionId: r.solutionId ?? null,
    requiresActivity: r.relation === "instanceUser",
    why: why(kind, r),
  };
}

/** Orders candidates: owner first, then the relationship that began most recently. */
const byStrength = (a: AttributedUser, b: AttributedUser) =>
  rank(a.relation) - rank(b.relation) || (b.since ?? -Infinity) - (a.since ?? -Infinity) || a.principalId.localeCompare(b.principalId);
const rank = (r: Relation) => ({ owner: 0, publisher: 0, coOwner: 1, instanceUser: 2 })[r];

/**
 * The attributed users of a resource of `kind` at instant `t`: every counting relationship whose
 * interval contains `t`, owner first.
 *
 * @example
 * attributedUsersAt("flow", rels, Date.parse("2026-10-15T00:00:00Z"))
 * // → [{ principalId: "…", role: "Creator", since: 1785542400000, why: "creator since …" }]
 */
export function attributedUsersAt(kind: ResourceKind, relationships: readonly ResourceRelationship[], t: number): AttributedUser[] {
  const counting = COUNTING_RELATIONS[kind];
  return relationships
    .filter((r) => counting.includes(r.relation) && contains({ from: r.from, to: r.to }, t))
    .map((r) => candidate(kind, r))
    .sort(byStrength);
}

/**
 * Every counting relationship of a resource that overlaps `window` (e.g. a month), clipped to it:
 * `since`/`until` are the clipped bounds, `why` names the real start. What the business-applications
 * engine reads to find the qualifying candidates of a month (decision 3).
 */
export function attributedIntervals(kind: ResourceKind, relationships: readonly ResourceRelationship[], window: { from: number; to: number }): AttributedUser[] {
  const counting = COUNTING_RELATIONS[kind];
  const out: AttributedUser[] = [];
  for (const r of relationships) {
    if (!counting.includes(r.relation)) continue;
    const clip = intersect({ from: r.from, to: r.to }, window);
    if (clip) out.push(candidate(kind, r, clip));
  }
  return out.sort((a, b) => (a.since ?? 0) - (b.since ?? 0) || byStrength(a, b));
}

// --- writing: plans of changes --------------------------------------------------------------

/** What a change does to a resource's timeline: intervals to close at `at`, intervals to open. */
export interface TimelinePlan {
  readonly kind: "change";
  readonly at: number;
  /** Open intervals (as stored) to end at `at`. */
  readonly close: readonly ResourceRelationship[];
  readonly open: readonly ResourceRelationship[];
}
export type PlanOutcome = TimelinePlan | { readonly kind: "unchanged" } | { readonly kind: "refused"; readonly reason: string };

const isOpen = (r: ResourceRelationship) => r.to === null;
const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * The owner of an app or flow becomes `principalId` at `at`. The previous owner's interval ends
 * at `at`; if the new owner was a co-owner, that interval ends too (the owner is not also a
 * co-owner). Model-driven apps change owner only through a solution import (published rule).
 * Re-owning to the current owner changes nothing.
 */
export function planOwnerChange(
  kind: ResourceKind, resourceId: string, current: readonly ResourceRelationship[], principalId: string, at: number,
  basis: "assigned" | "solutionImport", solutionId: string | null = null,
): PlanOutcome {
  if (kind === "dataset" || kind === "ciInstance") return { kind: "refused", reason: `a ${kindLabel(kind)} has no owner to change; ${kind === "dataset" ? "take the dataset over instead" : "give the user a role on the instance"}.` };
  if (kind === "modelDrivenApp" && basis !== "solutionImport") {
    return { kind: "refused", reason: "the owner of a model-driven app changes only through a solution import; import the solution containing it as the new owner." };
  }
  const open = current.filter(isOpen);
  const owner = open.find((r) => r.relation === "owner");
  if (owner && sameId(owner.principalId, principalId)) return { kind: "unchanged" };
  if (owner && owner.from !== null && at < owner.from) {
    return { kind: "refused", reason: `the change at ${iso(at)} is before the current owner's interval began (${iso(owner.from)}); history is not rewritten.` };
  }
  const close = [...(owner ? [owner] : []), ...open.filter((r) => r.relation === "coOwner" && sameId(r.principalId, principalId))];
  return { kind: "change", at, close, open: [{ resourceId, principalId, relation: "owner", basis, from: at, to: null, solutionId }] };
}

/**
 * `principalId` becomes a co-owner (a CanEdit permission) at `at`. Canvas apps and flows take
 * co-owners (a flow's co-owner never counts, decision 1); the owner or a co-owner already open is
 * "unchanged".
 */
export function planCoOwnerAdd(kind: ResourceKind, resourceId: string, current: readonly ResourceRelationship[], principalId: string, at: number): PlanOutcome {
  if (kind !== "canvasApp" && kind !== "flow") return { kind: "refused", reason: `a ${kindLabel(kind)} has no co-owners; co-owners exist on canvas apps and flows only.` };
  const open = current.filter(isOpen);
  if (open.some((r) => (r.relation === "owner" || r.relation === "coOwner") && sameId(r.principalId, principalId))) return { kind: "unchanged" };
  return { kind: "change", at, close: [], open: [{ resourceId, principalId, relation: "coOwner", basis: "shared", from: at, to: null }] };
}

/** `principalId` stops being a co-owner at `at`. The owner cannot be removed this way. */
export function planCoOwnerRemove(current: readonly ResourceRelationship[], principalId: string, at: number): PlanOutcome {
  const open = current.filter(isOpen);
  if (open.some((r) => r.relation === "owner" && sameId(r.principalId, principalId))) {
    return { kind: "refused", reason: "the owner's permission cannot be removed; change the owner first (modifyAppOwner)." };
  }
  const co = open.filter((r) => r.relation === "coOwner" && sameId(r.principalId, principalId));
  return co.length ? { kind: "change", at, close: co, open: [] } : { kind: "unchanged" };
}

/**
 * A dataset's attributed user becomes `principalId` at `at`: by publishing (an import into the
 * workspace) or by taking it over. The previous publisher's interval ends at `at`.
 */
export function planPublisherChange(resourceId: string, current: readonly ResourceRelationship[], principalId: string, at: number, basis: "published" | "takeover"): PlanOutcome {
  const open = current.filter(isOpen);
  const publisher = open.find((r) => r.relation === "publisher");
  if (publisher && sameId(publisher.principalId, principalId)) return { kind: "unchanged" };
  return { kind: "change", at, close: publisher ? [publisher] : [], open: [{ resourceId, principalId, relation: "publisher", basis, from: at, to: null }] };
}

/** A component of an imported solution, with its current relationships. */
export interface ImportedComponent {
  readonly resourceId: string;
  readonly kind: ResourceKind;
  readonly current: readonly ResourceRelationship[];
}

/**
 * A solution import by `importer` at `at` re-owns every component to the importer from `at`
 * ("the last account … to import the solution assumes ownership of all objects inside"). Returns
 * one plan per component that changes; components the importer already owns are left as they are.
 */
export function planSolutionImport(components: readonly ImportedComponent[], importer: string, at: number, solutionId: string): TimelinePlan[] {
  const plans: TimelinePlan[] = [];
  for (const c of components) {
    const p = planOwnerChange(c.kind, c.resourceId, c.current, importer, at, "solutionImport", solutionId);
    if (p.kind === "change") plans.push(p);
  }
  return plans;
}

// --- checking a history ---------------------------------------------------------------------

/** One problem with a history, by index into the list checked. */
export interface HistoryProblem {
  readonly index: number;
  readonly message: string;
}

/**
 * Checks a resource's relationship history: intervals well-formed (`from < to`), owner and
 * publisher intervals never overlap each other, and one principal's intervals of one relation
 * never overlap. Used by the world loader (decision 2: histories are records of what happened;
 * they are not re-checked against permissions).
 */
export function checkHistory(relationships: readonly ResourceRelationship[]): HistoryProblem[] {
  const problems: HistoryProblem[] = [];
  relationships.forEach((r, i) => {
    if (r.from !== null && r.to !== null && r.from >= r.to) problems.push({ index: i, message: `"from" (${iso(r.from)}) must be before "to" (${iso(r.to)}).` });
  });
  for (let i = 0; i < relationships.length; i++) {
    const a = relationships[i] as ResourceRelationship;
    for (let j = 0; j < i; j++) {
      const b = relationships[j] as ResourceRelationship;
      if (!overlaps(a, b)) continue;
      const single = (a.relation === "owner" || a.relation === "publisher") && a.relation === b.relation;
      if (single) {
        problems.push({ index: i, message: `overlaps the ${a.relation} interval of ${b.principalId} [${iso(b.from)}, ${b.to === null ? "now" : iso(b.to)}); a resource has one ${a.relation} at a time, back to back.` });
      } else if (a.relation === b.relation && sameId(a.principalId, b.principalId)) {
        problems.push({ index: i, message: `overlaps another ${a.relation} interval of the same principal; merge the two.` });
      }
    }
  }
  return problems;
}
