/**
 * Role definitions (Azure built-ins with their real GUIDs, and per-tenant custom roles) and the
 * versioned role eligibility policy (ATTRIBUTION-RULES.md rule 5). Pure: no I/O.
 */
import { BUILT_IN_ROLES, PEC_TABLE_SOURCE } from "./role-definitions.ts";

export type RoleType = "BuiltInRole" | "CustomRole";

export interface RoleDefinition {
  /** GUID, lower case. Global for built-ins. */
  readonly id: string;
  readonly name: string;
  readonly type: RoleType;
  /** Owning tenant for custom roles; null for built-ins. */
  readonly tenantId: string | null;
  readonly description: string;
  /** Scopes where the role may be assigned (built-ins: ["/"]). */
  readonly assignableScopes: readonly string[];
  /** Eligibility in the published PEC table; null when the role is absent from it. */
  readonly pecEligible: boolean | null;
}

export const OWNER_ROLE_ID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
export const CONTRIBUTOR_ROLE_ID = "b24988ac-6180-42a0-ab88-20f7382dd24c";
export const READER_ROLE_ID = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
export const USER_ACCESS_ADMINISTRATOR_ROLE_ID = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";
export const SUPPORT_REQUEST_CONTRIBUTOR_ROLE_ID = "cfd33db6-4a06-4a6c-ac8c-6b1f0e4f1cc3";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Lower case, and spaces/punctuation folded, so "user access administrator" finds the role. */
function nameKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, "");
}

const builtIns: readonly RoleDefinition[] = BUILT_IN_ROLES.map(([id, name, pec]) => Object.freeze({
  id: id.toLowerCase(), name, type: "BuiltInRole" as const, tenantId: null, description: "",
  assignableScopes: ["/"], pecEligible: pec,
}));
const builtInById = new Map(builtIns.map((r) => [r.id, r]));
const builtInByName = new Map(builtIns.map((r) => [nameKey(r.name), r]));

export function builtInRoles(): readonly RoleDefinition[] {
  return builtIns;
}

/**
 * The role GUID in a role definition reference: a bare GUID, or a role definition resource id
 * (`/subscriptions/<s>/providers/Microsoft.Authorization/roleDefinitions/<guid>`, or without the
 * subscription). Undefined when it is neither.
 */
export function roleGuidFrom(reference: string): string | undefined {
  const text = reference.trim();
  if (GUID.test(text)) return text.toLowerCase();
  const m = /\/providers\/microsoft\.authorization\/roledefinitions\/([0-9a-f-]{36})$/i.exec(text);
  return m && GUID.test(m[1] as string) ? (m[1] as string).toLowerCase() : undefined;
}

/** A built-in role by name (case-insensitive, spacing ignored), GUID, or role definition id. */
export function findBuiltInRole(nameOrId: string): RoleDefinition | undefined {
  const guid = roleGuidFrom(nameOrId);
  if (guid) return builtInById.get(guid);
  return builtInByName.get(nameKey(nameOrId));
}

/**
 * Every role a lookup can see: the built-ins plus the custom (and observed) roles loaded from the
 * store. Custom roles are per tenant: a lookup with a tenant sees that tenant's roles only.
 */
export class RoleCatalog {
  readonly #byId = new Map<string, RoleDefinition>();
  readonly #byTenantName = new Map<string, RoleDefinition>();

  constructor(custom: readonly RoleDefinition[] = []) {
    for (const r of custom) {
      this.#byId.set(r.id.toLowerCase(), r);
      if (r.tenantId) this.#byTenantName.set(`${r.tenantId.toLowerCase()}|${nameKey(r.name)}`, r);
    }
  }

  /** By GUID / role definition id (built-in first), or by name (built-in, then the tenant's). */
  find(nameOrId: string, tenantId?: string): RoleDefinition | undefined {
    const guid = roleGuidFrom(nameOrId);
    if (guid) {
      const r = builtInById.get(guid) ?? this.#byId.get(guid);
      if (r && r.tenantId && tenantId && r.tenantId.toLowerCase() !== tenantId.toLowerCase()) return undefined;
      return r;
    }
    return builtInByName.get(nameKey(nameOrId)) ?? (tenantId ? this.#byTenantName.get(`${tenantId.toLowerCase()}|${nameKey(nameOrId)}`) : undefined);
  }
}

/**
 * Which roles count for partner programmes. Versioned: every result that applies a policy records
 * `name@version`, so a change to the table never silently changes old numbers.
 */
export interface RoleEligibilityPolicy {
  readonly name: "pec" | "all-roles";
  readonly version: string;
  isEligible(role: Pick<RoleDefinition, "type" | "pecEligible">): boolean;
}

/** The default: the published partner-earned-credit table; absent and custom roles are not eligible. */
export const pecPolicy: RoleEligibilityPolicy = Object.freeze({
  name: "pec" as const,
  version: `2022-11-08 (${PEC_TABLE_SOURCE})`,
  isEligible: (role: Pick<RoleDefinition, "type" | "pecEligible">) => role.type === "BuiltInRole" && role.pecEligible === true,
});

/** Every role counts (an alternative for programmes that do not look at the role). */
export const allRolesPolicy: RoleEligibilityPolicy = Object.freeze({
  name: "all-roles" as const,
  version: "1",
  isEligible: () => true,
});

export function eligibilityPolicy(name: string = "pec"): RoleEligibilityPolicy {
  if (name === "pec") return pecPolicy;
  if (name === "all-roles") return allRolesPolicy;
  throw new Error(`unknown role eligibility policy "${name}": use "pec" (the published table, default) or "all-roles"`);
}
