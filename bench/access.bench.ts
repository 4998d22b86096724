/**
 * effectiveAccess for a partner over 10,000 customer tenants and 1,000,000 role assignments
 * (generated in memory: direct, via nested groups, at management groups and `/`, plus Lighthouse
 * delegations). Baseline in the same run: one plain pass over the assignments that only checks the
 * principal against the partner's set (what any answer must at least touch), so the ratio says how
 * much the paths, intervals and inheritance cost on top of a scan.
 */
import { effectiveAccess, indexAccess, type AccessInput, type AccessMembership, type AccessPrincipal, type AccessRoleAssignment } from "../src/domain/access.ts";
import type { ManagementGroupPlacement, SubscriptionPlacement } from "../src/domain/scope.ts";
import { withPeakMemory, type Benchmark } from "./lib.ts";

const TENANTS = 10_000;
const ASSIGNMENTS_PER_TENANT = 100;
const PARTNER = "partner-tenant";
const ROLES = ["8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "b24988ac-6180-42a0-ab88-20f7382dd24c", "acdd72a7-3385-48ef-bd42-f606fba81ae7"];
const DAY = 86_400_000;
const RANGE = { from: Date.UTC(2026, 9, 1), to: Date.UTC(2026, 10, 1) };

/** Deterministic pseudo-random numbers, so every run measures the same world. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function generate(): AccessInput {
  const rand = rng(42);
  const principals: AccessPrincipal[] = [];
  const memberships: AccessMembership[] = [];
  const roleAssignments: AccessRoleAssignment[] = [];
  const managementGroups: ManagementGroupPlacement[] = [];
  const subscriptions: SubscriptionPlacement[] = [];
  const registrationDefinitions: AccessInput["registrationDefinitions"][number][] = [];
  const registrationAssignments: AccessInput["registrationAssignments"][number][] = [];
  principals.push({ tenantId: PARTNER, objectId: "partner-sp", type: "ServicePrincipal", homeTenantId: PARTNER, deletedAt: null });
  for (let t = 0; t < TENANTS; t++) {
    const tenant = `tenant-${t}`;
    const subs = [`${t}-sub-a`, `${t}-sub-b`];
    managementGroups.push({ tenantId: tenant, id: tenant, parentId: null, validFrom: null, validTo: null });
    managementGroups.push({ tenantId: tenant, id: `${t}-platform`, parentId: tenant, validFrom: null, validTo: null });
    managementGroups.push({ tenantId: tenant, id: `${t}-lz`, parentId: `${t}-platform`, validFrom: null, validTo: null });
    subscriptions.push({ tenantId: tenant, id: subs[0] as string, managementGroupId: `${t}-lz`, validFrom: null, validTo: null });
    subscriptions.push({ tenantId: tenant, id: subs[1] as string, managementGroupId: null, validFrom: null, validTo: RANGE.from + 10 * DAY });
    const users = Array.from({ length: 20 }, (_, u) => `${t}-u${u}`);
    for (const u of users) principals.push({ tenantId: tenant, objectId: u, type: "User", homeTenantId: tenant, deletedAt: null });
    // One partner in twenty tenants has a guest; it sits in a nested group.
    const partnerHere = t % 20 === 0;
    if (partnerHere) {
      users.push(`${t}-guest`);
      principals.push({ tenantId: tenant, objectId: `${t}-guest`, type: "User", homeTenantId: PARTNER, deletedAt: null });
    }
    const groups = [`${t}-g0`, `${t}-g1`, `${t}-g2`];
    for (const g of groups) principals.push({ tenantId: tenant, objectId: g, type: "Group", homeTenantId: tenant, deletedAt: null });
    memberships.push({ tenantId: tenant, groupId: groups[1] as string, memberId: groups[0] as string, validFrom: null, validTo: null });
    for (const u of users) if (rand() < 0.5) memberships.push({ tenantId: tenant, groupId: groups[Math.floor(rand() * 3)] as string, memberId: u, validFrom: RANGE.from + Math.floor(rand() * 20) * DAY, validTo: null });
    for (let a = 0; a < ASSIGNMENTS_PER_TENANT; a++) {
      const kind = rand();
      const sub = subs[a % 2] as string;
      let scope: string;
      let principal: string;
      if (kind < 0.6) { principal = users[Math.floor(rand() * users.length)] as string; scope = `/subscriptions/${sub}/resourceGroups/rg-${a % 7}`; }
      else if (kind < 0.85) { principal = groups[Math.floor(rand() * 3)] as string; scope = `/subscriptions/${sub}`; }
      else if (kind < 0.97) { principal = users[Math.floor(rand() * users.length)] as string; scope = `/providers/Microsoft.Management/managementGroups/${t}-platform`; }
      else { principal = groups[1] as string; scope = "/"; }
      roleAssignments.push({ tenantId: tenant, id: `${t}-ra-${a}`, scope, principalId: principal, principalType: "User", roleDefinitionId: ROLES[a % 3] as string, validFrom: rand() < 0.2 ? RANGE.from + 5 * DAY : null, validTo: rand() < 0.1 ? RANGE.from + 25 * DAY : null });
    }
    if (t % 20 === 10) {
      registrationDefinitions.push({ tenantId: tenant, id: `${t}-def`, name: "MSP", managedByTenantId: PARTNER, authorizations: [{ principalId: "partner-sp", roleDefinitionId: ROLES[1] as string, kind: "permanent" }] });
      registrationAssignments.push({ tenantId: tenant, id: `${t}-reg`, scope: `/subscriptions/${subs[0]}`, registrationDefinitionId: `${t}-def`, validFrom: null, validTo: null });
    }
  }
  return { principals, memberships, disabled: [], roleAssignments, registrationDefinitions, registrationAssignments, activations: [], managementGroups, subscriptions, roleDefinitions: [] };
}

const bench: Benchmark = {
  name: "access",
  description: "effectiveAccess for a partner over 10,000 tenants and 1,000,000 role assignments (in memory)",
  async run() {
    const started = Date.now();
    const input = generate();
    const generateMs = Date.now() - started;

    // Baseline: one pass over the assignments checking membership of the partner's principal set.
    const partnerPrincipals = new Set(input.principals.filter((p) => p.homeTenantId === PARTNER).map((p) => `${p.tenantId}|${p.objectId}`));
    const t0 = performance.now();
    let touched = 0;
    for (const a of input.roleAssignments) if (partnerPrincipals.has(`${a.tenantId}|${a.principalId}`)) touched++;
    const baselineMs = performance.now() - t0;

    const { result, peakRssMiB } = await withPeakMemory(async () => {
      const i0 = performance.now();
      const index = indexAccess(input);
      const indexMs = performance.now() - i0;
      const q0 = performance.now();
      const access = effectiveAccess(index, { kind: "partner", homeTenantIds: [PARTNER] }, RANGE);
      const queryMs = performance.now() - q0;
      // Again on the warm index: what a second question to the same snapshot costs.
      const w0 = performance.now();
      effectiveAccess(index, { kind: "partner", homeTenantIds: [PARTNER] }, RANGE);
      return { indexMs, queryMs, warmQueryMs: performance.now() - w0, entries: access.entries.length };
    });
    return {
      tenants: TENANTS,
      roleAssignments: input.roleAssignments.length,
      partnerPrincipals: partnerPrincipals.size,
      directAssignmentsOfPartner: touched,
      entries: result.entries,
      generateMs,
      indexBuildMs: Math.round(result.indexMs),
      effectiveAccessMs: Math.round(result.queryMs * 10) / 10,
      effectiveAccessWarmMs: Math.round(result.warmQueryMs * 10) / 10,
      baselineScanMs: Math.round(baselineMs * 10) / 10,
      ratioQueryToScan: Math.round((result.queryMs / baselineMs) * 100) / 100,
      ratioIndexPlusQueryToScan: Math.round(((result.indexMs + result.queryMs) / baselineMs) * 100) / 100,
      peakRssMiB,
    };
  },
};
export default bench;
