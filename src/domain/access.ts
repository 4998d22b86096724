/**
 * Effective access: who held which role on which scope, when, and by which path (pure; no I/O, no
 * clock). ATTRIBUTION-RULES.md rules 2–5 and 7.
 *
 * The input is plain data (a snapshot of the store's rows, see store/access.ts
 * `loadAccessSnapshot`), so the same function feeds the ARM layer, attribution and the bench. Index
 * it once with `indexAccess` when asking several questions of one snapshot.
 *
 * Paths:
 * - direct: a role assignment to the principal itself;
 * - group: a role assignment to a group the principal belongs to, through a chain of nested groups
 *   [g1, g2, …] (principal ∈ g1 ∈ g2 …, the assignment is on the last); every link of the chain
 *   must hold at the same time;
 * - delegation: an Azure Lighthouse registration assignment whose definition authorizes the
 *   principal (or a group of the managing tenant it belongs to): permanent authorizations hold
 *   for the assignment's interval; eligible ones only while the principal has activated them.
 * A principal holds nothing while disabled or after deletion; a deleted group passes nothing on.
 */
import { intersectSets, subtractSets, union, type Interval } from "./interval.ts";
import { RoleCatalog, pecPolicy, type RoleDefinition, type RoleEligibilityPolicy } from "./roles.ts";
import { ResourceHierarchy, parseScope, scopeKey, subscriptionScope, type ManagementGroupPlacement, type SubscriptionPlacement } from "./scope.ts";

export type AccessPrincipalType = "User" | "ServicePrincipal" | "Group";

export interface AccessPrincipal {
  readonly tenantId: string;
  readonly objectId: string;
  readonly type: AccessPrincipalType;
  /**
   * The tenant the identity comes from: a guest's home tenant, a service principal's application
   * home tenant, the tenant itself for members and groups. Partners are resolved through it.
   */
  readonly homeTenantId: string | null;
  readonly deletedAt: number | null;
  readonly displayName?: string;
}

export interface AccessMembership {
  readonly tenantId: string;
  readonly groupId: string;
  readonly memberId: string;
  readonly validFrom: number | null;
  readonly validTo: number | null;
}

export interface AccessDisabled {
  readonly tenantId: string;
  readonly objectId: string;
  readonly validFrom: number | null;
  readonly validTo: number | null;
}

export interface AccessRoleAssignment {
  /** The tenant that owns the scope (and the principal). */
  readonly tenantId: string;
  /** Assignment GUID. */
  readonly id: string;
  readonly scope: string;
  readonly principalId: string;
  readonly principalType: string;
  readonly roleDefinitionId: string;
  readonly validFrom: number | null;
  readonly validTo: number | null;
}

export type AuthorizationKind = "permanent" | "eligible";

export interface LighthouseAuthorization {
  /** User, service principal or group in the managing tenant. */
  readonly principalId: string;
  readonly principalIdDisplayName?: string | null;
  readonly roleDefinitionId: string;
  readonly kind: AuthorizationKind;
  readonly delegatedRoleDefinitionIds?: readonly string[];
  /** Eligible only: ISO 8601 duration, e.g. PT8H. */
  readonly maximumActivationDuration?: string | null;
}

export interface AccessRegistrationDefinition {
  /** The customer tenant the definition was created in. */
  readonly tenantId: string;
  readonly id: string;
  readonly name: string;
  readonly managedByTenantId: string;
  readonly authorizations: readonly LighthouseAuthorization[];
}

export interface AccessRegistrationAssignment {
  readonly tenantId: string;
  readonly id: string;
  /** The delegated subscription or resource group. */
  readonly scope: string;
  readonly registrationDefinitionId: string;
  readonly validFrom: number | null;
  readonly validTo: number | null;
}

/** A just-in-time activation of an eligible authorization by a principal of the managing tenant. */
export interface AccessActivation {
  readonly tenantId: string;
  readonly registrationAssignmentId: string;
  readonly principalId: string;
  readonly roleDefinitionId: string;
  readonly validFrom: number | null;
  readonly validTo: number | null;
}

/** Everything effectiveAccess reads: rows as the store holds them. */
export interface AccessInput {
  readonly principals: readonly AccessPrincipal[];
  readonly memberships: readonly AccessMembership[];
  readonly disabled: readonly AccessDisabled[];
  readonly roleAssignments: readonly AccessRoleAssignment[];
  readonly registrationDefinitions: readonly AccessRegistrationDefinition[];
  readonly registrationAssignments: readonly AccessRegistrationAssignment[];
  readonly activations: readonly AccessActivation[];
  readonly managementGroups: readonly ManagementGroupPlacement[];
  readonly subscriptions: readonly SubscriptionPlacement[];
  /** Custom (and observed) role definitions; built-ins are always known. */
  readonly roleDefinitions: readonly RoleDefinition[];
}

export interface PrincipalRef {
  readonly tenantId: string;
  readonly objectId: string;
}

/** One principal, or a partner: explicit principals and/or every principal from its home tenants. */
export type AccessSubject =
  | ({ readonly kind: "principal" } & PrincipalRef)
  | { readonly kind: "partner"; readonly homeTenantIds?: readonly string[]; readonly principals?: readonly PrincipalRef[] };

export type AccessPath =
  | { readonly kind: "direct"; readonly roleAssignmentId: string }
  | { readonly kind: "group"; readonly roleAssignmentId: string; readonly groups: readonly string[] }
  | {
      readonly kind: "delegation";
      readonly registrationAssignmentId: string;
      readonly registrationDefinitionId: string;
      readonly managedByTenantId: string;
      readonly authorization: AuthorizationKind;
      /** Groups of the managing tenant between the principal and the authorization ([] if none). */
      readonly groups: readonly string[];
    };

export interface AccessEntry {
  /** Scope where the access holds (display case). */
  readonly scope: string;
  readonly scopeKey: string;
  /** Tenant that owns the scope. */
  readonly scopeTenantId: string;
  /** For a subscription reached through a management group or `/`: the scope of the grant. */
  readonly inheritedFrom: string | null;
  readonly principal: PrincipalRef;
  readonly role: { readonly id: string; readonly name: string; readonly eligible: boolean };
  readonly path: AccessPath;
  /** Sorted, disjoint, clipped to the range; never empty. */
  readonly intervals: readonly Interval[];
}

export interface EffectiveAccess {
  readonly range: { readonly from: number; readonly to: number };
  /** `name@version` of the role eligibility policy applied. */
  readonly policy: string;
  /** Sorted by scope key, then principal, then role. */
  readonly entries: readonly AccessEntry[];
}

export interface AccessOptions {
  readonly policy?: RoleEligibilityPolicy;
}

const k2 = (tenantId: string, objectId: string) => `${tenantId.toLowerCase()}|${objectId.toLowerCase()}`;

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

const ALWAYS: Interval = { from: null, to: null };

/** The snapshot with its lookups built: by principal, by member, by authorized principal. */
export class AccessIndex {
  readonly principals = new Map<string, AccessPrincipal>();
  readonly principalsByHome = new Map<string, AccessPrincipal[]>();
  /** tenant|member → [{ group, intervals }]. */
  readonly groupsOf = new Map<string, { groupId: string; intervals: Interval[] }[]>();
  readonly disabled = new Map<string, Interval[]>();
  readonly assignmentsOf = new Map<string, AccessRoleAssignment[]>();
  /** managingTenant|principal → authorizations with their definition. */
  readonly authorizationsOf = new Map<string, { definition: AccessRegistrationDefinition; authorization: LighthouseAuthorization }[]>();
  readonly registrationAssignmentsOf = new Map<string, AccessRegistrationAssignment[]>();
  /** tenant|registrationAssignment|principal|role → activation intervals. */
  readonly activations = new Map<string, Interval[]>();
  readonly hierarchy: ResourceHierarchy;
  readonly roles: RoleCatalog;

  constructor(input: AccessInput) {
    for (const p of input.principals) {
      this.principals.set(k2(p.tenantId, p.objectId), p);
      if (p.homeTenantId) push(this.principalsByHome, p.homeTenantId.toLowerCase(), p);
    }
    // Several rows for one (group, member) pair are several intervals of the same membership.
    const pairs = new Map<string, { groupId: string; intervals: Interval[] }>();
    for (const m of input.memberships) {
      const memberKey = k2(m.tenantId, m.memberId);
      const pairKey = `${memberKey}|${m.groupId.toLowerCase()}`;
      let pair = pairs.get(pairKey);
      if (!pair) {
        pair = { groupId: m.groupId.toLowerCase(), intervals: [] };
        pairs.set(pairKey, pair);
        push(this.groupsOf, memberKey, pair);
      }
      pair.intervals.push({ from: m.validFrom, to: m.validTo });
    }
    for (const d of input.disabled) push(this.disabled, k2(d.tenantId, d.objectId), { from: d.validFrom, to: d.validTo });
    for (const a of input.roleAssignments) push(this.assignmentsOf, k2(a.tenantId, a.principalId), a);
    for (const def of input.registrationDefinitions) {
      for (const auth of def.authorizations) push(this.authorizationsOf, k2(def.managedByTenantId, auth.principalId), { definition: def, authorization: auth });
    }
    for (const ra of input.registrationAssignments) push(this.registrationAssignmentsOf, k2(ra.tenantId, ra.registrationDefinitionId), ra);
    for (const act of input.activations) {
      push(this.activations, `${k2(act.tenantId, act.registrationAssignmentId)}|${act.principalId.toLowerCase()}|${act.roleDefinitionId.toLowerCase()}`, { from: act.validFrom, to: act.validTo });
    }
    this.hierarchy = new ResourceHierarchy(input.managementGroups, input.subscriptions);
    this.roles = new RoleCatalog(input.roleDefinitions);
  }

  /**
   * When the object could hold access: not disabled, not deleted, within `window`. Unknown objects
   * are taken as active (an import may reference principals the directory has not seen).
   */
  activeIntervals(tenantId: string, objectId: string, window: Interval): Interval[] {
    const key = k2(tenantId, objectId);
    const p = this.principals.get(key);
    const gone: Interval[] = [...(this.disabled.get(key) ?? [])];
    if (p?.deletedAt !== null && p?.deletedAt !== undefined) gone.push({ from: p.deletedAt, to: null });
    return gone.length ? subtractSets([window], gone) : [window];
  }
}

export function indexAccess(input: AccessInput): AccessIndex {
  return new AccessIndex(input);
}

/** The principals a subject stands for. */
export function subjectPrincipals(index: AccessIndex, subject: AccessSubject): PrincipalRef[] {
  if (subject.kind === "principal") return [{ tenantId: subject.tenantId, objectId: subject.objectId }];
  const out = new Map<string, PrincipalRef>();
  for (const p of subject.principals ?? []) out.set(k2(p.tenantId, p.objectId), p);
  for (const home of subject.homeTenantIds ?? []) {
    for (const p of index.principalsByHome.get(home.toLowerCase()) ?? []) {
      // Groups are paths, not identities: a partner acts through users and service principals.
      if (p.type !== "Group") out.set(k2(p.tenantId, p.objectId), { tenantId: p.tenantId, objectId: p.objectId });
    }
  }
  return [...out.values()];
}

interface Chain {
  readonly groups: readonly string[];
  readonly intervals: Interval[];
}

/**
 * Effective access of `subject` over `range` [from, to): for each scope, the intervals in which
 * it held a role, with the role and the path. Grants at a management group or `/` are also
 * reported on each subscription they reached (with `inheritedFrom`), over the intervals in which
 * the subscription sat under that group, so consumers can match usage by subscription id.
 */
export function effectiveAccess(input: AccessInput | AccessIndex, subject: AccessSubject, range: { from: number; to: number }, options: AccessOptions = {}): EffectiveAccess {
  if (!(range.from < range.to)) throw new RangeError(`effectiveAccess: range must have from < to (got ${range.from}..${range.to})`);
  const index = input instanceof AccessIndex ? input : new AccessIndex(input);
  const policy = options.policy ?? pecPolicy;
  const window: Interval = { from: range.from, to: range.to };
  const entries = new Map<string, { entry: Omit<AccessEntry, "intervals">; intervals: Interval[] }>();

  const roleOf = (roleId: string, tenantId: string) => {
    const def = index.roles.find(roleId, tenantId);
    const id = roleId.toLowerCase();
    return def
      ? { id: def.id, name: def.name, eligible: policy.isEligible(def) }
      // A role nobody defined: keep the fact, never count it (rule 5: raw facts keep all).
      : { id, name: id, eligible: false };
  };

  const add = (scope: string, scopeTenantId: string, inheritedFrom: string | null, principal: PrincipalRef, role: AccessEntry["role"], path: AccessPath, intervals: Interval[]) => {
    if (intervals.length === 0) return;
    const sk = scopeKey(scope);
    const key = `${sk}|${k2(principal.tenantId, principal.objectId)}|${role.id}|${pathKey(path)}`;
    const found = entries.get(key);
    if (found) found.intervals.push(...intervals);
    else entries.set(key, { entry: { scope, scopeKey: sk, scopeTenantId, inheritedFrom, principal, role, path }, intervals: [...intervals] });
  };

  const grant = (scope: string, scopeTenantId: string, principal: PrincipalRef, role: AccessEntry["role"], path: AccessPath, intervals: Interval[]) => {
    if (intervals.length === 0) return;
    add(scope, scopeTenantId, null, principal, role, path, intervals);
    const parsed = parseScope(scope);
    if (parsed.kind !== "root" && parsed.kind !== "managementGroup") return;
    const mg = parsed.kind === "root" ? scopeTenantId : (parsed.managementGroupId as string);
    for (const sub of index.hierarchy.subscriptionsOf(scopeTenantId)) {
      const under = index.hierarchy.subscriptionUnder(scopeTenantId, mg, sub);
      if (under.length) add(subscriptionScope(sub), scopeTenantId, scope, principal, role, path, intersectSets(intervals, under));
    }
  };

  for (const principal of subjectPrincipals(index, subject)) {
    const active = index.activeIntervals(principal.tenantId, principal.objectId, window);
    if (active.length === 0) continue;
    // The principal itself (empty chain) and every group it reaches, with when the chain held.
    const chains: Chain[] = [{ groups: [], intervals: active }];
    expandGroups(index, principal.tenantId, principal.objectId, { groups: [], intervals: active }, chains);

    for (const chain of chains) {
      const holder = chain.groups.length ? (chain.groups[chain.groups.length - 1] as string) : principal.objectId;
      // RBAC in the principal's own tenant.
      for (const a of index.assignmentsOf.get(k2(principal.tenantId, holder)) ?? []) {
        const held = intersectSets(chain.intervals, [{ from: a.validFrom, to: a.validTo }]);
        const path: AccessPath = chain.groups.length ? { kind: "group", roleAssignmentId: a.id, groups: chain.groups } : { kind: "direct", roleAssignmentId: a.id };
        grant(a.scope, a.tenantId, principal, roleOf(a.roleDefinitionId, a.tenantId), path, held);
      }
      // Lighthouse: the principal's tenant is the managing tenant of the delegation.
      for (const { definition, authorization } of index.authorizationsOf.get(k2(principal.tenantId, holder)) ?? []) {
        for (const ra of index.registrationAssignmentsOf.get(k2(definition.tenantId, definition.id)) ?? []) {
          let held = intersectSets(chain.intervals, [{ from: ra.validFrom, to: ra.validTo }]);
          if (authorization.kind === "eligible") {
            // Only the activating principal's own activations count, whatever group made it eligible.
            const activated = index.activations.get(`${k2(ra.tenantId, ra.id)}|${principal.objectId.toLowerCase()}|${authorization.roleDefinitionId.toLowerCase()}`) ?? [];
            held = intersectSets(held, activated);
          }
          const path: AccessPath = {
            kind: "delegation", registrationAssignmentId: ra.id, registrationDefinitionId: definition.id,
            managedByTenantId: definition.managedByTenantId, authorization: authorization.kind, groups: chain.groups,
          };
          grant(ra.scope, ra.tenantId, principal, roleOf(authorization.roleDefinitionId, ra.tenantId), path, held);
        }
      }
    }
  }

  const out: AccessEntry[] = [];
  for (const { entry, intervals } of entries.values()) {
    const merged = union(intervals);
    if (merged.length) out.push({ ...entry, intervals: merged });
  }
  out.sort((a, b) => cmp(a.scopeKey, b.scopeKey) || cmp(a.principal.objectId, b.principal.objectId) || cmp(a.role.name, b.role.name) || cmp(pathKey(a.path), pathKey(b.path)));
  return { range: { from: range.from, to: range.to }, policy: `${policy.name}@${policy.version}`, entries: out };
}

/** Follows nested membership upwards; each link intersects the chain's intervals. */
function expandGroups(index: AccessIndex, tenantId: string, memberId: string, chain: Chain, out: Chain[]): void {
  for (const { groupId, intervals } of index.groupsOf.get(k2(tenantId, memberId)) ?? []) {
    if (chain.groups.includes(groupId)) continue; // a cycle in bad data
    const groupAlive = index.activeIntervals(tenantId, groupId, ALWAYS);
    const held = intersectSets(intersectSets(chain.intervals, intervals), groupAlive);
    if (held.length === 0) continue;
    const next: Chain = { groups: [...chain.groups, groupId], intervals: held };
    out.push(next);
    expandGroups(index, tenantId, groupId, next, out);
  }
}

function pathKey(p: AccessPath): string {
  if (p.kind === "direct") return `d|${p.roleAssignmentId.toLowerCase()}`;
  if (p.kind === "group") return `g|${p.roleAssignmentId.toLowerCase()}|${p.groups.join(">")}`;
  return `l|${p.registrationAssignmentId.toLowerCase()}|${p.authorization}|${p.groups.join(">")}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The entries of `access` that cover a resource (or any scope) id: those whose scope is the id or
 * one of its ancestors in the id. Management-group grants match through their per-subscription
 * entries. Case-insensitive.
 */
export function entriesCovering(access: EffectiveAccess, resourceId: string): AccessEntry[] {
  const key = scopeKey(resourceId);
  return access.entries.filter((e) => e.scopeKey !== "/" && !e.scopeKey.startsWith("/providers/") && (key === e.scopeKey || key.startsWith(e.scopeKey + "/")));
}
