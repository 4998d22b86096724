/**
 * The world file as TypeScript types: the shape that `world.schema.json` accepts. Times are ISO 8601
 * strings here; apply converts them to epoch milliseconds. See docs/WORLD-FILE.md.
 */
import type { WorldPowerPlatform } from "./power-platform/types.ts";

export type { IsoTime } from "./iso-time.ts";
import type { IsoTime } from "./iso-time.ts";
export type * from "./power-platform/types.ts";

export interface WorldInterval {
  readonly from?: IsoTime | null;
  readonly to?: IsoTime | null;
}

export interface WorldLocation {
  readonly id: string;
  readonly name?: string;
  readonly country?: string;
  /** `false` is shorthand for one inactive interval since always. */
  readonly active?: boolean;
  /** History: the intervals during which this location id was deactivated. */
  readonly inactive?: readonly WorldInterval[];
}

export interface WorldPartner {
  readonly name: string;
  readonly globalId: string;
  readonly tenantIds?: readonly string[];
  readonly locations?: readonly WorldLocation[];
}

export type WorldSecret = string | { readonly value: string; readonly displayName?: string; readonly expiresAt?: IsoTime | null };

export interface WorldApplication {
  readonly appId: string;
  readonly displayName: string;
  readonly homeTenantId: string;
  readonly createdAt?: IsoTime;
  readonly deletedAt?: IsoTime | null;
  /** Client secrets in clear; stored hashed, never exported. */
  readonly secrets?: readonly WorldSecret[];
  /** PEM certificates (public keys) for client assertions. */
  readonly certificates?: readonly string[];
}

export interface WorldUser {
  readonly id: string;
  readonly userPrincipalName: string;
  readonly displayName?: string;
  readonly type?: "member" | "guest";
  /** Members only; stored hashed, never exported. */
  readonly password?: string;
  readonly homeTenantId?: string;
  readonly homeObjectId?: string;
  readonly createdAt?: IsoTime;
  readonly disabled?: readonly WorldInterval[];
  readonly deletedAt?: IsoTime | null;
  /** Entra directory roles held now, by display name ("Global Administrator") or role template id. */
  readonly directoryRoles?: readonly string[];
}

export interface WorldServicePrincipal {
  readonly id: string;
  readonly appId: string;
  readonly displayName?: string;
  readonly createdAt?: IsoTime;
  readonly disabled?: readonly WorldInterval[];
  readonly deletedAt?: IsoTime | null;
  /** Entra directory roles held now, by display name or role template id. */
  readonly directoryRoles?: readonly string[];
}

export type WorldGroupMember = string | { readonly id: string; readonly from?: IsoTime | null; readonly to?: IsoTime | null };

export interface WorldGroup {
  readonly id: string;
  readonly displayName: string;
  readonly createdAt?: IsoTime;
  readonly deletedAt?: IsoTime | null;
  readonly members?: readonly WorldGroupMember[];
}

export interface WorldDelegatedAdmin extends WorldInterval {
  readonly partnerTenantId: string;
}

export interface WorldManagementGroup {
  readonly id: string;
  readonly displayName: string;
  readonly parent?: string;
}

export type SubscriptionOffer = "EA" | "AzurePlan" | "CSP" | "PayAsYouGo";

/** An earlier state of a subscription, held over [from, to). */
export interface WorldSubscriptionState {
  readonly from?: IsoTime | null;
  readonly to: IsoTime;
  readonly displayName?: string;
  readonly offer: SubscriptionOffer;
  readonly managementGroup?: string;
  readonly accountOwner?: string;
}

export interface WorldSubscription {
  readonly id: string;
  readonly displayName: string;
  readonly offer: SubscriptionOffer;
  readonly managementGroup?: string;
  readonly accountOwner?: string;
  readonly resourceGroups?: readonly string[];
  /**
   * Earlier states, oldest first, each ending (`to`) where the next begins; the state above holds
   * from the last `to`. Without `history` the subscription exists since always.
   */
  readonly history?: readonly WorldSubscriptionState[];
}

export interface WorldRoleAssignment extends WorldInterval {
  readonly id?: string;
  readonly principalId: string;
  readonly role: string;
  readonly scope: string;
}

/** A just-in-time activation of an eligible authorization, over [from, to). */
export interface WorldActivation {
  readonly from: IsoTime;
  readonly to: IsoTime;
  /** Who activated; defaults to the authorization's principal (required when that is a group). */
  readonly principalId?: string;
}

export interface WorldAuthorization {
  readonly principalId: string;
  readonly principalIdDisplayName?: string;
  readonly role: string;
  readonly kind?: "permanent" | "eligible";
  /** Eligible authorizations only. */
  readonly activations?: readonly WorldActivation[];
}

export interface WorldDelegation extends WorldInterval {
  /** Registration assignment id; derived from the delegation when absent. */
  readonly id?: string;
  /** Registration definition id; derived from the assignment id when absent. */
  readonly definitionId?: string;
  readonly displayName?: string;
  readonly scope: string;
  readonly managedByTenantId: string;
  readonly authorizations: readonly WorldAuthorization[];
}

export interface WorldTenant {
  readonly id: string;
  readonly displayName: string;
  readonly domain: string;
  readonly createdAt?: IsoTime;
  readonly users?: readonly WorldUser[];
  readonly servicePrincipals?: readonly WorldServicePrincipal[];
  readonly groups?: readonly WorldGroup[];
  readonly delegatedAdmins?: readonly WorldDelegatedAdmin[];
  readonly managementGroups?: readonly WorldManagementGroup[];
  readonly subscriptions?: readonly WorldSubscription[];
  readonly roleAssignments?: readonly WorldRoleAssignment[];
  readonly delegations?: readonly WorldDelegation[];
  /** Power Platform and Customer Insights estate (world/power-platform/types.ts). */
  readonly powerPlatform?: WorldPowerPlatform;
}

export interface WorldLink extends WorldInterval {
  readonly tenantId: string;
  readonly objectId: string;
  readonly partnerId: string;
}

export interface WorldPartnerOfRecord extends WorldInterval {
  readonly subscriptionId: string;
  readonly partnerId: string;
}

export interface WorldFile {
  readonly $schema?: string;
  readonly partners?: readonly WorldPartner[];
  readonly applications?: readonly WorldApplication[];
  readonly tenants?: readonly WorldTenant[];
  readonly links?: readonly WorldLink[];
  readonly partnersOfRecord?: readonly WorldPartnerOfRecord[];
}

/** One problem in a world file: where (a JSON path such as `$.tenants[1].users[0].id`) and what. */
export interface WorldProblem {
  readonly path: string;
  readonly message: string;
}

export function formatProblem(p: WorldProblem): string {
  return `${p.path}: ${p.message}`;
}
