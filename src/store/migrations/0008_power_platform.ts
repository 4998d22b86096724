/**
 * 0008: Power Platform and Customer Insights (docs/POWER-PLATFORM.md). Every table leads with
 * tenant_id (the customer tenant), so it shards with the rest of the tenant's rows.
 *
 * - `pp_environments`: Power Platform environments (type Production / Sandbox / Trial / Developer / Default);
 * - `pp_environment_makers`: effective-dated makers of an environment (may import solutions);
 * - `pp_resources`: apps (canvas, model-driven), flows, Power BI datasets and Customer Insights
 *   instances, one row each; `details` is JSON for what only one kind has (a flow's state…);
 * - `pp_relationships`: the effective-dated principal ↔ resource relationships attribution reads
 *   (owner, coOwner, publisher, instanceUser) with how each began (basis) and the solution whose
 *   import began it; at most one open owner and one open publisher per resource (partial unique
 *   index, both dialects);
 * - `pp_workspaces`, `pp_workspace_members` (effective-dated): Power BI workspaces;
 * - `pp_solutions`, `pp_solution_components` (effective-dated membership), `pp_solution_imports`
 *   (every import: who, when, which version);
 * - `pp_async_operations`: Dataverse async operations of staged and asynchronous imports; a staged
 *   upload keeps its zip (base64) until imported;
 * - `pp_activity_events`: the server's own Power BI / Power Platform activity (imports,
 *   take-overs), read back by the admin activity events endpoint.
 */
import { sql, type Kysely } from "kysely";
import { withSeq, type Dialect, type Migration } from "./helpers.ts";

async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await db.schema.createTable("pp_environments")
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("display_name", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("location", "text", (c) => c.notNull())
    .addColumn("created_by", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("deleted_at", "bigint")
    .addPrimaryKeyConstraint("pp_environments_pk", ["tenant_id", "id"])
    .execute();

  await withSeq(db.schema.createTable("pp_environment_makers"), dialect)
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("environment_id", "text", (c) => c.notNull())
    .addColumn("principal_id", "text", (c) => c.notNull())
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await db.schema.createIndex("pp_environment_makers_env").on("pp_environment_makers").columns(["tenant_id", "environment_id", "principal_id"]).execute();

  await db.schema.createTable("pp_resources")
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("environment_id", "text")
    .addColumn("workspace_id", "text")
    .addColumn("display_name", "text", (c) => c.notNull())
    .addColumn("created_by", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("modified_at", "bigint", (c) => c.notNull())
    .addColumn("deleted_at", "bigint")
    .addColumn("details", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("pp_resources_pk", ["tenant_id", "id"])
    .execute();
  // Admin lists page by id within (tenant, environment, kind).
  await db.schema.createIndex("pp_resources_env").on("pp_resources").columns(["tenant_id", "environment_id", "kind", "id"]).execute();
  await db.schema.createIndex("pp_resources_workspace").on("pp_resources").columns(["tenant_id", "workspace_id", "id"]).execute();

  await withSeq(db.schema.createTable("pp_relationships"), dialect)
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("resource_id", "text", (c) => c.notNull())
    .addColumn("principal_id", "text", (c) => c.notNull())
    .addColumn("relation", "text", (c) => c.notNull())
    .addColumn("basis", "text", (c) => c.notNull())
    .addColumn("solution_id", "text")
    .addColumn("role", "text")
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .addColumn("set_by", "text")
    .addColumn("ended_by", "text")
    .execute();
  await db.schema.createIndex("pp_relationships_resource").on("pp_relationships").columns(["tenant_id", "resource_id", "valid_from"]).execute();
  await db.schema.createIndex("pp_relationships_principal").on("pp_relationships").columns(["tenant_id", "principal_id"]).execute();
  await db.schema.createIndex("pp_relationships_one_open").on("pp_relationships").columns(["tenant_id", "resource_id", "relation"]).unique()
    .where(sql<boolean>`valid_to is null and relation in ('owner', 'publisher')`).execute();

  await db.schema.createTable("pp_workspaces")
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("display_name", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("pp_workspaces_pk", ["tenant_id", "id"])
    .execute();
  await withSeq(db.schema.createTable("pp_workspace_members"), dialect)
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("workspace_id", "text", (c) => c.notNull())
    .addColumn("principal_id", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull())
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await db.schema.createIndex("pp_workspace_members_ws").on("pp_workspace_members").columns(["tenant_id", "workspace_id", "principal_id"]).execute();

  await db.schema.createTable("pp_solutions")
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("environment_id", "text", (c) => c.notNull())
    .addColumn("unique_name", "text", (c) => c.notNull())
    .addColumn("friendly_name", "text", (c) => c.notNull())
    .addColumn("version", "text", (c) => c.notNull())
    .addColumn("managed", "integer", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("modified_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("pp_solutions_pk", ["tenant_id", "id"])
    .execute();
  await db.schema.createIndex("pp_solutions_unique_name").on("pp_solutions").columns(["tenant_id", "environment_id", "unique_name"]).unique().execute();
  await withSeq(db.schema.createTable("pp_solution_components"), dialect)
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("solution_id", "text", (c) => c.notNull())
    .addColumn("resource_id", "text", (c) => c.notNull())
    .addColumn("valid_from", "bigint")
    .addColumn("valid_to", "bigint")
    .execute();
  await db.schema.createIndex("pp_solution_components_solution").on("pp_solution_components").columns(["tenant_id", "solution_id"]).execute();
  await withSeq(db.schema.createTable("pp_solution_imports"), dialect)
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("solution_id", "text", (c) => c.notNull())
    .addColumn("imported_by", "text", (c) => c.notNull())
    .addColumn("at", "bigint", (c) => c.notNull())
    .addColumn("version", "text")
    .addColumn("import_job_id", "text")
    .execute();
  await db.schema.createIndex("pp_solution_imports_solution").on("pp_solution_imports").columns(["tenant_id", "solution_id", "at"]).execute();

  await db.schema.createTable("pp_async_operations")
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("environment_id", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("created_by", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("completed_at", "bigint")
    .addColumn("message", "text")
    .addColumn("solution_id", "text")
    .addColumn("payload", "text")
    .addPrimaryKeyConstraint("pp_async_operations_pk", ["tenant_id", "id"])
    .execute();

  await withSeq(db.schema.createTable("pp_activity_events"), dialect)
    .addColumn("tenant_id", "text", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("at", "bigint", (c) => c.notNull())
    .addColumn("workload", "text", (c) => c.notNull())
    .addColumn("operation", "text", (c) => c.notNull())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("resource_id", "text")
    .addColumn("details", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("pp_activity_events_time").on("pp_activity_events").columns(["tenant_id", "at"]).execute();
}

export const powerPlatform: Migration = { name: "0008_power_platform", up };
