/**
 * From a tenant's `powerPlatform` section to each resource's relationship history, the one
 * derivation that validation, apply and the round-trip test share:
 *
 * - an app or flow is owned by `createdBy` from `createdAt` unless `owners` gives the history;
 * - each solution import (oldest first) re-owns every component to the importer from its instant:
 *   the owner interval containing the instant is cut there, and the importer owns until that
 *   interval's end. An import the history already shows (the importer owns from that instant, as
 *   an exported file has it) changes nothing, so a file round-trips;
 * - co-owners, dataset publisher then take-overs, Customer Insights users, each as intervals.
 *
 * Pure: times are parsed here, but nothing is read or written.
 */
import { parseIsoTime } from "../../domain/time.ts";
import type { ResourceKind, ResourceRelationship } from "../../domain/power-platform/index.ts";
import type { WorldPowerPlatform, WorldPpPrincipalInterval } from "./types.ts";

export interface DerivedResource {
  readonly id: string;
  readonly kind: ResourceKind;
  /** JSON path of the resource's entry. */
  readonly path: string;
  /** Relationship history, and the JSON path each entry came from. */
  readonly relationships: ResourceRelationship[];
  readonly paths: string[];
}

const lc = (s: string) => s.toLowerCase();
const t = (s: string | null | undefined): number | null => (s === undefined || s === null ? null : (parseIsoTime(s) ?? null));

function ownersOf(id: string, createdBy: string, createdAt: string, owners: readonly WorldPpPrincipalInterval[] | undefined, path: string, out: DerivedResource): void {
  if (!owners || owners.length === 0) {
    out.relationships.push({ resourceId: lc(id), principalId: lc(createdBy), relation: "owner", basis: "created", from: t(createdAt), to: null });
    out.paths.push(`${path}.createdBy`);
    return;
  }
  owners.forEach((o, i) => {
    const from = i === 0 && (o.from === undefined || o.from === null) ? t(createdAt) : t(o.from);
    const created = lc(o.principalId) === lc(createdBy) && from === t(createdAt);
    out.relationships.push({ resourceId: lc(id), principalId: lc(o.principalId), relation: "owner", basis: created ? "created" : "assigned", from, to: t(o.to) });
    out.paths.push(`${path}.owners[${i}]`);
  });
}

function coOwnersOf(id: string, coOwners: readonly WorldPpPrincipalInterval[] | undefined, path: string, out: DerivedResource): void {
  (coOwners ?? []).forEach((c, i) => {
    out.relationships.push({ resourceId: lc(id), principalId: lc(c.principalId), relation: "coOwner", basis: "shared", from: t(c.from), to: t(c.to) });
    out.paths.push(`${path}.coOwners[${i}]`);
  });
}

/**
 * Cuts an owner history at an import instant: the importer owns from `at` until the end of the
 * owner interval that contained `at`. Returns false when there is no owner interval at `at` to cut.
 */
function applyImport(r: DerivedResource, importer: string, at: number, solutionId: string, path: string): boolean {
  const owners = r.relationships.filter((x) => x.relation === "owner");
  const holding = owners.find((x) => (x.from === null || x.from <= at) && (x.to === null || at < x.to));
  if (!holding) return false;
  if (holding.principalId === importer) {
    // Already the importer's (an exported history): name the import as the basis when it begins there.
    if (holding.from === at) replace(r, holding, { ...holding, basis: "solutionImport", solutionId });
    return true;
  }
  if (holding.from === at) {
    replace(r, holding, { ...holding, principalId: importer, basis: "solutionImport", solutionId });
    return true;
  }
  replace(r, holding, { ...holding, to: at });
  r.relationships.push({ resourceId: r.id, principalId: importer, relation: "owner", basis: "solutionImport", solutionId, from: at, to: holding.to });
  r.paths.push(path);
  return true;
}

function replace(r: DerivedResource, old: ResourceRelationship, next: ResourceRelationship): void {
  const i = r.relationships.indexOf(old);
  r.relationships[i] = next;
}

export interface DerivedPowerPlatform {
  readonly resources: Map<string, DerivedResource>;
  /** Imports that found no owner interval to cut (reported by validation). */
  readonly orphanImports: { readonly path: string; readonly componentId: string }[];
}

/** Derives every resource's relationship history from a tenant's section. */
export function deriveRelationships(pp: WorldPowerPlatform, base: string): DerivedPowerPlatform {
  const resources = new Map<string, DerivedResource>();
  const orphanImports: { path: string; componentId: string }[] = [];
  const add = (id: string, kind: ResourceKind, path: string): DerivedResource => {
    const r: DerivedResource = { id: lc(id), kind, path, relationships: [], paths: [] };
    if (!resources.has(lc(id))) resources.set(lc(id), r);
    return r;
  };
  (pp.apps ?? []).forEach((a, i) => {
    const path = `${base}.apps[${i}]`;
    const r = add(a.id, a.kind === "modelDriven" ? "modelDrivenApp" : "canvasApp", path);
    ownersOf(a.id, a.createdBy, a.createdAt, a.owners, path, r);
    coOwnersOf(a.id, a.coOwners, path, r);
  });
  (pp.flows ?? []).forEach((f, i) => {
    const path = `${base}.flows[${i}]`;
    const r = add(f.id, "flow", path);
    ownersOf(f.id, f.createdBy, f.createdAt, f.owners, path, r);
    coOwnersOf(f.id, f.coOwners, path, r);
  });
  // Imports in time order across solutions: a later import wins from its instant.
  const imports = (pp.solutions ?? []).flatMap((s, si) => (s.imports ?? []).map((imp, ii) => ({ s, at: t(imp.at) ?? 0, by: lc(imp.by), path: `${base}.solutions[${si}].imports[${ii}]` })))
    .sort((a, b) => a.at - b.at);
  for (const imp of imports) {
    for (const c of imp.s.components) {
      const r = resources.get(lc(c.id));
      if (!r) continue; // an unknown component is reported by validation
      if (!applyImport(r, imp.by, imp.at, lc(imp.s.id), imp.path)) orphanImports.push({ path: imp.path, componentId: lc(c.id) });
    }
  }
  (pp.powerBi?.workspaces ?? []).forEach((w, wi) => {
    (w.datasets ?? []).forEach((d, di) => {
      const path = `${base}.powerBi.workspaces[${wi}].datasets[${di}]`;
      const r = add(d.id, "dataset", path);
      const takeovers = [...(d.takeovers ?? [])].map((x, xi) => ({ ...x, xi })).sort((a, b) => (t(a.at) ?? 0) - (t(b.at) ?? 0));
      const chain = [{ by: d.publishedBy, at: d.publishedAt, basis: "published" as const, path: `${path}.publishedBy` },
        ...takeovers.map((x) => ({ by: x.by, at: x.at, basis: "takeover" as const, path: `${path}.takeovers[${x.xi}]` }))];
      chain.forEach((c, ci) => {
        const next = chain[ci + 1];
        r.relationships.push({ resourceId: lc(d.id), principalId: lc(c.by), relation: "publisher", basis: c.basis, from: t(c.at), to: next ? t(next.at) : null });
        r.paths.push(c.path);
      });
    });
  });
  (pp.customerInsights?.instances ?? []).forEach((inst, ii) => {
    const path = `${base}.customerInsights.instances[${ii}]`;
    const r = add(inst.id, "ciInstance", path);
    (inst.users ?? []).forEach((u, ui) => {
      r.relationships.push({ resourceId: lc(inst.id), principalId: lc(u.principalId), relation: "instanceUser", basis: "instanceRole", role: u.role, from: t(u.from), to: t(u.to) });
      r.paths.push(`${path}.users[${ui}]`);
    });
  });
  return { resources, orphanImports };
}
