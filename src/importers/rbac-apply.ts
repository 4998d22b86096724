/**
 * Applying an import plan to the store, in the caller's transaction. Decisions (docs/ACCESS.md):
 * - valid rows are applied, rejected rows are listed (file, row, field, fix) and never half-applied:
 *   a row's writes happen together or not at all (validation happens before any write);
 * - unknown principals become directory placeholders (users, service principals, groups) named
 *   from the file; existing directory objects are never overwritten;
 * - facts already in the store are left alone ("unchanged"), so importing twice changes nothing;
 * - an assignment's interval starts at its createdOn when the file has one, else "since always".
 */
import type { Aggregates } from "../store/index.ts";
import { AccessConflictError } from "../store/index.ts";
import { findBuiltInRole } from "../domain/roles.ts";
import { stableGuid, type ImportPlan, type Origin, type Reject } from "./rbac-parse.ts";

export type Tally = Record<string, { created: number; updated: number; unchanged: number }>;

export interface ApplyResult {
  readonly counts: Tally;
  readonly rejects: Reject[];
}

function bump(t: Tally, kind: string, outcome: "created" | "updated" | "unchanged"): void {
  (t[kind] ??= { created: 0, updated: 0, unchanged: 0 })[outcome]++;
}

export async function applyPlan(tx: Aggregates, plan: ImportPlan, at: number): Promise<ApplyResult> {
  const counts: Tally = {};
  const rejects: Reject[] = [...plan.rejects];
  const reject = (origin: Origin, field: string, problem: string, fix: string): void => {
    rejects.push({ origin, field, problem, fix });
  };
  const tenants = new Set<string>();
  const note = (t: string | null) => t && tenants.add(t);
  for (const x of [...plan.managementGroups, ...plan.subscriptions, ...plan.roleAssignments, ...plan.principals, ...plan.delegations, ...plan.resources]) note(x.tenantId);
  for (const t of tenants) {
    if (await tx.directory.getTenant(t)) { bump(counts, "tenant", "unchanged"); continue; }
    await tx.directory.putTenant({ id: t, displayName: t, domain: `${t}.imported.invalid`, createdAt: at });
    bump(counts, "tenant", "created");
  }

  // Management groups: parents before children (the file order may not be).
  const groups = new Map<string, (typeof plan.managementGroups)[number]>();
  for (const g of plan.managementGroups) groups.set(`${g.tenantId}|${g.id.toLowerCase()}`, g);
  const done = new Set<string>();
  const putGroup = async (key: string, depth: number): Promise<void> => {
    const g = groups.get(key);
    if (!g || done.has(key)) return;
    done.add(key);
    if (depth > 16) return reject(g.origin, "MgParentId", `management group ${g.id} is part of a parent cycle`, "fix the hierarchy");
    if (g.parentId) await putGroup(`${g.tenantId}|${g.parentId.toLowerCase()}`, depth + 1);
    try {
      bump(counts, "managementGroup", await tx.resources.putManagementGroup({ tenantId: g.tenantId, id: g.id, displayName: g.displayName, parentId: g.parentId }, { at, since: null }));
    } catch (error) {
      reject(g.origin, "MgParentId", (error as Error).message, "import the hierarchy file with this one");
    }
  };
  for (const key of groups.keys()) await putGroup(key, 0);

  // Subscriptions: several rows may describe one; the richest wins, existing facts are kept.
  const subs = new Map<string, (typeof plan.subscriptions)[number]>();
  for (const s of plan.subscriptions) {
    const prev = subs.get(s.id);
    subs.set(s.id, prev ? { ...prev, displayName: prev.displayName !== prev.id ? prev.displayName : s.displayName, offerType: prev.offerType ?? s.offerType, managementGroupId: prev.managementGroupId ?? s.managementGroupId, state: prev.state ?? s.state } : s);
  }
  for (const s of subs.values()) {
    const existing = await tx.resources.getSubscription(s.id);
    try {
      bump(counts, "subscription", await tx.resources.putSubscription({
        tenantId: s.tenantId, id: s.id, displayName: s.displayName !== s.id ? s.displayName : (existing?.displayName ?? s.displayName),
        offerType: s.offerType ?? existing?.offerType ?? "PayAsYouGo", accountOwnerId: existing?.accountOwnerId ?? null,
        managementGroupId: s.managementGroupId ?? existing?.managementGroupId ?? null, state: s.state ?? existing?.state ?? "Enabled",
      }, { at, since: null }));
    } catch (error) {
      reject(s.origin, "managementGroup", (error as Error).message, "import the hierarchy (or resourcecontainers) with this file");
    }
  }
  for (const g of plan.resourceGroups) {
    const existing = await tx.resources.getResourceGroup(g.subscriptionId, g.name);
    bump(counts, "resourceGroup", existing ? "unchanged" : await tx.resources.putResourceGroup(g, { at, since: null }));
  }
  for (const r of plan.resources) bump(counts, "resource", await tx.resources.putResource(r, { at, since: null }));
  for (const d of plan.roleDefinitions) bump(counts, "roleDefinition", await tx.access.putRoleDefinition(d, { at, since: null }));

  // Principals: placeholders only where the directory has nothing under that id.
  const seen = new Set<string>();
  for (const p of plan.principals) {
    const key = `${p.tenantId}|${p.objectId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (await tx.directory.findPrincipal(p.tenantId, p.objectId)) { bump(counts, "principal", "unchanged"); continue; }
    const name = p.displayName ?? p.objectId;
    if (p.type === "User") {
      const upn = p.signInName && !(await tx.directory.findUserByUpn(p.tenantId, p.signInName)) ? p.signInName : `${p.objectId}@imported.invalid`;
      await tx.directory.putUser({ tenantId: p.tenantId, id: p.objectId, userPrincipalName: upn, displayName: name, kind: p.guest ? "guest" : "member", passwordHash: null, homeTenantId: null, homeObjectId: null, createdAt: at, deletedAt: null });
    } else if (p.type === "ServicePrincipal") {
      // The application is unknown to an RBAC export; the placeholder says so instead of guessing.
      await tx.directory.putServicePrincipal({ tenantId: p.tenantId, id: p.objectId, appId: `imported:${p.objectId}`, displayName: name, createdAt: at, deletedAt: null });
    } else {
      await tx.directory.putGroup({ tenantId: p.tenantId, id: p.objectId, displayName: name, createdAt: at, deletedAt: null });
    }
    bump(counts, "principal", "created");
  }
  const memberships = new Map<string, Set<string>>();
  for (const m of plan.memberships) {
    let open = memberships.get(m.tenantId);
    if (!open) {
      open = new Set((await tx.directory.listMemberships(m.tenantId)).filter((x) => x.validTo === null).map((x) => `${x.groupId.toLowerCase()}|${x.memberId.toLowerCase()}`));
      memberships.set(m.tenantId, open);
    }
    const key = `${m.groupId}|${m.memberId}`;
    if (open.has(key)) { bump(counts, "membership", "unchanged"); continue; }
    await tx.directory.addMember(m.tenantId, m.groupId, m.memberId, null);
    open.add(key);
    bump(counts, "membership", "created");
  }

  const assigned = new Set<string>();
  for (const a of plan.roleAssignments) {
    if (assigned.has(a.id)) { bump(counts, "roleAssignment", "unchanged"); continue; }
    let tenantId = a.tenantId;
    if (!tenantId) {
      const sub = /^\/subscriptions\/([^/]+)/i.exec(a.scope);
      tenantId = sub ? ((await tx.resources.getSubscription(sub[1] as string))?.tenantId ?? null) : null;
      if (!tenantId) { reject(a.origin, "scope", `the tenant of ${a.scope} is unknown`, "pass --tenant <tenant id> (or import the subscriptions first)"); continue; }
      if (!(await tx.directory.findPrincipal(tenantId, a.principalId))) {
        await tx.directory.putUser({ tenantId, id: a.principalId, userPrincipalName: `${a.principalId}@imported.invalid`, displayName: a.principalId, kind: "member", passwordHash: null, homeTenantId: null, homeObjectId: null, createdAt: at, deletedAt: null });
        bump(counts, "principal", "created");
      }
    }
    // A role the built-in table does not know is recorded per tenant, with the file's name for it.
    if (!findBuiltInRole(a.roleDefinitionId)) {
      const catalog = await tx.access.roleCatalog(tenantId);
      if (!catalog.find(a.roleDefinitionId, tenantId)) {
        bump(counts, "roleDefinition", await tx.access.putRoleDefinition({ tenantId, id: a.roleDefinitionId, name: a.roleName ?? a.roleDefinitionId, type: a.roleType ?? "BuiltInRole", assignableScopes: ["/"] }, { at, since: null }));
      }
    }
    try {
      bump(counts, "roleAssignment", await tx.access.createRoleAssignment({
        tenantId, id: a.id, scope: a.scope, principalId: a.principalId, principalType: a.principalType, roleDefinitionId: a.roleDefinitionId,
        description: a.description, condition: a.condition, conditionVersion: a.conditionVersion, createdBy: null,
      }, { at, since: a.createdOn }));
      assigned.add(a.id);
    } catch (error) {
      if (!(error instanceof AccessConflictError)) throw error;
      reject(a.origin, "id", error.message, "the store already holds a different assignment; delete it first if the export is newer");
    }
  }

  for (const d of plan.delegations) {
    const sub = await tx.resources.getSubscription(d.subscriptionId);
    const tenantId = d.tenantId ?? sub?.tenantId ?? null;
    if (!tenantId) { reject(d.origin, "--subscription", `subscription ${d.subscriptionId} is unknown`, "pass --tenant <customer tenant id> or import the subscription first"); continue; }
    const scope = `/subscriptions/${d.subscriptionId}`;
    bump(counts, "registrationDefinition", await tx.access.putRegistrationDefinition({
      tenantId, id: d.definitionId, scope, name: d.name, description: d.description, managedByTenantId: d.managedByTenantId, managedByTenantName: null, authorizations: d.authorizations, plan: null,
    }, { at, since: null }));
    const scopes = d.resourceGroups.length ? d.resourceGroups.map((rg) => `${scope}/resourceGroups/${rg}`) : [scope];
    for (const s of scopes) {
      bump(counts, "registrationAssignment", await tx.access.createRegistrationAssignment({ tenantId, id: stableGuid(`${d.definitionId}|${s.toLowerCase()}`), scope: s, registrationDefinitionId: d.definitionId }, { at, since: at }));
    }
  }
  return { counts, rejects };
}
