/**
 * The Microsoft.Resources resource provider: subscriptions (`/subscriptions[/{id}]`), resource
 * groups (`/subscriptions/{id}/resourcegroups[/{name}]`) and the tenant list (`/tenants`,
 * tenants.ts). Public face.
 */
import type { ArmProvider } from "../../arm/index.ts";
import { resourcesHandlers, type ResourcesDeps } from "./handlers.ts";
import { API_VERSIONS, NAMESPACE } from "./representation.ts";

export { API_VERSIONS as RESOURCES_API_VERSIONS, subscriptionResource, resourceGroupResource } from "./representation.ts";
export { tenantsRoute, reachableTenants, TENANTS_API_VERSIONS } from "./tenants.ts";
export type { ResourcesDeps } from "./handlers.ts";

export function resourcesProvider(deps: ResourcesDeps): ArmProvider {
  const h = resourcesHandlers(deps);
  return {
    namespace: NAMESPACE,
    apiVersions: API_VERSIONS,
    resourceTypes: [
      { type: "subscriptions", scopes: ["root"], collection: { GET: h.listSubscriptions }, item: { GET: h.getSubscription } },
      { type: "resourceGroups", scopes: ["subscription"], collection: { GET: h.listGroups }, item: { GET: h.getGroup, PUT: h.putGroup, DELETE: h.deleteGroup } },
    ],
  };
}
