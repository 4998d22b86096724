/**
 * Access aggregate: custom role definitions, role assignments, Lighthouse registration
 * definitions and assignments, and activations of eligible authorizations; all effective-dated
 * (migration 0004). Creating opens a row, deleting closes it: history is never rewritten.
 *
 * `loadAccessSnapshot` reads everything `effectiveAccess` (domain/access.ts) needs, in one query
 * per table, as plain data.
 */
import { sql, type Generated, type Kysely, type Selectable } from "kysely";
import type { Database } from "./schema.ts";
import { openAtTime, tagsJson, type EffectiveDating, type PutOutcome, type ResourceTables, type WriteTime } from "./resources.ts";
import { ResourceHierarchy, parseScope, scopeContains, scopeKey } from "../domain/scope.ts";
import { RoleCatalog, builtInRoles, type RoleDefinition, type RoleType } from "../domain/roles.ts";
import type { AccessInput, AccessPrincipal, AuthorizationKind, LighthouseAuthorization } from "../domain/access.ts";

interface Dated {
  seq: Generated<number>;
  tenant_id: string;
  valid_from: number | null;
  valid_to: number | null;
}
export interface AccessTables {
  role_definitions: Dated & { id: string; role_name: string; role_type: string; description: string; assignable_scopes: string; permissions: string };
  role_assignments: Dated & {
    id: string; scope: string; scope_key: string; role_definition_id: string; principal_id: string; principal_type: string;
    description: string | null; condition: string | null; condition_version: string | null; created_by: string | null;
  };
  registration_definitions: Dated & {
    id: string; scope: string; name: string; description: string | null; managed_by_tenant_id: string; managed_by_tenant_name: string | null;
    authorizations: string; plan: string | null;
  };
  registration_assignments: Dated & { id: string; scope: string; scope_key: string; registration_definition_id: string };
  eligible_activations: Dated & { registration_assignment_id: string; principal_id: string; role_definition_id: string };
}
type Db = Kysely<Database & ResourceTables & AccessTables>;

/** A write that Azure would refuse because it conflicts with what exists (HTTP 409). */
export class AccessConflictError extends Error {
  override readonly name = "AccessConflictError";
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface Permission {
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
  readonly dataActions: readonly string[];
  readonly notDataActions: readonly string[];
}

export interface StoredRoleDefinition extends RoleDefinition, EffectiveDating {
  readonly permissions: readonly Permission[];
}

export interface RoleAssignment extends EffectiveDating {
  readonly tenantId: string;
  readonly id: string;
  readonly scope: string;
  readonly roleDefinitionId: string;
  readonly principalId: string;
  /** User | Group | ServicePrincipal | ForeignGroup | Device */
  readonly principalType: string;
  readonly description: string | null;
  readonly condition: string | null;
  readonly conditionVersion: string | null;
  readonly createdBy: string | null;
}

export interface RegistrationDefinition extends EffectiveDating {
  readonly tenantId: string;
  readonly id: string;
  /** Subscription where the definition was created. */
  readonly scope: string;
  readonly name: string;
  readonly description: string | null;
  readonly managedByTenantId: string;
  readonly managedByTenantName: string | null;
  readonly authorizations: readonly LighthouseAuthorization[];
  readonly plan: Readonly<Record<string, string>> | null;
}

export interface RegistrationAssignment extends EffectiveDating {
  readonly tenantId: string;
  readonly id: string;
  readonly scope: string;
  readonly registrationDefinitionId: string;
}

export interface EligibleActivation extends EffectiveDating {
  readonly tenantId: string;
  readonly registrationAssignmentId: string;
  readonly principalId: string;
  readonly roleDefinitionId: string;
}

export interface AccessSnapshotFilter {
  /** Tenants whose rows to read (scopes, principals, memberships); all when absent. */
  readonly tenantIds?: readonly string[];
  /** Only rows whose interval overlaps [from, to). */
  readonly range?: { readonly from: number; readonly to: number };
}

const n = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));
const dating = (r: { valid_from: number | null; valid_to: number | null }): EffectiveDating => ({ validFrom: n(r.valid_from), validTo: n(r.valid_to) });
const firstFrom = (rows: readonly unknown[], when: WriteTime) => (rows.length ? when.at : when.since === undefined ? when.at : when.since);

const toRole = (r: Selectable<AccessTables["role_definitions"]>): StoredRoleDefinition => ({
  id: r.id, name: r.role_name, type: r.role_type as RoleType, tenantId: r.tenant_id, description: r.description,
  assignableScopes: JSON.parse(r.assignable_scopes) as string[], permissions: JSON.parse(r.permissions) as Permission[], pecEligible: null, ...dating(r),
});
const toRa = (r: Selectable<AccessTables["role_assignments"]>): RoleAssignment => ({
  tenantId: r.tenant_id, id: r.id, scope: r.scope, roleDefinitionId: r.role_definition_id, principalId: r.principal_id, principalType: r.principal_type,
  description: r.description, condition: r.condition, conditionVersion: r.condition_version, createdBy: r.created_by, ...dating(r),
});
const toDef = (r: Selectable<AccessTables["registration_definitions"]>): RegistrationDefinition => ({
  tenantId: r.tenant_id, id: r.id, scope: r.scope, name: r.name, description: r.description, managedByTenantId: r.managed_by_tenant_id,
  managedByTenantName: r.managed_by_tenant_name, authorizations: JSON.parse(r.authorizations) as LighthouseAuthorization[],
  plan: r.plan === null ? null : (JSON.parse(r.plan) as Record<string, string>), ...dating(r),
});
const toRegAssignment = (r: Selectable<AccessTables["registration_assignments"]>): RegistrationAssignment => ({
  tenantId: r.tenant_id, id: r.id, scope: r.scope, registrationDefinitionId: r.registration_definition_id, ...dating(r),
});
const toActivation = (r: Selectable<AccessTables["eligible_activations"]>): EligibleActivation => ({
  tenantId: r.tenant_id, registrationAssignmentId: r.registration_assignment_id, principalId: r.principal_id, roleDefinitionId: r.role_definition_id, ...dating(r),
});

/** Normalises authorizations so equal sets compare equal as JSON. */
function authorizationsJson(list: readonly LighthouseAuthorization[]): string {
  return JSON.stringify(list.map((a) => ({
    principalId: a.principalId.toLowerCase(), principalIdDisplayName: a.principalIdDisplayName ?? null, roleDefinitionId: a.roleDefinitionId.toLowerCase(),
    kind: a.kind as AuthorizationKind, delegatedRoleDefinitionIds: (a.delegatedRoleDefinitionIds ?? []).map((x) => x.toLowerCase()),
    maximumActivationDuration: a.maximumActivationDuration ?? null,
  })));
}

export class AccessStore {
  readonly #db: Db;
  constructor(db: Kysely<Database>) {
    this.#db = db as unknown as Db;
  }

  // --- role definitions ------------------------------------------------------------------------

  /**
   * Creates or changes a tenant's role definition: a custom role, or a built-in seen in an import
   * that the built-in table does not know (type BuiltInRole, kept per tenant, never eligible under
   * the default policy). Built-ins from the table cannot be overwritten.
   */
  async putRoleDefinition(d: { tenantId: string; id: string; name: string; type?: RoleType; description?: string; assignableScopes?: readonly string[]; permissions?: readonly Permission[] }, when: WriteTime): Promise<PutOutcome> {
    const id = d.id.toLowerCase();
    if (builtInRoles().some((r) => r.id === id)) throw new AccessConflictError("RoleDefinitionExists", `role definition ${id} is the built-in "${builtInRoles().find((r) => r.id === id)?.name}"; built-in roles cannot be changed`);
    const row = {
      tenant_id: d.tenantId, id, role_name: d.name, role_type: d.type ?? "CustomRole", description: d.description ?? "",
      assignable_scopes: JSON.stringify(d.assignableScopes ?? []), permissions: JSON.stringify(d.permissions ?? []),
    };
    const rows = await this.#db.selectFrom("role_definitions").selectAll().where("tenant_id", "=", d.tenantId).where("id", "=", id).execute();
    const open = openAtTime(rows);
    if (open && open.role_name === row.role_name && open.role_type === row.role_type && open.description === row.description
      && open.assignable_scopes === row.assignable_scopes && open.permissions === row.permissions) return "unchanged";
    if (open) await this.#db.updateTable("role_definitions").set({ valid_to: when.at }).where("seq", "=", open.seq).execute();
    await this.#db.insertInto("role_definitions").values({ ...row, valid_from: open ? when.at : firstFrom(rows, when), valid_to: null }).execute();
    return open ? "updated" : "created";
  }

  /** The tenant's own role definitions (custom and observed), open at `at` (default now). */
  async listRoleDefinitions(tenantId: string, at?: number): Promise<StoredRoleDefinition[]> {
    const rows = await this.#db.selectFrom("role_definitions").selectAll().where("tenant_id", "=", tenantId).orderBy("role_name").orderBy("seq").execute();
    return rows.filter((r) => openAtTime([r], at)).map(toRole);
  }

  async deleteRoleDefinition(tenantId: string, id: string, at: number): Promise<boolean> {
    const r = await this.#db.updateTable("role_definitions").set({ valid_to: at })
      .where("tenant_id", "=", tenantId).where("id", "=", id.toLowerCase()).where("valid_to", "is", null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Built-ins plus the tenant's own roles, for lookups by name (case-insensitive) or GUID. */
  async roleCatalog(tenantId?: string): Promise<RoleCatalog> {
    let q = this.#db.selectFrom("role_definitions").selectAll().where("valid_to", "is", null);
    if (tenantId) q = q.where("tenant_id", "=", tenantId);
    return new RoleCatalog((await q.execute()).map(toRole));
  }

  // --- role assignments -----------------------------------------------------------------------

  /**
   * Opens a role assignment. Re-creating an open one with the same content is a no-op
   * ("unchanged"), as a repeated PUT is in Azure; changing its content, or assigning the same
   * role to the same principal at the same scope under another id, is refused.
   */
  async createRoleAssignment(a: Omit<RoleAssignment, "validFrom" | "validTo" | "description" | "condition" | "conditionVersion" | "createdBy"> & Partial<Pick<RoleAssignment, "description" | "condition" | "conditionVersion" | "createdBy">>, when: WriteTime): Promise<PutOutcome> {
    const id = a.id.toLowerCase();
    const key = scopeKey(a.scope);
    parseScope(a.scope);
    const role = a.roleDefinitionId.toLowerCase();
    const principal = a.principalId.toLowerCase();
    const rows = await this.#db.selectFrom("role_assignments").selectAll().where("tenant_id", "=", a.tenantId).where("id", "=", id).execute();
    const open = openAtTime(rows);
    if (open) {
      if (open.scope_key === key && open.role_definition_id === role && open.principal_id === principal) return "unchanged";
      throw new AccessConflictError("RoleAssignmentUpdateNotPermitted", `role assignment ${id} exists with another scope, role or principal; delete it and create a new one`);
    }
    const twin = await this.#db.selectFrom("role_assignments").select("id").where("tenant_id", "=", a.tenantId).where("scope_key", "=", key)
      .where("principal_id", "=", principal).where("role_definition_id", "=", role).where("valid_to", "is", null).executeTakeFirst();
    if (twin) throw new AccessConflictError("RoleAssignmentExists", `the role assignment already exists (id ${twin.id}): principal ${principal} already holds role ${role} at ${a.scope}`);
    await this.#db.insertInto("role_assignments").values({
      tenant_id: a.tenantId, id, scope: a.scope, scope_key: key, role_definition_id: role, principal_id: principal, principal_type: a.principalType,
      description: a.description ?? null, condition: a.condition ?? null, condition_version: a.conditionVersion ?? null, created_by: a.createdBy ?? null,
      valid_from: firstFrom(rows, when), valid_to: null,
    }).execute();
    return "created";
  }

  /** Closes the assignment at `at`; returns what was closed. */
  async deleteRoleAssignment(tenantId: string, id: string, at: number): Promise<RoleAssignment | undefined> {
    const open = openAtTime(await this.#db.selectFrom("role_assignments").selectAll().where("tenant_id", "=", tenantId).where("id", "=", id.toLowerCase()).execute());
    if (!open) return undefined;
    await this.#db.updateTable("role_assignments").set({ valid_to: at }).where("seq", "=", open.seq).execute();
    return toRa({ ...open, valid_to: at });
  }

  async getRoleAssignment(tenantId: string, id: string, at?: number): Promise<RoleAssignment | undefined> {
    const r = openAtTime(await this.#db.selectFrom("role_assignments").selectAll().where("tenant_id", "=", tenantId).where("id", "=", id.toLowerCase()).execute(), at);
    return r ? toRa(r) : undefined;
  }

  /** Finds an assignment by id in any tenant (ids are GUIDs; ARM GETs by id alone). */
  async findRoleAssignment(id: string, at?: number): Promise<RoleAssignment | undefined> {
    const r = openAtTime(await this.#db.selectFrom("role_assignments").selectAll().where("id", "=", id.toLowerCase()).execute(), at);
    return r ? toRa(r) : undefined;
  }

  /**
   * Assignments of a tenant that apply to `scope` at `at` (default now), as ARM's "list for
   * scope": at the scope, above it (management groups as they stood at `at`, and `/`) and, unless
   * `atScope`, below it. `principalId` narrows to one principal (ARM `principalId eq`).
   */
  async listRoleAssignmentsForScope(tenantId: string, scope: string, filter: { atScope?: boolean; principalId?: string; at?: number } = {}): Promise<RoleAssignment[]> {
    const target = parseScope(scope);
    let q = this.#db.selectFrom("role_assignments").selectAll().where("tenant_id", "=", tenantId);
    if (filter.principalId) q = q.where("principal_id", "=", filter.principalId.toLowerCase());
    const rows = (await q.orderBy("scope_key").orderBy("id").execute()).filter((r) => openAtTime([r], filter.at));
    const view = (await this.#hierarchy(tenantId)).at(tenantId, filter.at ?? Number.MAX_SAFE_INTEGER - 1);
    return rows.filter((r) => {
      const s = parseScope(r.scope);
      return scopeContains(s, target, view) || (!filter.atScope && scopeContains(target, s, view));
    }).map(toRa);
  }

  /** Every assignment row of a tenant (history included), oldest first. */
  async roleAssignmentHistory(tenantId: string): Promise<RoleAssignment[]> {
    return (await this.#db.selectFrom("role_assignments").selectAll().where("tenant_id", "=", tenantId).orderBy("seq").execute()).map(toRa);
  }

  async #hierarchy(tenantId: string): Promise<ResourceHierarchy> {
    const [mgs, subs] = await Promise.all([
      this.#db.selectFrom("management_groups").selectAll().where("tenant_id", "=", tenantId).execute(),
      this.#db.selectFrom("subscriptions").selectAll().where("tenant_id", "=", tenantId).execute(),
    ]);
    return new ResourceHierarchy(
      mgs.map((g) => ({ tenantId: g.tenant_id, id: g.id, parentId: g.parent_id, validFrom: n(g.valid_from), validTo: n(g.valid_to) })),
      subs.map((s) => ({ tenantId: s.tenant_id, id: s.id, managementGroupId: s.management_group_id, validFrom: n(s.valid_from), validTo: n(s.valid_to) })),
    );
  }

  // --- Lighthouse -----------------------------------------------------------------------------

  async putRegistrationDefinition(d: Omit<RegistrationDefinition, "validFrom" | "validTo">, when: WriteTime): Promise<PutOutcome> {
    const id = d.id.toLowerCase();
    const row = {
      tenant_id: d.tenantId, id, scope: d.scope, name: d.name, description: d.description, managed_by_tenant_id: d.managedByTenantId.toLowerCase(),
      managed_by_tenant_name: d.managedByTenantName, authorizations: authorizationsJson(d.authorizations), plan: d.plan ? tagsJson(d.plan) : null,
    };
    const rows = await this.#db.selectFrom("registration_definitions").selectAll().where("tenant_id", "=", d.tenantId).where("id", "=", id).execute();
    const open = openAtTime(rows);
    if (open && open.name === row.name && open.description === row.description && open.managed_by_tenant_id === row.managed_by_tenant_id
      && open.managed_by_tenant_name === row.managed_by_tenant_name && open.authorizations === row.authorizations && open.plan === row.plan && scopeKey(open.scope) === scopeKey(row.scope)) return "unchanged";
    if (open) await this.#db.updateTable("registration_definitions").set({ valid_to: when.at }).where("seq", "=", open.seq).execute();
    await this.#db.insertInto("registration_definitions").values({ ...row, valid_from: open ? when.at : firstFrom(rows, when), valid_to: null }).execute();
    return open ? "updated" : "created";
  }

  async getRegistrationDefinition(tenantId: string, id: string, at?: number): Promise<RegistrationDefinition | undefined> {
    const r = openAtTime(await this.#db.selectFrom("registration_definitions").selectAll().where("tenant_id", "=", tenantId).where("id", "=", id.toLowerCase()).execute(), at);
    return r ? toDef(r) : undefined;
  }

  async listRegistrationDefinitions(filter: { tenantId?: string; managedByTenantId?: string; at?: number } = {}): Promise<RegistrationDefinition[]> {
    let q = this.#db.selectFrom("registration_definitions").selectAll();
    if (filter.tenantId) q = q.where("tenant_id", "=", filter.tenantId);
    if (filter.managedByTenantId) q = q.where("managed_by_tenant_id", "=", filter.managedByTenantId.toLowerCase());
    return (await q.orderBy("id").orderBy("seq").execute()).filter((r) => openAtTime([r], filter.at)).map(toDef);
  }

  async deleteRegistrationDefinition(tenantId: string, id: string, at: number): Promise<boolean> {
    const live = await this.listRegistrationAssignments({ tenantId });
    if (live.some((a) => a.registrationDefinitionId === id.toLowerCase())) {
      throw new AccessConflictError("RegistrationDefinitionInUse", `registration definition ${id} is still assigned; delete its registration assignments first`);
    }
    const r = await this.#db.updateTable("registration_definitions").set({ valid_to: at })
      .where("tenant_id", "=", tenantId).where("id", "=", id.toLowerCase()).where("valid_to", "is", null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Delegates a subscription or resource group; the definition must exist in the tenant. */
  async createRegistrationAssignment(a: Omit<RegistrationAssignment, "validFrom" | "validTo">, when: WriteTime): Promise<PutOutcome> {
    const parsed = parseScope(a.scope);
    if (parsed.kind !== "subscription" && parsed.kind !== "resourceGroup") {
      throw new Error(`registration assignment ${a.id}: scope ${a.scope} must be a subscription or a resource group`);
    }
    const defId = a.registrationDefinitionId.toLowerCase();
    if (!(await this.getRegistrationDefinition(a.tenantId, defId))) {
      throw new Error(`registration assignment ${a.id}: registration definition ${defId} does not exist in tenant ${a.tenantId}; create it first`);
    }
    const id = a.id.toLowerCase();
    const rows = await this.#db.selectFrom("registration_assignments").selectAll().where("tenant_id", "=", a.tenantId).where("id", "=", id).execute();
    const open = openAtTime(rows);
    if (open) {
      if (open.scope_key === parsed.key && open.registration_definition_id === defId) return "unchanged";
      throw new AccessConflictError("RegistrationAssignmentUpdateNotPermitted", `registration assignment ${id} exists for another scope or definition; delete it first`);
    }
    await this.#db.insertInto("registration_assignments").values({
      tenant_id: a.tenantId, id, scope: a.scope, scope_key: parsed.key, registration_definition_id: defId, valid_from: firstFrom(rows, when), valid_to: null,
    }).execute();
    return "created";
  }

  async getRegistrationAssignment(tenantId: string, id: string, at?: number): Promise<RegistrationAssignment | undefined> {
    const r = openAtTime(await this.#db.selectFrom("registration_assignments").selectAll().where("tenant_id", "=", tenantId).where("id", "=", id.toLowerCase()).execute(), at);
    return r ? toRegAssignment(r) : undefined;
  }

  /** Assignments of a tenant; with `scope`, those at that scope or below it. */
  async listRegistrationAssignments(filter: { tenantId: string; scope?: string; at?: number }): Promise<RegistrationAssignment[]> {
    const rows = await this.#db.selectFrom("registration_assignments").selectAll().where("tenant_id", "=", filter.tenantId).orderBy("id").orderBy("seq").execute();
    const key = filter.scope ? scopeKey(filter.scope) : undefined;
    return rows.filter((r) => openAtTime([r], filter.at) && (!key || r.scope_key === key || r.scope_key.startsWith(key + "/"))).map(toRegAssignment);
  }

  async deleteRegistrationAssignment(tenantId: string, id: string, at: number): Promise<boolean> {
    const r = await this.#db.updateTable("registration_assignments").set({ valid_to: at })
      .where("tenant_id", "=", tenantId).where("id", "=", id.toLowerCase()).where("valid_to", "is", null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Records a just-in-time activation of an eligible authorization by a principal of the managing
   * tenant, over [from, to). The same activation recorded twice is kept once.
   */
  async addActivation(a: { tenantId: string; registrationAssignmentId: string; principalId: string; roleDefinitionId: string; from: number; to: number }): Promise<PutOutcome> {
    if (!(a.from < a.to)) throw new Error(`activation: from must be before to (got ${a.from}..${a.to})`);
    const row = {
      tenant_id: a.tenantId, registration_assignment_id: a.registrationAssignmentId.toLowerCase(), principal_id: a.principalId.toLowerCase(),
      role_definition_id: a.roleDefinitionId.toLowerCase(), valid_from: a.from, valid_to: a.to,
    };
    const same = await this.#db.selectFrom("eligible_activations").select("seq").where("tenant_id", "=", row.tenant_id)
      .where("registration_assignment_id", "=", row.registration_assignment_id).where("principal_id", "=", row.principal_id)
      .where("role_definition_id", "=", row.role_definition_id).where("valid_from", "=", a.from).where("valid_to", "=", a.to).executeTakeFirst();
    if (same) return "unchanged";
    await this.#db.insertInto("eligible_activations").values(row).execute();
    return "created";
  }

  async listActivations(tenantId: string, registrationAssignmentId?: string): Promise<EligibleActivation[]> {
    let q = this.#db.selectFrom("eligible_activations").selectAll().where("tenant_id", "=", tenantId);
    if (registrationAssignmentId) q = q.where("registration_assignment_id", "=", registrationAssignmentId.toLowerCase());
    return (await q.orderBy("seq").execute()).map(toActivation);
  }

  // --- the snapshot effectiveAccess reads ------------------------------------------------------

  /**
   * Everything `effectiveAccess` needs, as plain data: principals (with the tenant they come
   * from), memberships, disabled intervals, role assignments, delegations, activations, the
   * management group tree and subscriptions' placements, and tenants' own role definitions. One
   * query per table; history included (filtered to `range` when given).
   */
  async loadAccessSnapshot(filter: AccessSnapshotFilter = {}): Promise<AccessInput> {
    const tenants = filter.tenantIds?.map((t) => t.toLowerCase());
    const range = filter.range;
    const always = sql<boolean>`1 = 1`;
    const inTenants = (column: string) => (tenants ? sql<boolean>`${sql.ref(column)} in (${sql.join(tenants)})` : always);
    const overlaps = range
      ? sql<boolean>`(valid_from is null or valid_from < ${range.to}) and (valid_to is null or valid_to > ${range.from})`
      : always;
    const db = this.#db;
    const [users, sps, groups, members, disabled, assignments, defs, regs, acts, mgs, subs, roles] = await Promise.all([
      db.selectFrom("users").select(["tenant_id", "id", "kind", "home_tenant_id", "deleted_at", "display_name"]).where(inTenants("tenant_id")).execute(),
      // A service principal comes from its application's home tenant (a partner's automation).
      db.selectFrom("service_principals").leftJoin("applications", "applications.app_id", "service_principals.app_id")
        .select(["service_principals.tenant_id", "service_principals.id", "service_principals.deleted_at", "service_principals.display_name", "applications.home_tenant_id"])
        .where(inTenants("service_principals.tenant_id")).execute(),
      db.selectFrom("groups").select(["tenant_id", "id", "deleted_at", "display_name"]).where(inTenants("tenant_id")).execute(),
      db.selectFrom("group_members").selectAll().where(inTenants("tenant_id")).where(overlaps).execute(),
      db.selectFrom("principal_disabled").selectAll().where(inTenants("tenant_id")).where(overlaps).execute(),
      db.selectFrom("role_assignments").selectAll().where(inTenants("tenant_id")).where(overlaps).execute(),
      // Definitions are read whole: a delegation's interval lives on its assignment.
      db.selectFrom("registration_definitions").selectAll().where(inTenants("tenant_id")).where("valid_to", "is", null).execute(),
      db.selectFrom("registration_assignments").selectAll().where(inTenants("tenant_id")).where(overlaps).execute(),
      db.selectFrom("eligible_activations").selectAll().where(inTenants("tenant_id")).where(overlaps).execute(),
      db.selectFrom("management_groups").selectAll().where(inTenants("tenant_id")).where(overlaps).execute(),
      db.selectFrom("subscriptions").selectAll().where(inTenants("tenant_id")).where(overlaps).execute(),
      db.selectFrom("role_definitions").selectAll().where(inTenants("tenant_id")).where("valid_to", "is", null).execute(),
    ]);

    const principals: AccessPrincipal[] = [
      ...users.map((u): AccessPrincipal => ({ tenantId: u.tenant_id, objectId: u.id, type: "User", homeTenantId: u.kind === "guest" ? u.home_tenant_id : u.tenant_id, deletedAt: n(u.deleted_at), displayName: u.display_name })),
      ...sps.map((s): AccessPrincipal => ({ tenantId: s.tenant_id, objectId: s.id, type: "ServicePrincipal", homeTenantId: s.home_tenant_id ?? s.tenant_id, deletedAt: n(s.deleted_at), displayName: s.display_name })),
      ...groups.map((g): AccessPrincipal => ({ tenantId: g.tenant_id, objectId: g.id, type: "Group", homeTenantId: g.tenant_id, deletedAt: n(g.deleted_at), displayName: g.display_name })),
    ];
    return {
      principals,
      memberships: members.map((m) => ({ tenantId: m.tenant_id, groupId: m.group_id, memberId: m.member_id, ...dating(m) })),
      disabled: disabled.map((d) => ({ tenantId: d.tenant_id, objectId: d.object_id, ...dating(d) })),
      roleAssignments: assignments.map((a) => ({ tenantId: a.tenant_id, id: a.id, scope: a.scope, principalId: a.principal_id, principalType: a.principal_type, roleDefinitionId: a.role_definition_id, ...dating(a) })),
      registrationDefinitions: defs.map((d) => ({ tenantId: d.tenant_id, id: d.id, name: d.name, managedByTenantId: d.managed_by_tenant_id, authorizations: JSON.parse(d.authorizations) as LighthouseAuthorization[] })),
      registrationAssignments: regs.map((r) => ({ tenantId: r.tenant_id, id: r.id, scope: r.scope, registrationDefinitionId: r.registration_definition_id, ...dating(r) })),
      activations: acts.map((a) => ({ tenantId: a.tenant_id, registrationAssignmentId: a.registration_assignment_id, principalId: a.principal_id, roleDefinitionId: a.role_definition_id, ...dating(a) })),
      managementGroups: mgs.map((g) => ({ tenantId: g.tenant_id, id: g.id, parentId: g.parent_id, ...dating(g) })),
      subscriptions: subs.map((s) => ({ tenantId: s.tenant_id, id: s.id, managementGroupId: s.management_group_id, ...dating(s) })),
      roleDefinitions: roles.map(toRole),
    };
  }
}
