/**
 * The Microsoft.ManagementPartner resource provider (Partner Admin Link), api-version 2018-02-01.
 * Public face: the provider definition the ARM layer mounts.
 */
import type { ArmProvider } from "../../arm/index.ts";
import { managementPartnerHandlers, type ManagementPartnerDeps } from "./handlers.ts";
import { API_VERSIONS, NAMESPACE, OPERATIONS } from "./representation.ts";

export { partnerResource, partnerResourceId, OPERATIONS, API_VERSIONS, NAMESPACE, RESOURCE_TYPE, type PartnerResource } from "./representation.ts";
export type { ManagementPartnerDeps } from "./handlers.ts";

export function managementPartnerProvider(deps: ManagementPartnerDeps): ArmProvider {
  const h = managementPartnerHandlers(deps);
  return {
    namespace: NAMESPACE,
    apiVersions: API_VERSIONS,
    resourceTypes: [
      {
        type: "partners",
        collection: { GET: h.getOwn },
        item: { GET: h.get, PUT: h.put, PATCH: h.patch, DELETE: h.delete },
      },
      { type: "operations", collection: { GET: async () => ({ body: OPERATIONS }) } },
    ],
  };
}
