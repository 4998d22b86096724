/**
 * Readiness of the store for /readyz: the database answers, and every migration this build knows
 * has been applied (a server started against a database another, newer or older, build migrated
 * is not ready until the migrations match).
 */
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.ts";
import { migrations } from "./migrations/index.ts";

export interface StoreReadiness {
  readonly reachable: boolean;
  /** Migrations of this build not applied to the database (empty when ready). */
  readonly pendingMigrations: readonly string[];
  /** Why the store is not ready, in words an operator acts on; undefined when it is ready. */
  readonly problem: string | undefined;
}

export async function checkStoreReadiness(db: Kysely<Database>): Promise<StoreReadiness> {
  let applied: Set<string>;
  try {
    await sql`SELECT 1`.execute(db);
    const rows = await sql<{ name: string }>`SELECT name FROM openpal_migrations`.execute(db);
    applied = new Set(rows.rows.map((r) => r.name));
  } catch (error) {
    return { reachable: false, pendingMigrations: [], problem: `the store does not answer: ${(error as Error).message}. Check that the database is up and reachable.` };
  }
  const pendingMigrations = migrations.map((m) => m.name).filter((name) => !applied.has(name));
  return {
    reachable: true,
    pendingMigrations,
    problem: pendingMigrations.length > 0 ? `migrations not applied: ${pendingMigrations.join(", ")}; restart the server (it migrates at start).` : undefined,
  };
}
