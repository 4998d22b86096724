/**
 * Power Platform aggregate (migration 0008): environments and their makers, resources (apps,
 * flows, datasets, Customer Insights instances), the effective-dated relationships attribution
 * reads, Power BI workspaces, solutions with components and import history, Dataverse async
 * operations and the server's own activity events.
 *
 * Writes that change a timeline go through `applyPlan` with a plan from the pure planners
 * (domain/power-platform): the store closes exactly the rows the plan names and appends the new
 * ones, so the same rules hold for the APIs and the world loader. Audit entries are appended by
 * the caller in the same transaction (src/powerplatform/ownership.ts does both).
 *
 * Reads for business-applications attribution:
 * - `relationships(tenantId, resourceId)` — one resource's full history, for `attributedUsersAt`;
 * - `relationshipsOverlapping({ from, to })` — every relationship of every tenant that overlaps a
 *   window (a month), with its resource, for the engine;
 * - `listResources`, `getEnvironment` — the resource's kind, environment and environment type.
 *
 * @example
 * await store.transaction(async (tx) => {
 *   const current = await tx.powerPlatform.relationships(tenantId, appId);
 *   const plan = planOwnerChange("canvasApp", appId, current, newOwner, now, "assigned");
 *   if (plan.kind === "change") await tx.powerPlatform.applyPlan(tenantId, plan, callerObjectId);
 * });
 */
import type { Generated, Kysely, Selectable } from "kysely";
import type { Database } from "./schema.ts";
import type { Basis, EnvironmentType, Relation, ResourceKind, ResourceRelationship, TimelinePlan } from "../domain/power-platform/index.ts";

interface EnvironmentsTable { tenant_id: string; id: string; display_name: string; type: string; location: string; created_by: string | null; created_at: number; deleted_at: number | null }
interface MakersTable { seq: Generated<number>; tenant_id: string; environment_id: string; principal_id: string; valid_from: number | null; valid_to: number | null }
interface ResourcesTable {
  tenant_id: string; id: string; kind: string; environment_id: string | null; workspace_id: string | null; display_name: string;
  created_by: string | null; created_at: number; modified_at: number; deleted_at: number | null; details: string;
}
interface RelationshipsTable {
  seq: Generated<number>; tenant_id: string; resource_id: string; principal_id: string; relation: string; basis: string; solution_id: string | null;
  role: string | null; valid_from: number | null; valid_to: number | null; set_by: string | null; ended_by: string | null;
}
interface WorkspacesTable { tenant_id: string; id: string; display_name: string; created_at: number }
interface WorkspaceMembersTable { seq: Generated<number>; tenant_id: string; workspace_id: string; principal_id: string; role: string; valid_from: number | null; valid_to: number | null }
interface SolutionsTable { tenant_id: string; id: string; environment_id: string; unique_name: string; friendly_name: string; version: string; managed: number; created_at: number; modified_at: number }
interface SolutionComponentsTable { seq: Generated<number>; tenant_id: string; solution_id: string; resource_id: string; valid_from: number | null; valid_to: number | null }
interface SolutionImportsTable { seq: Generated<number>; tenant_id: string; solution_id: string; imported_by: string; at: number; version: string | null; import_job_id: string | null }
interface AsyncOperationsTable {
  tenant_id: string; id: string; environment_id: string; name: string; state: string; created_by: string; created_at: number; completed_at: number | null;
  message: string | null; solution_id: string | null; payload: string | null;
}
interface ActivityEventsTable { seq: Generated<number>; tenant_id: string; id: string; at: number; workload: string; operation: string; user_id: string; resource_id: string | null; details: string }

export interface PowerPlatformTables {
  pp_environments: EnvironmentsTable;
  pp_environment_makers: MakersTable;
  pp_resources: ResourcesTable;
  pp_relationships: RelationshipsTable;
  pp_workspaces: WorkspacesTable;
  pp_workspace_members: WorkspaceMembersTable;
  pp_solutions: SolutionsTable;
  pp_solution_components: SolutionComponentsTable;
  pp_solution_imports: SolutionImportsTable;
  pp_async_operations: AsyncOperationsTable;
  pp_activity_events: ActivityEventsTable;
}
type Db = Kysely<Database & PowerPlatformTables>;

export interface PpEnvironment {
  readonly tenantId: string;
  readonly id: string;
  readonly displayName: string;
  readonly type: EnvironmentType;
  readonly location: string;
  readonly createdBy: string | null;
  readonly createdAt: number;
  readonly deletedAt: number | null;
}

export interface PpResource {
  readonly tenantId: string;
  readonly id: string;
  readonly kind: ResourceKind;
  readonly environmentId: string | null;
  readonly workspaceId: string | null;
  readonly displayName: string;
  readonly createdBy: string | null;
  readonly createdAt: number;
  readonly modifiedAt: number;
  readonly deletedAt: number | null;
  /** Kind-specific facts: a flow's `state`, a dataset's `isRefreshable`… */
  readonly details: Readonly<Record<string, unknown>>;
}

/** A stored relationship: the domain record plus its row id and who set / ended it. */
export interface StoredRelationship extends ResourceRelationship {
  readonly seq: number;
  readonly tenantId: string;
  readonly setBy: string | null;
  readonly endedBy: string | null;
}

export interface PpWorkspace { readonly tenantId: string; readonly id: string; readonly displayName: string; readonly createdAt: number }
export interface PpWorkspaceMember { readonly workspaceId: string; readonly principalId: string; readonly role: string; readonly validFrom: number | null; readonly validTo: number | null }
export interface PpMaker { readonly environmentId: string; readonly principalId: string; readonly validFrom: number | null; readonly validTo: number | null }

export interface PpSolution {
  readonly tenantId: string;
  readonly id: string;
  readonly environmentId: string;
  readonly uniqueName: string;
  readonly friendlyName: string;
  readonly version: string;
  readonly managed: boolean;
  readonly createdAt: number;
  readonly modifiedAt: number;
}
export interface PpSolutionComponent { readonly solutionId: string; readonly resourceId: string; readonly validFrom: number | null; readonly validTo: number | null }
export interface PpSolutionImport { readonly solutionId: string; readonly importedBy: string; readonly at: number; readonly version: string | null; readonly importJobId: string | null }

export type AsyncOperationState = "InProgress" | "Succeeded" | "Failed" | "Staged";
export interface PpAsyncOperation {
  readonly tenantId: string;
  readonly id: string;
  readonly environmentId: string;
  readonly name: string;
  readonly state: AsyncOperationState;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly completedAt: number | null;
  readonly message: string | null;
  readonly solutionId: string | null;
  /** A staged solution zip (base64) until it is imported. */
  readonly payload: string | null;
}

export interface PpActivityEvent {
  readonly tenantId: string;
  readonly id: string;
  readonly at: number;
  readonly workload: "PowerApps" | "PowerAutomate" | "PowerBI" | "CustomerInsights";
  readonly operation: string;
  readonly userId: string;
  readonly resourceId: string | null;
  readonly details: Readonly<Record<string, unknown>>;
}

export type PpPutOutcome = "created" | "updated" | "unchanged";

const n = (v: number | string | null): number | null => (v === null ? null : Number(v));
const lc = (s: string) => s.toLowerCase();

const toEnv = (r: Selectable<EnvironmentsTable>): PpEnvironment => ({
  tenantId: r.tenant_id, id: r.id, displayName: r.display_name, type: r.type as EnvironmentType, location: r.location, createdBy: r.created_by,
  createdAt: Number(r.created_at), deletedAt: n(r.deleted_at),
});
const toResource = (r: Selectable<ResourcesTable>): PpResource => ({
  tenantId: r.tenant_id, id: r.id, kind: r.kind as ResourceKind, environmentId: r.environment_id, workspaceId: r.workspace_id, displayName: r.display_name,
  createdBy: r.created_by, createdAt: Number(r.created_at), modifiedAt: Number(r.modified_at), deletedAt: n(r.deleted_at), details: JSON.parse(r.details) as Record<string, unknown>,
});
const toRel = (r: Selectable<RelationshipsTable>): StoredRelationship => ({
  seq: Number(r.seq), tenantId: r.tenant_id, resourceId: r.resource_id, principalId: r.principal_id, relation: r.relation as Relation, basis: r.basis as Basis,
  solutionId: r.solution_id, role: r.role, from: n(r.valid_from), to: n(r.valid_to), setBy: r.set_by, endedBy: r.ended_by,
});
const toSolution = (r: Selectable<SolutionsTable>): PpSolution => ({
  tenantId: r.tenant_id, id: r.id, environmentId: r.environment_id, uniqueName: r.unique_name, friendlyName: r.friendly_name, version: r.version,
  managed: Number(r.managed) === 1, createdAt: Number(r.created_at), modifiedAt: Number(r.modified_at),
});
const toOp = (r: Selectable<AsyncOperationsTable>): PpAsyncOperation => ({
  tenantId: r.tenant_id, id: r.id, environmentId: r.environment_id, name: r.name, state: r.state as AsyncOperationState, createdBy: r.created_by,
  createdAt: Number(r.created_at), completedAt: n(r.completed_at), message: r.message, solutionId: r.solution_id, payload: r.payload,
});
const openAt = (from: number | null, to: number | null, t: number) => (from === null || from <= t) && (to === null || t < to);

export class PowerPlatformStore {
  readonly #db: Db;
  constructor(db: Kysely<Database>) {
    this.#db = db as unknown as Db;
  }

  // --- environments ------------------------------------------------------------------------

  /** Creates or updates an environment; "unchanged" when every field matches. */
  async putEnvironment(e: PpEnvironment): Promise<PpPutOutcome> {
    const existing = await this.getEnvironment(e.tenantId, e.id);
    const row = { tenant_id: lc(e.tenantId), id: lc(e.id), display_name: e.displayName, type: e.type, location: e.location, created_by: e.createdBy, created_at: e.createdAt, deleted_at: e.deletedAt };
    if (!existing) {
      await this.#db.insertInto("pp_environments").values(row).execute();
      return "created";
    }
    if (existing.displayName === e.displayName && existing.type === e.type && existing.location === e.location && existing.createdBy === e.createdBy
      && existing.createdAt === e.createdAt && existing.deletedAt === e.deletedAt) return "unchanged";
    await this.#db.updateTable("pp_environments").set(row).where("tenant_id", "=", row.tenant_id).where("id", "=", row.id).execute();
    return "updated";
  }

  async getEnvironment(tenantId: string, id: string): Promise<PpEnvironment | undefined> {
    const r = await this.#db.selectFrom("pp_environments").selectAll().where("tenant_id", "=", lc(tenantId)).where("id", "=", lc(id)).executeTakeFirst();
    return r ? toEnv(r) : undefined;
  }

  /** The tenant's environment of type Default (the one `~default` and `Default-<tenantId>` name). */
  async defaultEnvironment(tenantId: string): Promise<PpEnvironment | undefined> {
    const r = await this.#db.selectFrom("pp_environments").selectAll().where("tenant_id", "=", lc(tenantId)).where("type", "=", "Default").where("deleted_at", "is", null).orderBy("id").executeTakeFirst();
    return r ? toEnv(r) : undefined;
  }

  async listEnvironments(tenantId?: string): Promise<PpEnvironment[]> {
    let q = this.#db.selectFrom("pp_environments").selectAll().orderBy("tenant_id").orderBy("id");
    if (tenantId) q = q.where("tenant_id", "=", lc(tenantId));
    return (await q.execute()).map(toEnv);
  }

  async addMaker(tenantId: string, environmentId: string, principalId: string, from: number | null, to: number | null = null): Promise<void> {
    await this.#db.insertInto("pp_environment_makers").values({ tenant_id: lc(tenantId), environment_id: lc(environmentId), principal_id: lc(principalId), valid_from: from, valid_to: to }).execute();
  }

  async listMakers(tenantId: string, environmentId?: string): Promise<PpMaker[]> {
    let q = this.#db.selectFrom("pp_environment_makers").selectAll().where("tenant_id", "=", lc(tenantId)).orderBy("seq");
    if (environmentId) q = q.where("environment_id", "=", lc(environmentId));
    return (await q.execute()).map((r) => ({ environmentId: r.environment_id, principalId: r.principal_id, validFrom: n(r.valid_from), validTo: n(r.valid_to) }));
  }

  async isMaker(tenantId: string, environmentId: string, principalId: string, at: number): Promise<boolean> {
    const rows = await this.#db.selectFrom("pp_environment_makers").select(["valid_from", "valid_to"]).where("tenant_id", "=", lc(tenantId))
      .where("environment_id", "=", lc(environmentId)).where("principal_id", "=", lc(principalId)).execute();
    return rows.some((r) => openAt(n(r.valid_from), n(r.valid_to), at));
  }

  // --- resources ---------------------------------------------------------------------------

  async putResource(r: PpResource): Promise<PpPutOutcome> {
    const existing = await this.getResource(r.tenantId, r.id);
    const row = {
      tenant_id: lc(r.tenantId), id: lc(r.id), kind: r.kind, environment_id: r.environmentId === null ? null : lc(r.environmentId),
      workspace_id: r.workspaceId === null ? null : lc(r.workspaceId), display_name: r.displayName, created_by: r.createdBy === null ? null : lc(r.createdBy),
      created_at: r.createdAt, modified_at: r.modifiedAt, deleted_at: r.deletedAt, details: JSON.stringify(r.details),
    };
    if (!existing) {
      await this.#db.insertInto("pp_resources").values(row).execute();
      return "created";
    }
    if (existing.kind === r.kind && existing.environmentId === row.environment_id && existing.workspaceId === row.workspace_id && existing.displayName === r.displayName
      && existing.createdBy === row.created_by && existing.createdAt === r.createdAt && existing.deletedAt === r.deletedAt
      && JSON.stringify(existing.details) === row.details) return "unchanged";
    await this.#db.updateTable("pp_resources").set(row).where("tenant_id", "=", row.tenant_id).where("id", "=", row.id).execute();
    return "updated";
  }

  async getResource(tenantId: string, id: string): Promise<PpResource | undefined> {
    const r = await this.#db.selectFrom("pp_resources").selectAll().where("tenant_id", "=", lc(tenantId)).where("id", "=", lc(id)).executeTakeFirst();
    return r ? toResource(r) : undefined;
  }

  /** Sets `modified_at` (a write through an API touched the resource). */
  async touchResource(tenantId: string, id: string, at: number): Promise<void> {
    await this.#db.updateTable("pp_resources").set({ modified_at: at }).where("tenant_id", "=", lc(tenantId)).where("id", "=", lc(id)).execute();
  }

  /**
   * Resources of a tenant, by id, optionally of some kinds, in one environment or workspace, after
   * an id (keyset paging: pass the last id of the previous page) and at most `limit`.
   */
  async listResources(tenantId: string, filter: { kinds?: readonly ResourceKind[]; environmentId?: string; workspaceId?: string; afterId?: string; limit?: number; includeDeleted?: boolean } = {}): Promise<PpResource[]> {
    let q = this.#db.selectFrom("pp_resources").selectAll().where("tenant_id", "=", lc(tenantId)).orderBy("id");
    if (filter.kinds) q = q.where("kind", "in", [...filter.kinds]);
    if (filter.environmentId) q = q.where("environment_id", "=", lc(filter.environmentId));
    if (filter.workspaceId) q = q.where("workspace_id", "=", lc(filter.workspaceId));
    if (filter.afterId) q = q.where("id", ">", lc(filter.afterId));
    if (!filter.includeDeleted) q = q.where("deleted_at", "is", null);
    if (filter.limit !== undefined) q = q.limit(filter.limit);
    return (await q.execute()).map(toResource);
  }

  /**
   * Every resource of every tenant that existed at some instant of `[from, to)` (created before
   * `to`, not deleted before `from`), without `details`: what business-applications attribution
   * considers for a month.
   */
  async resourcesAlive(range: { from: number; to: number }): Promise<Omit<PpResource, "details" | "workspaceId" | "createdBy" | "modifiedAt">[]> {
    const rows = await this.#db.selectFrom("pp_resources").select(["tenant_id", "id", "kind", "environment_id", "display_name", "created_at", "deleted_at"])
      .where("created_at", "<", range.to).where((eb) => eb.or([eb("deleted_at", "is", null), eb("deleted_at", ">", range.from)])).execute();
    return rows.map((r) => ({ tenantId: r.tenant_id, id: r.id, kind: r.kind as ResourceKind, environmentId: r.environment_id, displayName: r.display_name, createdAt: Number(r.created_at), deletedAt: n(r.deleted_at) }));
  }

  /** The (tenant, id, kind) of resources deleted at or before `at` (known, though no longer alive). */
  async resourcesDeletedBy(at: number): Promise<{ tenantId: string; id: string; kind: ResourceKind }[]> {
    const rows = await this.#db.selectFrom("pp_resources").select(["tenant_id", "id", "kind"]).where("deleted_at", "<=", at).execute();
    return rows.map((r) => ({ tenantId: r.tenant_id, id: r.id, kind: r.kind as ResourceKind }));
  }

  // --- relationships -----------------------------------------------------------------------

  /** One resource's whole relationship history, oldest first. */
  async relationships(tenantId: string, resourceId: string): Promise<StoredRelationship[]> {
    const rows = await this.#db.selectFrom("pp_relationships").selectAll().where("tenant_id", "=", lc(tenantId)).where("resource_id", "=", lc(resourceId)).orderBy("seq").execute();
    return rows.map(toRel);
  }

  /** The histories of many resources of a tenant, by resource id (one query). */
  async relationshipsOf(tenantId: string, resourceIds: readonly string[]): Promise<Map<string, StoredRelationship[]>> {
    const out = new Map<string, StoredRelationship[]>();
    if (resourceIds.length === 0) return out;
    const ids = [...new Set(resourceIds.map(lc))];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.#db.selectFrom("pp_relationships").selectAll().where("tenant_id", "=", lc(tenantId)).where("resource_id", "in", ids.slice(i, i + 500)).orderBy("seq").execute();
      for (const r of rows.map(toRel)) {
        const list = out.get(r.resourceId) ?? [];
        list.push(r);
        out.set(r.resourceId, list);
      }
    }
    return out;
  }

  /** Every relationship of a tenant (or all tenants), oldest first: the world export. */
  async listRelationships(tenantId?: string): Promise<StoredRelationship[]> {
    let q = this.#db.selectFrom("pp_relationships").selectAll().orderBy("seq");
    if (tenantId) q = q.where("tenant_id", "=", lc(tenantId));
    return (await q.execute()).map(toRel);
  }

  /**
   * Every relationship, of every tenant, whose interval overlaps `[from, to)`: what the
   * business-applications engine reads for a month (then `attributedIntervals` per resource).
   */
  async relationshipsOverlapping(range: { from: number; to: number }, tenantId?: string): Promise<StoredRelationship[]> {
    let q = this.#db.selectFrom("pp_relationships").selectAll()
      .where((eb) => eb.or([eb("valid_to", "is", null), eb("valid_to", ">", range.from)]))
      .where((eb) => eb.or([eb("valid_from", "is", null), eb("valid_from", "<", range.to)]))
      .orderBy("seq");
    if (tenantId) q = q.where("tenant_id", "=", lc(tenantId));
    return (await q.execute()).map(toRel);
  }

  /**
   * Applies a plan from the domain planners at its instant: closes each named open row (by seq;
   * a row already closed by a concurrent writer makes this throw, so the transaction rolls back)
   * and appends the new rows.
   */
  async applyPlan(tenantId: string, plan: TimelinePlan, by: string | null): Promise<void> {
    for (const r of plan.close) {
      const seq = (r as Partial<StoredRelationship>).seq;
      if (seq === undefined) throw new Error("a plan to close a relationship must name a stored row (from relationships())");
      const result = await this.#db.updateTable("pp_relationships").set({ valid_to: plan.at, ended_by: by === null ? null : lc(by) })
        .where("seq", "=", seq).where("valid_to", "is", null).executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) throw new Error(`relationship ${seq} was changed by another writer; retry the request`);
    }
    for (const r of plan.open) await this.insertRelationship(tenantId, r, by);
  }

  /** Ends one open relationship row at `at` (the world loader closing an interval its file now ends). */
  async closeRelationship(seq: number, at: number, by: string | null = null): Promise<void> {
    await this.#db.updateTable("pp_relationships").set({ valid_to: at, ended_by: by === null ? null : lc(by) }).where("seq", "=", seq).where("valid_to", "is", null).execute();
  }

  /** Appends one relationship interval as given (the world loader's histories; plans use applyPlan). */
  async insertRelationship(tenantId: string, r: ResourceRelationship, by: string | null = null): Promise<void> {
    await this.#db.insertInto("pp_relationships").values({
      tenant_id: lc(tenantId), resource_id: lc(r.resourceId), principal_id: lc(r.principalId), relation: r.relation, basis: r.basis,
      solution_id: r.solutionId ? lc(r.solutionId) : null, role: r.role ?? null, valid_from: r.from, valid_to: r.to, set_by: by === null ? null : lc(by), ended_by: null,
    }).execute();
  }

  // --- Power BI workspaces -------------------------------------------------------------------

  async putWorkspace(w: PpWorkspace): Promise<PpPutOutcome> {
    const existing = await this.getWorkspace(w.tenantId, w.id);
    const row = { tenant_id: lc(w.tenantId), id: lc(w.id), display_name: w.displayName, created_at: w.createdAt };
    if (!existing) {
      await this.#db.insertInto("pp_workspaces").values(row).execute();
      return "created";
    }
    if (existing.displayName === w.displayName && existing.createdAt === w.createdAt) return "unchanged";
    await this.#db.updateTable("pp_workspaces").set(row).where("tenant_id", "=", row.tenant_id).where("id", "=", row.id).execute();
    return "updated";
  }

  async getWorkspace(tenantId: string, id: string): Promise<PpWorkspace | undefined> {
    const r = await this.#db.selectFrom("pp_workspaces").selectAll().where("tenant_id", "=", lc(tenantId)).where("id", "=", lc(id)).executeTakeFirst();
    return r ? { tenantId: r.tenant_id, id: r.id, displayName: r.display_name, createdAt: Number(r.created_at) } : undefined;
  }

  async listWorkspaces(tenantId: string): Promise<PpWorkspace[]> {
    const rows = await this.#db.selectFrom("pp_workspaces").selectAll().where("tenant_id", "=", lc(tenantId)).orderBy("id").execute();
    return rows.map((r) => ({ tenantId: r.tenant_id, id: r.id, displayName: r.display_name, createdAt: Number(r.created_at) }));
  }

  async addWorkspaceMember(tenantId: string, workspaceId: string, principalId: string, role: string, from: number | null, to: number | null = null): Promise<void> {
    await this.#db.insertInto("pp_workspace_members").values({ tenant_id: lc(tenantId), workspace_id: lc(workspaceId), principal_id: lc(principalId), role, valid_from: from, valid_to: to }).execute();
  }

  async listWorkspaceMembers(tenantId: string, workspaceId?: string): Promise<PpWorkspaceMember[]> {
    let q = this.#db.selectFrom("pp_workspace_members").selectAll().where("tenant_id", "=", lc(tenantId)).orderBy("seq");
    if (workspaceId) q = q.where("workspace_id", "=", lc(workspaceId));
    return (await q.execute()).map((r) => ({ workspaceId: r.workspace_id, principalId: r.principal_id, role: r.role, validFrom: n(r.valid_from), validTo: n(r.valid_to) }));
  }

  /** The principal's role in the workspace at `at`, if any. */
  async workspaceRole(tenantId: string, workspaceId: string, principalId: string, at: number): Promise<string | undefined> {
    const rows = await this.#db.selectFrom("pp_workspace_members").selectAll().where("tenant_id", "=", lc(tenantId)).where("workspace_id", "=", lc(workspaceId))
      .where("principal_id", "=", lc(principalId)).orderBy("seq", "desc").execute();
    return rows.find((r) => openAt(n(r.valid_from), n(r.valid_to), at))?.role;
  }

  // --- solutions -----------------------------------------------------------------------------

  async putSolution(s: PpSolution): Promise<PpPutOutcome> {
    const existing = await this.getSolution(s.tenantId, s.id);
    const row = {
      tenant_id: lc(s.tenantId), id: lc(s.id), environment_id: lc(s.environmentId), unique_name: s.uniqueName, friendly_name: s.friendlyName, version: s.version,
      managed: s.managed ? 1 : 0, created_at: s.createdAt, modified_at: s.modifiedAt,
    };
    if (!existing) {
      await this.#db.insertInto("pp_solutions").values(row).execute();
      return "created";
    }
    if (existing.environmentId === row.environment_id && existing.uniqueName === s.uniqueName && existing.friendlyName === s.friendlyName && existing.version === s.version
      && existing.managed === s.managed && existing.createdAt === s.createdAt && existing.modifiedAt === s.modifiedAt) return "unchanged";
    await this.#db.updateTable("pp_solutions").set(row).where("tenant_id", "=", row.tenant_id).where("id", "=", row.id).execute();
    return "updated";
  }

  async getSolution(tenantId: string, id: string): Promise<PpSolution | undefined> {
    const r = await this.#db.selectFrom("pp_solutions").selectAll().where("tenant_id", "=", lc(tenantId)).where("id", "=", lc(id)).executeTakeFirst();
    return r ? toSolution(r) : undefined;
  }

  async findSolution(tenantId: string, environmentId: string, uniqueName: string): Promise<PpSolution | undefined> {
    const r = await this.#db.selectFrom("pp_solutions").selectAll().where("tenant_id", "=", lc(tenantId)).where("environment_id", "=", lc(environmentId))
      .where("unique_name", "=", uniqueName).executeTakeFirst();
    return r ? toSolution(r) : undefined;
  }

  async listSolutions(tenantId: string, environmentId?: string): Promise<PpSolution[]> {
    let q = this.#db.selectFrom("pp_solutions").selectAll().where("tenant_id", "=", lc(tenantId)).orderBy("id");
    if (environmentId) q = q.where("environment_id", "=", lc(environmentId));
    return (await q.execute()).map(toSolution);
  }

  /** Adds `resourceId` to the solution from `at` (nothing when it is already a current component). */
  async addComponent(tenantId: string, solutionId: string, resourceId: string, at: number | null): Promise<boolean> {
    const open = await this.#db.selectFrom("pp_solution_components").select("seq").where("tenant_id", "=", lc(tenantId)).where("solution_id", "=", lc(solutionId))
      .where("resource_id", "=", lc(resourceId)).where("valid_to", "is", null).executeTakeFirst();
    if (open) return false;
    await this.#db.insertInto("pp_solution_components").values({ tenant_id: lc(tenantId), solution_id: lc(solutionId), resource_id: lc(resourceId), valid_from: at, valid_to: null }).execute();
    return true;
  }

  /** Components (current ones unless `history`), of one solution or of every solution of the tenant. */
  async listComponents(tenantId: string, solutionId?: string, opts: { history?: boolean } = {}): Promise<PpSolutionComponent[]> {
    let q = this.#db.selectFrom("pp_solution_components").selectAll().where("tenant_id", "=", lc(tenantId)).orderBy("seq");
    if (solutionId) q = q.where("solution_id", "=", lc(solutionId));
    if (!opts.history) q = q.where("valid_to", "is", null);
    return (await q.execute()).map((r) => ({ solutionId: r.solution_id, resourceId: r.resource_id, validFrom: n(r.valid_from), validTo: n(r.valid_to) }));
  }

  async recordImport(tenantId: string, i: PpSolutionImport): Promise<void> {
    await this.#db.insertInto("pp_solution_imports").values({
      tenant_id: lc(tenantId), solution_id: lc(i.solutionId), imported_by: lc(i.importedBy), at: i.at, version: i.version, import_job_id: i.importJobId,
    }).execute();
  }

  /** Imports, oldest first, of one solution or all of the tenant's. */
  async listImports(tenantId: string, solutionId?: string): Promise<PpSolutionImport[]> {
    let q = this.#db.selectFrom("pp_solution_imports").selectAll().where("tenant_id", "=", lc(tenantId)).orderBy("at").orderBy("seq");
    if (solutionId) q = q.where("solution_id", "=", lc(solutionId));
    return (await q.execute()).map((r) => ({ solutionId: r.solution_id, importedBy: r.imported_by, at: Number(r.at), version: r.version, importJobId: r.import_job_id }));
  }

  /**
   * Solution imports of every tenant in `[from, to)`, one row per component the solution held at
   * the import instant: a solution import is the importer's act on each component (decision 4).
   */
  async importActs(range: { from: number; to: number }): Promise<{ tenantId: string; resourceId: string; importedBy: string; at: number; solutionId: string }[]> {
    const rows = await this.#db.selectFrom("pp_solution_imports as i")
      .innerJoin("pp_solution_components as c", (j) => j.onRef("c.tenant_id", "=", "i.tenant_id").onRef("c.solution_id", "=", "i.solution_id"))
      .select(["i.tenant_id", "c.resource_id", "i.imported_by", "i.at", "i.solution_id", "c.valid_from", "c.valid_to"])
      .where("i.at", ">=", range.from).where("i.at", "<", range.to).orderBy("i.at").execute();
    return rows
      .filter((r) => openAt(n(r.valid_from), n(r.valid_to), Number(r.at)))
      .map((r) => ({ tenantId: r.tenant_id, resourceId: r.resource_id, importedBy: r.imported_by, at: Number(r.at), solutionId: r.solution_id }));
  }

  // --- async operations ----------------------------------------------------------------------

  async putAsyncOperation(op: PpAsyncOperation): Promise<void> {
    const row = {
      tenant_id: lc(op.tenantId), id: lc(op.id), environment_id: lc(op.environmentId), name: op.name, state: op.state, created_by: lc(op.createdBy), created_at: op.createdAt,
      completed_at: op.completedAt, message: op.message, solution_id: op.solutionId, payload: op.payload,
    };
    const existing = await this.getAsyncOperation(op.tenantId, op.id);
    if (existing) await this.#db.updateTable("pp_async_operations").set(row).where("tenant_id", "=", row.tenant_id).where("id", "=", row.id).execute();
    else await this.#db.insertInto("pp_async_operations").values(row).execute();
  }

  async getAsyncOperation(tenantId: string, id: string): Promise<PpAsyncOperation | undefined> {
    const r = await this.#db.selectFrom("pp_async_operations").selectAll().where("tenant_id", "=", lc(tenantId)).where("id", "=", lc(id)).executeTakeFirst();
    return r ? toOp(r) : undefined;
  }

  // --- activity --------------------------------------------------------------------------------

  async recordActivity(e: PpActivityEvent): Promise<void> {
    await this.#db.insertInto("pp_activity_events").values({
      tenant_id: lc(e.tenantId), id: lc(e.id), at: e.at, workload: e.workload, operation: e.operation, user_id: lc(e.userId),
      resource_id: e.resourceId === null ? null : lc(e.resourceId), details: JSON.stringify(e.details),
    }).execute();
  }

  /** The server's own activity events of every tenant in `[from, to)` that name a resource (business-applications acts). */
  async activityInRange(range: { from: number; to: number }): Promise<PpActivityEvent[]> {
    const rows = await this.#db.selectFrom("pp_activity_events").selectAll().where("at", ">=", range.from).where("at", "<", range.to)
      .where("resource_id", "is not", null).orderBy("seq").execute();
    return rows.map((r) => ({
      tenantId: r.tenant_id, id: r.id, at: Number(r.at), workload: r.workload as PpActivityEvent["workload"], operation: r.operation, userId: r.user_id,
      resourceId: r.resource_id, details: JSON.parse(r.details) as Record<string, unknown>,
    }));
  }

  /** Activity of a tenant in `[from, to)`, oldest first, after row `afterSeq`, at most `limit`. */
  async listActivity(tenantId: string, range: { from: number; to: number }, page: { afterSeq?: number; limit?: number; workload?: string } = {}): Promise<(PpActivityEvent & { readonly seq: number })[]> {
    let q = this.#db.selectFrom("pp_activity_events").selectAll().where("tenant_id", "=", lc(tenantId)).where("at", ">=", range.from).where("at", "<", range.to).orderBy("seq");
    if (page.afterSeq !== undefined) q = q.where("seq", ">", page.afterSeq);
    if (page.workload) q = q.where("workload", "=", page.workload);
    if (page.limit !== undefined) q = q.limit(page.limit);
    return (await q.execute()).map((r) => ({
      seq: Number(r.seq), tenantId: r.tenant_id, id: r.id, at: Number(r.at), workload: r.workload as PpActivityEvent["workload"], operation: r.operation, userId: r.user_id,
      resourceId: r.resource_id, details: JSON.parse(r.details) as Record<string, unknown>,
    }));
  }
}
