/**
 * 0012: state that several servers on one database must share (docs/OPERATIONS.md, Scale-out).
 * - `portal_sessions`: signed-in portal sessions, keyed by the SHA-256 of the session cookie; the
 *   tokens and the CSRF secret are sealed (AES-256-GCM) under a key derived from the cookie value,
 *   so a copy of the database holds no usable credential. `lease_until` serialises refresh-token
 *   use across servers (a refresh token is single-use).
 * - `portal_logins`: pending sign-ins (state → PKCE verifier, nonce), taken once, sealed under a
 *   key derived from the browser-binding cookie.
 * - `operation_locks`: who runs a long operation (an attribution month) now. On PostgreSQL the
 *   exclusion itself is an advisory lock and this row only says who holds it; on SQLite the row
 *   is the lock (a lease renewed while the operation runs).
 */
import type { Kysely } from "kysely";
import type { Dialect, Migration } from "./helpers.ts";

async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema.createTable("portal_sessions")
    .addColumn("id_hash", "text", (c) => c.primaryKey())
    .addColumn("current_tenant_id", "text", (c) => c.notNull())
    .addColumn("sealed", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("last_seen_at", "bigint", (c) => c.notNull())
    .addColumn("lease_until", "bigint")
    .execute();
  await db.schema.createIndex("portal_sessions_last_seen").on("portal_sessions").column("last_seen_at").execute();

  await db.schema.createTable("portal_logins")
    .addColumn("state_hash", "text", (c) => c.primaryKey())
    .addColumn("sealed", "text", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema.createTable("operation_locks")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("holder", "text", (c) => c.notNull())
    .addColumn("acquired_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .execute();
}

export const operations: Migration = { name: "0012_operations", up };
