/**
 * 0005: Entra directory roles (who administers a tenant's directory, effective-dated) and the
 * object id of applications (Graph addresses an application by its object id, not its appId).
 */
import type { Kysely } from "kysely";
import { withSeq, type Dialect, type Migration } from "./helpers.ts";

async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await withSeq(db.schema.createTable("directory_role_members"), dialect)
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("role_template_id", "text", (c) => c.notNull())
    .addColumn("object_id", "text", (c) => c.notNull())
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await db.schema.createIndex("directory_role_members_principal").on("directory_role_members").columns(["tenant_id", "object_id"]).execute();
  await db.schema.alterTable("applications").addColumn("object_id", "text").execute();
  await db.schema.createIndex("applications_object_id").on("applications").column("object_id").execute();
}

export const directoryRoles: Migration = { name: "0005_directory_roles", up };
