/** A small valid world that every rule test breaks in one place. */
import { checkWorldDocument, validateWorld, formatProblem, type WorldFile, type KnownFacts } from "../../src/world/index.ts";

export const PARTNER_T = "11111111-1111-4111-8111-111111111111";
export const CUSTOMER_T = "22222222-2222-4222-8222-222222222222";
export const HOME_USER = "11111111-0001-4000-8000-000000000001";
export const PARTNER_SP = "11111111-0002-4000-8000-000000000001";
export const PARTNER_GROUP = "11111111-0003-4000-8000-000000000001";
export const MEMBER = "22222222-0001-4000-8000-000000000001";
export const GUEST = "22222222-0001-4000-8000-000000000002";
export const CUSTOMER_SP = "22222222-0002-4000-8000-000000000001";
export const GROUP = "22222222-0003-4000-8000-000000000001";
export const INNER_GROUP = "22222222-0003-4000-8000-000000000002";
export const APP = "aaaaaaaa-0000-4000-8000-000000000001";
export const SUB_EA = "eeeeeeee-0000-4000-8000-000000000001";
export const SUB_PLAN = "eeeeeeee-0000-4000-8000-000000000002";
export const APP_SECRET = "s3cret-value-for-tests-0123456789";
export const MEMBER_PASSWORD = "Member-Password-1!";

/** A fresh copy each call, so tests can mutate it. */
export function baseWorld(): WorldFile & Record<string, unknown> {
  return structuredClone({
    partners: [{ name: "Contoso", globalId: "4000000", tenantIds: [PARTNER_T], locations: [{ id: "4000001", country: "US" }, { id: "4000002", country: "GB", active: false }] }],
    applications: [{ appId: APP, displayName: "contoso-automation", homeTenantId: PARTNER_T, secrets: [APP_SECRET] }],
    tenants: [
      {
        id: PARTNER_T, displayName: "Contoso", domain: "contoso.example",
        users: [{ id: HOME_USER, userPrincipalName: "alice@contoso.example", password: "Alice-Password-1!" }],
        servicePrincipals: [{ id: PARTNER_SP, appId: APP }],
        groups: [{ id: PARTNER_GROUP, displayName: "Engineers", members: [HOME_USER] }],
      },
      {
        id: CUSTOMER_T, displayName: "Fabrikam", domain: "fabrikam.example",
        users: [
          { id: MEMBER, userPrincipalName: "erin@fabrikam.example", password: MEMBER_PASSWORD, disabled: [{ from: "2026-10-15T00:00:00Z" }] },
          { id: GUEST, userPrincipalName: "alice_contoso.example#EXT#@fabrikam.example", type: "guest", homeTenantId: PARTNER_T, homeObjectId: HOME_USER },
        ],
        servicePrincipals: [{ id: CUSTOMER_SP, appId: APP }],
        groups: [
          { id: GROUP, displayName: "Partner admins", members: [GUEST, INNER_GROUP] },
          { id: INNER_GROUP, displayName: "Operations", members: [{ id: CUSTOMER_SP, from: "2026-10-01T00:00:00Z" }] },
        ],
        delegatedAdmins: [{ partnerTenantId: PARTNER_T, from: "2026-06-01T00:00:00Z" }],
        managementGroups: [{ id: "platform", displayName: "Platform" }, { id: "landing-zones", displayName: "Landing zones", parent: "platform" }],
        subscriptions: [
          { id: SUB_EA, displayName: "prod", offer: "EA", managementGroup: "landing-zones", accountOwner: MEMBER, resourceGroups: ["rg-web"] },
          { id: SUB_PLAN, displayName: "dev", offer: "AzurePlan" },
        ],
        roleAssignments: [
          { principalId: GUEST, role: "Contributor", scope: `/subscriptions/${SUB_EA}/resourceGroups/rg-web`, from: "2026-10-01T00:00:00Z", to: "2026-10-20T00:00:00Z" },
          { principalId: GROUP, role: "acdd72a7-3385-48ef-bd42-f606fba81ae7", scope: "/providers/Microsoft.Management/managementGroups/platform" },
        ],
        delegations: [{ scope: `/subscriptions/${SUB_PLAN}`, managedByTenantId: PARTNER_T, authorizations: [{ principalId: PARTNER_GROUP, role: "Contributor", kind: "permanent" }], from: "2026-09-01T00:00:00Z" }],
      },
    ],
    links: [
      { tenantId: CUSTOMER_T, objectId: GUEST, partnerId: "4000001", from: "2026-09-01T00:00:00Z", to: "2026-10-01T00:00:00Z" },
      { tenantId: CUSTOMER_T, objectId: GUEST, partnerId: "4000002", from: "2026-10-01T00:00:00Z" },
    ],
    partnersOfRecord: [{ subscriptionId: SUB_EA, partnerId: "4000001", from: "2026-09-01T00:00:00Z", to: null }],
  }) as WorldFile & Record<string, unknown>;
}

/** Every problem (schema, then rules) as "path: message". */
export function problemsOf(doc: unknown, known?: KnownFacts): string[] {
  const parsed = checkWorldDocument(doc);
  if (!parsed.ok) return parsed.problems.map(formatProblem);
  return validateWorld(parsed.world, known).problems.map(formatProblem);
}

/** Loose access for mutating fixtures in tests. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;
