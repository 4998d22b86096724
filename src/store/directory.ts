/**
 * Directory aggregate: tenants, users (members and guests), applications with their credentials,
 * service principals, groups with effective-dated membership, disabled intervals, deletions and
 * delegated-admin relationships.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";

export type UserKind = "member" | "guest";
export type PrincipalType = "User" | "ServicePrincipal" | "Group";

export interface Tenant {
  readonly id: string;
  readonly displayName: string;
  readonly domain: string;
  readonly createdAt: number;
}

export interface User {
  readonly tenantId: string;
  readonly id: string;
  readonly userPrincipalName: string;
  readonly displayName: string;
  readonly kind: UserKind;
  /** scrypt hash; members only (guests sign in with their home credentials). */
  readonly passwordHash: string | null;
  readonly homeTenantId: string | null;
  readonly homeObjectId: string | null;
  readonly createdAt: number;
  readonly deletedAt: number | null;
}

export interface Application {
  readonly appId: string;
  /** Directory object id (Graph's `id`); optional for applications declared without one. */
  readonly objectId?: string | null;
  readonly displayName: string;
  readonly homeTenantId: string;
  readonly createdAt: number;
  readonly deletedAt: number | null;
}

export interface ApplicationSecret {
  readonly appId: string;
  readonly keyId: string;
  readonly secretHash: string;
  readonly hint: string;
  readonly displayName: string | null;
  readonly createdAt: number;
  readonly expiresAt: number | null;
}

export interface ApplicationCertificate {
  readonly appId: string;
  readonly keyId: string;
  readonly thumbprintSha1: string;
  readonly thumbprintSha256: string;
  readonly certificatePem: string;
  readonly createdAt: number;
  readonly expiresAt: number | null;
}

export interface ServicePrincipal {
  readonly tenantId: string;
  readonly id: string;
  readonly appId: string;
  readonly displayName: string;
  readonly createdAt: number;
  readonly deletedAt: number | null;
}

export interface Group {
  readonly tenantId: string;
  readonly id: string;
  readonly displayName: string;
  readonly createdAt: number;
  readonly deletedAt: number | null;
}

export interface Membership {
  readonly tenantId: string;
  readonly groupId: string;
  readonly memberId: string;
  readonly validFrom: number | null;
  readonly validTo: number | null;
}

export interface TimeRange {
  readonly validFrom: number | null;
  readonly validTo: number | null;
}

export interface DelegatedAdmin extends TimeRange {
  readonly tenantId: string;
  readonly partnerTenantId: string;
}

/** A principal in one tenant, whatever its kind. */
export type Principal =
  | { readonly type: "User"; readonly user: User }
  | { readonly type: "ServicePrincipal"; readonly servicePrincipal: ServicePrincipal }
  | { readonly type: "Group"; readonly group: Group };

const toTenant = (r: Database["tenants"]): Tenant => ({
  id: r.id, displayName: r.display_name, domain: r.domain, createdAt: Number(r.created_at),
});
const toUser = (r: Database["users"]): User => ({
  tenantId: r.tenant_id, id: r.id, userPrincipalName: r.user_principal_name, displayName: r.display_name,
  kind: r.kind as UserKind, passwordHash: r.password_hash, homeTenantId: r.home_tenant_id,
  homeObjectId: r.home_object_id, createdAt: Number(r.created_at), deletedAt: num(r.deleted_at),
});
const toApp = (r: Database["applications"]): Application => ({
  appId: r.app_id, objectId: r.object_id, displayName: r.display_name, homeTenantId: r.home_tenant_id,
  createdAt: Number(r.created_at), deletedAt: num(r.deleted_at),
});
const toSecret = (r: Database["application_secrets"]): ApplicationSecret => ({
  appId: r.app_id, keyId: r.key_id, secretHash: r.secret_hash, hint: r.hint, displayName: r.display_name,
  createdAt: Number(r.created_at), expiresAt: num(r.expires_at),
});
const toCert = (r: Database["application_certificates"]): ApplicationCertificate => ({
  appId: r.app_id, keyId: r.key_id, thumbprintSha1: r.thumbprint_sha1, thumbprintSha256: r.thumbprint_sha256,
  certificatePem: r.certificate_pem, createdAt: Number(r.created_at), expiresAt: num(r.expires_at),
});
const toSp = (r: Database["service_principals"]): ServicePrincipal => ({
  tenantId: r.tenant_id, id: r.id, appId: r.app_id, displayName: r.display_name,
  createdAt: Number(r.created_at), deletedAt: num(r.deleted_at),
});
const toGroup = (r: Database["groups"]): Group => ({
  tenantId: r.tenant_id, id: r.id, displayName: r.display_name, createdAt: Number(r.created_at),
  deletedAt: num(r.deleted_at),
});

function num(v: number | null | undefined): number | null {
  return v === null || v === undefined ? null : Number(v);
}

/** Condition "the interval [valid_from, valid_to) contains t", usable in kysely where clauses. */
export function openAt<T extends { valid_from: number | null; valid_to: number | null }>(rows: T[], t: number): T[] {
  return rows.filter((r) => (r.valid_from === null || Number(r.valid_from) <= t) && (r.valid_to === null || Number(r.valid_to) > t));
}

export class DirectoryStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  // --- tenants -------------------------------------------------------------------------------

  async putTenant(t: Tenant): Promise<void> {
    await this.#db.insertInto("tenants")
      .values({ id: t.id, display_name: t.displayName, domain: t.domain, created_at: t.createdAt })
      .onConflict((oc) => oc.column("id").doUpdateSet({ display_name: t.displayName, domain: t.domain }))
      .execute();
  }

  async getTenant(id: string): Promise<Tenant | undefined> {
    const r = await this.#db.selectFrom("tenants").selectAll().where("id", "=", id.toLowerCase()).executeTakeFirst();
    return r ? toTenant(r) : undefined;
  }

  /** Finds a tenant by GUID or by its domain (as Entra ID accepts both in authority URLs). */
  async findTenant(idOrDomain: string): Promise<Tenant | undefined> {
    const key = idOrDomain.toLowerCase();
    const r = await this.#db.selectFrom("tenants").selectAll()
      .where((eb) => eb.or([eb("id", "=", key), eb("domain", "=", key)]))
      .executeTakeFirst();
    return r ? toTenant(r) : undefined;
  }

  async listTenants(): Promise<Tenant[]> {
    const rows = await this.#db.selectFrom("tenants").selectAll().orderBy("display_name").execute();
    return rows.map(toTenant);
  }

  // --- users -------------------------------------------------------------------------------

  async putUser(u: User): Promise<void> {
    const row = {
      tenant_id: u.tenantId, id: u.id, user_principal_name: u.userPrincipalName,
      upn_lower: u.userPrincipalName.toLowerCase(), display_name: u.displayName, kind: u.kind,
      password_hash: u.passwordHash, home_tenant_id: u.homeTenantId, home_object_id: u.homeObjectId,
      created_at: u.createdAt, deleted_at: u.deletedAt,
    };
    await this.#db.insertInto("users").values(row)
      .onConflict((oc) => oc.columns(["tenant_id", "id"]).doUpdateSet({
        user_principal_name: row.user_principal_name, upn_lower: row.upn_lower, display_name: row.display_name,
        kind: row.kind, password_hash: row.password_hash, home_tenant_id: row.home_tenant_id,
        home_object_id: row.home_object_id, deleted_at: row.deleted_at,
      }))
      .execute();
  }

  async getUser(tenantId: string, id: string): Promise<User | undefined> {
    const r = await this.#db.selectFrom("users").selectAll()
      .where("tenant_id", "=", tenantId).where("id", "=", id).executeTakeFirst();
    return r ? toUser(r) : undefined;
  }

  async findUserByUpn(tenantId: string, upn: string): Promise<User | undefined> {
    const r = await this.#db.selectFrom("users").selectAll()
      .where("tenant_id", "=", tenantId).where("upn_lower", "=", upn.toLowerCase()).executeTakeFirst();
    return r ? toUser(r) : undefined;
  }

  /** Finds a member user by UPN in any tenant (a home account signing in somewhere). */
  async findMemberByUpn(upn: string): Promise<User | undefined> {
    const r = await this.#db.selectFrom("users").selectAll()
      .where("upn_lower", "=", upn.toLowerCase()).where("kind", "=", "member").executeTakeFirst();
    return r ? toUser(r) : undefined;
  }

  /** The guest object in `tenantId` that points at the given home account, if any. */
  async findGuestOf(tenantId: string, homeTenantId: string, homeObjectId: string): Promise<User | undefined> {
    const r = await this.#db.selectFrom("users").selectAll()
      .where("tenant_id", "=", tenantId).where("kind", "=", "guest")
      .where("home_tenant_id", "=", homeTenantId).where("home_object_id", "=", homeObjectId)
      .executeTakeFirst();
    return r ? toUser(r) : undefined;
  }

  /** Every guest object, in any tenant, of the given home account (for "Switch directory"). */
  async listGuestsOf(homeTenantId: string, homeObjectId: string): Promise<User[]> {
    const rows = await this.#db.selectFrom("users").selectAll().where("kind", "=", "guest")
      .where("home_tenant_id", "=", homeTenantId).where("home_object_id", "=", homeObjectId).execute();
    return rows.map(toUser);
  }

  async listUsers(tenantId: string): Promise<User[]> {
    const rows = await this.#db.selectFrom("users").selectAll().where("tenant_id", "=", tenantId).orderBy("upn_lower").execute();
    return rows.map(toUser);
  }

  async markUserDeleted(tenantId: string, id: string, at: number): Promise<void> {
    await this.#db.updateTable("users").set({ deleted_at: at })
      .where("tenant_id", "=", tenantId).where("id", "=", id).where("deleted_at", "is", null).execute();
  }

  // --- applications ---------------------------------------------------------------------------

  async putApplication(a: Application): Promise<void> {
    const objectId = a.objectId ?? null;
    await this.#db.insertInto("applications")
      .values({ app_id: a.appId, object_id: objectId, display_name: a.displayName, home_tenant_id: a.homeTenantId, created_at: a.createdAt, deleted_at: a.deletedAt })
      .onConflict((oc) => oc.column("app_id").doUpdateSet(
        objectId === null
          ? { display_name: a.displayName, home_tenant_id: a.homeTenantId, deleted_at: a.deletedAt }
          : { display_name: a.displayName, home_tenant_id: a.homeTenantId, deleted_at: a.deletedAt, object_id: objectId },
      ))
      .execute();
  }

  /** An application by its object id (Graph's `id`). */
  async findApplicationByObjectId(objectId: string): Promise<Application | undefined> {
    const r = await this.#db.selectFrom("applications").selectAll().where("object_id", "=", objectId.toLowerCase()).executeTakeFirst();
    return r ? toApp(r) : undefined;
  }

  async markApplicationDeleted(appId: string, at: number): Promise<void> {
    await this.#db.updateTable("applications").set({ deleted_at: at }).where("app_id", "=", appId).where("deleted_at", "is", null).execute();
  }

  /** Removes a secret (Graph removePassword). Returns whether it existed. */
  async removeSecret(appId: string, keyId: string): Promise<boolean> {
    const r = await this.#db.deleteFrom("application_secrets").where("app_id", "=", appId).where("key_id", "=", keyId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async getApplication(appId: string): Promise<Application | undefined> {
    const r = await this.#db.selectFrom("applications").selectAll().where("app_id", "=", appId.toLowerCase()).executeTakeFirst();
    return r ? toApp(r) : undefined;
  }

  async listApplications(): Promise<Application[]> {
    return (await this.#db.selectFrom("applications").selectAll().orderBy("display_name").execute()).map(toApp);
  }

  async addSecret(s: ApplicationSecret): Promise<void> {
    await this.#db.insertInto("application_secrets").values({
      app_id: s.appId, key_id: s.keyId, secret_hash: s.secretHash, hint: s.hint, display_name: s.displayName,
      created_at: s.createdAt, expires_at: s.expiresAt,
    }).onConflict((oc) => oc.column("key_id").doNothing()).execute();
  }

  async listSecrets(appId: string): Promise<ApplicationSecret[]> {
    return (await this.#db.selectFrom("application_secrets").selectAll().where("app_id", "=", appId).execute()).map(toSecret);
  }

  async addCertificate(c: ApplicationCertificate): Promise<void> {
    await this.#db.insertInto("application_certificates").values({
      app_id: c.appId, key_id: c.keyId, thumbprint_sha1: c.thumbprintSha1, thumbprint_sha256: c.thumbprintSha256,
      certificate_pem: c.certificatePem, created_at: c.createdAt, expires_at: c.expiresAt,
    }).onConflict((oc) => oc.column("key_id").doNothing()).execute();
  }

  async listCertificates(appId: string): Promise<ApplicationCertificate[]> {
    return (await this.#db.selectFrom("application_certificates").selectAll().where("app_id", "=", appId).execute()).map(toCert);
  }

  // --- service principals -----------------------------------------------------------------------

  async putServicePrincipal(sp: ServicePrincipal): Promise<void> {
    await this.#db.insertInto("service_principals").values({
      tenant_id: sp.tenantId, id: sp.id, app_id: sp.appId, display_name: sp.displayName,
      created_at: sp.createdAt, deleted_at: sp.deletedAt,
    }).onConflict((oc) => oc.columns(["tenant_id", "id"]).doUpdateSet({ app_id: sp.appId, display_name: sp.displayName, deleted_at: sp.deletedAt }))
      .execute();
  }

  async getServicePrincipal(tenantId: string, id: string): Promise<ServicePrincipal | undefined> {
    const r = await this.#db.selectFrom("service_principals").selectAll()
      .where("tenant_id", "=", tenantId).where("id", "=", id).executeTakeFirst();
    return r ? toSp(r) : undefined;
  }

  /** The service principal of `appId` in `tenantId` (deleted ones included; callers check). */
  async findServicePrincipalByApp(tenantId: string, appId: string): Promise<ServicePrincipal | undefined> {
    const rows = await this.#db.selectFrom("service_principals").selectAll()
      .where("tenant_id", "=", tenantId).where("app_id", "=", appId.toLowerCase())
      .orderBy("created_at", "desc").execute();
    const live = rows.find((r) => r.deleted_at === null) ?? rows[0];
    return live ? toSp(live) : undefined;
  }

  async listServicePrincipals(tenantId: string): Promise<ServicePrincipal[]> {
    return (await this.#db.selectFrom("service_principals").selectAll().where("tenant_id", "=", tenantId).orderBy("display_name").execute()).map(toSp);
  }

  /** Every tenant where the application has a live service principal. */
  async listServicePrincipalsOfApp(appId: string): Promise<ServicePrincipal[]> {
    return (await this.#db.selectFrom("service_principals").selectAll()
      .where("app_id", "=", appId.toLowerCase()).where("deleted_at", "is", null).execute()).map(toSp);
  }

  async markServicePrincipalDeleted(tenantId: string, id: string, at: number): Promise<void> {
    await this.#db.updateTable("service_principals").set({ deleted_at: at })
      .where("tenant_id", "=", tenantId).where("id", "=", id).where("deleted_at", "is", null).execute();
  }

  // --- groups -------------------------------------------------------------------------------

  async putGroup(g: Group): Promise<void> {
    await this.#db.insertInto("groups").values({
      tenant_id: g.tenantId, id: g.id, display_name: g.displayName, created_at: g.createdAt, deleted_at: g.deletedAt,
    }).onConflict((oc) => oc.columns(["tenant_id", "id"]).doUpdateSet({ display_name: g.displayName, deleted_at: g.deletedAt }))
      .execute();
  }

  async getGroup(tenantId: string, id: string): Promise<Group | undefined> {
    const r = await this.#db.selectFrom("groups").selectAll().where("tenant_id", "=", tenantId).where("id", "=", id).executeTakeFirst();
    return r ? toGroup(r) : undefined;
  }

  async listGroups(tenantId: string): Promise<Group[]> {
    return (await this.#db.selectFrom("groups").selectAll().where("tenant_id", "=", tenantId).orderBy("display_name").execute()).map(toGroup);
  }

  async markGroupDeleted(tenantId: string, id: string, at: number): Promise<void> {
    await this.#db.updateTable("groups").set({ deleted_at: at })
      .where("tenant_id", "=", tenantId).where("id", "=", id).where("deleted_at", "is", null).execute();
  }

  /** Opens a membership interval. Does nothing if one is already open for this pair. */
  async addMember(tenantId: string, groupId: string, memberId: string, from: number | null, to: number | null = null): Promise<void> {
    await this.#db.insertInto("group_members")
      .values({ tenant_id: tenantId, group_id: groupId, member_id: memberId, valid_from: from, valid_to: to })
      .execute();
  }

  /** Closes the open membership interval of this pair at `at`. Returns whether one was open. */
  async removeMember(tenantId: string, groupId: string, memberId: string, at: number): Promise<boolean> {
    const result = await this.#db.updateTable("group_members").set({ valid_to: at })
      .where("tenant_id", "=", tenantId).where("group_id", "=", groupId).where("member_id", "=", memberId)
      .where("valid_to", "is", null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** All membership intervals (history included) of a tenant. */
  async listMemberships(tenantId: string): Promise<Membership[]> {
    const rows = await this.#db.selectFrom("group_members").selectAll().where("tenant_id", "=", tenantId).orderBy("seq").execute();
    return rows.map((r) => ({ tenantId: r.tenant_id, groupId: r.group_id, memberId: r.member_id, validFrom: num(r.valid_from), validTo: num(r.valid_to) }));
  }

  // --- principal state ----------------------------------------------------------------------

  /** Finds a principal by object id in a tenant: user, service principal or group. */
  async findPrincipal(tenantId: string, objectId: string): Promise<Principal | undefined> {
    const user = await this.getUser(tenantId, objectId);
    if (user) return { type: "User", user };
    const sp = await this.getServicePrincipal(tenantId, objectId);
    if (sp) return { type: "ServicePrincipal", servicePrincipal: sp };
    const group = await this.getGroup(tenantId, objectId);
    if (group) return { type: "Group", group };
    return undefined;
  }

  async addDisabledInterval(tenantId: string, objectId: string, from: number | null, to: number | null): Promise<void> {
    await this.#db.insertInto("principal_disabled").values({ tenant_id: tenantId, object_id: objectId, valid_from: from, valid_to: to }).execute();
  }

  /** Disables from `at` (opens an interval) unless already disabled. */
  async disable(tenantId: string, objectId: string, at: number): Promise<boolean> {
    if (await this.isDisabled(tenantId, objectId, at)) return false;
    await this.addDisabledInterval(tenantId, objectId, at, null);
    return true;
  }

  /** Enables from `at` (closes the open disabled interval). */
  async enable(tenantId: string, objectId: string, at: number): Promise<boolean> {
    const r = await this.#db.updateTable("principal_disabled").set({ valid_to: at })
      .where("tenant_id", "=", tenantId).where("object_id", "=", objectId).where("valid_to", "is", null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async isDisabled(tenantId: string, objectId: string, at: number): Promise<boolean> {
    const rows = await this.#db.selectFrom("principal_disabled").selectAll()
      .where("tenant_id", "=", tenantId).where("object_id", "=", objectId).execute();
    return openAt(rows, at).length > 0;
  }

  async listDisabledIntervals(tenantId: string): Promise<{ objectId: string; validFrom: number | null; validTo: number | null }[]> {
    const rows = await this.#db.selectFrom("principal_disabled").selectAll().where("tenant_id", "=", tenantId).orderBy("seq").execute();
    return rows.map((r) => ({ objectId: r.object_id, validFrom: num(r.valid_from), validTo: num(r.valid_to) }));
  }

  // --- delegated admins ----------------------------------------------------------------------

  async addDelegatedAdmin(d: DelegatedAdmin): Promise<void> {
    await this.#db.insertInto("delegated_admins").values({
      tenant_id: d.tenantId, partner_tenant_id: d.partnerTenantId, valid_from: d.validFrom, valid_to: d.validTo,
    }).execute();
  }

  async listDelegatedAdmins(tenantId: string): Promise<DelegatedAdmin[]> {
    const rows = await this.#db.selectFrom("delegated_admins").selectAll().where("tenant_id", "=", tenantId).orderBy("seq").execute();
    return rows.map((r) => ({ tenantId: r.tenant_id, partnerTenantId: r.partner_tenant_id, validFrom: num(r.valid_from), validTo: num(r.valid_to) }));
  }

  /** Whether users of `partnerTenantId` may act in `tenantId` as foreign principals at `at`. */
  async hasDelegatedAdmin(tenantId: string, partnerTenantId: string, at: number): Promise<boolean> {
    const rows = await this.#db.selectFrom("delegated_admins").selectAll()
      .where("tenant_id", "=", tenantId).where("partner_tenant_id", "=", partnerTenantId).execute();
    return openAt(rows, at).length > 0;
  }
}
