/**
 * 0009: hardening.
 * - `grants.family_id`: the token family a one-time credential belongs to (every refresh token
 *   descended from one sign-in, and the authorization or device code it started from). Presenting
 *   a used member again revokes the whole family (OAuth 2.0 Security BCP, RFC 9700 §4.14).
 * - `credential_throttle`: failure counters for password and client-secret guessing, in the store
 *   so that several servers on one database share them. One row per key ("account:<tenant>:<oid>",
 *   "client:<appId>", "source:<ip>"): failures in the current window, when the window started,
 *   until when the key is locked, and how many lock-outs it has had (each doubles the next one).
 */
import type { Kysely } from "kysely";
import type { Dialect, Migration } from "./helpers.ts";

async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema.alterTable("grants").addColumn("family_id", "text").execute();
  await db.schema.createIndex("grants_family").on("grants").column("family_id").execute();

  await db.schema.createTable("credential_throttle")
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("failures", "integer", (c) => c.notNull())
    .addColumn("window_started_at", "bigint", (c) => c.notNull())
    .addColumn("locked_until", "bigint", (c) => c.notNull())
    .addColumn("lockouts", "integer", (c) => c.notNull())
    .execute();
}

export const hardening: Migration = { name: "0009_hardening", up };
