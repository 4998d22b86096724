/**
 * Semantic rules of a tenant's `powerPlatform` section (the JSON Schema has checked its shape):
 * ids unique within the tenant; every reference resolves within the tenant (environments,
 * principals, solution components); co-owners never on model-driven apps; a solution's components
 * live in its environment; owner / publisher histories well-formed and without overlap (back to
 * back); each import finds an owner interval to cut. Every problem is named by its JSON path.
 *
 * Histories are records of what happened (decision 2): they are not re-checked against makers or
 * workspace membership, which the APIs enforce when a change is made.
 */
import { checkHistory } from "../../domain/power-platform/index.ts";
import { parseIsoTime } from "../../domain/time.ts";
import type { WorldProblem } from "../types.ts";
import type { WorldPowerPlatform } from "./types.ts";
import { deriveRelationships } from "./timeline.ts";

const lc = (s: string) => s.toLowerCase();

/**
 * Validates one tenant's section at `base` (e.g. `$.tenants[0].powerPlatform`). `isPrincipal`
 * answers whether an object id is a user or service principal the tenant's resources may name
 * (its own, or of a partner tenant with a delegatedAdmins entry, decision 7). `knownEnvironment`
 * answers for environments the store already holds.
 */
export function validatePowerPlatform(pp: WorldPowerPlatform, base: string, isPrincipal: (objectId: string) => boolean, knownEnvironment: (id: string) => boolean = () => false): WorldProblem[] {
  const problems: WorldProblem[] = [];
  const problem = (path: string, message: string) => problems.push({ path, message });
  const principal = (path: string, id: string) => {
    if (!isPrincipal(id)) problem(path, `principal ${lc(id)} is not a user or service principal of this tenant (nor of a partner tenant with a delegatedAdmins entry here); declare it under "users" or "servicePrincipals".`);
  };

  const ids = new Map<string, string>();
  const unique = (path: string, id: string, what: string) => {
    const prev = ids.get(lc(id));
    if (prev) problem(`${path}.id`, `${what} id ${lc(id)} is already used at ${prev}; ids are unique within a tenant's powerPlatform section.`);
    else ids.set(lc(id), path);
  };

  const environments = new Map<string, string>();
  let defaults = 0;
  (pp.environments ?? []).forEach((e, i) => {
    const p = `${base}.environments[${i}]`;
    unique(p, e.id, "environment");
    environments.set(lc(e.id), p);
    if (e.type === "Default" && ++defaults > 1) problem(`${p}.type`, "a tenant has one Default environment; make this one Production, Sandbox, Trial or Developer.");
    (e.makers ?? []).forEach((m, mi) => principal(`${p}.makers[${mi}]`, typeof m === "string" ? m : m.principalId));
  });
  const environment = (path: string, id: string) => {
    if (!environments.has(lc(id)) && !knownEnvironment(lc(id))) problem(path, `environment ${lc(id)} is not declared under powerPlatform.environments of this tenant; add it or fix the id.`);
  };

  const componentEnv = new Map<string, { env: string; kind: "app" | "flow" }>();
  (pp.apps ?? []).forEach((a, i) => {
    const p = `${base}.apps[${i}]`;
    unique(p, a.id, "app");
    environment(`${p}.environment`, a.environment);
    componentEnv.set(lc(a.id), { env: lc(a.environment), kind: "app" });
    principal(`${p}.createdBy`, a.createdBy);
    (a.owners ?? []).forEach((o, oi) => principal(`${p}.owners[${oi}].principalId`, o.principalId));
    if (a.kind === "modelDriven" && a.coOwners?.length) problem(`${p}.coOwners`, "model-driven apps have no co-owners (only canvas apps do); remove coOwners or make the app canvas.");
    (a.coOwners ?? []).forEach((o, oi) => principal(`${p}.coOwners[${oi}].principalId`, o.principalId));
  });
  (pp.flows ?? []).forEach((f, i) => {
    const p = `${base}.flows[${i}]`;
    unique(p, f.id, "flow");
    environment(`${p}.environment`, f.environment);
    componentEnv.set(lc(f.id), { env: lc(f.environment), kind: "flow" });
    principal(`${p}.createdBy`, f.createdBy);
    (f.owners ?? []).forEach((o, oi) => principal(`${p}.owners[${oi}].principalId`, o.principalId));
    (f.coOwners ?? []).forEach((o, oi) => principal(`${p}.coOwners[${oi}].principalId`, o.principalId));
  });
  const uniqueNames = new Map<string, string>();
  (pp.solutions ?? []).forEach((s, i) => {
    const p = `${base}.solutions[${i}]`;
    unique(p, s.id, "solution");
    environment(`${p}.environment`, s.environment);
    const un = `${lc(s.environment)}\u0000${lc(s.uniqueName)}`;
    if (uniqueNames.has(un)) problem(`${p}.uniqueName`, `solution ${s.uniqueName} is already declared in this environment at ${uniqueNames.get(un)}.`);
    else uniqueNames.set(un, p);
    s.components.forEach((c, ci) => {
      const found = componentEnv.get(lc(c.id));
      if (!found) problem(`${p}.components[${ci}].id`, `${c.type} ${lc(c.id)} is not declared under powerPlatform.${c.type === "app" ? "apps" : "flows"} of this tenant.`);
      else if (found.kind !== c.type) problem(`${p}.components[${ci}].type`, `${lc(c.id)} is a${found.kind === "app" ? "n app" : " flow"}, not a${c.type === "app" ? "n app" : " flow"}.`);
      else if (found.env !== lc(s.environment)) problem(`${p}.components[${ci}].id`, `${c.type} ${lc(c.id)} lives in environment ${found.env}, not in the solution's environment ${lc(s.environment)}; a solution's components live in its environment.`);
    });
    (s.imports ?? []).forEach((imp, ii) => principal(`${p}.imports[${ii}].by`, imp.by));
  });
  (pp.powerBi?.workspaces ?? []).forEach((w, wi) => {
    const p = `${base}.powerBi.workspaces[${wi}]`;
    unique(p, w.id, "workspace");
    (w.members ?? []).forEach((m, mi) => principal(`${p}.members[${mi}].principalId`, m.principalId));
    (w.datasets ?? []).forEach((d, di) => {
      const dp = `${p}.datasets[${di}]`;
      unique(dp, d.id, "dataset");
      principal(`${dp}.publishedBy`, d.publishedBy);
      (d.takeovers ?? []).forEach((x, xi) => {
        principal(`${dp}.takeovers[${xi}].by`, x.by);
        if ((parseIsoTime(x.at) ?? 0) <= (parseIsoTime(d.publishedAt) ?? 0)) problem(`${dp}.takeovers[${xi}].at`, "a take-over must come after publishedAt.");
      });
    });
  });
  (pp.customerInsights?.instances ?? []).forEach((inst, ii) => {
    const p = `${base}.customerInsights.instances[${ii}]`;
    unique(p, inst.id, "instance");
    if (inst.environment) environment(`${p}.environment`, inst.environment);
    (inst.users ?? []).forEach((u, ui) => principal(`${p}.users[${ui}].principalId`, u.principalId));
  });

  // Histories: only once references hold, so the messages are about time, not ids.
  if (problems.length > 0) return problems;
  const derived = deriveRelationships(pp, base);
  for (const r of derived.resources.values()) {
    for (const h of checkHistory(r.relationships)) problem(r.paths[h.index] ?? r.path, h.message);
    const owners = r.relationships.filter((x) => x.relation === "owner").sort((a, b) => (a.from ?? -Infinity) - (b.from ?? -Infinity));
    owners.forEach((o, i) => {
      const next = owners[i + 1];
      if (next && o.to !== next.from) problem(r.paths[r.relationships.indexOf(next)] ?? r.path, `owner history must be back to back: this owner starts at ${next.from === null ? "always" : new Date(next.from).toISOString()} but the previous one ends at ${o.to === null ? "never" : new Date(o.to).toISOString()}.`);
    });
  }
  for (const o of derived.orphanImports) problem(o.path, `component ${o.componentId} has no owner at the import instant (it was created later); date the import after the component's createdAt.`);
  return problems;
}
