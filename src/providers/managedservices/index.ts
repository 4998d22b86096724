/**
 * The Microsoft.ManagedServices resource provider (Azure Lighthouse): registration definitions
 * at subscription scope, registration assignments at subscription and resource group scope
 * (api-version 2022-10-01). Answers are synchronous (Azure provisions asynchronously). Public face.
 */
import type { ArmProvider } from "../../arm/index.ts";
import { managedServicesHandlers, type ManagedServicesDeps } from "./handlers.ts";
import { API_VERSIONS, NAMESPACE } from "./representation.ts";

export { API_VERSIONS as MANAGED_SERVICES_API_VERSIONS, assignmentResource, definitionResource } from "./representation.ts";
export type { ManagedServicesDeps } from "./handlers.ts";

export function managedServicesProvider(deps: ManagedServicesDeps): ArmProvider {
  const h = managedServicesHandlers(deps);
  return {
    namespace: NAMESPACE,
    apiVersions: API_VERSIONS,
    resourceTypes: [
      { type: "registrationDefinitions", scopes: ["subscription"], collection: { GET: h.listDefinitions }, item: { GET: h.getDefinition, PUT: h.putDefinition, DELETE: h.deleteDefinition } },
      { type: "registrationAssignments", scopes: ["subscription", "resourceGroup"], collection: { GET: h.listAssignments }, item: { GET: h.getAssignment, PUT: h.putAssignment, DELETE: h.deleteAssignment } },
    ],
  };
}
