/**
 * Wire shapes of Microsoft.Authorization roleAssignments and roleDefinitions (api-version
 * 2022-04-01), in the key order of the published examples (azure-rest-api-specs).
 */
import { formatArmTime } from "../../domain/time.ts";
import type { RoleDefinition } from "../../domain/roles.ts";
import type { RolePermission } from "../../domain/permissions.ts";
import type { RoleAssignment } from "../../store/index.ts";
import type { Scope } from "../../domain/scope.ts";
import { apiVersionsOf } from "../../arm/api-versions.ts";

export const NAMESPACE = "Microsoft.Authorization";
/** 2022-04-01 is what @azure/arm-authorization 9 sends; the previews are what older tools send. */
export const API_VERSIONS: readonly string[] = apiVersionsOf(NAMESPACE);

const time = (ms: number | null) => (ms === null ? null : formatArmTime(ms));

/**
 * A role definition id as ARM writes it for a scope: under the subscription when the scope has
 * one (`/subscriptions/{s}/providers/…`), tenant-level otherwise.
 */
export function roleDefinitionResourceId(scope: Scope, roleId: string): string {
  const prefix = scope.subscriptionId ? `/subscriptions/${scope.subscriptionId}` : "";
  return `${prefix}/providers/${NAMESPACE}/roleDefinitions/${roleId}`;
}

export function roleAssignmentResourceId(scope: string, id: string): string {
  return `${scope === "/" ? "" : scope}/providers/${NAMESPACE}/roleAssignments/${id}`;
}

export function roleAssignmentResource(a: RoleAssignment, scope: Scope) {
  return {
    properties: {
      roleDefinitionId: roleDefinitionResourceId(scope, a.roleDefinitionId),
      principalId: a.principalId,
      principalType: a.principalType,
      scope: a.scope,
      condition: a.condition,
      conditionVersion: a.conditionVersion,
      description: a.description,
      createdOn: time(a.validFrom),
      updatedOn: time(a.validFrom),
      createdBy: a.createdBy,
      updatedBy: a.createdBy,
      delegatedManagedIdentityResourceId: null,
    },
    id: roleAssignmentResourceId(a.scope, a.id),
    type: `${NAMESPACE}/roleAssignments`,
    name: a.id,
  };
}

export function roleDefinitionResource(role: RoleDefinition, permissions: readonly RolePermission[], scope: Scope) {
  return {
    properties: {
      roleName: role.name,
      type: role.type,
      description: role.description,
      assignableScopes: role.assignableScopes,
      permissions: permissions.map((p) => ({ actions: p.actions, notActions: p.notActions, dataActions: [], notDataActions: [] })),
    },
    id: roleDefinitionResourceId(scope, role.id),
    type: `${NAMESPACE}/roleDefinitions`,
    name: role.id,
  };
}
