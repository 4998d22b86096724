/**
 * The store test harness: every suite that takes a `StoreBackend` runs once per backend. SQLite
 * always runs; PostgreSQL runs when OPENPAL_TEST_POSTGRES_URL is set (always in CI), each store in
 * its own fresh schema so test files never see each other's rows.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { openStore, type Store } from "../../src/store/index.ts";

export interface StoreBackend {
  readonly name: "sqlite" | "postgres";
  /** Opens a new, empty, migrated store. Close it when done (drops the PostgreSQL schema). */
  open(): Promise<Store>;
  /** Connection details, for tests that start a server on this backend. */
  readonly postgresUrl?: string;
}

/** A PostgreSQL URL whose connections use a fresh schema (created here). */
export async function freshPostgresUrl(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

export function storeBackends(): StoreBackend[] {
  const backends: StoreBackend[] = [{ name: "sqlite", open: () => openStore({ kind: "sqlite", sqlitePath: ":memory:" }) }];
  const pgUrl = process.env.OPENPAL_TEST_POSTGRES_URL;
  if (pgUrl) {
    backends.push({
      name: "postgres",
      postgresUrl: pgUrl,
      async open() {
        const fresh = await freshPostgresUrl(pgUrl);
        const store = await openStore({ kind: "postgres", postgresUrl: fresh.url, poolSize: 20 });
        return {
          ...store,
          async close() {
            await store.close();
            await fresh.drop();
          },
        };
      },
    });
  }
  return backends;
}
