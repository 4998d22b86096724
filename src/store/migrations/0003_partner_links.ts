/**
 * 0003: Partner Admin Link. Two tables:
 * - `partner_link_principals`: one row per (tenant, object) that ever wrote a link, holding what
 *   outlives a single link (createdTime, version, updatedTime). It is also the row writers lock,
 *   so concurrent writes by one principal are serialised on PostgreSQL.
 * - `partner_links`: effective-dated intervals [valid_from, valid_to) of "linked to partner id";
 *   a PATCH closes one and opens the next, a DELETE closes it. At most one open interval per
 *   principal, enforced by a partial unique index on both dialects.
 */
import { sql, type Kysely } from "kysely";
import { withSeq, type Dialect, type Migration } from "./helpers.ts";

async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await db.schema.createTable("partner_link_principals")
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("object_id", "text", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_time", "bigint")
    .addColumn("updated_time", "bigint")
    .addPrimaryKeyConstraint("partner_link_principals_pk", ["tenant_id", "object_id"])
    .execute();
  await withSeq(db.schema.createTable("partner_links"), dialect)
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("object_id", "text", (c) => c.notNull())
    .addColumn("partner_id", "text", (c) => c.notNull())
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await db.schema.createIndex("partner_links_principal").on("partner_links").columns(["tenant_id", "object_id", "valid_from"]).execute();
  await db.schema.createIndex("partner_links_one_open").on("partner_links").columns(["tenant_id", "object_id"]).unique()
    .where(sql.ref("valid_to"), "is", null).execute();
  // Dropped again in 0015: no query reads links by partner id alone.
  await db.schema.createIndex("partner_links_partner").on("partner_links").column("partner_id").execute();
}

export const partnerLinks: Migration = { name: "0003_partner_links", up };
