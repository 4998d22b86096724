/**
 * Rows of the portal's sessions and pending sign-ins (migration 0012), shared by every server on
 * the store. The portal (src/portal/sessions.ts) seals what is secret before it gets here; this
 * module stores opaque text and enforces the one-time and one-refresher rules with single
 * statements (compare-and-set), so they hold across servers.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";

interface PortalSessionsTable {
  id_hash: string;
  current_tenant_id: string;
  sealed: string;
  created_at: number;
  last_seen_at: number;
  lease_until: number | null;
}

interface PortalLoginsTable {
  state_hash: string;
  sealed: string;
  expires_at: number;
}

type Tables = { portal_sessions: PortalSessionsTable; portal_logins: PortalLoginsTable };

export interface PortalSessionRow {
  readonly idHash: string;
  readonly currentTenantId: string;
  readonly sealed: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly leaseUntil: number | null;
}

const toRow = (r: PortalSessionsTable): PortalSessionRow => ({
  idHash: r.id_hash, currentTenantId: r.current_tenant_id, sealed: r.sealed, createdAt: Number(r.created_at),
  lastSeenAt: Number(r.last_seen_at), leaseUntil: r.lease_until === null ? null : Number(r.lease_until),
});

export class PortalSessionRows {
  readonly #db: Kysely<Database & Tables>;
  constructor(db: Kysely<Database>) {
    this.#db = db.withTables<Tables>();
  }

  async addLogin(stateHash: string, sealed: string, expiresAt: number): Promise<void> {
    await this.#db.insertInto("portal_logins").values({ state_hash: stateHash, sealed, expires_at: expiresAt }).execute();
  }

  /** Removes and returns a pending sign-in: of two servers taking the same one, one gets it. */
  async takeLogin(stateHash: string): Promise<{ sealed: string; expiresAt: number } | undefined> {
    const r = await this.#db.deleteFrom("portal_logins").where("state_hash", "=", stateHash).returning(["sealed", "expires_at"]).executeTakeFirst();
    return r ? { sealed: r.sealed, expiresAt: Number(r.expires_at) } : undefined;
  }

  async add(row: Omit<PortalSessionRow, "leaseUntil">): Promise<void> {
    await this.#db.insertInto("portal_sessions").values({
      id_hash: row.idHash, current_tenant_id: row.currentTenantId, sealed: row.sealed, created_at: row.createdAt, last_seen_at: row.lastSeenAt, lease_until: null,
    }).execute();
  }

  async get(idHash: string): Promise<PortalSessionRow | undefined> {
    const r = await this.#db.selectFrom("portal_sessions").selectAll().where("id_hash", "=", idHash).executeTakeFirst();
    return r ? toRow(r) : undefined;
  }

  async touch(idHash: string, at: number): Promise<void> {
    await this.#db.updateTable("portal_sessions").set({ last_seen_at: at }).where("id_hash", "=", idHash).execute();
  }

  async setCurrentTenant(idHash: string, tenantId: string): Promise<void> {
    await this.#db.updateTable("portal_sessions").set({ current_tenant_id: tenantId }).where("id_hash", "=", idHash).execute();
  }

  /**
   * Takes the session's refresh lease until `until` if nobody holds a live one (compare-and-set).
   * Returns whether this caller holds it now.
   */
  async takeLease(idHash: string, now: number, until: number): Promise<boolean> {
    const r = await this.#db.updateTable("portal_sessions").set({ lease_until: until })
      .where("id_hash", "=", idHash)
      .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<=", now)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Stores the new sealed state (after a refresh) and releases the lease. */
  async releaseLease(idHash: string, sealed?: string): Promise<void> {
    await this.#db.updateTable("portal_sessions").set(sealed === undefined ? { lease_until: null } : { lease_until: null, sealed })
      .where("id_hash", "=", idHash).execute();
  }

  async delete(idHash: string): Promise<void> {
    await this.#db.deleteFrom("portal_sessions").where("id_hash", "=", idHash).execute();
  }

  /** Deletes sessions idle since `idleBefore` or created before `createdBefore`, and expired sign-ins. */
  async sweep(now: number, idleBefore: number, createdBefore: number): Promise<void> {
    await this.#db.deleteFrom("portal_sessions")
      .where((eb) => eb.or([eb("last_seen_at", "<", idleBefore), eb("created_at", "<", createdBefore)])).execute();
    await this.#db.deleteFrom("portal_logins").where("expires_at", "<=", now).execute();
  }
}
