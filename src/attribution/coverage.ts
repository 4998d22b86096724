/**
 * The coverage table: for one month and one eligibility policy, every (partner location,
 * attribution type, subscription, scope prefix, interval, role) that can earn credit, with the
 * evidence behind it. Small (proportional to links × assignments, not to usage), computed in
 * TypeScript from the control plane, then joined with usage in SQL (engine.ts).
 *
 * PAL rows (rules 1–7): for each Active link interval of a principal (tenant, object) to a
 * location id, intersected with
 *   - the location id being active (rule 7),
 *   - the principal being enabled and not deleted, and each access path holding
 *     (effectiveAccess: direct, group chain, Lighthouse delegation — rules 2–4),
 * at the scopes of its roles. Scopes at or above a subscription (root, management groups with
 * their effective-dated membership, the subscription) become subscription-level rows
 * (scope_prefix null); scopes below become scope_prefix rows (lower-case ARM id).
 * Lighthouse (rule 4) falls out of keying links by the principal's own tenant: a managing-tenant
 * principal reaches delegated scopes only through the link in its own (managing) tenant; a link
 * recorded in the customer tenant names an object that does not exist there and counts for
 * nothing (diagnose reports it).
 *
 * DPOR rows (rules 10–12): subscription-level, the DPOR interval cut at the first non-EA moment,
 * intersected with the location being active.
 *
 * `buildCoverage` is pure over a `CoverageInput` (loaded once by `loadCoverageInput`), so the
 * coverage report can re-run it with hypothetical links (revenue at risk).
 */
import { effectiveAccess, indexAccess, type AccessEntry, type AccessInput, type AccessPath, type AccessPrincipal } from "../domain/access.ts";
import { intersectSets, subtractSets, type Interval } from "../domain/interval.ts";
import { eligibilityPolicy, type RoleEligibilityPolicy } from "../domain/roles.ts";
import { parseScope } from "../domain/scope.ts";
import { roleRanks, rankKey, toSecond, type AttributionType } from "../domain/attribution.ts";
import type { MonthWindow } from "../domain/time.ts";
import { effectiveDporInterval } from "../domain/partner-of-record.ts";
import type { PartnerLinkInterval, PartnerLocation, PartnerOrganisation, LocationStatusInterval, Store, Subscription, Tenant, PartnerOfRecordInterval } from "../store/index.ts";

export type Policy = "pec" | "all-roles";

/** Everything coverage reads from the control plane, as plain data. */
export interface CoverageInput {
  readonly access: AccessInput;
  readonly links: readonly PartnerLinkInterval[];
  readonly organisations: readonly PartnerOrganisation[];
  readonly locations: readonly PartnerLocation[];
  readonly locationStatus: readonly LocationStatusInterval[];
  readonly partnersOfRecord: readonly PartnerOfRecordInterval[];
  /** Every subscription row (history included): offer, tenant, name. */
  readonly subscriptions: readonly Subscription[];
  readonly tenants: readonly Tenant[];
}

export async function loadCoverageInput(store: Store, window: { from: number; to: number }): Promise<CoverageInput> {
  const [access, links, organisations, locations, locationStatus, partnersOfRecord, subscriptions, tenants] = await Promise.all([
    // No tenant filter: Lighthouse paths cross tenants (definition in the customer tenant,
    // principals and groups in the managing one).
    store.access.loadAccessSnapshot({ range: window }),
    store.links.history(),
    store.partners.listOrganisations(),
    store.partners.listLocations(),
    store.partners.listLocationStatus(),
    store.partnersOfRecord.history(),
    store.resources.subscriptionHistory(),
    store.directory.listTenants(),
  ]);
  return { access, links, organisations, locations, locationStatus, partnersOfRecord, subscriptions, tenants };
}

/** One row of the coverage table (times are epoch ms at second precision, clipped to the month). */
export interface CoverageRow {
  readonly partnerLocationId: string;
  readonly globalId: string;
  readonly attributionType: AttributionType;
  /** Lower case. */
  readonly subscriptionId: string;
  /** Lower-case ARM id below the subscription, or null for the whole subscription. */
  readonly scopePrefix: string | null;
  readonly validFrom: number;
  readonly validTo: number;
  /** Role name for PAL; null for DPOR. */
  readonly roleName: string | null;
  /** Rule 9 order (1 = best) across the table; DPOR rows rank after every role. */
  readonly roleRank: number;
  readonly eligible: boolean;
  readonly evidenceId: string;
  /** The customer tenant of the subscription ("" when the control plane does not know it). */
  readonly customerTenantId: string;
  /**
   * The only row of its (location, type, subscription), of an organisation with no other
   * (location, type) there: a usage row matching it has that one interval for its location and
   * type and cannot be a duplicate, so the engine streams the match out as the fact (no
   * grouping, no window, nothing held in memory).
   */
  readonly solo: boolean;
  /** Its organisation has rows of more than one (location, type) on the subscription: duplicates are possible (rule 16). */
  readonly dupPossible: boolean;
}

/** The chain behind a coverage row (rule 18), as explain prints it. */
export type Evidence =
  | {
      readonly id: string;
      readonly type: "PAL";
      readonly partnerLocationId: string;
      readonly globalId: string;
      /** The link intervals of this principal to this location that overlap the month. */
      readonly links: readonly Interval[];
      readonly locationInactive: readonly Interval[];
      readonly principal: { readonly tenantId: string; readonly objectId: string; readonly type: string; readonly displayName: string | null; readonly homeTenantId: string | null; readonly deletedAt: number | null; readonly disabled: readonly Interval[] };
      readonly access: { readonly scope: string; readonly inheritedFrom: string | null; readonly scopeTenantId: string; readonly role: string; readonly roleId: string; readonly eligible: boolean; readonly path: AccessPath; readonly intervals: readonly Interval[] };
      /** What earns credit: access ∩ link ∩ location active, clipped to the month. */
      readonly intervals: readonly Interval[];
      /** True when this row exists only in a what-if run (coverage report). */
      readonly hypothetical?: boolean;
    }
  | {
      readonly id: string;
      readonly type: "DPOR";
      readonly partnerLocationId: string;
      readonly globalId: string;
      readonly subscriptionId: string;
      readonly recorded: Interval;
      readonly setBy: string | null;
      readonly endReason: string | null;
      readonly locationInactive: readonly Interval[];
      readonly intervals: readonly Interval[];
    };

export interface CoverageTable {
  readonly window: MonthWindow;
  readonly policy: RoleEligibilityPolicy;
  readonly rows: readonly CoverageRow[];
  readonly evidence: ReadonlyMap<string, Evidence>;
  /** Subscription id → its tenant and name during the month (last row overlapping it). */
  readonly subscriptions: ReadonlyMap<string, { readonly tenantId: string; readonly displayName: string; readonly offerType: string }>;
  readonly tenants: ReadonlyMap<string, string>;
  readonly locations: ReadonlyMap<string, { readonly globalId: string; readonly name: string; readonly organisationName: string }>;
  /** Links that earned nothing for a reason coverage can see (diagnose reads these too). */
  readonly ignoredLinks: readonly { readonly link: PartnerLinkInterval; readonly reason: "unknownLocation" | "unknownPrincipal" }[];
}

/** What-if changes for the coverage report's "revenue at risk". */
export interface WhatIf {
  /** Principals treated as linked to the location over the whole month. */
  readonly assumeLinked?: readonly { readonly tenantId: string; readonly objectId: string; readonly partnerId: string }[];
  /** Principals treated as enabled and not deleted (keys `tenant|object`, lower case). */
  readonly assumeEnabled?: ReadonlySet<string>;
}

const key2 = (t: string, o: string) => `${t.toLowerCase()}|${o.toLowerCase()}`;

/** Intervals when each location id was inactive (rule 7). */
function inactiveByLocation(status: readonly LocationStatusInterval[]): Map<string, Interval[]> {
  const out = new Map<string, Interval[]>();
  for (const s of status) {
    if (s.active) continue;
    const list = out.get(s.locationId) ?? [];
    list.push({ from: s.validFrom, to: s.validTo });
    out.set(s.locationId, list);
  }
  return out;
}

export function buildCoverage(input: CoverageInput, window: MonthWindow, policyName: Policy, whatIf: WhatIf = {}): CoverageTable {
  const policy = eligibilityPolicy(policyName);
  const month: Interval = { from: window.from, to: window.to };
  const access = whatIf.assumeEnabled?.size ? withEnabled(input.access, whatIf.assumeEnabled) : input.access;
  const index = indexAccess(access);
  const orgs = new Map(input.organisations.map((o) => [o.globalId, o]));
  const locations = new Map(input.locations.map((l) => [l.id, { globalId: l.globalId, name: l.name ?? orgs.get(l.globalId)?.name ?? l.id, organisationName: orgs.get(l.globalId)?.name ?? l.globalId }]));
  const inactive = inactiveByLocation(input.locationStatus);
  const activeOf = (loc: string) => subtractSets([month], inactive.get(loc) ?? []);

  // Links grouped by (principal, location), clipped to the month.
  const linkGroups = new Map<string, { link: PartnerLinkInterval; intervals: Interval[]; hypothetical: boolean }>();
  const ignoredLinks: CoverageTable["ignoredLinks"][number][] = [];
  const addLink = (link: PartnerLinkInterval, hypothetical: boolean) => {
    const clipped = intersectSets([{ from: link.validFrom, to: link.validTo }], [month]);
    if (clipped.length === 0) return;
    if (!locations.has(link.partnerId)) {
      ignoredLinks.push({ link, reason: "unknownLocation" });
      return;
    }
    if (!index.principals.has(key2(link.tenantId, link.objectId))) {
      ignoredLinks.push({ link, reason: "unknownPrincipal" });
      return;
    }
    const k = `${key2(link.tenantId, link.objectId)}|${link.partnerId}`;
    const g = linkGroups.get(k);
    if (g) {
      g.intervals.push(...clipped);
      g.hypothetical &&= hypothetical;
    } else linkGroups.set(k, { link, intervals: clipped, hypothetical });
  };
  for (const l of input.links) addLink(l, false);
  for (const l of whatIf.assumeLinked ?? []) addLink({ tenantId: l.tenantId, objectId: l.objectId, partnerId: l.partnerId, validFrom: window.from, validTo: window.to }, true);

  type Draft = Omit<CoverageRow, "roleRank" | "customerTenantId" | "solo" | "dupPossible"> & { readonly roleKey: string | null };
  const drafts: Draft[] = [];
  const evidence = new Map<string, Evidence>();
  const accessCache = new Map<string, readonly AccessEntry[]>();
  let seq = 0;

  for (const { link, intervals: linked, hypothetical } of linkGroups.values()) {
    const loc = link.partnerId;
    const location = locations.get(loc)!;
    const earning = intersectSets(linked, activeOf(loc));
    if (earning.length === 0) continue;
    const pk = key2(link.tenantId, link.objectId);
    let entries = accessCache.get(pk);
    if (!entries) {
      entries = effectiveAccess(index, { kind: "principal", tenantId: link.tenantId, objectId: link.objectId }, window, { policy }).entries;
      accessCache.set(pk, entries);
    }
    const principal = index.principals.get(pk) as AccessPrincipal;
    for (const entry of entries) {
      // Grants at `/` or a management group are reported again on each subscription they reached
      // (inheritedFrom set); the raw entry has no subscription and matches no usage.
      if (entry.scopeKey === "/" || entry.scopeKey.startsWith("/providers/")) continue;
      const scope = parseScope(entry.scope);
      if (!scope.subscriptionId) continue;
      const held = intersectSets(entry.intervals, earning).map((i) => ({ from: toSecond(i.from as number), to: toSecond(i.to as number) })).filter((i) => i.from < i.to);
      if (held.length === 0) continue;
      const id = `E${++seq}`;
      evidence.set(id, {
        id, type: "PAL", partnerLocationId: loc, globalId: location.globalId,
        links: linked, locationInactive: intersectSets(inactive.get(loc) ?? [], [month]),
        principal: {
          tenantId: principal.tenantId, objectId: principal.objectId, type: principal.type, displayName: principal.displayName ?? null,
          homeTenantId: principal.homeTenantId, deletedAt: principal.deletedAt,
          disabled: intersectSets(access.disabled.filter((d) => key2(d.tenantId, d.objectId) === pk).map((d) => ({ from: d.validFrom, to: d.validTo })), [month]),
        },
        access: { scope: entry.scope, inheritedFrom: entry.inheritedFrom, scopeTenantId: entry.scopeTenantId, role: entry.role.name, roleId: entry.role.id, eligible: entry.role.eligible, path: entry.path, intervals: entry.intervals },
        intervals: held,
        ...(hypothetical ? { hypothetical: true } : {}),
      });
      const role = { name: entry.role.name, eligible: entry.role.eligible };
      for (const i of held) {
        drafts.push({
          partnerLocationId: loc, globalId: location.globalId, attributionType: "PAL", subscriptionId: scope.subscriptionId,
          scopePrefix: scope.kind === "subscription" ? null : scope.key, validFrom: i.from, validTo: i.to,
          roleName: role.name, roleKey: rankKey(role), eligible: role.eligible, evidenceId: id,
        });
      }
    }
  }

  // DPOR (rules 10–12): cut at the first non-EA moment, and at the location's inactivity.
  const offersBySub = new Map<string, Subscription[]>();
  for (const s of input.subscriptions) {
    const list = offersBySub.get(s.id.toLowerCase()) ?? [];
    list.push(s);
    offersBySub.set(s.id.toLowerCase(), list);
  }
  for (const d of input.partnersOfRecord) {
    const location = locations.get(d.partnerId);
    if (!location) continue;
    const sub = d.subscriptionId.toLowerCase();
    const effective = effectiveDporInterval({ from: d.validFrom, to: d.validTo }, offersBySub.get(sub) ?? []);
    const held = intersectSets(intersectSets(effective, [month]), activeOf(d.partnerId))
      .map((i) => ({ from: toSecond(i.from as number), to: toSecond(i.to as number) })).filter((i) => i.from < i.to);
    if (held.length === 0) continue;
    const id = `E${++seq}`;
    evidence.set(id, {
      id, type: "DPOR", partnerLocationId: d.partnerId, globalId: location.globalId, subscriptionId: sub,
      recorded: { from: d.validFrom, to: d.validTo }, setBy: d.setBy, endReason: d.endReason,
      locationInactive: intersectSets(inactive.get(d.partnerId) ?? [], [month]), intervals: held,
    });
    for (const i of held) {
      drafts.push({
        partnerLocationId: d.partnerId, globalId: location.globalId, attributionType: "DPOR", subscriptionId: sub, scopePrefix: null,
        validFrom: i.from, validTo: i.to, roleName: null, roleKey: null, eligible: true, evidenceId: id,
      });
    }
  }

  const ranks = roleRanks(drafts.filter((d) => d.roleName !== null).map((d) => ({ name: d.roleName as string, eligible: d.eligible })));
  const dporRank = ranks.size + 1;
  // The tenant and name of each subscription during the month: the latest row overlapping it.
  const subscriptions = new Map<string, { tenantId: string; displayName: string; offerType: string }>();
  for (const s of [...input.subscriptions].sort((a, b) => (a.validFrom ?? -Infinity) - (b.validFrom ?? -Infinity))) {
    if (intersectSets([{ from: s.validFrom, to: s.validTo }], [month]).length === 0 && subscriptions.has(s.id.toLowerCase())) continue;
    subscriptions.set(s.id.toLowerCase(), { tenantId: s.tenantId.toLowerCase(), displayName: s.displayName, offerType: s.offerType });
  }

  // Shapes the SQL can shortcut (see CoverageRow.solo / dupPossible).
  const perGroup = new Map<string, number>();
  const kindsPerOrg = new Map<string, Set<string>>();
  for (const d of drafts) {
    const g = `${d.partnerLocationId}|${d.attributionType}|${d.subscriptionId}`;
    perGroup.set(g, (perGroup.get(g) ?? 0) + 1);
    const o = `${d.globalId}|${d.subscriptionId}`;
    const kinds = kindsPerOrg.get(o) ?? new Set<string>();
    kinds.add(`${d.partnerLocationId}|${d.attributionType}`);
    kindsPerOrg.set(o, kinds);
  }
  const rows: CoverageRow[] = drafts.map(({ roleKey, ...d }) => {
    const dupPossible = (kindsPerOrg.get(`${d.globalId}|${d.subscriptionId}`)?.size ?? 0) > 1;
    return {
      ...d,
      roleRank: roleKey === null ? dporRank : (ranks.get(roleKey) as number),
      customerTenantId: subscriptions.get(d.subscriptionId)?.tenantId ?? "",
      solo: !dupPossible && perGroup.get(`${d.partnerLocationId}|${d.attributionType}|${d.subscriptionId}`) === 1,
      dupPossible,
    };
  });
  const tenants = new Map(input.tenants.map((t) => [t.id.toLowerCase(), t.displayName]));
  return { window, policy, rows, evidence, subscriptions, tenants, locations, ignoredLinks };
}

/** The access input with `keys` principals never disabled nor deleted (what-if). */
function withEnabled(input: AccessInput, keys: ReadonlySet<string>): AccessInput {
  return {
    ...input,
    disabled: input.disabled.filter((d) => !keys.has(key2(d.tenantId, d.objectId))),
    principals: input.principals.map((p) => (keys.has(key2(p.tenantId, p.objectId)) ? { ...p, deletedAt: null } : p)),
  };
}
