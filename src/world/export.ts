/**
 * Exporting the store as a world file, history included (membership intervals, disabled
 * intervals, deletions, location status, links), so that applying the export to the store it came
 * from changes nothing, and applying it to an empty store rebuilds the same state.
 *
 * Resources and access: management groups and subscriptions as they stand now (a subscription with
 * earlier states carries them as `history`), resource groups by name, every role assignment and
 * Lighthouse delegation interval with its id (so re-applying matches the stored rows), eligible
 * activations, partners of record, and the directory roles principals hold now.
 *
 * Credentials policy: passwords and client secrets are stored only as salted hashes and are never
 * exported, neither in clear nor hashed. Certificates are public keys and are exported as PEM.
 * A world rebuilt from an export therefore has no passwords or secrets until they are set again.
 */
import type { Aggregates, Subscription } from "../store/index.ts";
import { findBuiltInRole } from "../domain/roles.ts";
import { directoryRoleNames } from "../graph/roles.ts";
import type {
  WorldApplication, WorldAuthorization, WorldDelegation, WorldFile, WorldGroup, WorldGroupMember, WorldInterval, WorldLink, WorldLocation,
  WorldManagementGroup, WorldPartner, WorldPartnerOfRecord, WorldRoleAssignment, WorldServicePrincipal, WorldSubscription, WorldSubscriptionState,
  WorldTenant, WorldUser,
} from "./types.ts";
import { exportPowerPlatform } from "./power-platform/export.ts";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** `createdAt` 0 means "since always" (see apply.ts) and is left out. */
const created = (ms: number) => (ms === 0 ? {} : { createdAt: new Date(ms).toISOString() });
const deleted = (ms: number | null) => (ms === null ? {} : { deletedAt: new Date(ms).toISOString() });

function interval(from: number | null, to: number | null): WorldInterval {
  return { ...(from === null ? {} : { from: iso(from) }), ...(to === null ? {} : { to: iso(to) }) };
}

/** The `links` section, when the PAL component's link store is present. */
interface LinkHistory {
  history(filter: object): Promise<{ tenantId: string; objectId: string; partnerId: string; validFrom: number | null; validTo: number | null }[]>;
}

/** A built-in role by name (readable); any other role (a tenant's custom role) by its GUID. */
const roleName = (id: string) => findBuiltInRole(id)?.name ?? id;

/** The management groups of a tenant now, parents before children; the root group is implicit. */
async function exportManagementGroups(store: Aggregates, tenantId: string): Promise<WorldManagementGroup[]> {
  const groups = (await store.resources.listManagementGroups(tenantId)).filter((g) => g.id.toLowerCase() !== tenantId);
  const out: WorldManagementGroup[] = [];
  const placed = new Set<string>([tenantId]);
  let left = groups;
  while (left.length) {
    const ready = left.filter((g) => g.parentId === null || placed.has(g.parentId.toLowerCase()));
    const batch = ready.length ? ready : left; // a parent missing from the store: emit as is
    for (const g of batch) {
      const parent = g.parentId === null || g.parentId.toLowerCase() === tenantId ? {} : { parent: g.parentId };
      out.push({ id: g.id, displayName: g.displayName, ...parent });
      placed.add(g.id.toLowerCase());
    }
    left = left.filter((g) => !batch.includes(g));
  }
  return out;
}

function subscriptionState(tenantId: string, r: Subscription) {
  return {
    offer: r.offerType,
    ...(r.managementGroupId === null || r.managementGroupId.toLowerCase() === tenantId ? {} : { managementGroup: r.managementGroupId }),
    ...(r.accountOwnerId === null ? {} : { accountOwner: r.accountOwnerId }),
  };
}

async function exportSubscriptions(store: Aggregates, tenantId: string): Promise<WorldSubscription[]> {
  const out: WorldSubscription[] = [];
  for (const s of await store.resources.listSubscriptions({ tenantId })) {
    const rows = (await store.resources.subscriptionHistory(s.id)).filter((r) => r.validTo !== null);
    const history: WorldSubscriptionState[] = rows.map((r, i) => ({
      ...(i === 0 && r.validFrom !== null ? { from: iso(r.validFrom) } : {}), to: iso(r.validTo) as string, displayName: r.displayName, ...subscriptionState(tenantId, r),
    }));
    const groups = (await store.resources.listResourceGroups(s.id)).map((g) => g.name);
    out.push({
      id: s.id, displayName: s.displayName, ...subscriptionState(tenantId, s),
      ...(groups.length ? { resourceGroups: groups } : {}), ...(history.length ? { history } : {}),
    });
  }
  return out;
}

async function exportRoleAssignments(store: Aggregates, tenantId: string): Promise<WorldRoleAssignment[]> {
  return (await store.access.roleAssignmentHistory(tenantId)).map((a) => ({
    id: a.id, principalId: a.principalId, role: roleName(a.roleDefinitionId), scope: a.scope, ...interval(a.validFrom, a.validTo),
  }));
}

async function exportDelegations(store: Aggregates, tenantId: string): Promise<WorldDelegation[]> {
  const snap = await store.access.loadAccessSnapshot({ tenantIds: [tenantId] });
  const out: WorldDelegation[] = [];
  for (const ra of snap.registrationAssignments) {
    const def = snap.registrationDefinitions.find((d) => d.id === ra.registrationDefinitionId);
    if (!def) continue; // a definition deleted since: nothing to declare it with
    const rowsOfId = snap.registrationAssignments.filter((x) => x.id === ra.id);
    // An activation belongs to the interval of the assignment in which it started.
    const mine = snap.activations.filter((a) => a.registrationAssignmentId === ra.id && a.validFrom !== null && a.validTo !== null
      && (rowsOfId.length === 1 || ((ra.validFrom === null || ra.validFrom <= (a.validFrom as number)) && (ra.validTo === null || (a.validFrom as number) < ra.validTo))));
    const eligible = def.authorizations.filter((a) => a.kind === "eligible");
    const activationsOf = new Map<number, { from: string; to: string; principalId?: string }[]>();
    for (const act of mine) {
      const exact = eligible.findIndex((a) => a.principalId === act.principalId && a.roleDefinitionId === act.roleDefinitionId);
      const byRole = eligible.findIndex((a) => a.roleDefinitionId === act.roleDefinitionId);
      const at = exact >= 0 ? exact : byRole;
      if (at < 0) continue;
      const list = activationsOf.get(at) ?? [];
      list.push({ from: iso(act.validFrom) as string, to: iso(act.validTo) as string, ...(exact >= 0 ? {} : { principalId: act.principalId }) });
      activationsOf.set(at, list);
    }
    const authorizations: WorldAuthorization[] = def.authorizations.map((a) => {
      const acts = a.kind === "eligible" ? activationsOf.get(eligible.indexOf(a)) : undefined;
      return {
        principalId: a.principalId, ...(a.principalIdDisplayName ? { principalIdDisplayName: a.principalIdDisplayName } : {}),
        role: roleName(a.roleDefinitionId), kind: a.kind, ...(acts?.length ? { activations: acts } : {}),
      };
    });
    out.push({
      id: ra.id, definitionId: def.id, displayName: def.name, scope: ra.scope, managedByTenantId: def.managedByTenantId, authorizations, ...interval(ra.validFrom, ra.validTo),
    });
  }
  return out;
}

/** Roles held now (open rows), by display name. */
async function directoryRolesOf(store: Aggregates, tenantId: string): Promise<(objectId: string) => { directoryRoles?: string[] }> {
  const rows = (await store.directoryRoles.list(tenantId)).filter((r) => r.validTo === null);
  return (objectId) => {
    const names = [...new Set(rows.filter((r) => r.objectId === objectId).map((r) => directoryRoleNames[r.roleTemplateId] ?? r.roleTemplateId))];
    return names.length ? { directoryRoles: names } : {};
  };
}

export async function exportWorld(store: Aggregates): Promise<WorldFile> {
  const dir = store.directory;

  const partners: WorldPartner[] = [];
  const statuses = await store.partners.listLocationStatus();
  for (const org of await store.partners.listOrganisations()) {
    const locations: WorldLocation[] = [];
    for (const l of await store.partners.listLocations(org.globalId)) {
      const inactive = statuses.filter((s) => s.locationId === l.id && !s.active);
      const onlyAlways = inactive.length === 1 && inactive[0]?.validFrom === null && inactive[0].validTo === null;
      locations.push({
        id: l.id,
        ...(l.name === null ? {} : { name: l.name }),
        ...(l.country === null ? {} : { country: l.country }),
        ...(onlyAlways ? { active: false } : inactive.length > 0 ? { inactive: inactive.map((s) => interval(s.validFrom, s.validTo)) } : {}),
      });
    }
    partners.push({ name: org.name, globalId: org.globalId, tenantIds: [...org.tenantIds].sort(), locations });
  }

  const applications: WorldApplication[] = [];
  for (const a of await dir.listApplications()) {
    const certs = await dir.listCertificates(a.appId);
    applications.push({
      appId: a.appId, displayName: a.displayName, homeTenantId: a.homeTenantId, ...created(a.createdAt), ...deleted(a.deletedAt),
      ...(certs.length ? { certificates: certs.map((c) => c.certificatePem) } : {}),
    });
  }
  applications.sort((x, y) => x.appId.localeCompare(y.appId));

  const tenants: WorldTenant[] = [];
  for (const t of await dir.listTenants()) {
    const disabled = await dir.listDisabledIntervals(t.id);
    const disabledOf = (oid: string) => {
      const list = disabled.filter((d) => d.objectId === oid).map((d) => interval(d.validFrom, d.validTo));
      return list.length ? { disabled: list } : {};
    };
    const rolesOf = await directoryRolesOf(store, t.id);
    const users: WorldUser[] = (await dir.listUsers(t.id)).map((u) => ({
      id: u.id, userPrincipalName: u.userPrincipalName, displayName: u.displayName,
      ...(u.kind === "guest" ? { type: "guest" as const, homeTenantId: u.homeTenantId ?? undefined, homeObjectId: u.homeObjectId ?? undefined } : {}),
      ...created(u.createdAt), ...disabledOf(u.id), ...deleted(u.deletedAt), ...rolesOf(u.id),
    }));
    const servicePrincipals: WorldServicePrincipal[] = (await dir.listServicePrincipals(t.id)).map((s) => ({
      id: s.id, appId: s.appId, displayName: s.displayName, ...created(s.createdAt), ...disabledOf(s.id), ...deleted(s.deletedAt), ...rolesOf(s.id),
    }));
    const memberships = await dir.listMemberships(t.id);
    const groups: WorldGroup[] = (await dir.listGroups(t.id)).map((g) => ({
      id: g.id, displayName: g.displayName, ...created(g.createdAt), ...deleted(g.deletedAt),
      members: memberships.filter((m) => m.groupId === g.id).map((m): WorldGroupMember =>
        m.validFrom === null && m.validTo === null ? m.memberId : { id: m.memberId, ...interval(m.validFrom, m.validTo) }),
    }));
    const delegatedAdmins = (await dir.listDelegatedAdmins(t.id)).map((d) => ({ partnerTenantId: d.partnerTenantId, ...interval(d.validFrom, d.validTo) }));
    const managementGroups = await exportManagementGroups(store, t.id);
    const subscriptions = await exportSubscriptions(store, t.id);
    const roleAssignments = await exportRoleAssignments(store, t.id);
    const delegations = await exportDelegations(store, t.id);
    const powerPlatform = await exportPowerPlatform(store, t.id);
    tenants.push({
      id: t.id, displayName: t.displayName, domain: t.domain, ...created(t.createdAt),
      users, servicePrincipals, groups, ...(delegatedAdmins.length ? { delegatedAdmins } : {}),
      ...(managementGroups.length ? { managementGroups } : {}), ...(subscriptions.length ? { subscriptions } : {}),
      ...(roleAssignments.length ? { roleAssignments } : {}), ...(delegations.length ? { delegations } : {}),
      ...(powerPlatform ? { powerPlatform } : {}),
    });
  }

  const out: { -readonly [K in keyof WorldFile]: WorldFile[K] } = { partners, applications, tenants };
  const links = (store as unknown as { links?: Partial<LinkHistory> }).links;
  if (links && typeof links.history === "function") {
    const rows = await (links as LinkHistory).history({});
    out.links = rows.map((r): WorldLink => ({ tenantId: r.tenantId, objectId: r.objectId, partnerId: r.partnerId, ...interval(r.validFrom, r.validTo) }));
  }
  const dpor = await store.partnersOfRecord.history();
  if (dpor.length) out.partnersOfRecord = dpor.map((r): WorldPartnerOfRecord => ({ subscriptionId: r.subscriptionId, partnerId: r.partnerId, ...interval(r.validFrom, r.validTo) }));
  return out;
}
