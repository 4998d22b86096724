/**
 * Wire shapes of Microsoft.Resources subscriptions and resource groups, as ARM answers them (and
 * as @azure/arm-resources 7 and `az group`/`az account` parse them).
 */
import type { OfferType, ResourceGroup, Subscription } from "../../store/index.ts";
import { apiVersionsOf } from "../../arm/api-versions.ts";

export const NAMESPACE = "Microsoft.Resources";
/**
 * One list for the namespace: subscriptions (2016-06-01 … 2022-12-01, what arm-subscriptions and
 * az send) and resource groups (2021-04-01 … 2025-04-01; @azure/arm-resources 7 sends 2025-04-01).
 */
export const API_VERSIONS: readonly string[] = apiVersionsOf(NAMESPACE);

/** The quota id ARM reports per offer; the RBAC importer maps these back to the same offers. */
const QUOTA_IDS: Record<OfferType, string> = {
  EA: "EnterpriseAgreement_2014-09-01",
  AzurePlan: "AzurePlan_2019-09-01",
  CSP: "CSP_2015-05-01",
  PayAsYouGo: "PayAsYouGo_2014-09-01",
};

export function subscriptionResource(s: Subscription, managedByTenants: readonly string[]) {
  return {
    id: `/subscriptions/${s.id}`,
    authorizationSource: "RoleBased",
    managedByTenants: managedByTenants.map((tenantId) => ({ tenantId })),
    subscriptionId: s.id,
    tenantId: s.tenantId,
    displayName: s.displayName,
    state: s.state,
    subscriptionPolicies: { locationPlacementId: "Public_2014-09-01", quotaId: QUOTA_IDS[s.offerType], spendingLimit: "Off" },
  };
}

export function resourceGroupResource(g: ResourceGroup) {
  return {
    id: `/subscriptions/${g.subscriptionId}/resourceGroups/${g.name}`,
    name: g.name,
    type: `${NAMESPACE}/resourceGroups`,
    location: g.location,
    tags: g.tags,
    properties: { provisioningState: "Succeeded" },
  };
}
