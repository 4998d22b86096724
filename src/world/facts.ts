/**
 * Loads the `KnownFacts` that validation needs from the store: only the tenants, applications and
 * partner ids the file mentions, so a small file against a large store stays cheap (three queries
 * per mentioned tenant, one per mentioned application, three for the partner registry).
 */
import type { Aggregates } from "../store/index.ts";
import type { KnownFacts, KnownPrincipal } from "./validate.ts";
import type { WorldFile } from "./types.ts";
import type { RoleCatalog } from "../domain/roles.ts";

const lc = (s: string) => s.toLowerCase();
const key = (...parts: string[]) => parts.join("\u0000");

/** Every tenant id the file declares or refers to. */
function mentionedTenants(world: WorldFile): Set<string> {
  const ids = new Set<string>();
  const add = (id: string | undefined) => {
    if (id) ids.add(lc(id));
  };
  for (const p of world.partners ?? []) for (const t of p.tenantIds ?? []) add(t);
  for (const a of world.applications ?? []) add(a.homeTenantId);
  for (const t of world.tenants ?? []) {
    add(t.id);
    for (const u of t.users ?? []) add(u.homeTenantId);
    for (const d of t.delegatedAdmins ?? []) add(d.partnerTenantId);
    for (const d of t.delegations ?? []) add(d.managedByTenantId);
  }
  for (const l of world.links ?? []) add(l.tenantId);
  return ids;
}

/** The part of the resource store (src/store/resources.ts) that validation reads. */
interface SubscriptionLookup {
  getSubscription(id: string): Promise<{ tenantId: string; offerType: string } | undefined>;
  listResourceGroups(subscriptionId: string): Promise<{ name: string }[]>;
  subscriptionHistory?(id: string): Promise<{ offerType: string }[]>;
}

/** Subscription ids named by scopes and partners of record, declared in the file or not. */
function referencedSubscriptions(world: WorldFile): Set<string> {
  const ids = new Set<string>();
  const fromScope = (scope: string) => {
    const m = /^\/subscriptions\/([0-9a-f-]{36})(\/|$)/i.exec(scope);
    if (m) ids.add(lc(m[1] as string));
  };
  for (const t of world.tenants ?? []) {
    for (const s of t.subscriptions ?? []) ids.add(lc(s.id));
    for (const r of t.roleAssignments ?? []) fromScope(r.scope);
    for (const d of t.delegations ?? []) fromScope(d.scope);
  }
  for (const r of world.partnersOfRecord ?? []) ids.add(lc(r.subscriptionId));
  return ids;
}

export async function loadKnownFacts(store: Aggregates, world: WorldFile): Promise<KnownFacts> {
  const tenants = new Map<string, { domain: string }>();
  const tenantByDomain = new Map<string, string>();
  const principals = new Map<string, KnownPrincipal>();
  const upns = new Map<string, string>();
  const spByApp = new Map<string, string>();
  const guests = new Map<string, string>();

  for (const id of mentionedTenants(world)) {
    const tenant = await store.directory.getTenant(id);
    if (!tenant) continue;
    tenants.set(id, { domain: lc(tenant.domain) });
    tenantByDomain.set(lc(tenant.domain), id);
    for (const u of await store.directory.listUsers(id)) {
      const oid = lc(u.id);
      principals.set(key(id, oid), { kind: "User", userKind: u.kind, hasPassword: u.passwordHash !== null, userPrincipalName: u.userPrincipalName });
      upns.set(key(id, lc(u.userPrincipalName)), oid);
      if (u.kind === "guest" && u.homeTenantId && u.homeObjectId) guests.set(key(id, lc(u.homeTenantId), lc(u.homeObjectId)), oid);
    }
    for (const s of await store.directory.listServicePrincipals(id)) {
      principals.set(key(id, lc(s.id)), { kind: "ServicePrincipal", appId: lc(s.appId) });
      if (s.deletedAt === null || !spByApp.has(key(id, lc(s.appId)))) spByApp.set(key(id, lc(s.appId)), lc(s.id));
    }
    for (const g of await store.directory.listGroups(id)) principals.set(key(id, lc(g.id)), { kind: "Group" });
  }
  // Domains must be unique across all tenants, not only the mentioned ones.
  for (const t of world.tenants ?? []) {
    const owner = await store.directory.findTenant(lc(t.domain));
    if (owner) tenantByDomain.set(lc(owner.domain), lc(owner.id));
  }

  const applications = new Map<string, { homeTenantId: string }>();
  const appIds = new Set<string>();
  for (const a of world.applications ?? []) appIds.add(lc(a.appId));
  for (const t of world.tenants ?? []) for (const s of t.servicePrincipals ?? []) appIds.add(lc(s.appId));
  for (const appId of appIds) {
    const app = await store.directory.getApplication(appId);
    if (app) applications.set(appId, { homeTenantId: lc(app.homeTenantId) });
  }

  const locations = new Map<string, { globalId: string }>();
  for (const l of await store.partners.listLocations()) locations.set(l.id, { globalId: l.globalId });
  const organisations = new Set((await store.partners.listOrganisations()).map((o) => o.globalId));

  // Subscriptions the file refers to without declaring them (scopes, partners of record) may be
  // in the resource store, when this server has one.
  const subscriptions = new Map<string, { tenantId: string; offer: string; resourceGroups: ReadonlySet<string>; offers?: ReadonlySet<string> }>();
  const resources = (store as unknown as { resources?: Partial<SubscriptionLookup> }).resources;
  if (resources && typeof resources.getSubscription === "function" && typeof resources.listResourceGroups === "function") {
    const lookup = resources as SubscriptionLookup;
    for (const id of referencedSubscriptions(world)) {
      const sub = await lookup.getSubscription(id);
      if (!sub) continue;
      const rgs = await lookup.listResourceGroups(id);
      const offers = lookup.subscriptionHistory ? new Set((await lookup.subscriptionHistory(id)).map((h) => h.offerType)) : undefined;
      subscriptions.set(id, { tenantId: lc(sub.tenantId), offer: sub.offerType, resourceGroups: new Set(rgs.map((g) => lc(g.name))), ...(offers ? { offers } : {}) });
    }
  }

  // Custom roles of the tenants that assign roles (role assignments may name them).
  const catalogs = new Map<string, RoleCatalog>();
  const access = (store as unknown as { access?: { roleCatalog?: (tenantId?: string) => Promise<RoleCatalog> } }).access;
  if (access && typeof access.roleCatalog === "function") {
    for (const t of world.tenants ?? []) {
      if ((t.roleAssignments?.length ?? 0) > 0 && tenants.has(lc(t.id))) catalogs.set(lc(t.id), await access.roleCatalog(lc(t.id)));
    }
  }

  // Power Platform environments of tenants whose section refers to environments.
  const ppEnvironments = new Set<string>();
  for (const t of world.tenants ?? []) {
    if (t.powerPlatform && tenants.has(lc(t.id))) for (const e of await store.powerPlatform.listEnvironments(lc(t.id))) ppEnvironments.add(key(lc(t.id), e.id));
  }

  return {
    ppEnvironment: (tenantId, environmentId) => ppEnvironments.has(key(tenantId, environmentId)),
    tenant: (id) => tenants.get(id),
    tenantByDomain: (domain) => tenantByDomain.get(domain),
    principal: (tenantId, objectId) => principals.get(key(tenantId, objectId)),
    userIdByUpn: (tenantId, upn) => upns.get(key(tenantId, upn)),
    servicePrincipalIdOfApp: (tenantId, appId) => spByApp.get(key(tenantId, appId)),
    guestIdOf: (tenantId, ht, ho) => guests.get(key(tenantId, ht, ho)),
    application: (appId) => applications.get(appId),
    location: (id) => locations.get(id),
    organisation: (globalId) => organisations.has(globalId),
    subscription: (id) => subscriptions.get(id),
    customRole: (tenantId, nameOrId) => {
      const r = catalogs.get(tenantId)?.find(nameOrId, tenantId);
      return r ? { id: r.id, name: r.name } : undefined;
    },
  };
}
