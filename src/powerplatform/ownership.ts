/**
 * Ownership writes shared by every Power Platform API (Power Apps, Flow, Power BI, Dataverse) and
 * the CLI behind them: each runs in ONE store transaction that reads the current timeline, asks
 * the pure planner (domain/power-platform) what changes at the instant `at`, applies the plan and
 * appends the audit entry. Nothing here knows a wire shape; refusals are `OwnershipError`s that
 * each API turns into its own error body.
 */
import type { Aggregates, PpResource, PpSolution, Store } from "../store/index.ts";
import {
  planCoOwnerAdd, planCoOwnerRemove, planOwnerChange, planPublisherChange, planSolutionImport, type PlanOutcome, type ResourceKind,
} from "../domain/power-platform/index.ts";
import { stableGuid } from "../world/ids.ts";
import type { SolutionManifest } from "./dataverse/solution-zip.ts";

/** Who writes, for the audit log. */
export interface Actor {
  readonly tenantId: string;
  readonly objectId: string;
  readonly requestId: string | null;
}

export type OwnershipErrorCode = "ResourceNotFound" | "PrincipalNotFound" | "Refused" | "EnvironmentNotFound" | "Forbidden";

export class OwnershipError extends Error {
  override readonly name = "OwnershipError";
  constructor(readonly code: OwnershipErrorCode, message: string) {
    super(message);
  }
}

export type WriteResult = "changed" | "unchanged";

async function resourceOf(tx: Aggregates, tenantId: string, resourceId: string, kinds: readonly ResourceKind[]): Promise<PpResource> {
  const r = await tx.powerPlatform.getResource(tenantId, resourceId);
  if (!r || r.deletedAt !== null || !kinds.includes(r.kind)) throw new OwnershipError("ResourceNotFound", `No ${kinds.join(" or ")} with id ${resourceId} exists in this tenant.`);
  return r;
}

/**
 * A user or service principal of the tenant, not deleted; or one of a partner tenant that holds a
 * delegatedAdmins entry in it (decision 7: a delegated administrator can own resources).
 */
export async function requirePrincipal(tx: Aggregates, tenantId: string, objectId: string, at = Date.now()): Promise<void> {
  let p = await tx.directory.findPrincipal(tenantId, objectId.toLowerCase());
  if (!p) {
    for (const d of await tx.directory.listDelegatedAdmins(tenantId)) {
      if (!(await tx.directory.hasDelegatedAdmin(tenantId, d.partnerTenantId, at))) continue;
      p = await tx.directory.findPrincipal(d.partnerTenantId, objectId.toLowerCase());
      if (p) break;
    }
  }
  if (!p || p.type === "Group") throw new OwnershipError("PrincipalNotFound", `Principal ${objectId} is not a user or service principal of this tenant; use the object id of the account (for a guest, its object id in this tenant).`);
  const deleted = p.type === "User" ? p.user.deletedAt : p.servicePrincipal.deletedAt;
  if (deleted !== null) throw new OwnershipError("PrincipalNotFound", `Principal ${objectId} has been deleted from this tenant.`);
}

async function applyOutcome(tx: Aggregates, tenantId: string, outcome: PlanOutcome, actor: Actor): Promise<WriteResult> {
  if (outcome.kind === "refused") throw new OwnershipError("Refused", outcome.reason);
  if (outcome.kind === "unchanged") return "unchanged";
  await tx.powerPlatform.applyPlan(tenantId, outcome, actor.objectId);
  return "changed";
}

async function audit(tx: Aggregates, at: number, actor: Actor, tenantId: string, action: string, target: string, details: Record<string, unknown>): Promise<void> {
  await tx.audit.append({ at, tenantId, actorTenantId: actor.tenantId, actorObjectId: actor.objectId, action, target, requestId: actor.requestId, details });
}

const target = (r: PpResource) => `/powerplatform/${r.environmentId ?? r.workspaceId ?? "-"}/${r.kind}/${r.id}`;

/**
 * Makes `newOwner` the owner of an app or flow from `at` (Set-AdminPowerAppOwner, ownerid
 * reassignment). `oldOwnerKeeps` "CanEdit" makes the previous owner a co-owner from `at` (canvas
 * apps and flows only); "CanView" or undefined drops the previous owner's edit rights.
 */
export async function changeOwner(store: Store, tenantId: string, resourceId: string, newOwner: string, at: number, actor: Actor, oldOwnerKeeps?: "CanEdit" | "CanView"): Promise<WriteResult> {
  return store.transaction(async (tx) => {
    const r = await resourceOf(tx, tenantId, resourceId, ["canvasApp", "modelDrivenApp", "flow"]);
    await requirePrincipal(tx, tenantId, newOwner, at);
    const current = await tx.powerPlatform.relationships(tenantId, r.id);
    const previous = current.find((x) => x.relation === "owner" && x.to === null)?.principalId ?? null;
    const result = await applyOutcome(tx, tenantId, planOwnerChange(r.kind, r.id, current, newOwner.toLowerCase(), at, "assigned"), actor);
    if (result === "changed" && previous && oldOwnerKeeps === "CanEdit" && (r.kind === "canvasApp" || r.kind === "flow")) {
      await applyOutcome(tx, tenantId, planCoOwnerAdd(r.kind, r.id, await tx.powerPlatform.relationships(tenantId, r.id), previous, at), actor);
    }
    if (result === "changed") {
      await tx.powerPlatform.touchResource(tenantId, r.id, at);
      await audit(tx, at, actor, tenantId, "powerPlatform.owner.change", target(r), { kind: r.kind, from: previous, to: newOwner.toLowerCase(), oldOwnerKeeps: oldOwnerKeeps ?? null });
    }
    return result;
  });
}

/** Adds (CanEdit) or removes a co-owner at `at`. */
export async function setCoOwner(store: Store, tenantId: string, resourceId: string, principalId: string, present: boolean, at: number, actor: Actor): Promise<WriteResult> {
  return store.transaction(async (tx) => {
    const r = await resourceOf(tx, tenantId, resourceId, ["canvasApp", "modelDrivenApp", "flow"]);
    if (present) await requirePrincipal(tx, tenantId, principalId, at);
    const current = await tx.powerPlatform.relationships(tenantId, r.id);
    const plan = present ? planCoOwnerAdd(r.kind, r.id, current, principalId.toLowerCase(), at) : planCoOwnerRemove(current, principalId.toLowerCase(), at);
    const result = await applyOutcome(tx, tenantId, plan, actor);
    if (result === "changed") await audit(tx, at, actor, tenantId, present ? "powerPlatform.coOwner.add" : "powerPlatform.coOwner.remove", target(r), { kind: r.kind, principalId: principalId.toLowerCase() });
    return result;
  });
}

/** Makes `principalId` the dataset's attributed user from `at` (Default.TakeOver, or a publish). */
export async function setPublisher(tx: Aggregates, tenantId: string, dataset: PpResource, principalId: string, at: number, basis: "published" | "takeover", actor: Actor): Promise<WriteResult> {
  const current = await tx.powerPlatform.relationships(tenantId, dataset.id);
  const result = await applyOutcome(tx, tenantId, planPublisherChange(dataset.id, current, principalId.toLowerCase(), at, basis), actor);
  if (result === "changed") {
    await tx.powerPlatform.touchResource(tenantId, dataset.id, at);
    await audit(tx, at, actor, tenantId, basis === "takeover" ? "powerPlatform.dataset.takeOver" : "powerPlatform.dataset.publish", target(dataset), { principalId: principalId.toLowerCase() });
  }
  return result;
}

/** What an import did. */
export interface ImportOutcome {
  readonly solution: PpSolution;
  readonly createdComponents: number;
  readonly reownedComponents: number;
  readonly componentIds: readonly string[];
}

/** The resource id of a root component: its GUID, else one derived from environment and schema name. */
export function componentResourceId(tenantId: string, environmentId: string, c: { id: string | null; schemaName: string | null; kind: string }): string {
  return c.id ?? stableGuid("ppComponent", tenantId.toLowerCase(), environmentId.toLowerCase(), c.kind, (c.schemaName ?? "").toLowerCase());
}

/**
 * Imports a solution into an environment as `actor` at `at`, inside the caller's transaction:
 * creates or updates the solution, creates components it brings that the environment does not
 * have yet (created by the importer), records the import, and re-owns every component to the
 * importer from `at` (published rule). The caller has checked that the importer is a maker.
 */
export async function importSolutionManifest(tx: Aggregates, tenantId: string, environmentId: string, manifest: SolutionManifest, at: number, actor: Actor, importJobId: string | null): Promise<ImportOutcome> {
  const pp = tx.powerPlatform;
  const existing = await pp.findSolution(tenantId, environmentId, manifest.uniqueName);
  const solution: PpSolution = {
    tenantId: tenantId.toLowerCase(), id: existing?.id ?? stableGuid("ppSolution", tenantId.toLowerCase(), environmentId.toLowerCase(), manifest.uniqueName.toLowerCase()),
    environmentId: environmentId.toLowerCase(), uniqueName: manifest.uniqueName, friendlyName: manifest.friendlyName, version: manifest.version, managed: manifest.managed,
    createdAt: existing?.createdAt ?? at, modifiedAt: at,
  };
  await pp.putSolution(solution);
  let created = 0;
  const components: { resourceId: string; kind: ResourceKind }[] = [];
  for (const c of manifest.components) {
    const id = componentResourceId(tenantId, environmentId, c);
    const resource = await pp.getResource(tenantId, id);
    if (resource && resource.environmentId !== environmentId.toLowerCase()) {
      throw new OwnershipError("Refused", `component ${id} of solution ${manifest.uniqueName} already exists in environment ${resource.environmentId ?? "(none)"}; a component lives in one environment.`);
    }
    if (!resource) {
      await pp.putResource({
        tenantId, id, kind: c.kind, environmentId, workspaceId: null, displayName: c.displayName ?? c.schemaName ?? id, createdBy: actor.objectId, createdAt: at, modifiedAt: at,
        deletedAt: null, details: { ...(c.schemaName ? { schemaName: c.schemaName } : {}), ...(c.kind === "flow" ? { state: "Started" } : {}) },
      });
      created++;
    }
    await pp.addComponent(tenantId, solution.id, id, at);
    components.push({ resourceId: id, kind: c.kind });
  }
  await pp.recordImport(tenantId, { solutionId: solution.id, importedBy: actor.objectId, at, version: manifest.version, importJobId });
  const current = await pp.relationshipsOf(tenantId, components.map((c) => c.resourceId));
  const plans = planSolutionImport(components.map((c) => ({ ...c, current: current.get(c.resourceId) ?? [] })), actor.objectId.toLowerCase(), at, solution.id);
  for (const p of plans) await pp.applyPlan(tenantId, p, actor.objectId);
  for (const c of components) await pp.touchResource(tenantId, c.resourceId, at);
  await audit(tx, at, actor, tenantId, "powerPlatform.solution.import", `/powerplatform/${environmentId.toLowerCase()}/solutions/${solution.id}`, {
    uniqueName: manifest.uniqueName, version: manifest.version, managed: manifest.managed, components: components.length, created, reowned: plans.length, importJobId,
  });
  return { solution, createdComponents: created, reownedComponents: plans.length, componentIds: components.map((c) => c.resourceId) };
}
