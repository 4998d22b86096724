/**
 * Grants of the token service: refresh tokens, device codes and authorization codes. Only the
 * SHA-256 of each handle is stored, so a copy of the database cannot be replayed as credentials.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";

export type GrantKind = "refresh_token" | "device_code" | "authorization_code";
export type GrantStatus = "pending" | "approved" | "denied" | "redeemed" | "revoked";

export interface Grant {
  readonly tenantId: string;
  readonly handleHash: string;
  readonly kind: GrantKind;
  readonly clientId: string;
  readonly userCode: string | null;
  readonly status: GrantStatus;
  readonly objectId: string | null;
  readonly details: Readonly<Record<string, unknown>>;
  readonly createdAt: number;
  readonly expiresAt: number;
  /**
   * The token family: every refresh token descended from one sign-in and the code it started
   * from share it. Absent on grants made before 0009.
   */
  readonly familyId?: string | null;
}

const toGrant = (r: Database["grants"]): Grant => ({
  tenantId: r.tenant_id, handleHash: r.handle_hash, kind: r.kind as GrantKind, clientId: r.client_id,
  userCode: r.user_code, status: r.status as GrantStatus, objectId: r.object_id,
  details: JSON.parse(r.details) as Record<string, unknown>, createdAt: Number(r.created_at), expiresAt: Number(r.expires_at),
  familyId: r.family_id ?? null,
});

export class GrantStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async add(g: Grant): Promise<void> {
    await this.#db.insertInto("grants").values({
      tenant_id: g.tenantId, handle_hash: g.handleHash, kind: g.kind, client_id: g.clientId, user_code: g.userCode,
      status: g.status, object_id: g.objectId, details: JSON.stringify(g.details), created_at: g.createdAt, expires_at: g.expiresAt,
      family_id: g.familyId ?? null,
    }).execute();
  }

  async get(handleHash: string): Promise<Grant | undefined> {
    const r = await this.#db.selectFrom("grants").selectAll().where("handle_hash", "=", handleHash).executeTakeFirst();
    return r ? toGrant(r) : undefined;
  }

  async findByUserCode(userCode: string): Promise<Grant | undefined> {
    const r = await this.#db.selectFrom("grants").selectAll().where("user_code", "=", userCode)
      .where("kind", "=", "device_code").orderBy("created_at", "desc").executeTakeFirst();
    return r ? toGrant(r) : undefined;
  }

  /**
   * Moves a grant from one status to another only if it is still in `from` (compare-and-set), so
   * a code can be redeemed once even under concurrent requests. Returns whether it moved.
   */
  async transition(handleHash: string, from: GrantStatus, to: GrantStatus, objectId?: string): Promise<boolean> {
    const set: { status: string; object_id?: string } = { status: to };
    if (objectId !== undefined) set.object_id = objectId;
    const r = await this.#db.updateTable("grants").set(set)
      .where("handle_hash", "=", handleHash).where("status", "=", from).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Like `transition`, and also replaces the grant's details in the same compare-and-set (a
   * device code records who approved it). Returns whether it moved.
   */
  async transitionWithDetails(handleHash: string, from: GrantStatus, to: GrantStatus, objectId: string, details: Readonly<Record<string, unknown>>): Promise<boolean> {
    const r = await this.#db.updateTable("grants").set({ status: to, object_id: objectId, details: JSON.stringify(details) })
      .where("handle_hash", "=", handleHash).where("status", "=", from).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Revokes every still-usable grant of a token family (refresh tokens not yet used, codes not yet
   * redeemed). Returns how many were revoked.
   */
  async revokeFamily(familyId: string): Promise<number> {
    const r = await this.#db.updateTable("grants").set({ status: "revoked" })
      .where("family_id", "=", familyId).where("status", "in", ["pending", "approved"]).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async deleteExpired(before: number): Promise<number> {
    const r = await this.#db.deleteFrom("grants").where("expires_at", "<", before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
