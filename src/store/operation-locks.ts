/**
 * Operation locks: one holder at a time for a long operation (an attribution month), across every
 * process on the store — servers and CLI runs alike.
 *
 * - PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on one pinned connection,
 *   keyed by the schema and the operation name, so two OpenPAL schemas in one database never
 *   block each other. It is released when the holder ends, even by a crash (the connection
 *   closes). A row in `operation_locks` says who holds it, for the message the others print.
 * - SQLite: the row in `operation_locks` is the lock, a lease the holder renews while it works;
 *   a holder that died is taken over once its lease ran out.
 *
 * @example
 * const summary = await withOperationLock(store, "attribution:2026-10", { wait: false }, () => attributeUsage(…));
 */
import os from "node:os";
import { randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.ts";
import type { Dialect } from "./migrations/helpers.ts";

interface OperationLocksTable {
  name: string;
  holder: string;
  acquired_at: number;
  expires_at: number;
}
type Tables = { operation_locks: OperationLocksTable };

/** A SQLite lease lasts this long and is renewed at a third of it. */
const LEASE_MS = 30_000;
const POLL_MS = 250;

export interface OperationHolder {
  /** host, pid and a run id, e.g. "db1.example pid 4242 (run 8c1…)". */
  readonly holder: string;
  readonly since: number;
}

/** The operation is running elsewhere and the caller chose not to wait. */
export class OperationBusyError extends Error {
  constructor(readonly operation: string, readonly heldBy: OperationHolder | undefined) {
    super(`${operation} is already running${heldBy ? ` (${heldBy.holder}, since ${new Date(heldBy.since).toISOString()})` : ""}; wait for it to finish, or pass --wait to start after it.`);
  }
}

export interface LockOptions {
  /** Wait for the holder to finish instead of failing with OperationBusyError. */
  readonly wait: boolean;
  /** Called once when the caller starts waiting (to tell the user). */
  readonly onWait?: (heldBy: OperationHolder | undefined) => void;
}

export async function withOperationLock<T>(store: { readonly db: Kysely<Database>; readonly dialect: Dialect }, operation: string, options: LockOptions, work: () => Promise<T>): Promise<T> {
  const db = store.db.withTables<Tables>();
  const holder = `${os.hostname()} pid ${process.pid} (run ${randomUUID().slice(0, 8)})`;
  return store.dialect === "postgres" ? withAdvisoryLock(db, operation, holder, options, work) : withLease(db, operation, holder, options, work);
}

async function currentHolder(db: Kysely<Database & Tables>, operation: string): Promise<OperationHolder | undefined> {
  const r = await db.selectFrom("operation_locks").select(["holder", "acquired_at"]).where("name", "=", operation).executeTakeFirst();
  return r ? { holder: r.holder, since: Number(r.acquired_at) } : undefined;
}

async function withAdvisoryLock<T>(db: Kysely<Database & Tables>, operation: string, holder: string, options: LockOptions, work: () => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    const key = sql`hashtextextended(current_schema() || ':' || ${operation}, 0)`;
    let told = false;
    for (;;) {
      const r = await sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(${key}) AS locked`.execute(conn);
      if (r.rows[0]?.locked) break;
      const heldBy = await currentHolder(db, operation);
      if (!options.wait) throw new OperationBusyError(operation, heldBy);
      if (!told) options.onWait?.(heldBy);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    try {
      const now = Date.now();
      await conn.withTables<Tables>().insertInto("operation_locks").values({ name: operation, holder, acquired_at: now, expires_at: now })
        .onConflict((oc) => oc.column("name").doUpdateSet({ holder, acquired_at: now, expires_at: now })).execute();
      return await work();
    } finally {
      await conn.withTables<Tables>().deleteFrom("operation_locks").where("name", "=", operation).where("holder", "=", holder).execute().catch(() => undefined);
      await sql`SELECT pg_advisory_unlock(${key})`.execute(conn);
    }
  });
}

async function withLease<T>(db: Kysely<Database & Tables>, operation: string, holder: string, options: LockOptions, work: () => Promise<T>): Promise<T> {
  let told = false;
  for (;;) {
    const now = Date.now();
    // Taking over an expired lease and inserting are one statement each; the primary key makes
    // the insert fail when someone else holds a live lease.
    await db.deleteFrom("operation_locks").where("name", "=", operation).where("expires_at", "<", now).execute();
    const r = await db.insertInto("operation_locks").values({ name: operation, holder, acquired_at: now, expires_at: now + LEASE_MS })
      .onConflict((oc) => oc.column("name").doNothing()).executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) > 0) break;
    const heldBy = await currentHolder(db, operation);
    if (!options.wait) throw new OperationBusyError(operation, heldBy);
    if (!told) options.onWait?.(heldBy);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const renew = setInterval(() => {
    void db.updateTable("operation_locks").set({ expires_at: Date.now() + LEASE_MS })
      .where("name", "=", operation).where("holder", "=", holder).execute().catch(() => undefined);
  }, LEASE_MS / 3);
  renew.unref();
  try {
    return await work();
  } finally {
    clearInterval(renew);
    await db.deleteFrom("operation_locks").where("name", "=", operation).where("holder", "=", holder).execute();
  }
}
