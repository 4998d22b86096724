/**
 * ARM scopes and the resource hierarchy they live in (pure; no I/O, no clock).
 *
 * Tenant root `/` → management groups (a tree under the tenant root group, whose id is the tenant
 * id) → subscriptions → resource groups → resources (nested resources under their parent).
 * Resource ids compare case-insensitively: every scope has a display form (as written) and a
 * lower-case `key` used for comparison and indexing (ATTRIBUTION-RULES.md rule 3).
 *
 * The part of the hierarchy above subscriptions is not in the id: which management group holds a
 * subscription, and which group is a group's parent, change over time (moves). That part comes
 * from a `HierarchyView` (the tree at one instant) or a `ResourceHierarchy` (effective-dated).
 */
import { intersectSets, union, type Interval } from "./interval.ts";

export type ScopeKind = "root" | "managementGroup" | "subscription" | "resourceGroup" | "resource";

export interface Scope {
  readonly kind: ScopeKind;
  /** Display form: as written, without a trailing slash. */
  readonly id: string;
  /** Comparison key: `id` in lower case. */
  readonly key: string;
  readonly managementGroupId?: string;
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
  /** `Namespace/type[/childType…]`, e.g. `Microsoft.Storage/storageAccounts`. */
  readonly resourceType?: string;
  readonly resourceName?: string;
}

export class ScopeError extends Error {
  override readonly name = "ScopeError";
}

/**
 * Parses an ARM scope: `/`, `/providers/Microsoft.Management/managementGroups/{mg}`,
 * `/subscriptions/{s}`, `/subscriptions/{s}/resourceGroups/{rg}`, or a resource id
 * `/subscriptions/{s}[/resourceGroups/{rg}]/providers/{ns}/{type}/{name}[/{type}/{name}…]`.
 * Throws a ScopeError that says which form was expected.
 */
export function parseScope(text: string): Scope {
  const raw = text.trim();
  if (raw === "/" || raw === "") {
    if (raw === "") throw new ScopeError("empty scope: use \"/\" for the tenant root");
    return { kind: "root", id: "/", key: "/" };
  }
  if (!raw.startsWith("/")) throw new ScopeError(`scope "${text}" must start with "/" (e.g. /subscriptions/<id>)`);
  const id = raw.replace(/\/+$/, "");
  const parts = id.split("/").slice(1);
  if (parts.some((p) => p === "")) throw new ScopeError(`scope "${text}" has an empty segment ("//")`);
  const lower = parts.map((p) => p.toLowerCase());
  const key = id.toLowerCase();

  if (lower[0] === "providers" && lower[1] === "microsoft.management" && lower[2] === "managementgroups") {
    if (parts.length !== 4) throw new ScopeError(`management group scope "${text}" must be /providers/Microsoft.Management/managementGroups/<id>`);
    return { kind: "managementGroup", id, key, managementGroupId: parts[3] as string };
  }
  if (lower[0] !== "subscriptions" || parts.length < 2) {
    throw new ScopeError(`scope "${text}" is not an ARM scope: expected /, /providers/Microsoft.Management/managementGroups/<mg>, /subscriptions/<id>[/resourceGroups/<rg>[/providers/<ns>/<type>/<name>]]`);
  }
  const subscriptionId = (parts[1] as string).toLowerCase();
  if (parts.length === 2) return { kind: "subscription", id, key, subscriptionId };
  let rest = 2;
  let resourceGroup: string | undefined;
  if (lower[2] === "resourcegroups") {
    if (parts.length < 4) throw new ScopeError(`scope "${text}" ends after "resourceGroups": add the resource group name`);
    resourceGroup = parts[3] as string;
    if (parts.length === 4) return { kind: "resourceGroup", id, key, subscriptionId, resourceGroup };
    rest = 4;
  }
  if (lower[rest] !== "providers") {
    throw new ScopeError(`scope "${text}": expected "providers/<namespace>/<type>/<name>" after ${resourceGroup === undefined ? "the subscription" : "the resource group"}`);
  }
  const tail = parts.slice(rest + 1);
  // ns, then (type, name) pairs: an odd count of at least 3.
  if (tail.length < 3 || tail.length % 2 === 0) {
    throw new ScopeError(`resource id "${text}" must end with providers/<namespace>/<type>/<name>[/<childType>/<childName>…]`);
  }
  const types = [tail[0] as string];
  for (let i = 1; i < tail.length; i += 2) types.push(tail[i] as string);
  const base = { kind: "resource" as const, id, key, subscriptionId, resourceType: types.join("/"), resourceName: tail[tail.length - 1] as string };
  return resourceGroup === undefined ? base : { ...base, resourceGroup };
}

/** Parses, returning undefined instead of throwing. */
export function tryParseScope(text: string): Scope | undefined {
  try {
    return parseScope(text);
  } catch {
    return undefined;
  }
}

/** The comparison key of a scope string (lower case, no trailing slash). */
export function scopeKey(text: string): string {
  return text === "/" ? "/" : text.trim().replace(/\/+$/, "").toLowerCase();
}

export function managementGroupScope(id: string): string {
  return `/providers/Microsoft.Management/managementGroups/${id}`;
}

export function subscriptionScope(id: string): string {
  return `/subscriptions/${id}`;
}

/** The management group hierarchy at one instant, for one tenant. Ids compare case-insensitively. */
export interface HierarchyView {
  /** Parent group id; null for the tenant root group; undefined when the group is unknown. */
  managementGroupParent(managementGroupId: string): string | null | undefined;
  /** The group holding the subscription; undefined when unknown. */
  subscriptionManagementGroup(subscriptionId: string): string | undefined;
}

/**
 * The ancestors of a scope, nearest first, ending with `/`. Without a hierarchy only the ancestors
 * readable from the id itself are returned (a resource's parents, its resource group and
 * subscription); with one, the management group chain and the root follow the subscription.
 */
export function ancestorsOf(scope: Scope | string, hierarchy?: HierarchyView): Scope[] {
  const s = typeof scope === "string" ? parseScope(scope) : scope;
  const out: Scope[] = [];
  if (s.kind === "root") return out;
  if (s.kind === "resource") {
    // Nested resources: drop (type, name) pairs down to the top-level resource.
    const segments = s.id.split("/");
    const providers = segments.map((p) => p.toLowerCase()).lastIndexOf("providers");
    for (let end = segments.length - 2; end >= providers + 4; end -= 2) out.push(parseScope(segments.slice(0, end).join("/")));
    const sub = subscriptionScope(segments[2] as string);
    out.push(parseScope(s.resourceGroup === undefined ? sub : `${sub}/resourceGroups/${s.resourceGroup}`));
    if (s.resourceGroup !== undefined) out.push(parseScope(sub));
  } else if (s.kind === "resourceGroup") {
    out.push(parseScope(s.id.split("/").slice(0, 3).join("/")));
  }
  if (hierarchy) {
    let mg: string | null | undefined;
    if (s.kind === "managementGroup") mg = hierarchy.managementGroupParent(s.managementGroupId as string);
    else mg = hierarchy.subscriptionManagementGroup(s.subscriptionId as string);
    const seen = new Set<string>();
    while (typeof mg === "string" && !seen.has(mg.toLowerCase())) {
      seen.add(mg.toLowerCase());
      out.push(parseScope(managementGroupScope(mg)));
      mg = hierarchy.managementGroupParent(mg);
    }
  }
  out.push({ kind: "root", id: "/", key: "/" });
  return out;
}

/**
 * Whether `ancestor` contains `descendant` (a scope contains itself). Below the subscription this
 * is read from the ids; above it, from `hierarchy` (without one, only `/` contains a management
 * group or subscription).
 */
export function scopeContains(ancestor: Scope | string, descendant: Scope | string, hierarchy?: HierarchyView): boolean {
  const a = typeof ancestor === "string" ? parseScope(ancestor) : ancestor;
  const d = typeof descendant === "string" ? parseScope(descendant) : descendant;
  if (a.kind === "root" || a.key === d.key) return true;
  if (a.kind !== "managementGroup") return d.key.startsWith(a.key + "/");
  return ancestorsOf(d, hierarchy).some((x) => x.key === a.key);
}

// --- the effective-dated hierarchy ------------------------------------------------------------

/** A management group's parent over an interval (parentId null: the tenant root group). */
export interface ManagementGroupPlacement {
  readonly tenantId: string;
  readonly id: string;
  readonly parentId: string | null;
  readonly validFrom: number | null;
  readonly validTo: number | null;
}

/** A subscription's management group over an interval (null: directly under the root group). */
export interface SubscriptionPlacement {
  readonly tenantId: string;
  readonly id: string;
  readonly managementGroupId: string | null;
  readonly validFrom: number | null;
  readonly validTo: number | null;
}

/** `parent` is the comparison key; `display` keeps the id as written. */
type Edge = { parent: string | null; display: string | null; interval: Interval };

/**
 * The management group tree with its history, indexed for containment questions over time.
 * Build once per snapshot; queries are memoised.
 */
export class ResourceHierarchy {
  readonly #mgParents = new Map<string, Edge[]>();
  readonly #subParents = new Map<string, Edge[]>();
  readonly #subsByTenant = new Map<string, Set<string>>();
  readonly #subTenant = new Map<string, string>();
  readonly #subDisplay = new Map<string, string>();
  readonly #memo = new Map<string, Interval[]>();

  constructor(managementGroups: readonly ManagementGroupPlacement[], subscriptions: readonly SubscriptionPlacement[]) {
    for (const g of managementGroups) {
      const key = `${g.tenantId.toLowerCase()}|${g.id.toLowerCase()}`;
      push(this.#mgParents, key, { parent: g.parentId?.toLowerCase() ?? null, display: g.parentId, interval: { from: g.validFrom, to: g.validTo } });
    }
    for (const s of subscriptions) {
      const sub = s.id.toLowerCase();
      const tenant = s.tenantId.toLowerCase();
      // A subscription with no group sits under the tenant root group (whose id is the tenant id).
      const parent = s.managementGroupId ?? s.tenantId;
      push(this.#subParents, sub, { parent: parent.toLowerCase(), display: parent, interval: { from: s.validFrom, to: s.validTo } });
      let set = this.#subsByTenant.get(tenant);
      if (!set) this.#subsByTenant.set(tenant, (set = new Set()));
      set.add(sub);
      this.#subTenant.set(sub, tenant);
      this.#subDisplay.set(sub, s.id);
    }
  }

  /** Subscription ids (display form) that ever belonged to the tenant. */
  subscriptionsOf(tenantId: string): string[] {
    return [...(this.#subsByTenant.get(tenantId.toLowerCase()) ?? [])].map((k) => this.#subDisplay.get(k) as string);
  }

  tenantOfSubscription(subscriptionId: string): string | undefined {
    return this.#subTenant.get(subscriptionId.toLowerCase());
  }

  /** The tree as it stood at `t`, for one tenant. */
  at(tenantId: string, t: number): HierarchyView {
    const tenant = tenantId.toLowerCase();
    const pick = (edges: Edge[] | undefined) => edges?.find((e) => (e.interval.from ?? -Infinity) <= t && t < (e.interval.to ?? Infinity));
    return {
      managementGroupParent: (mg) => {
        const e = pick(this.#mgParents.get(`${tenant}|${mg.toLowerCase()}`));
        return e ? e.display : undefined;
      },
      subscriptionManagementGroup: (sub) => pick(this.#subParents.get(sub.toLowerCase()))?.display ?? undefined,
    };
  }

  /**
   * When the subscription was under management group `managementGroupId` of `tenantId` (at any
   * depth), as a sorted list of disjoint intervals. The root group (id = tenant id) contains every
   * subscription of the tenant while it is placed anywhere in the tree.
   */
  subscriptionUnder(tenantId: string, managementGroupId: string, subscriptionId: string): Interval[] {
    const tenant = tenantId.toLowerCase();
    const mg = managementGroupId.toLowerCase();
    const sub = subscriptionId.toLowerCase();
    if (this.#subTenant.get(sub) !== tenant) return [];
    const memoKey = `s|${tenant}|${mg}|${sub}`;
    const cached = this.#memo.get(memoKey);
    if (cached) return cached;
    const out: Interval[] = [];
    for (const e of this.#subParents.get(sub) ?? []) {
      if (mg === tenant || e.parent === mg) out.push(e.interval);
      else if (e.parent !== null) out.push(...intersectSets([e.interval], this.#groupUnder(tenant, mg, e.parent, 0)));
    }
    const result = union(out);
    this.#memo.set(memoKey, result);
    return result;
  }

  /** When the subscription was in the tenant at all (under `/`). */
  subscriptionInTenant(tenantId: string, subscriptionId: string): Interval[] {
    return this.subscriptionUnder(tenantId, tenantId, subscriptionId);
  }

  #groupUnder(tenant: string, ancestor: string, group: string, depth: number): Interval[] {
    // Azure limits the tree to six levels under the root; a cycle in bad data must not loop.
    if (depth > 16) return [];
    if (group === ancestor) return [{ from: null, to: null }];
    const memoKey = `g|${tenant}|${ancestor}|${group}`;
    const cached = this.#memo.get(memoKey);
    if (cached) return cached;
    const out: Interval[] = [];
    for (const e of this.#mgParents.get(`${tenant}|${group}`) ?? []) {
      if (e.parent === null) continue;
      if (e.parent === ancestor) out.push(e.interval);
      else out.push(...intersectSets([e.interval], this.#groupUnder(tenant, ancestor, e.parent, depth + 1)));
    }
    const result = union(out);
    this.#memo.set(memoKey, result);
    return result;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
