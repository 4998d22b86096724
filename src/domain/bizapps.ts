/**
 * Business-applications attribution, the pure part (docs/POWER-PLATFORM.md, "Business-applications
 * attribution"; design decisions 3–7): the **candidate table** of a month.
 *
 * For every resource R known in month M and every counting relationship interval of R that
 * overlaps M (`COUNTING_RELATIONS`: owner / co-owner / publisher / instance user per kind), the
 * table holds one row per partner location the principal could qualify through, with the
 * instants at which it qualifies:
 *
 *     relationship ∩ M ∩ R alive
 *       ∩ Active link of the principal to the location     (in R's tenant, or — for a principal of
 *                                                            a delegated-admin partner tenant — in
 *                                                            its home tenant: decision 7)
 *       ∩ location id active                               (same stop rules as Azure)
 *       ∩ principal enabled and not deleted
 *       ∩ the delegatedAdmins entry holding                (delegated-admin path only)
 *
 * truncated to the second like the Azure coverage table. A principal with no link to a known
 * location at all gets one row with no partner (`noLink`); one whose links to known locations all
 * lie outside M (a link created after the month, or removed before it) gets a row per such
 * location with `linkNotActive`. Every row with a location carries the link interval nearest to
 * the relationship (`linkFrom`, `linkTo`: when the link starts or ended, for diagnose). The reason
 * a row does not qualify names the first condition that empties it, in the order above.
 *
 * What needs the month's events — a Customer Insights instance user counts only with activity on
 * the instance (`requiresActivity`), each candidate's last act while qualifying, the decision and
 * the metric — is done in SQL over the activity lake (src/bizapps/sql.ts), so the table stays
 * proportional to resources × relationships × link intervals, never to events.
 */
import { intersect, intersectSets, subtractSets, union, type Interval } from "./interval.ts";
import { toSecond } from "./attribution.ts";
import {
  attributedRole, COUNTING_RELATIONS, NOT_APPLICABLE_ENVIRONMENT, RESOURCE_TYPE_OF, WORKLOAD_OF,
  type AttributedUserRole, type Basis, type Relation, type ResourceKind, type ResourceRelationship,
} from "./power-platform/index.ts";

/** Why a candidate row does not qualify (null when it does, before the activity check). */
export type NotQualifyingReason =
  | "noLink" // the principal has no link to a registered location id, at any time
  | "principalUnknown" // the principal exists neither in R's tenant nor in a delegated-admin partner tenant
  | "linkNotActive" // linked to this location, but never while holding the relationship in the month (the link may lie wholly outside it)
  | "locationInactive" // linked while holding it, but the location id was inactive then
  | "principalDisabled" // ... but the principal was disabled or deleted then
  | "delegationEnded" // delegated-admin path: the delegatedAdmins entry did not hold then
  | "noActivity"; // Customer Insights: no activity event of the user on the instance in the month (SQL)

export type LinkPath = "home" | "delegatedAdmin";

export interface BizappsResource {
  readonly tenantId: string;
  readonly id: string;
  readonly kind: ResourceKind;
  readonly environmentId: string | null;
  readonly displayName: string;
  readonly createdAt: number | null;
  readonly deletedAt: number | null;
}

export interface BizappsEnvironment {
  readonly tenantId: string;
  readonly id: string;
  readonly displayName: string;
  readonly type: string;
}

export interface BizappsPrincipal {
  readonly tenantId: string;
  readonly objectId: string;
  readonly deletedAt: number | null;
}

export interface DatedRow {
  readonly validFrom: number | null;
  readonly validTo: number | null;
}

/** Everything the candidate table reads from the control plane, as plain data (ids any case). */
export interface CandidateInput {
  readonly resources: readonly BizappsResource[];
  readonly environments: readonly BizappsEnvironment[];
  /** Relationships overlapping the month, each with its resource's tenant. */
  readonly relationships: readonly (ResourceRelationship & { readonly tenantId: string })[];
  readonly principals: readonly BizappsPrincipal[];
  readonly disabled: readonly ({ readonly tenantId: string; readonly objectId: string } & DatedRow)[];
  /** Active link intervals (a row exists while linked). */
  readonly links: readonly ({ readonly tenantId: string; readonly objectId: string; readonly partnerId: string } & DatedRow)[];
  /** Registered location ids and their organisation (PGA) id. */
  readonly locations: readonly { readonly id: string; readonly globalId: string }[];
  readonly locationStatus: readonly ({ readonly locationId: string; readonly active: boolean } & DatedRow)[];
  /** delegatedAdmins entries: partner tenant `partnerTenantId` may act in `tenantId`. */
  readonly delegatedAdmins: readonly ({ readonly tenantId: string; readonly partnerTenantId: string } & DatedRow)[];
}

/** One row of the candidate table: a (resource, relationship interval, partner location). */
export interface CandidateRow {
  readonly candId: number;
  readonly customerTenantId: string;
  readonly resourceId: string;
  readonly kind: ResourceKind;
  readonly workload: string;
  readonly resourceType: string;
  readonly environmentId: string | null;
  readonly environmentType: string;
  readonly principalId: string;
  /** The tenant the principal (and its link) lives in; null when unknown. */
  readonly principalTenantId: string | null;
  readonly role: AttributedUserRole;
  readonly relation: Relation;
  readonly basis: Basis;
  readonly solutionId: string | null;
  /** The relationship's real bounds (null: since always / still so). */
  readonly relationshipFrom: number | null;
  readonly relationshipTo: number | null;
  readonly partnerLocationId: string | null;
  readonly globalId: string | null;
  readonly linkPath: LinkPath | null;
  /**
   * The principal's link interval to this location nearest to the relationship held in the month
   * (one overlapping it when there is one; else the closest, the later on a tie): real bounds, null
   * meaning since always / still linked. Both null on rows without a location.
   */
  readonly linkFrom: number | null;
  readonly linkTo: number | null;
  /** Disjoint, sorted, second-truncated qualifying intervals inside the month. */
  readonly qualifying: readonly { readonly from: number; readonly to: number }[];
  readonly reason: Exclude<NotQualifyingReason, "noActivity"> | null;
  /** Customer Insights: qualifies only with ≥ 1 activity event of the user on the instance in M. */
  readonly requiresActivity: boolean;
}

export interface CandidateTable {
  readonly rows: readonly CandidateRow[];
  /** Resources alive in the month (considered). */
  readonly resources: readonly BizappsResource[];
}

const lc = (s: string) => s.toLowerCase();
const k2 = (a: string, b: string) => `${lc(a)}|${lc(b)}`;

function groupIntervals<T extends DatedRow>(rows: readonly T[], key: (r: T) => string): Map<string, Interval[]> {
  const out = new Map<string, Interval[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k) ?? [];
    list.push({ from: r.validFrom, to: r.validTo });
    out.set(k, list);
  }
  return out;
}

/** Second-truncated finite pieces of an interval set inside the month. */
function pieces(set: readonly Interval[]): { from: number; to: number }[] {
  return union(set)
    .map((i) => ({ from: toSecond(i.from as number), to: toSecond(i.to as number) }))
    .filter((i) => i.from < i.to);
}

export function environmentTypeOf(resource: Pick<BizappsResource, "kind" | "environmentId" | "tenantId">, environments: ReadonlyMap<string, BizappsEnvironment>): string {
  if (resource.kind === "dataset" || resource.environmentId === null) return NOT_APPLICABLE_ENVIRONMENT;
  return environments.get(k2(resource.tenantId, resource.environmentId))?.type ?? NOT_APPLICABLE_ENVIRONMENT;
}

/**
 * Builds the candidate table of `window` (a month, epoch ms). Pure; linear in resources ×
 * relationships × links of each principal.
 */
export function buildCandidates(input: CandidateInput, window: { from: number; to: number }): CandidateTable {
  const month: Interval = { from: window.from, to: window.to };
  const environments = new Map(input.environments.map((e) => [k2(e.tenantId, e.id), e]));
  const principals = new Map(input.principals.map((p) => [k2(p.tenantId, p.objectId), p]));
  const disabled = groupIntervals(input.disabled, (d) => k2(d.tenantId, d.objectId));
  const locations = new Map(input.locations.map((l) => [l.id, l.globalId]));
  const inactive = groupIntervals(input.locationStatus.filter((s) => !s.active), (s) => s.locationId);
  const delegations = groupIntervals(input.delegatedAdmins, (d) => k2(d.tenantId, d.partnerTenantId));
  const partnerTenantsOf = new Map<string, string[]>();
  for (const d of input.delegatedAdmins) {
    const list = partnerTenantsOf.get(lc(d.tenantId)) ?? [];
    if (!list.includes(lc(d.partnerTenantId))) list.push(lc(d.partnerTenantId));
    partnerTenantsOf.set(lc(d.tenantId), list);
  }
  // Links by principal, then by location (only registered location ids count, as for Azure): the
  // parts inside the month, and every link interval as recorded (to tell "never linked" from
  // "linked, but not in this month", and to name the link's dates).
  const linksOf = new Map<string, Map<string, Interval[]>>();
  const recordedLinksOf = new Map<string, Map<string, Interval[]>>();
  for (const l of input.links) {
    if (!locations.has(l.partnerId)) continue;
    const recorded = recordedLinksOf.get(k2(l.tenantId, l.objectId)) ?? new Map<string, Interval[]>();
    recorded.set(l.partnerId, [...(recorded.get(l.partnerId) ?? []), { from: l.validFrom, to: l.validTo }]);
    recordedLinksOf.set(k2(l.tenantId, l.objectId), recorded);
    const clipped = intersect({ from: l.validFrom, to: l.validTo }, month);
    if (!clipped) continue;
    const pk = k2(l.tenantId, l.objectId);
    const byLoc = linksOf.get(pk) ?? new Map<string, Interval[]>();
    const list = byLoc.get(l.partnerId) ?? [];
    list.push(clipped);
    byLoc.set(l.partnerId, list);
    linksOf.set(pk, byLoc);
  }

  const alive = input.resources.filter((r) => (r.deletedAt === null || r.deletedAt > window.from) && (r.createdAt === null || r.createdAt < window.to));
  const resources = new Map(alive.map((r) => [k2(r.tenantId, r.id), r]));
  const relsOf = new Map<string, ResourceRelationship[]>();
  for (const rel of input.relationships) {
    const k = k2(rel.tenantId, rel.resourceId);
    if (!resources.has(k)) continue;
    const list = relsOf.get(k) ?? [];
    list.push(rel);
    relsOf.set(k, list);
  }

  const rows: CandidateRow[] = [];
  const enabledOf = new Map<string, Interval[]>();
  let seq = 0;
  const resourceKeys = [...relsOf.keys()].sort();
  for (const rk of resourceKeys) {
    const r = resources.get(rk) as BizappsResource;
    const rels = relsOf.get(rk) as ResourceRelationship[];
    const lifetime: Interval = { from: null, to: r.deletedAt };
    const environmentType = environmentTypeOf(r, environments);
    const counting = COUNTING_RELATIONS[r.kind];
    for (const c of [...rels].sort((a, b) => (a.from ?? -Infinity) - (b.from ?? -Infinity) || lc(a.principalId).localeCompare(lc(b.principalId)))) {
      if (!counting.includes(c.relation)) continue;
      const inMonth = intersect({ from: c.from, to: c.to }, month);
      if (!inMonth) continue;
      const held = intersect(inMonth, lifetime);
      const base = {
        customerTenantId: lc(r.tenantId), resourceId: lc(r.id), kind: r.kind, workload: WORKLOAD_OF[r.kind], resourceType: RESOURCE_TYPE_OF[r.kind],
        environmentId: r.environmentId === null ? null : lc(r.environmentId), environmentType, principalId: lc(c.principalId),
        role: attributedRole(r.kind, c), relation: c.relation, basis: c.basis, solutionId: c.solutionId ? lc(c.solutionId) : null,
        relationshipFrom: c.from, relationshipTo: c.to, requiresActivity: c.relation === "instanceUser",
      };
      // Which tenant the principal lives in, and by which path it would be linked (decision 7).
      let principalTenantId: string | null = null;
      let linkPath: LinkPath | null = null;
      let delegation: Interval[] | null = null;
      if (principals.has(k2(r.tenantId, c.principalId))) {
        principalTenantId = lc(r.tenantId);
        linkPath = "home";
      } else {
        for (const t of partnerTenantsOf.get(lc(r.tenantId)) ?? []) {
          if (!principals.has(k2(t, c.principalId))) continue;
          principalTenantId = t;
          linkPath = "delegatedAdmin";
          delegation = delegations.get(k2(r.tenantId, t)) ?? [];
          break;
        }
      }
      const push = (partnerLocationId: string | null, globalId: string | null, qualifying: CandidateRow["qualifying"], reason: CandidateRow["reason"], link: Interval | null = null) => {
        rows.push({
          candId: ++seq, customerTenantId: base.customerTenantId, resourceId: base.resourceId, kind: base.kind, workload: base.workload, resourceType: base.resourceType,
          environmentId: base.environmentId, environmentType: base.environmentType, principalId: base.principalId, principalTenantId, role: base.role,
          relation: base.relation, basis: base.basis, solutionId: base.solutionId, relationshipFrom: base.relationshipFrom, relationshipTo: base.relationshipTo,
          partnerLocationId, globalId, linkPath, linkFrom: link?.from ?? null, linkTo: link?.to ?? null, qualifying, reason, requiresActivity: base.requiresActivity,
        });
      };
      const none = (reason: "noLink" | "principalUnknown") => push(null, null, [], reason);
      if (principalTenantId === null || !held) {
        none("principalUnknown");
        continue;
      }
      const pk = k2(principalTenantId, c.principalId);
      const byLoc = linksOf.get(pk);
      const recorded = recordedLinksOf.get(pk);
      if (!byLoc || byLoc.size === 0) {
        if (!recorded || recorded.size === 0) {
          none("noLink");
          continue;
        }
        // Linked, but never in the month: a row per location, with the link nearest to the relationship.
        for (const loc of [...recorded.keys()].sort()) push(loc, locations.get(loc) as string, [], "linkNotActive", nearestLink(recorded.get(loc) as Interval[], held));
        continue;
      }
      let enabled = enabledOf.get(pk);
      if (!enabled) {
        const principal = principals.get(pk) as BizappsPrincipal;
        enabled = subtractSets([month], [...(disabled.get(pk) ?? []), ...(principal.deletedAt === null ? [] : [{ from: principal.deletedAt, to: null }])]);
        enabledOf.set(pk, enabled);
      }
      for (const loc of byLoc.size === 1 ? byLoc.keys() : [...byLoc.keys()].sort()) {
        const linked = intersectSets(byLoc.get(loc) as Interval[], [held]);
        const holes = inactive.get(loc);
        const active = holes ? subtractSets(linked, holes) : linked;
        const on = intersectSets(active, enabled);
        const final = delegation === null ? on : intersectSets(on, delegation);
        const q = pieces(final);
        const reason = q.length > 0 ? null
          : pieces(linked).length === 0 ? "linkNotActive"
            : pieces(active).length === 0 ? "locationInactive"
              : pieces(on).length === 0 ? "principalDisabled"
                : "delegationEnded";
        push(loc, locations.get(loc) as string, q, reason, nearestLink(recorded?.get(loc) ?? [], held));
      }
    }
  }
  return { rows, resources: alive };
}

/**
 * The link interval nearest to `held` (a finite interval inside the month): one overlapping it if
 * any, else the one with the smallest gap, the later one on a tie (it says when credit can start).
 */
function nearestLink(links: readonly Interval[], held: Interval): Interval | null {
  let best: Interval | null = null;
  let bestGap = Infinity;
  for (const l of links) {
    const from = l.from ?? -Infinity;
    const to = l.to ?? Infinity;
    const gap = to <= (held.from as number) ? (held.from as number) - to : from >= (held.to as number) ? from - (held.to as number) : 0;
    if (gap < bestGap || (gap === bestGap && best !== null && from > (best.from ?? -Infinity))) {
      best = l;
      bestGap = gap;
    }
  }
  return best;
}

/** `MonthlyConsumptionValue`: quantity × rate, as exact decimal text (the rate's decimals kept, trailing zeros dropped). */
export function consumptionValue(quantity: number | bigint, rate: string): string {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(rate.trim());
  if (!m) throw new Error(`rate "${rate}" is not a non-negative decimal number, e.g. 200 or 0.2`);
  const frac = m[2] ?? "";
  const scaled = BigInt(`${m[1]}${frac}`) * BigInt(quantity);
  if (frac.length === 0) return scaled.toString();
  const text = scaled.toString().padStart(frac.length + 1, "0");
  const whole = text.slice(0, text.length - frac.length);
  const decimals = text.slice(text.length - frac.length).replace(/0+$/, "");
  return decimals ? `${whole}.${decimals}` : whole;
}

/** The Solutions Partner rates per workload (configuration: published figures that change). */
export interface BizappsRates {
  /** Per monthly active user. */
  readonly PowerApps: string;
  readonly PowerAutomate: string;
  readonly PowerBI: string;
  /** Per unified profile. */
  readonly CustomerInsights: string;
}
export const DEFAULT_BIZAPPS_RATES: BizappsRates = { PowerApps: "200", PowerAutomate: "200", PowerBI: "200", CustomerInsights: "0.2" };

/** The metric of a workload (decision 5). */
export const QUANTITY_TYPE_OF: Readonly<Record<string, "MAU" | "UnifiedProfiles">> = {
  PowerApps: "MAU", PowerAutomate: "MAU", PowerBI: "MAU", CustomerInsights: "UnifiedProfiles",
};
