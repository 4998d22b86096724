/**
 * Building blocks for business-applications scenario worlds: the Azure scenario base world
 * (Contoso 4000001/4000002 and Northwind 5000001 with guests alice and nora in Fabrikam, the
 * customer's own account `owner`) plus Fabrikam end users, a Production and a Sandbox
 * environment, and helpers to add links and disabled intervals.
 */
import type { WorldFile, WorldLink, WorldPowerPlatform, WorldTenant, WorldUser } from "../../src/world/index.ts";
import { ALICE_GUEST, ALICE_HOME, BOB_GUEST, BOB_HOME, CONTOSO_TENANT, FABRIKAM_TENANT, NORA_GUEST, NORA_HOME, OWNER, baseWorld, g } from "./world.ts";
import type { ActivityEvent, MetricRow } from "./bizapps-lake.ts";

export { ALICE_GUEST, ALICE_HOME, BOB_GUEST, BOB_HOME, CONTOSO_TENANT, FABRIKAM_TENANT, NORA_GUEST, NORA_HOME, NORTHWIND_TENANT, OWNER, g } from "./world.ts";

/** Fabrikam's own users (customer accounts, never linked): they use the apps. */
export const END = [1, 2, 3, 4, 5].map((n) => g("e5", n));
export const ENV_PROD = g("e0", 1);
export const ENV_SANDBOX = g("e0", 2);

/** Principal id → short name, for `brief`. */
export const NAMES: Readonly<Record<string, string>> = Object.fromEntries([
  [ALICE_GUEST, "alice"], [NORA_GUEST, "nora"], [OWNER, "owner"], [BOB_GUEST, "bob"], [ALICE_HOME, "alice@contoso"], [NORA_HOME, "nora@northwind"], [BOB_HOME, "bob@contoso"],
  ...END.map((id, i) => [id, `end${i + 1}`]),
].map(([id, name]) => [id!.toLowerCase(), name!]));

const BOB_GUEST_USER: WorldUser = { id: BOB_GUEST, userPrincipalName: "bob_contoso.example#EXT#@fabrikam.example", type: "guest", homeTenantId: CONTOSO_TENANT, homeObjectId: BOB_HOME };

/** A link in Fabrikam (by default to Contoso US, 4000001, since always). */
export const link = (objectId: string, partnerId = "4000001", from?: string, to?: string): WorldLink =>
  ({ tenantId: FABRIKAM_TENANT, objectId, partnerId, ...(from ? { from } : {}), ...(to ? { to } : {}) });

export interface BizWorldOptions {
  readonly links?: readonly WorldLink[];
  /** Principal id → disabled intervals (users of Fabrikam, bob included). */
  readonly disabled?: Readonly<Record<string, readonly { from?: string; to?: string }[]>>;
  readonly delegatedAdmins?: WorldTenant["delegatedAdmins"];
}

/** The base world with Fabrikam's `powerPlatform` section (environments added) and bob as a Contoso guest. */
export function bizWorld(pp: Omit<WorldPowerPlatform, "environments">, opts: BizWorldOptions = {}): WorldFile {
  const world = baseWorld({
    users: [BOB_GUEST_USER, ...END.map((id, i) => ({ id, userPrincipalName: `end${i + 1}@fabrikam.example` }))],
    ...(opts.delegatedAdmins ? { delegatedAdmins: opts.delegatedAdmins } : {}),
    powerPlatform: {
      environments: [
        { id: ENV_PROD, displayName: "Fabrikam Production", type: "Production" },
        { id: ENV_SANDBOX, displayName: "Fabrikam Sandbox", type: "Sandbox" },
      ],
      ...pp,
    },
  }, { links: opts.links ?? [] });
  const disabled = opts.disabled ?? {};
  return {
    ...world,
    tenants: world.tenants!.map((t) => (t.id !== FABRIKAM_TENANT ? t : {
      ...t, users: t.users!.map((u) => (disabled[u.id] ? { ...u, disabled: disabled[u.id] } : u)),
    })),
  };
}

/** Activity event shorthands in Fabrikam. */
export const app = (resource: string, user: string, at: string, extra: Partial<ActivityEvent> = {}): ActivityEvent => ({ tenant: FABRIKAM_TENANT, workload: "PowerApps", resource, user, at, ...extra });
export const flowRun = (resource: string, user: string, at: string): ActivityEvent => ({ tenant: FABRIKAM_TENANT, workload: "PowerAutomate", resource, user, at });
export const view = (resource: string, user: string, at: string): ActivityEvent => ({ tenant: FABRIKAM_TENANT, workload: "PowerBI", resource, user, at });
export const ci = (resource: string, user: string, at: string): ActivityEvent => ({ tenant: FABRIKAM_TENANT, workload: "CustomerInsights", resource, user, at });
export const mau = (workload: MetricRow["workload"], resource: string, value: number): MetricRow => ({ tenant: FABRIKAM_TENANT, workload, resource, metric: "MonthlyActiveUsers", value });
export const profiles = (resource: string, value: number): MetricRow => ({ tenant: FABRIKAM_TENANT, workload: "CustomerInsights", resource, metric: "UnifiedProfiles", value });
