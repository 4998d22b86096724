/**
 * The Microsoft.Authorization resource provider: role assignments and role definitions at every
 * scope (`/`, management group, subscription, resource group, resource). Public face.
 */
import type { ArmProvider } from "../../arm/index.ts";
import { authorizationHandlers, type AuthorizationDeps } from "./handlers.ts";
import { API_VERSIONS, NAMESPACE } from "./representation.ts";

export { API_VERSIONS as AUTHORIZATION_API_VERSIONS, roleAssignmentResource, roleDefinitionResource } from "./representation.ts";
export type { AuthorizationDeps } from "./handlers.ts";

const EVERY_SCOPE = ["root", "managementGroup", "subscription", "resourceGroup", "resource"] as const;

export function authorizationProvider(deps: AuthorizationDeps): ArmProvider {
  const h = authorizationHandlers(deps);
  return {
    namespace: NAMESPACE,
    apiVersions: API_VERSIONS,
    resourceTypes: [
      { type: "roleAssignments", scopes: EVERY_SCOPE, collection: { GET: h.listAssignments }, item: { GET: h.getAssignment, PUT: h.putAssignment, DELETE: h.deleteAssignment } },
      { type: "roleDefinitions", scopes: EVERY_SCOPE, collection: { GET: h.listDefinitions }, item: { GET: h.getDefinition } },
    ],
  };
}
