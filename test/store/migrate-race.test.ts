/**
 * Opening a PostgreSQL store while other schemas of the same database come and go (a second
 * OpenPAL schema dropped, a test's schema removed): kysely's migrator reads every schema's tables
 * by name, and a schema dropped during that read failed the migration with "schema … does not
 * exist". Such a read is retried; the store opens.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { isVanishedSchemaError } from "../../src/store/database.ts";
import { storeBackends } from "../support/stores.ts";

describe("opening a store while other schemas are dropped", () => {
  it("a 'schema … does not exist' error about another schema is a vanished schema; about ours, or any other error, it is not", () => {
    assert.equal(isVanishedSchemaError(new Error('schema "t_1" does not exist'), "t_2"), true);
    assert.equal(isVanishedSchemaError(new Error('schema "t_1" does not exist'), undefined), true);
    assert.equal(isVanishedSchemaError(new Error('schema "t_2" does not exist'), "t_2"), false);
    assert.equal(isVanishedSchemaError(new Error('relation "x" does not exist'), "t_2"), false);
  });

  const postgres = storeBackends().find((b) => b.name === "postgres");
  it("stores open and migrate while another client keeps creating and dropping schemas with tables", { skip: postgres ? false : "OPENPAL_TEST_POSTGRES_URL is not set", timeout: 120_000 }, async () => {
    const churn = new pg.Client({ connectionString: process.env.OPENPAL_TEST_POSTGRES_URL });
    await churn.connect();
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        const s = `churn_${randomBytes(4).toString("hex")}`;
        await churn.query(`CREATE SCHEMA ${s}; CREATE TABLE ${s}.t (id bigserial PRIMARY KEY, a text, b text, c text)`);
        await churn.query(`DROP SCHEMA ${s} CASCADE`);
      }
    })();
    try {
      for (let i = 0; i < 12; i++) {
        const store = await (postgres as NonNullable<typeof postgres>).open();
        await store.close();
      }
    } finally {
      stop = true;
      await loop;
      await churn.end();
    }
  });
});
