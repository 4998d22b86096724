/**
 * 0004: the resource model (management groups, subscriptions, resource groups, resources) and
 * access (custom role definitions, role assignments, Lighthouse registration definitions and
 * assignments, eligible-authorization activations). Every row is effective-dated
 * (valid_from/valid_to, null = since always / still so): a change closes the open row and opens a
 * new one, a delete closes it, so history is never lost. Tables lead with tenant_id (the tenant
 * that owns the scope) so they shard by tenant. `*_key` columns hold lower-cased ids: ARM ids
 * compare case-insensitively, the display column keeps the case as written.
 */
import type { Kysely } from "kysely";
import { withSeq, type Dialect, type Migration } from "./helpers.ts";

async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const s = db.schema;
  const dated = <T extends string>(name: T) => withSeq(s.createTable(name), dialect).addColumn("tenant_id", "text", (c) => c.notNull());

  await dated("management_groups")
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("id_key", "text", (c) => c.notNull())
    .addColumn("display_name", "text", (c) => c.notNull())
    .addColumn("parent_id", "text")
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await s.createIndex("management_groups_id").on("management_groups").columns(["tenant_id", "id_key"]).execute();

  await dated("subscriptions")
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("display_name", "text", (c) => c.notNull())
    .addColumn("offer_type", "text", (c) => c.notNull())
    .addColumn("account_owner_id", "text")
    .addColumn("management_group_id", "text")
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await s.createIndex("subscriptions_tenant").on("subscriptions").columns(["tenant_id", "id"]).execute();
  await s.createIndex("subscriptions_id").on("subscriptions").column("id").execute();

  await dated("resource_groups")
    .addColumn("subscription_id", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("name_key", "text", (c) => c.notNull())
    .addColumn("location", "text", (c) => c.notNull())
    .addColumn("tags", "text", (c) => c.notNull())
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await s.createIndex("resource_groups_sub").on("resource_groups").columns(["tenant_id", "subscription_id", "name_key"]).execute();

  await dated("resources")
    .addColumn("subscription_id", "text", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("id_key", "text", (c) => c.notNull())
    .addColumn("resource_group_key", "text")
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("location", "text", (c) => c.notNull())
    .addColumn("tags", "text", (c) => c.notNull())
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await s.createIndex("resources_id").on("resources").columns(["tenant_id", "id_key"]).execute();
  await s.createIndex("resources_sub").on("resources").columns(["tenant_id", "subscription_id", "resource_group_key"]).execute();

  await dated("role_definitions")
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("role_name", "text", (c) => c.notNull())
    .addColumn("role_type", "text", (c) => c.notNull())
    .addColumn("description", "text", (c) => c.notNull())
    .addColumn("assignable_scopes", "text", (c) => c.notNull())
    .addColumn("permissions", "text", (c) => c.notNull())
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await s.createIndex("role_definitions_id").on("role_definitions").columns(["tenant_id", "id"]).execute();

  await dated("role_assignments")
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("scope", "text", (c) => c.notNull())
    .addColumn("scope_key", "text", (c) => c.notNull())
    .addColumn("role_definition_id", "text", (c) => c.notNull())
    .addColumn("principal_id", "text", (c) => c.notNull())
    .addColumn("principal_type", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("condition", "text")
    .addColumn("condition_version", "text")
    .addColumn("created_by", "text")
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await s.createIndex("role_assignments_id").on("role_assignments").columns(["tenant_id", "id"]).execute();
  await s.createIndex("role_assignments_principal").on("role_assignments").columns(["tenant_id", "principal_id"]).execute();
  await s.createIndex("role_assignments_scope").on("role_assignments").columns(["tenant_id", "scope_key"]).execute();

  await dated("registration_definitions")
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("scope", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("managed_by_tenant_id", "text", (c) => c.notNull())
    .addColumn("managed_by_tenant_name", "text")
    .addColumn("authorizations", "text", (c) => c.notNull())
    .addColumn("plan", "text")
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await s.createIndex("registration_definitions_id").on("registration_definitions").columns(["tenant_id", "id"]).execute();
  await s.createIndex("registration_definitions_managed_by").on("registration_definitions").column("managed_by_tenant_id").execute();

  await dated("registration_assignments")
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("scope", "text", (c) => c.notNull())
    .addColumn("scope_key", "text", (c) => c.notNull())
    .addColumn("registration_definition_id", "text", (c) => c.notNull())
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await s.createIndex("registration_assignments_id").on("registration_assignments").columns(["tenant_id", "id"]).execute();
  await s.createIndex("registration_assignments_scope").on("registration_assignments").columns(["tenant_id", "scope_key"]).execute();

  await dated("eligible_activations")
    .addColumn("registration_assignment_id", "text", (c) => c.notNull())
    .addColumn("principal_id", "text", (c) => c.notNull())
    .addColumn("role_definition_id", "text", (c) => c.notNull())
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await s.createIndex("eligible_activations_assignment").on("eligible_activations").columns(["tenant_id", "registration_assignment_id"]).execute();
}

export const resourcesAccess: Migration = { name: "0004_resources_access", up };
