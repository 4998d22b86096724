/**
 * Microsoft.Resources: GET /tenants, ARM's list of the tenants the caller can get a token for
 * (what `az login` and `Get-AzTenant` enumerate, and what `openpal managementpartner link-all`
 * walks):
 * - a user: its home tenant, plus every tenant where a live guest object points at its home
 *   account (whichever of those tenants the token was issued for);
 * - a service principal: every tenant where its application has a live service principal.
 * Disabled or deleted objects are left out: they cannot get a token there.
 */
import type { ArmRoute } from "../../arm/index.ts";
import type { Caller } from "../../identity/index.ts";
import type { Store, Tenant } from "../../store/index.ts";
import { apiVersionsOf } from "../../arm/api-versions.ts";

export const TENANTS_API_VERSIONS: readonly string[] = apiVersionsOf("Microsoft.Resources", "tenants");

interface TenantRef {
  readonly tenantId: string;
  readonly objectId: string;
}

async function reachableObjects(store: Store, caller: Caller): Promise<TenantRef[]> {
  const dir = store.directory;
  if (caller.principalType === "ServicePrincipal") {
    const sp = await dir.getServicePrincipal(caller.tenantId, caller.objectId);
    const appId = sp?.appId ?? caller.appId;
    if (!appId) return [];
    const app = await dir.getApplication(appId);
    if (!app || app.deletedAt !== null) return [];
    return (await dir.listServicePrincipalsOfApp(appId)).map((s) => ({ tenantId: s.tenantId, objectId: s.id }));
  }
  // Find the home account: the token's object may be a guest, or a foreign (delegated) user.
  let home: TenantRef | undefined;
  if (caller.foreign) {
    if (caller.homeTenantId) home = { tenantId: caller.homeTenantId, objectId: caller.objectId };
  } else {
    const user = await dir.getUser(caller.tenantId, caller.objectId);
    if (user && user.deletedAt === null) {
      home = user.kind === "guest" && user.homeTenantId && user.homeObjectId
        ? { tenantId: user.homeTenantId, objectId: user.homeObjectId }
        : { tenantId: user.tenantId, objectId: user.id };
    }
  }
  if (!home) return [];
  const refs: TenantRef[] = [];
  const homeUser = await dir.getUser(home.tenantId, home.objectId);
  if (homeUser && homeUser.deletedAt === null) refs.push(home);
  for (const guest of await dir.listGuestsOf(home.tenantId, home.objectId)) {
    if (guest.deletedAt === null) refs.push({ tenantId: guest.tenantId, objectId: guest.id });
  }
  return refs;
}

/** The tenants `caller` can get a token for at `now`, sorted by display name. */
export async function reachableTenants(store: Store, caller: Caller, now: number): Promise<Tenant[]> {
  const tenants = new Map<string, Tenant>();
  for (const ref of await reachableObjects(store, caller)) {
    if (tenants.has(ref.tenantId)) continue;
    if (await store.directory.isDisabled(ref.tenantId, ref.objectId, now)) continue;
    const tenant = await store.directory.getTenant(ref.tenantId);
    if (tenant) tenants.set(tenant.id, tenant);
  }
  return [...tenants.values()].sort((a, b) => a.displayName.localeCompare(b.displayName) || a.id.localeCompare(b.id));
}

export function tenantsRoute(deps: { store: Store }): ArmRoute {
  return {
    method: "GET",
    url: "/tenants",
    type: "Microsoft.Resources/tenants",
    apiVersions: TENANTS_API_VERSIONS,
    async handler(call) {
      const tenants = await reachableTenants(deps.store, call.caller, call.now);
      return {
        body: {
          value: tenants.map((t) => ({
            id: `/tenants/${t.id}`, tenantId: t.id, displayName: t.displayName, defaultDomain: t.domain, tenantCategory: "Home",
          })),
        },
      };
    },
  };
}
