/**
 * Exporting the store as a world file, history included (membership intervals, disabled
 * intervals, deletions, location status, links), so that applying the export to the store it came
 * from changes nothing, and applying it to an empty store rebuilds the same state.
 *
 * Credentials policy: passwords and client secrets are stored only as salted hashes and are never
 * exported, neither in clear nor hashed. Certificates are public keys and are exported as PEM.
 * A world rebuilt from an export therefore has no passwords or secrets until they are set again.
 */
import type { Aggregates } from "../store/index.ts";
import type {
  WorldApplication, WorldFile, WorldGroup, WorldGroupMember, WorldInterval, WorldLink, WorldLocation, WorldPartner,
  WorldServicePrincipal, WorldTenant, WorldUser,
} from "./types.ts";

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
    const users: WorldUser[] = (await dir.listUsers(t.id)).map((u) => ({
      id: u.id, userPrincipalName: u.userPrincipalName, displayName: u.displayName,
      ...(u.kind === "guest" ? { type: "guest" as const, homeTenantId: u.homeTenantId ?? undefined, homeObjectId: u.homeObjectId ?? undefined } : {}),
      ...created(u.createdAt), ...disabledOf(u.id), ...deleted(u.deletedAt),
    }));
    const servicePrincipals: WorldServicePrincipal[] = (await dir.listServicePrincipals(t.id)).map((s) => ({
      id: s.id, appId: s.appId, displayName: s.displayName, ...created(s.createdAt), ...disabledOf(s.id), ...deleted(s.deletedAt),
    }));
    const memberships = await dir.listMemberships(t.id);
    const groups: WorldGroup[] = (await dir.listGroups(t.id)).map((g) => ({
      id: g.id, displayName: g.displayName, ...created(g.createdAt), ...deleted(g.deletedAt),
      members: memberships.filter((m) => m.groupId === g.id).map((m): WorldGroupMember =>
        m.validFrom === null && m.validTo === null ? m.memberId : { id: m.memberId, ...interval(m.validFrom, m.validTo) }),
    }));
    const delegatedAdmins = (await dir.listDelegatedAdmins(t.id)).map((d) => ({ partnerTenantId: d.partnerTenantId, ...interval(d.validFrom, d.validTo) }));
    tenants.push({
      id: t.id, displayName: t.displayName, domain: t.domain, ...created(t.createdAt),
      users, servicePrincipals, groups, ...(delegatedAdmins.length ? { delegatedAdmins } : {}),
    });
  }

  const out: { -readonly [K in keyof WorldFile]: WorldFile[K] } = { partners, applications, tenants };
  const links = (store as unknown as { links?: Partial<LinkHistory> }).links;
  if (links && typeof links.history === "function") {
    const rows = await (links as LinkHistory).history({});
    out.links = rows.map((r): WorldLink => ({ tenantId: r.tenantId, objectId: r.objectId, partnerId: r.partnerId, ...interval(r.validFrom, r.validTo) }));
  }
  return out;
}
