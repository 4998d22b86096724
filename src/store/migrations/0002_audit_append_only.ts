/**
 * 0002: the audit log is append-only in the database itself, not only by convention: updates and
 * deletes are refused by triggers, so no code path (or stray SQL) can rewrite history.
 */
import { sql, type Kysely } from "kysely";
import type { Dialect, Migration } from "./helpers.ts";

async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect === "sqlite") {
    await sql`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`.execute(db);
    await sql`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`.execute(db);
  } else {
    await sql`CREATE OR REPLACE FUNCTION openpal_audit_log_append_only() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$ LANGUAGE plpgsql`.execute(db);
    await sql`CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION openpal_audit_log_append_only()`.execute(db);
  }
}

export const auditAppendOnly: Migration = { name: "0002_audit_append_only", up };
