/**
 * Exporting a tenant's Power Platform estate as its `powerPlatform` section, history included:
 * every owner interval (back to back), co-owners, solution imports, dataset publisher then
 * take-overs, workspace members, Customer Insights users. Applying the export to the store it came
 * from changes nothing; applying it to an empty store rebuilds the same timelines (timeline.ts
 * re-reads each import as already shown by the owner history).
 */
import type { Aggregates, PpResource, StoredRelationship } from "../../store/index.ts";
import type { WorldPowerPlatform, WorldPpApp, WorldPpFlow, WorldPpPrincipalInterval, WorldPpWorkspace, WorldCiInstance, WorldPpSolution, WorldPpEnvironment } from "./types.ts";

const iso = (ms: number) => new Date(ms).toISOString();
const interval = (from: number | null, to: number | null) => ({ ...(from === null ? {} : { from: iso(from) }), ...(to === null ? {} : { to: iso(to) }) });
const byFrom = (a: StoredRelationship, b: StoredRelationship) => (a.from ?? -Infinity) - (b.from ?? -Infinity) || a.seq - b.seq;

function people(rels: readonly StoredRelationship[], relation: StoredRelationship["relation"]): WorldPpPrincipalInterval[] {
  return rels.filter((r) => r.relation === relation).sort(byFrom).map((r) => ({ principalId: r.principalId, ...interval(r.from, r.to) }));
}

export async function exportPowerPlatform(store: Aggregates, tenantId: string): Promise<WorldPowerPlatform | undefined> {
  const pp = store.powerPlatform;
  const envs = await pp.listEnvironments(tenantId);
  const resources = await pp.listResources(tenantId, { includeDeleted: true });
  const workspaces = await pp.listWorkspaces(tenantId);
  if (envs.length === 0 && resources.length === 0 && workspaces.length === 0) return undefined;
  const rels = await pp.relationshipsOf(tenantId, resources.map((r) => r.id));
  const relsOf = (r: PpResource) => rels.get(r.id) ?? [];
  const makers = await pp.listMakers(tenantId);

  const environments: WorldPpEnvironment[] = envs.map((e) => {
    const m = makers.filter((x) => x.environmentId === e.id).map((x) => (x.validFrom === null && x.validTo === null ? x.principalId : { principalId: x.principalId, ...interval(x.validFrom, x.validTo) }));
    return { id: e.id, displayName: e.displayName, type: e.type, location: e.location, ...(e.createdAt ? { createdAt: iso(e.createdAt) } : {}), ...(m.length ? { makers: m } : {}) };
  });

  const ownerFields = (r: PpResource) => {
    const owners = people(relsOf(r), "owner");
    const coOwners = people(relsOf(r), "coOwner");
    return { createdBy: r.createdBy ?? owners[0]?.principalId ?? "", createdAt: iso(r.createdAt), ...(owners.length ? { owners } : {}), ...(coOwners.length ? { coOwners } : {}) };
  };
  const apps: WorldPpApp[] = resources.filter((r) => r.kind === "canvasApp" || r.kind === "modelDrivenApp").map((r) => ({
    id: r.id, environment: r.environmentId ?? "", displayName: r.displayName, kind: r.kind === "canvasApp" ? "canvas" : "modelDriven", ...ownerFields(r),
  }));
  const flows: WorldPpFlow[] = resources.filter((r) => r.kind === "flow").map((r) => ({
    id: r.id, environment: r.environmentId ?? "", displayName: r.displayName, ...(typeof r.details.state === "string" ? { state: r.details.state as WorldPpFlow["state"] } : {}), ...ownerFields(r),
  }));

  const kindOf = new Map(resources.map((r) => [r.id, r.kind]));
  const solutions: WorldPpSolution[] = [];
  for (const s of await pp.listSolutions(tenantId)) {
    const components = (await pp.listComponents(tenantId, s.id)).map((c) => ({ type: kindOf.get(c.resourceId) === "flow" ? ("flow" as const) : ("app" as const), id: c.resourceId }));
    const imports = (await pp.listImports(tenantId, s.id)).map((i) => ({ by: i.importedBy, at: iso(i.at) }));
    solutions.push({ id: s.id, uniqueName: s.uniqueName, displayName: s.friendlyName, environment: s.environmentId, managed: s.managed, version: s.version, components, ...(imports.length ? { imports } : {}) });
  }

  const members = await pp.listWorkspaceMembers(tenantId);
  const ws: WorldPpWorkspace[] = workspaces.map((w) => {
    const datasets = resources.filter((r) => r.kind === "dataset" && r.workspaceId === w.id).map((d) => {
      const chain = relsOf(d).filter((x) => x.relation === "publisher").sort(byFrom);
      const [first, ...rest] = chain;
      return {
        id: d.id, displayName: d.displayName, publishedBy: first?.principalId ?? d.createdBy ?? "", publishedAt: iso(first?.from ?? d.createdAt),
        ...(rest.length ? { takeovers: rest.map((x) => ({ by: x.principalId, at: iso(x.from ?? 0) })) } : {}),
      };
    });
    const m = members.filter((x) => x.workspaceId === w.id).map((x) => ({ principalId: x.principalId, role: x.role as "Admin", ...interval(x.validFrom, x.validTo) }));
    return { id: w.id, displayName: w.displayName, ...(m.length ? { members: m } : {}), ...(datasets.length ? { datasets } : {}) };
  });
  const instances: WorldCiInstance[] = resources.filter((r) => r.kind === "ciInstance").map((r) => {
    const users = relsOf(r).filter((x) => x.relation === "instanceUser").sort(byFrom).map((x) => ({ principalId: x.principalId, role: (x.role ?? "Viewer") as "Viewer", ...interval(x.from, x.to) }));
    return { id: r.id, displayName: r.displayName, ...(r.environmentId ? { environment: r.environmentId } : {}), ...(users.length ? { users } : {}) };
  });

  return {
    ...(environments.length ? { environments } : {}), ...(apps.length ? { apps } : {}), ...(flows.length ? { flows } : {}), ...(solutions.length ? { solutions } : {}),
    ...(ws.length ? { powerBi: { workspaces: ws } } : {}), ...(instances.length ? { customerInsights: { instances } } : {}),
  };
}
