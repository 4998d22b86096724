/**
 * The ARM world for the Authorization, Resources, Management, ManagedServices and partner-of-record
 * suites: the PAL fixture's tenants and principals, plus a management group, subscriptions of
 * several offers, a resource group and role assignments, seeded through the store aggregates.
 *
 *   Fabrikam root ─ mg-prod ─ S.ea (EA, account owner Alice) ─ rg-app
 *                └ S.payg (pay-as-you-go, no account owner)
 *   Contoso      ─ S.contoso (EA)
 *
 *   the automation SP in Fabrikam: Owner on S.ea and S.payg        Alice: Contributor on mg-prod
 *   Bob's guest object in Fabrikam: Reader on S.ea                 Carol (disabled): Owner on S.ea
 *   Erin: User Access Administrator on rg-app                      Bob: Owner on S.contoso
 */
import type { Store } from "../../../src/store/index.ts";
import { CONTRIBUTOR_ROLE_ID, OWNER_ROLE_ID, READER_ROLE_ID, USER_ACCESS_ADMINISTRATOR_ROLE_ID } from "../../../src/domain/roles.ts";
import { O, seedWorld, T } from "../managementpartner/fixture.ts";

export { arm, mintToken, O, P, T, APP_ID } from "../managementpartner/fixture.ts";

export const S = {
  ea: "11111111-0000-4000-8000-000000000001",
  payg: "11111111-0000-4000-8000-000000000002",
  contoso: "11111111-0000-4000-8000-000000000003",
} as const;

export const ERIN = "bbbbbbbb-0000-4000-8000-000000000010";
export const GROUP = "eeeeeeee-0000-4000-8000-000000000001";
export const MG = "mg-prod";
export const RG = "rg-app";
const SINCE = Date.parse("2026-01-01T00:00:00Z");

export async function seedArmWorld(store: Store): Promise<void> {
  await seedWorld(store);
  await store.directory.putUser({
    tenantId: T.fabrikam, id: ERIN, userPrincipalName: "erin@fabrikam.example", displayName: "erin", kind: "member", passwordHash: null,
    homeTenantId: null, homeObjectId: null, createdAt: SINCE, deletedAt: null,
  });
  await store.directory.putGroup({ tenantId: T.fabrikam, id: GROUP, displayName: "ops", createdAt: SINCE, deletedAt: null });
  const when = { at: SINCE, since: SINCE };
  const r = store.resources;
  await r.putManagementGroup({ tenantId: T.fabrikam, id: MG, displayName: "Production" }, when);
  await r.putSubscription({ tenantId: T.fabrikam, id: S.ea, displayName: "Fabrikam EA", offerType: "EA", accountOwnerId: O.alice, managementGroupId: MG }, when);
  await r.putSubscription({ tenantId: T.fabrikam, id: S.payg, displayName: "Fabrikam PAYG", offerType: "PayAsYouGo" }, when);
  await r.putSubscription({ tenantId: T.contoso, id: S.contoso, displayName: "Contoso EA", offerType: "EA", accountOwnerId: O.bob }, when);
  await r.putResourceGroup({ tenantId: T.fabrikam, subscriptionId: S.ea, name: RG, location: "westeurope" }, when);
  const assign = (tenantId: string, id: string, scope: string, roleDefinitionId: string, principalId: string, principalType = "User") =>
    store.access.createRoleAssignment({ tenantId, id, scope, roleDefinitionId, principalId, principalType }, when);
  await assign(T.fabrikam, "a0000000-0000-4000-8000-000000000001", `/subscriptions/${S.ea}`, OWNER_ROLE_ID, O.spFabrikam, "ServicePrincipal");
  await assign(T.fabrikam, "a0000000-0000-4000-8000-000000000002", `/subscriptions/${S.payg}`, OWNER_ROLE_ID, O.spFabrikam, "ServicePrincipal");
  await assign(T.fabrikam, "a0000000-0000-4000-8000-000000000003", `/providers/Microsoft.Management/managementGroups/${MG}`, CONTRIBUTOR_ROLE_ID, O.alice);
  await assign(T.fabrikam, "a0000000-0000-4000-8000-000000000004", `/subscriptions/${S.ea}`, READER_ROLE_ID, O.bobGuest);
  await assign(T.fabrikam, "a0000000-0000-4000-8000-000000000005", `/subscriptions/${S.ea}`, OWNER_ROLE_ID, O.carol);
  await assign(T.fabrikam, "a0000000-0000-4000-8000-000000000006", `/subscriptions/${S.ea}/resourceGroups/${RG}`, USER_ACCESS_ADMINISTRATOR_ROLE_ID, ERIN);
  await assign(T.contoso, "a0000000-0000-4000-8000-000000000007", `/subscriptions/${S.contoso}`, OWNER_ROLE_ID, O.bob);
}
