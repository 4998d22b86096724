/**
 * Authorization of ARM requests, as ARM decides it: the caller's effective access at the time of
 * the request (direct, through groups, through Lighthouse delegations; inherited from management
 * groups and `/`), evaluated at the addressed scope against the action the request performs.
 *
 * Steps, for every provider request that touches a scope:
 *   1. resolve  - the scope exists (404 SubscriptionNotFound / ResourceGroupNotFound /
 *                 ManagementGroupNotFound) and belongs to a tenant: a subscription's own tenant,
 *                 otherwise the token's tenant (management groups and `/` are per tenant)
 *   2. access   - one snapshot of both tenants (caller's and scope's) → effectiveAccess at now
 *   3. tenant   - a subscription of another tenant is reachable only through a delegation;
 *                 otherwise 401 InvalidAuthenticationTokenTenant naming the right authority
 *   4. action   - some role held at the scope or above allows the action (403 AuthorizationFailed
 *                 naming the client, action, scope and the built-in roles that would allow it)
 */
import type { Caller } from "../identity/index.ts";
import type { Store, Subscription } from "../store/index.ts";
import { effectiveAccess, indexAccess, type AccessEntry } from "../domain/access.ts";
import { allRolesPolicy, builtInRoles } from "../domain/roles.ts";
import { builtInPermissions, builtInRolesAllowing, permissionsAllow, type RolePermission } from "../domain/permissions.ts";
import { parseScope, scopeContains, type HierarchyView, type Scope } from "../domain/scope.ts";
import { armError } from "./errors.ts";
import { challenge } from "./auth.ts";

/** The scope as it stands: its tenant, and its subscription when it has one. */
export interface ResolvedScope {
  readonly scope: Scope;
  readonly tenantId: string;
  readonly subscription?: Subscription;
}

const roleNames = new Map(builtInRoles().map((r) => [r.id, r.name]));

/** Step 1: the scope exists at `now`; its owning tenant. */
export async function resolveScope(store: Store, caller: Caller, scope: Scope, now: number): Promise<ResolvedScope> {
  if (scope.kind === "root") return { scope, tenantId: caller.tenantId };
  if (scope.kind === "managementGroup") {
    const id = scope.managementGroupId as string;
    // The tenant root group always exists (its id is the tenant id), even before it is stored.
    if (id.toLowerCase() !== caller.tenantId.toLowerCase() && !(await store.resources.getManagementGroup(caller.tenantId, id, now))) {
      throw armError("ManagementGroupNotFound", { name: id, tenantId: caller.tenantId });
    }
    return { scope, tenantId: caller.tenantId };
  }
  const subscription = await store.resources.getSubscription(scope.subscriptionId as string, now);
  if (!subscription) throw armError("SubscriptionNotFound", { subscriptionId: scope.subscriptionId as string });
  if (scope.resourceGroup !== undefined && !(await store.resources.getResourceGroup(subscription.id, scope.resourceGroup, now))) {
    throw armError("ResourceGroupNotFound", { name: scope.resourceGroup });
  }
  return { scope, tenantId: subscription.tenantId, subscription };
}

/** What the caller holds at `now`, and the questions providers ask of it. */
export class CallerAccess {
  readonly caller: Caller;
  readonly entries: readonly AccessEntry[];
  readonly #views: (tenantId: string) => HierarchyView;
  readonly #permissions: (roleId: string) => readonly RolePermission[];

  constructor(caller: Caller, entries: readonly AccessEntry[], views: (tenantId: string) => HierarchyView, permissions: (roleId: string) => readonly RolePermission[]) {
    this.caller = caller;
    this.entries = entries;
    this.#views = views;
    this.#permissions = permissions;
  }

  /** Step 2: one snapshot of the tenants involved, effective access over [now, now+1). */
  static async load(store: Store, caller: Caller, now: number, tenantIds: readonly string[]): Promise<CallerAccess> {
    // Delegated-admin (GDAP) users have no object in the tenant, hence no role assignments here.
    if (caller.foreign) return new CallerAccess(caller, [], () => ({ managementGroupParent: () => undefined, subscriptionManagementGroup: () => undefined }), () => []);
    const tenants = [...new Set([caller.tenantId, ...tenantIds].map((t) => t.toLowerCase()))];
    const snapshot = await store.access.loadAccessSnapshot({ tenantIds: tenants, range: { from: now, to: now + 1 } });
    const index = indexAccess(snapshot);
    const access = effectiveAccess(index, { kind: "principal", tenantId: caller.tenantId, objectId: caller.objectId }, { from: now, to: now + 1 }, { policy: allRolesPolicy });
    const custom = new Map(snapshot.roleDefinitions.map((r) => [`${(r.tenantId ?? "").toLowerCase()}|${r.id.toLowerCase()}`, (r as { permissions?: readonly RolePermission[] }).permissions ?? []]));
    const permissions = (key: string) => {
      const [tenant = "", roleId = ""] = key.split("|");
      return custom.get(`${tenant}|${roleId}`) ?? builtInPermissions(roleId);
    };
    return new CallerAccess(caller, access.entries, (t) => index.hierarchy.at(t, now), permissions);
  }

  /** Entries that apply at `target` (held there or above), in the scope's own tenant. */
  heldAt(target: ResolvedScope): AccessEntry[] {
    const view = this.#views(target.tenantId);
    return this.entries.filter((e) => e.scopeTenantId.toLowerCase() === target.tenantId.toLowerCase() && scopeContains(parseScope(e.scope), target.scope, view));
  }

  /** Entries at `target` or anywhere below it (what makes a subscription or group visible). */
  heldWithin(target: ResolvedScope): AccessEntry[] {
    const view = this.#views(target.tenantId);
    return this.entries.filter((e) => e.scopeTenantId.toLowerCase() === target.tenantId.toLowerCase()
      && (scopeContains(parseScope(e.scope), target.scope, view) || scopeContains(target.scope, parseScope(e.scope), view)));
  }

  allows(target: ResolvedScope, action: string): boolean {
    return this.heldAt(target).some((e) => permissionsAllow(this.#permissions(`${e.scopeTenantId}|${e.role.id}`), action));
  }

  /** Whether the caller reaches a scope of another tenant at all (Lighthouse). */
  reaches(target: ResolvedScope): boolean {
    return this.heldWithin(target).length > 0;
  }

  /** Subscription ids (lower case) where the caller holds anything, at, above or below them. */
  subscriptionIds(): Set<string> {
    const out = new Set<string>();
    for (const e of this.entries) {
      const s = parseScope(e.scope);
      if (s.subscriptionId) out.add(s.subscriptionId.toLowerCase());
    }
    return out;
  }

  /** Step 4: throws 403 AuthorizationFailed unless some role held at the scope allows `action`. */
  require(target: ResolvedScope, action: string): void {
    if (this.allows(target, action)) return;
    const claims = this.caller.claims as unknown as Record<string, unknown>;
    const client = typeof claims.upn === "string" ? claims.upn : this.caller.appId ?? this.caller.objectId;
    const roles = builtInRolesAllowing(action, roleNames).join(" or ");
    throw armError("AuthorizationFailed", {
      client, objectId: this.caller.objectId, action, scope: target.scope.id,
      fix: this.caller.foreign
        ? "Delegated-admin (GDAP) users hold no Azure roles here; use an account of this tenant, a guest account, or an Azure Lighthouse delegation."
        : `Ask an Owner or User Access Administrator of '${target.scope.id}' (or of a scope above it) to assign you a role that allows it (${roles || "a custom role with this action"}).`,
    });
  }
}

/**
 * Steps 1–3 for one scope: resolve it, load the caller's access over the tenants involved, and
 * refuse a subscription of another tenant that no delegation reaches.
 */
export async function accessAt(store: Store, caller: Caller, scope: Scope, now: number, baseUrl: string): Promise<{ target: ResolvedScope; access: CallerAccess }> {
  const target = await resolveScope(store, caller, scope, now);
  const access = await CallerAccess.load(store, caller, now, [target.tenantId]);
  if (target.tenantId.toLowerCase() !== caller.tenantId.toLowerCase() && !access.reaches(target)) {
    const authority = `${baseUrl}/${target.tenantId}`;
    throw armError("InvalidAuthenticationTokenTenant", { issuer: `${baseUrl}/${caller.tenantId}/v2.0`, tenantId: target.tenantId, authority },
      challenge(baseUrl, target.tenantId, "The access token is from the wrong tenant for this subscription."));
  }
  return { target, access };
}
