/**
 * Migration 0016 rebuilds `partner_links` and `audit_log` without AUTOINCREMENT on SQLite (a link
 * write then changes no `sqlite_sequence` page, link-write-pages.test.ts). The rules: every row,
 * index and trigger survives as it was; sequence numbers keep rising from the largest one; the
 * audit log stays append-only; running it again changes nothing.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect } from "kysely";
import { migrations } from "../../src/store/migrations/index.ts";
import { hotTablesWithoutAutoincrement } from "../../src/store/migrations/0016_hot_tables_without_autoincrement.ts";
import { openStore } from "../../src/store/index.ts";

const TABLES = ["partner_links", "audit_log"];

/** A database as a build before 0016 left it. */
async function databaseBefore0016(file: string): Promise<void> {
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(file) }) });
  const earlier = migrations.filter((m) => m.name < "0016");
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => Object.fromEntries(earlier.map((m) => [m.name, { up: (k: Kysely<unknown>) => m.up(k, "sqlite") }])) },
    migrationTableName: "openpal_migrations",
    migrationLockTableName: "openpal_migrations_lock",
    allowUnorderedMigrations: true,
  });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
  await db.destroy();
}

/** Runs `work` on a fresh database file as a build before 0016 left it, then removes it. */
async function withDatabaseBefore0016(work: (file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "openpal-0016-"));
  try {
    const file = path.join(dir, "openpal.db");
    await databaseBefore0016(file);
    await work(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function schemaOf(side: SQLite.Database): Record<string, string> {
  const rows = side.prepare(`SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN ('partner_links', 'audit_log') ORDER BY name`).all() as { type: string; name: string; sql: string | null }[];
  return Object.fromEntries(rows.map((r) => [`${r.type} ${r.name}`, String(r.sql)]));
}

describe("migration 0016: partner_links and audit_log without AUTOINCREMENT (SQLite)", () => {
  it("keeps every row, index and trigger, keeps the audit log append-only, and sequence numbers rise from the largest", async () => {
    await withDatabaseBefore0016(async (file) => {
      let side = new SQLite(file);
      for (const t of TABLES) assert.match(schemaOf(side)[`table ${t}`] ?? "", /autoincrement/i, `${t} had AUTOINCREMENT before`);
      const insertLink = side.prepare("INSERT INTO partner_links (tenant_id, object_id, partner_id, valid_from, valid_to) VALUES (?, ?, ?, ?, ?)");
      insertLink.run("t1", "o1", "4000001", 1, 5);
      insertLink.run("t1", "o1", "4000002", 5, null);
      insertLink.run("t2", "o9", "4000001", 3, null);
      const insertAudit = side.prepare("INSERT INTO audit_log (at, tenant_id, actor_tenant_id, actor_object_id, action, target, request_id, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
      for (let i = 1; i <= 4; i++) insertAudit.run(i, "t1", "t1", "o1", `partnerLink.${i}`, "4000001", null, `{"i":${i}}`);
      const before = Object.fromEntries(TABLES.map((t) => [t, side.prepare(`SELECT * FROM ${t} ORDER BY seq`).all()]));
      const schemaBefore = schemaOf(side);
      side.close();

      const store = await openStore({ kind: "sqlite", sqlitePath: file });
      await store.close();

      side = new SQLite(file);
      const schemaAfter = schemaOf(side);
      for (const t of TABLES) {
        assert.doesNotMatch(schemaAfter[`table ${t}`] ?? "", /autoincrement/i, `${t} has no AUTOINCREMENT after`);
        assert.equal(schemaAfter[`table ${t}`], (schemaBefore[`table ${t}`] ?? "").replace(/ autoincrement/i, ""), `${t}: the same columns`);
        assert.deepEqual(side.prepare(`SELECT * FROM ${t} ORDER BY seq`).all(), before[t], `${t}: every row as it was`);
      }
      const dependents = (s: Record<string, string>) => Object.entries(s).filter(([k]) => !k.startsWith("table "));
      assert.deepEqual(dependents(schemaAfter), dependents(schemaBefore), "the same indexes and triggers");
      assert.deepEqual(side.prepare(`SELECT name FROM sqlite_sequence WHERE name IN ('partner_links', 'audit_log')`).all(), []);
      assert.throws(() => side.prepare("DELETE FROM audit_log WHERE seq = 1").run(), /append-only/);
      assert.throws(() => side.prepare("UPDATE audit_log SET action = 'x' WHERE seq = 1").run(), /append-only/);
      assert.throws(() => side.prepare("INSERT INTO partner_links (tenant_id, object_id, partner_id, valid_from, valid_to) VALUES ('t1', 'o1', '4000001', 9, NULL)").run(), /UNIQUE/, "one open interval per principal still holds");
      const next = side.prepare("INSERT INTO audit_log (at, tenant_id, actor_tenant_id, actor_object_id, action, target, request_id, details) VALUES (9, 't1', 't1', 'o1', 'partnerLink.next', '4000001', NULL, '{}')").run();
      assert.equal(Number(next.lastInsertRowid), 5, "the next sequence number follows the largest");
      assert.equal((side.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check, "ok");
      side.close();

      // Again (as after a crash before kysely recorded it): nothing changes.
      const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(file) }) });
      await hotTablesWithoutAutoincrement.up(db, "sqlite");
      await db.destroy();
      side = new SQLite(file);
      assert.deepEqual(schemaOf(side), schemaAfter);
      assert.equal((side.prepare("SELECT count(*) AS n FROM audit_log").get() as { n: number }).n, 5);
      side.close();
    });
  });

  it("is all or nothing: when the second table cannot be rebuilt, the first keeps its AUTOINCREMENT and its rows, and the store does not open", async () => {
    await withDatabaseBefore0016(async (file) => {
      let side = new SQLite(file);
      side.prepare("INSERT INTO partner_links (tenant_id, object_id, partner_id, valid_from, valid_to) VALUES ('t1', 'o1', '4000001', 1, NULL)").run();
      side.exec(`CREATE TABLE "audit_log__0016" (x integer)`); // in the way of audit_log's rebuild, after partner_links'
      const before = schemaOf(side);
      side.close();
      await assert.rejects(openStore({ kind: "sqlite", sqlitePath: file }), /database migration 0016_hot_tables_without_autoincrement failed/);
      side = new SQLite(file);
      assert.deepEqual(schemaOf(side), before, "partner_links as it was, AUTOINCREMENT included");
      assert.equal((side.prepare("SELECT count(*) AS n FROM partner_links").get() as { n: number }).n, 1);
      assert.equal(side.prepare(`SELECT name FROM sqlite_master WHERE name = 'partner_links__0016'`).get(), undefined);
      side.close();
    });
  });
});
