/**
 * 0016 (SQLite only): `partner_links` and `audit_log` drop AUTOINCREMENT. Every link write
 * inserts one row into each, and with AUTOINCREMENT each insert also updates the table's row in
 * `sqlite_sequence`: one more b-tree, so one more WAL frame, on every link write committed on its
 * own. A plain INTEGER PRIMARY KEY takes the largest rowid plus one, which is the same number as
 * long as no row with the largest seq is ever deleted: `audit_log` refuses deletes (0002) and no
 * code deletes from `partner_links`, so sequence numbers still only rise and are never reused
 * (the audit log's `afterSeq` cursor relies on that). PostgreSQL's bigserial has no such cost.
 *
 * SQLite cannot alter a column's AUTOINCREMENT, so each table is rebuilt the way SQLite documents
 * for schema changes: a new table from the same CREATE statement without AUTOINCREMENT, every
 * row copied, the old table dropped, the new one renamed, then its indexes and triggers created
 * again from their own stored statements. Nothing references these tables (no foreign key, no
 * view, no other table's trigger). One transaction of its own: all or nothing.
 */
import { sql, type Kysely } from "kysely";
import type { Dialect, Migration } from "./helpers.ts";

const TABLES = ["partner_links", "audit_log"] as const;

interface SchemaRow {
  readonly type: string;
  readonly name: string;
  readonly sql: string | null;
}

async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect !== "sqlite") return;
  // kysely runs SQLite migrations outside a transaction: this one takes its own (IMMEDIATE: the
  // write lock first), so a crash leaves either the old table or the new one, never half of it.
  // Run again (a crash before kysely recorded it), it finds no AUTOINCREMENT and does nothing.
  await sql`BEGIN IMMEDIATE`.execute(db);
  try {
    for (const table of TABLES) await rebuild(db, table);
    await sql`COMMIT`.execute(db);
  } catch (error) {
    // SQLite may have rolled back already (e.g. a full disk): the error to report is the first.
    await sql`ROLLBACK`.execute(db).catch(() => undefined);
    throw error;
  }
}

async function rebuild(db: Kysely<unknown>, table: string): Promise<void> {
  const rows = (await sql<SchemaRow>`SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ${table}`.execute(db)).rows;
  const create = rows.find((r) => r.type === "table")?.sql;
  if (!create) throw new Error(`migration 0016: table ${table} is missing`);
  if (!/\bautoincrement\b/i.test(create)) return;
  const rebuilt = `${table}__0016`;
  const createRebuilt = create.replace(/\s*\bautoincrement\b/i, "").replace(/^CREATE TABLE\s+("?)[A-Za-z_]+\1/i, `CREATE TABLE "${rebuilt}"`);
  if (!createRebuilt.startsWith(`CREATE TABLE "${rebuilt}"`)) throw new Error(`migration 0016: cannot rewrite ${table}'s CREATE statement: ${create}`);
  // Indexes SQLite makes itself (sql IS NULL, e.g. for a UNIQUE constraint) come back with the table.
  const dependents = rows.filter((r) => (r.type === "index" || r.type === "trigger") && r.sql !== null);
  await sql.raw(createRebuilt).execute(db);
  await sql.raw(`INSERT INTO "${rebuilt}" SELECT * FROM "${table}"`).execute(db);
  await sql.raw(`DROP TABLE "${table}"`).execute(db);
  await sql.raw(`ALTER TABLE "${rebuilt}" RENAME TO "${table}"`).execute(db);
  for (const d of dependents) await sql.raw(d.sql as string).execute(db);
  await sql`DELETE FROM sqlite_sequence WHERE name = ${table}`.execute(db);
}

export const hotTablesWithoutAutoincrement: Migration = { name: "0016_hot_tables_without_autoincrement", up };
