/**
 * Opening a PostgreSQL store while other schemas of the same database come and go (a second
 * OpenPAL schema dropped, a test's schema removed). kysely's migrator asks the dialect's
 * introspector for the database's tables; the stock PostgreSQL introspector reads every schema
 * by name and failed with "schema … does not exist" when one was dropped during the read. OpenPAL's
 * introspector reads the connection's own schema only, so the store opens whatever other schemas do.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { Kysely } from "kysely";
import { OwnSchemaPostgresDialect } from "../../src/store/own-schema-introspector.ts";
import { storeBackends } from "../support/stores.ts";

const postgres = storeBackends().find((b) => b.name === "postgres");
const skip = postgres ? false : "OPENPAL_TEST_POSTGRES_URL is not set";

/** Creates and drops schemas with a table, as fast as it can, until stopped. */
async function churnSchemas(url: string): Promise<{ stop(): Promise<number> }> {
  const churn = new pg.Client({ connectionString: url });
  await churn.connect();
  let stopped = false;
  let rounds = 0;
  const loop = (async () => {
    while (!stopped) {
      const s = `churn_${randomBytes(4).toString("hex")}`;
      await churn.query(`CREATE SCHEMA ${s}; CREATE TABLE ${s}.t (id bigserial PRIMARY KEY, a text, b text, c text)`);
      await churn.query(`DROP SCHEMA ${s} CASCADE`);
      rounds++;
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await churn.end();
      return rounds;
    },
  };
}

describe("opening a PostgreSQL store while other schemas are dropped", () => {
  it("the introspector lists the tables of the connection's own schema only, with their columns", { skip }, async () => {
    const url = process.env.OPENPAL_TEST_POSTGRES_URL as string;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const own = `own_${randomBytes(4).toString("hex")}`;
    const other = `other_${randomBytes(4).toString("hex")}`;
    await admin.query(`CREATE SCHEMA ${own}; CREATE SCHEMA ${other};
      CREATE TABLE ${own}.mine (id bigserial PRIMARY KEY, label text NOT NULL, note text DEFAULT 'x');
      CREATE VIEW ${own}.mine_view AS SELECT id FROM ${own}.mine;
      CREATE TABLE ${other}.theirs (id integer)`);
    const db = new Kysely<unknown>({ dialect: new OwnSchemaPostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${own}` }) }) });
    try {
      const tables = await db.introspection.getTables();
      assert.deepEqual(tables.map((t) => [t.schema, t.name, t.isView]), [[own, "mine", false], [own, "mine_view", true]]);
      const mine = tables[0]!;
      assert.deepEqual(mine.columns.map((c) => [c.name, c.dataType, c.isNullable, c.hasDefaultValue, c.isAutoIncrementing]), [
        ["id", "int8", false, true, true],
        ["label", "text", false, false, false],
        ["note", "text", true, true, false],
      ]);
    } finally {
      await db.destroy();
      await admin.query(`DROP SCHEMA ${own} CASCADE; DROP SCHEMA ${other} CASCADE`);
      await admin.end();
    }
  });

  it("the introspector's read never fails while another client keeps creating and dropping schemas", { skip, timeout: 120_000 }, async () => {
    const url = process.env.OPENPAL_TEST_POSTGRES_URL as string;
    const churn = await churnSchemas(url);
    const db = new Kysely<unknown>({ dialect: new OwnSchemaPostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) });
    try {
      for (let i = 0; i < 300; i++) await db.introspection.getTables({ withInternalKyselyTables: true });
    } finally {
      await db.destroy();
      assert.ok((await churn.stop()) > 0, "the churn ran while the introspector read");
    }
  });

  it("stores open and migrate while another client keeps creating and dropping schemas with tables", { skip, timeout: 120_000 }, async () => {
    const churn = await churnSchemas(process.env.OPENPAL_TEST_POSTGRES_URL as string);
    try {
      for (let i = 0; i < 12; i++) {
        const store = await (postgres as NonNullable<typeof postgres>).open();
        await store.close();
      }
    } finally {
      await churn.stop();
    }
  });
});
