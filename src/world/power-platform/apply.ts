/**
 * Applying a tenant's `powerPlatform` section, inside the world loader's one transaction (called
 * from world/apply.ts after the tenant's directory). Like the rest of apply: compare before
 * writing, add and update, never delete; a history interval the store holds differently is a
 * conflict (history is added, not rewritten).
 *
 * Order: environments (and makers), workspaces (and members), resources, solutions (components,
 * imports), then every resource's relationship history derived by timeline.ts: for each resource,
 * first the intervals the file closes, then the new ones (so one open owner at a time holds at
 * every step).
 */
import type { Aggregates, PpPutOutcome, StoredRelationship } from "../../store/index.ts";
import { overlaps } from "../../domain/interval.ts";
import { parseIsoTime } from "../../domain/time.ts";
import type { ResourceRelationship } from "../../domain/power-platform/index.ts";
import type { KindCount, WorldKind } from "../kinds.ts";
import type { WorldProblem, WorldTenant } from "../types.ts";
import type { WorldPpPrincipalInterval } from "./types.ts";
import { deriveRelationships } from "./timeline.ts";

/** The part of the loader's run this section uses. */
export interface PowerPlatformRun {
  readonly tx: Aggregates;
  readonly conflicts: WorldProblem[];
  count(kind: WorldKind, what: keyof KindCount, n?: number): void;
}

const lc = (s: string) => s.toLowerCase();
const t = (s: string | null | undefined): number | null => (s === undefined || s === null ? null : (parseIsoTime(s) ?? null));
const DEFAULT_LOCATION = "unitedstates";

const intervalOf = (m: string | WorldPpPrincipalInterval) => (typeof m === "string" ? { principalId: lc(m), from: null, to: null } : { principalId: lc(m.principalId), from: t(m.from), to: t(m.to) });

export async function applyPowerPlatform(run: PowerPlatformRun, tenant: WorldTenant, tp: string): Promise<void> {
  const pp = tenant.powerPlatform;
  if (!pp) return;
  const tid = lc(tenant.id);
  const store = run.tx.powerPlatform;
  const counted = (kind: WorldKind, o: PpPutOutcome) => run.count(kind, o);

  for (const e of pp.environments ?? []) {
    const existing = await store.getEnvironment(tid, e.id);
    counted("ppEnvironment", await store.putEnvironment({
      tenantId: tid, id: lc(e.id), displayName: e.displayName, type: e.type, location: e.location ?? existing?.location ?? DEFAULT_LOCATION,
      createdBy: existing?.createdBy ?? null, createdAt: t(e.createdAt) ?? existing?.createdAt ?? 0, deletedAt: existing?.deletedAt ?? null,
    }));
    const stored = await store.listMakers(tid, e.id);
    for (const m of (e.makers ?? []).map(intervalOf)) {
      if (stored.some((s) => s.principalId === m.principalId && s.validFrom === m.from && s.validTo === m.to)) run.count("ppMaker", "unchanged");
      else {
        await store.addMaker(tid, e.id, m.principalId, m.from, m.to);
        run.count("ppMaker", "created");
      }
    }
  }

  for (const w of pp.powerBi?.workspaces ?? []) {
    counted("ppWorkspace", await store.putWorkspace({ tenantId: tid, id: lc(w.id), displayName: w.displayName, createdAt: (await store.getWorkspace(tid, w.id))?.createdAt ?? 0 }));
    const stored = await store.listWorkspaceMembers(tid, w.id);
    for (const m of w.members ?? []) {
      const iv = intervalOf(m);
      if (stored.some((s) => s.principalId === iv.principalId && s.role === m.role && s.validFrom === iv.from && s.validTo === iv.to)) run.count("ppWorkspaceMember", "unchanged");
      else {
        await store.addWorkspaceMember(tid, w.id, iv.principalId, m.role, iv.from, iv.to);
        run.count("ppWorkspaceMember", "created");
      }
    }
  }

  const resource = async (r: { id: string; kind: "canvasApp" | "modelDrivenApp" | "flow" | "dataset" | "ciInstance"; environmentId: string | null; workspaceId: string | null; displayName: string; createdBy: string | null; createdAt: number; details: Record<string, unknown> }) => {
    const existing = await store.getResource(tid, r.id);
    counted("ppResource", await store.putResource({
      tenantId: tid, id: lc(r.id), kind: r.kind, environmentId: r.environmentId === null ? null : lc(r.environmentId), workspaceId: r.workspaceId === null ? null : lc(r.workspaceId),
      displayName: r.displayName, createdBy: r.createdBy === null ? null : lc(r.createdBy), createdAt: r.createdAt,
      modifiedAt: existing ? Math.max(existing.modifiedAt, r.createdAt) : r.createdAt, deletedAt: existing?.deletedAt ?? null, details: { ...(existing?.details ?? {}), ...r.details },
    }));
  };
  for (const a of pp.apps ?? []) {
    await resource({ id: a.id, kind: a.kind === "modelDriven" ? "modelDrivenApp" : "canvasApp", environmentId: a.environment, workspaceId: null, displayName: a.displayName, createdBy: a.createdBy, createdAt: t(a.createdAt) ?? 0, details: {} });
  }
  for (const f of pp.flows ?? []) {
    await resource({ id: f.id, kind: "flow", environmentId: f.environment, workspaceId: null, displayName: f.displayName, createdBy: f.createdBy, createdAt: t(f.createdAt) ?? 0, details: { state: f.state ?? "Started" } });
  }
  for (const w of pp.powerBi?.workspaces ?? []) {
    for (const d of w.datasets ?? []) {
      await resource({ id: d.id, kind: "dataset", environmentId: null, workspaceId: w.id, displayName: d.displayName, createdBy: d.publishedBy, createdAt: t(d.publishedAt) ?? 0, details: {} });
    }
  }
  for (const i of pp.customerInsights?.instances ?? []) {
    await resource({ id: i.id, kind: "ciInstance", environmentId: i.environment ?? null, workspaceId: null, displayName: i.displayName, createdBy: null, createdAt: 0, details: {} });
  }

  for (const s of pp.solutions ?? []) {
    const imports = (s.imports ?? []).map((i) => ({ by: lc(i.by), at: t(i.at) ?? 0 })).sort((a, b) => a.at - b.at);
    const existing = await store.getSolution(tid, s.id);
    const first = imports[0]?.at ?? existing?.createdAt ?? 0;
    const last = imports[imports.length - 1]?.at ?? first;
    counted("ppSolution", await store.putSolution({
      tenantId: tid, id: lc(s.id), environmentId: lc(s.environment), uniqueName: s.uniqueName, friendlyName: s.displayName ?? existing?.friendlyName ?? s.uniqueName,
      version: s.version ?? existing?.version ?? "1.0.0.0", managed: s.managed, createdAt: existing ? Math.min(existing.createdAt, first) : first,
      modifiedAt: existing ? Math.max(existing.modifiedAt, last) : last,
    }));
    for (const c of s.components) await store.addComponent(tid, s.id, c.id, imports[0]?.at ?? null);
    const storedImports = await store.listImports(tid, s.id);
    for (const i of imports) {
      if (storedImports.some((x) => x.importedBy === i.by && x.at === i.at)) run.count("ppSolutionImport", "unchanged");
      else {
        await store.recordImport(tid, { solutionId: lc(s.id), importedBy: i.by, at: i.at, version: s.version ?? null, importJobId: null });
        run.count("ppSolutionImport", "created");
      }
    }
  }

  const derived = deriveRelationships(pp, `${tp}.powerPlatform`);
  for (const r of derived.resources.values()) {
    const stored = await store.relationships(tid, r.id);
    await reconcileRelationships(run, tid, r.relationships, r.paths, stored);
  }
}

const same = (a: ResourceRelationship, b: ResourceRelationship) =>
  a.principalId === b.principalId && a.relation === b.relation && a.from === b.from && a.to === b.to && (a.role ?? null) === (b.role ?? null);
const single = (r: ResourceRelationship) => r.relation === "owner" || r.relation === "publisher";

async function reconcileRelationships(run: PowerPlatformRun, tid: string, desired: readonly ResourceRelationship[], paths: readonly string[], stored: StoredRelationship[]): Promise<void> {
  const store = run.tx.powerPlatform;
  const inserts: { d: ResourceRelationship; path: string }[] = [];
  const current: ResourceRelationship[] = [...stored];
  // Pass 1: what the store already has, and open intervals the file now ends.
  for (const [i, d] of desired.entries()) {
    const path = paths[i] ?? "$";
    if (current.some((s) => same(s, d))) {
      run.count("ppRelationship", "unchanged");
      continue;
    }
    const open = stored.find((s) => s.to === null && s.principalId === d.principalId && s.relation === d.relation && s.from === d.from && d.to !== null);
    if (open && d.to !== null) {
      await store.closeRelationship(open.seq, d.to);
      current.splice(current.indexOf(open), 1, { ...open, to: d.to });
      run.count("ppRelationship", "updated");
      continue;
    }
    inserts.push({ d, path });
  }
  // Pass 2: new intervals that overlap nothing they must not.
  for (const { d, path } of inserts) {
    const clash = current.find((s) => overlaps(s, d) && s.relation === d.relation && (single(d) || s.principalId === d.principalId));
    if (clash) {
      const show = (x: number | null, open: string) => (x === null ? open : new Date(x).toISOString());
      run.conflicts.push({ path, message: `overlaps the ${clash.relation} interval of ${clash.principalId} [${show(clash.from, "-∞")}, ${show(clash.to, "∞")}) already in the store; a world file adds history but does not rewrite it (change owners through the API).` });
      continue;
    }
    await store.insertRelationship(tid, d);
    current.push(d);
    run.count("ppRelationship", "created");
  }
}
