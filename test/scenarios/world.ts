/**
 * Building blocks for scenario worlds: stable GUIDs and a base world (two partner organisations,
 * one customer tenant with an EA subscription) that each scenario extends.
 */
import type { WorldFile, WorldTenant } from "../../src/world/index.ts";

/** A stable GUID from a small number and a family letter (readable in failures). */
export const g = (family: string, n: number) => `${family.padEnd(8, "0").slice(0, 8)}-0000-4000-8000-${String(n).padStart(12, "0")}`;

export const CONTOSO_TENANT = g("c0", 1);
export const NORTHWIND_TENANT = g("d0", 1);
export const FABRIKAM_TENANT = g("fa", 1);
export const SUB_PROD = g("5b", 1);
export const SUB_DEV = g("5b", 2);
export const ALICE_HOME = g("a1", 1);
export const ALICE_GUEST = g("a1", 2);
export const NORA_HOME = g("b2", 1);
export const NORA_GUEST = g("b2", 2);
export const OWNER = g("0e", 1);
export const BOB_HOME = g("b0", 1);
export const BOB_GUEST = g("b0", 2);

export const PROD = `/subscriptions/${SUB_PROD}`;
export const DEV = `/subscriptions/${SUB_DEV}`;
export const vm = (sub: string, rg: string, name: string) => `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}`;

/** The base world; `fabrikam` extends the customer tenant, `extra` adds top-level sections. */
export function baseWorld(fabrikam: Partial<WorldTenant> = {}, extra: Partial<WorldFile> = {}): WorldFile {
  return {
    partners: [
      { name: "Contoso Consulting", globalId: "4000000", tenantIds: [CONTOSO_TENANT], locations: [{ id: "4000001", country: "US" }, { id: "4000002", country: "GB" }] },
      { name: "Northwind Traders", globalId: "5000000", tenantIds: [NORTHWIND_TENANT], locations: [{ id: "5000001", country: "US" }] },
    ],
    tenants: [
      { id: CONTOSO_TENANT, displayName: "Contoso", domain: "contoso.example", users: [{ id: ALICE_HOME, userPrincipalName: "alice@contoso.example" }, { id: BOB_HOME, userPrincipalName: "bob@contoso.example" }] },
      { id: NORTHWIND_TENANT, displayName: "Northwind", domain: "northwind.example", users: [{ id: NORA_HOME, userPrincipalName: "nora@northwind.example" }] },
      {
        id: FABRIKAM_TENANT, displayName: "Fabrikam", domain: "fabrikam.example",
        ...fabrikam,
        users: [
          { id: OWNER, userPrincipalName: "owner@fabrikam.example" },
          { id: ALICE_GUEST, userPrincipalName: "alice_contoso.example#EXT#@fabrikam.example", type: "guest", homeTenantId: CONTOSO_TENANT, homeObjectId: ALICE_HOME },
          { id: NORA_GUEST, userPrincipalName: "nora_northwind.example#EXT#@fabrikam.example", type: "guest", homeTenantId: NORTHWIND_TENANT, homeObjectId: NORA_HOME },
          ...(fabrikam.users ?? []),
        ],
        subscriptions: fabrikam.subscriptions ?? [
          { id: SUB_PROD, displayName: "fabrikam-prod", offer: "EA", accountOwner: OWNER, resourceGroups: ["rg-web", "rg-data"] },
          { id: SUB_DEV, displayName: "fabrikam-dev", offer: "EA", accountOwner: OWNER, resourceGroups: ["rg-dev"] },
        ],
      },
      ...(extra.tenants ?? []),
    ],
    ...(extra.links ? { links: extra.links } : {}),
    ...(extra.partnersOfRecord ? { partnersOfRecord: extra.partnersOfRecord } : {}),
    ...(extra.applications ? { applications: extra.applications } : {}),
  };
}
