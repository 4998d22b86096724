/**
 * Wire shapes of Microsoft.ManagedServices registrationDefinitions and registrationAssignments
 * (api-version 2022-10-01), in the key order of the published examples
 * (azure-rest-api-specs, Microsoft.ManagedServices 2022-10-01 examples).
 */
import type { RegistrationAssignment, RegistrationDefinition } from "../../store/index.ts";
import { apiVersionsOf } from "../../arm/api-versions.ts";

export const NAMESPACE = "Microsoft.ManagedServices";
/** 2022-10-01 is the stable version the current SDKs and `az managedservices` send. */
export const API_VERSIONS: readonly string[] = apiVersionsOf(NAMESPACE);

export const DEFINITION_TYPE = `${NAMESPACE}/registrationDefinitions`;
export const ASSIGNMENT_TYPE = `${NAMESPACE}/registrationAssignments`;

/**
 * What Azure answers for `multiFactorAuthProvider` of an eligible authorization: the store keeps
 * the activation limit, not the provider (SPEC-DEVIATIONS.md), and Azure requires MFA on
 * activation by default.
 */
export const MFA_PROVIDER = "Azure";

export function definitionResourceId(scope: string, id: string): string {
  return `${scope}/providers/${DEFINITION_TYPE}/${id}`;
}

export function assignmentResourceId(scope: string, id: string): string {
  return `${scope}/providers/${ASSIGNMENT_TYPE}/${id}`;
}

/** Tenant names the answers show (`manageeTenantName`, `managedByTenantName`). */
export interface TenantNames {
  readonly managee: string | null;
  readonly managedBy: string | null;
}

export function definitionResource(d: RegistrationDefinition, names: TenantNames) {
  const permanent = d.authorizations.filter((a) => a.kind === "permanent");
  const eligible = d.authorizations.filter((a) => a.kind === "eligible");
  const displayName = (name: string | null | undefined) => (name ? { principalIdDisplayName: name } : {});
  return {
    properties: {
      description: d.description,
      registrationDefinitionName: d.name,
      authorizations: permanent.map((a) => ({
        principalId: a.principalId,
        ...displayName(a.principalIdDisplayName),
        roleDefinitionId: a.roleDefinitionId,
        ...(a.delegatedRoleDefinitionIds?.length ? { delegatedRoleDefinitionIds: a.delegatedRoleDefinitionIds } : {}),
      })),
      ...(eligible.length ? {
        eligibleAuthorizations: eligible.map((a) => ({
          justInTimeAccessPolicy: { multiFactorAuthProvider: MFA_PROVIDER, maximumActivationDuration: a.maximumActivationDuration ?? "PT8H" },
          principalId: a.principalId,
          ...displayName(a.principalIdDisplayName),
          roleDefinitionId: a.roleDefinitionId,
        })),
      } : {}),
      provisioningState: "Succeeded",
      manageeTenantId: d.tenantId,
      manageeTenantName: names.managee,
      managedByTenantId: d.managedByTenantId,
      managedByTenantName: names.managedBy,
    },
    plan: d.plan ?? null,
    id: definitionResourceId(d.scope, d.id),
    type: DEFINITION_TYPE,
    name: d.id,
  };
}

/** An assignment; with `definition`, `properties.registrationDefinition` embeds it (`$expandRegistrationDefinition=true`). */
export function assignmentResource(a: RegistrationAssignment, definitionScope: string, definition?: ReturnType<typeof definitionResource>) {
  return {
    properties: {
      registrationDefinitionId: definitionResourceId(definitionScope, a.registrationDefinitionId),
      provisioningState: "Succeeded",
      ...(definition ? { registrationDefinition: definition } : {}),
    },
    id: assignmentResourceId(a.scope, a.id),
    type: ASSIGNMENT_TYPE,
    name: a.id,
  };
}
