/**
 * Directory roles aggregate: which principals hold an Entra directory role (Global Administrator,
 * User Administrator, …) in a tenant, effective-dated. Graph writes are allowed by these roles.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";
import { openAt } from "./directory.ts";

export interface DirectoryRoleMembership {
  readonly tenantId: string;
  readonly roleTemplateId: string;
  readonly objectId: string;
  readonly validFrom: number | null;
  readonly validTo: number | null;
}

export class DirectoryRoleStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Grants a role from `from` unless already held then. Returns whether a row was added. */
  async grant(tenantId: string, roleTemplateId: string, objectId: string, from: number | null, to: number | null = null): Promise<boolean> {
    const rows = await this.#db.selectFrom("directory_role_members").selectAll()
      .where("tenant_id", "=", tenantId).where("role_template_id", "=", roleTemplateId).where("object_id", "=", objectId).execute();
    if (rows.some((r) => r.valid_from === from && r.valid_to === to)) return false;
    if (to === null && from !== null && openAt(rows, from).length > 0) return false;
    await this.#db.insertInto("directory_role_members")
      .values({ tenant_id: tenantId, role_template_id: roleTemplateId, object_id: objectId, valid_from: from, valid_to: to }).execute();
    return true;
  }

  async revoke(tenantId: string, roleTemplateId: string, objectId: string, at: number): Promise<boolean> {
    const r = await this.#db.updateTable("directory_role_members").set({ valid_to: at })
      .where("tenant_id", "=", tenantId).where("role_template_id", "=", roleTemplateId).where("object_id", "=", objectId)
      .where("valid_to", "is", null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Role template ids the principal holds at `at`. */
  async rolesOf(tenantId: string, objectId: string, at: number): Promise<string[]> {
    const rows = await this.#db.selectFrom("directory_role_members").selectAll()
      .where("tenant_id", "=", tenantId).where("object_id", "=", objectId).execute();
    return [...new Set(openAt(rows, at).map((r) => r.role_template_id))];
  }

  async list(tenantId: string): Promise<DirectoryRoleMembership[]> {
    const rows = await this.#db.selectFrom("directory_role_members").selectAll().where("tenant_id", "=", tenantId).orderBy("seq").execute();
    return rows.map((r) => ({
      tenantId: r.tenant_id, roleTemplateId: r.role_template_id, objectId: r.object_id,
      validFrom: r.valid_from === null ? null : Number(r.valid_from), validTo: r.valid_to === null ? null : Number(r.valid_to),
    }));
  }
}
