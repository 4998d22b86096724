/** 0001: directory, token-service grants and keys, partner registry, audit log. */
import type { Kysely } from "kysely";
import { sql } from "kysely";
import { withSeq, type Dialect, type Migration } from "./helpers.ts";

async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const s = db.schema;
  await s.createTable("tenants")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("display_name", "text", (c) => c.notNull())
    .addColumn("domain", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await s.createIndex("tenants_domain").on("tenants").column("domain").execute();

  await s.createTable("applications")
    .addColumn("app_id", "text", (c) => c.primaryKey())
    .addColumn("display_name", "text", (c) => c.notNull())
    .addColumn("home_tenant_id", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("deleted_at", "bigint")
    .execute();
  await s.createTable("application_secrets")
    .addColumn("app_id", "text", (c) => c.notNull())
    .addColumn("key_id", "text", (c) => c.primaryKey())
    .addColumn("secret_hash", "text", (c) => c.notNull())
    .addColumn("hint", "text", (c) => c.notNull())
    .addColumn("display_name", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint")
    .execute();
  await s.createIndex("application_secrets_app").on("application_secrets").column("app_id").execute();
  await s.createTable("application_certificates")
    .addColumn("app_id", "text", (c) => c.notNull())
    .addColumn("key_id", "text", (c) => c.primaryKey())
    .addColumn("thumbprint_sha1", "text", (c) => c.notNull())
    .addColumn("thumbprint_sha256", "text", (c) => c.notNull())
    .addColumn("certificate_pem", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint")
    .execute();
  await s.createIndex("application_certificates_app").on("application_certificates").column("app_id").execute();

  await s.createTable("users")
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("user_principal_name", "text", (c) => c.notNull())
    .addColumn("upn_lower", "text", (c) => c.notNull())
    .addColumn("display_name", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("password_hash", "text")
    .addColumn("home_tenant_id", "text")
    .addColumn("home_object_id", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("deleted_at", "bigint")
    .addPrimaryKeyConstraint("users_pk", ["tenant_id", "id"])
    .execute();
  await s.createIndex("users_upn").on("users").columns(["tenant_id", "upn_lower"]).unique().execute();
  await s.createIndex("users_home").on("users").columns(["home_tenant_id", "home_object_id"]).execute();

  await s.createTable("service_principals")
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("app_id", "text", (c) => c.notNull())
    .addColumn("display_name", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("deleted_at", "bigint")
    .addPrimaryKeyConstraint("service_principals_pk", ["tenant_id", "id"])
    .execute();
  await s.createIndex("service_principals_app").on("service_principals").columns(["tenant_id", "app_id"]).execute();

  await s.createTable("groups")
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("display_name", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("deleted_at", "bigint")
    .addPrimaryKeyConstraint("groups_pk", ["tenant_id", "id"])
    .execute();
  await withSeq(s.createTable("group_members"), dialect)
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("group_id", "text", (c) => c.notNull())
    .addColumn("member_id", "text", (c) => c.notNull())
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await s.createIndex("group_members_group").on("group_members").columns(["tenant_id", "group_id"]).execute();
  await s.createIndex("group_members_member").on("group_members").columns(["tenant_id", "member_id"]).execute();

  await withSeq(s.createTable("principal_disabled"), dialect)
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("object_id", "text", (c) => c.notNull())
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await s.createIndex("principal_disabled_principal").on("principal_disabled").columns(["tenant_id", "object_id"]).execute();

  await withSeq(s.createTable("delegated_admins"), dialect)
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("partner_tenant_id", "text", (c) => c.notNull())
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await s.createIndex("delegated_admins_tenant").on("delegated_admins").columns(["tenant_id", "partner_tenant_id"]).execute();

  await s.createTable("signing_keys")
    .addColumn("kid", "text", (c) => c.primaryKey())
    .addColumn("alg", "text", (c) => c.notNull())
    .addColumn("private_jwk", "text", (c) => c.notNull())
    .addColumn("public_jwk", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("retired_at", "bigint")
    .addColumn("publish_until", "bigint")
    .execute();

  await s.createTable("grants")
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("handle_hash", "text", (c) => c.primaryKey())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("client_id", "text", (c) => c.notNull())
    .addColumn("user_code", "text")
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("object_id", "text")
    .addColumn("details", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .execute();
  await s.createIndex("grants_user_code").on("grants").column("user_code").execute();

  await s.createTable("partners")
    .addColumn("global_id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await s.createTable("partner_tenants")
    .addColumn("global_id", "text", (c) => c.notNull())
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("partner_tenants_pk", ["global_id", "tenant_id"])
    .execute();
  await s.createTable("partner_locations")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("global_id", "text", (c) => c.notNull())
    .addColumn("country", "text")
    .addColumn("name", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await s.createIndex("partner_locations_global").on("partner_locations").column("global_id").execute();
  await withSeq(s.createTable("partner_location_status"), dialect)
    .addColumn("location_id", "text", (c) => c.notNull())
    .addColumn("active", "integer", (c) => c.notNull())
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await s.createIndex("partner_location_status_location").on("partner_location_status").column("location_id").execute();

  await withSeq(s.createTable("audit_log"), dialect)
    .addColumn("at", "bigint", (c) => c.notNull())
    .addColumn("tenant_id", "text")
    .addColumn("actor_tenant_id", "text")
    .addColumn("actor_object_id", "text")
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("target", "text", (c) => c.notNull())
    .addColumn("request_id", "text")
    .addColumn("details", "text", (c) => c.notNull().defaultTo(sql`'{}'`))
    .execute();
  await s.createIndex("audit_log_tenant").on("audit_log").columns(["tenant_id", "at"]).execute();
}

export const foundation: Migration = { name: "0001_foundation", up };
