/**
 * Opening the database: one kysely instance over SQLite (better-sqlite3, WAL) or PostgreSQL (pg),
 * with versioned migrations run at start.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import SQLite from "better-sqlite3";
import pg from "pg";
import { Kysely, Migrator, SqliteDialect, sql, type MigrationProvider, type RawBuilder } from "kysely";
import type { Database } from "./schema.ts";
import { migrations } from "./migrations/index.ts";
import type { Dialect } from "./migrations/helpers.ts";
import { OwnSchemaPostgresDialect } from "./own-schema-introspector.ts";
import { SAFETY_AUTOCHECKPOINT_PAGES, WalCheckpointer } from "./wal-checkpointer.ts";

export interface DatabaseConfig {
  readonly kind: Dialect;
  /** SQLite file path, or ":memory:". */
  readonly sqlitePath?: string;
  readonly postgresUrl?: string;
  /** PostgreSQL pool size. */
  readonly poolSize?: number;
  /** SQLite file: when the background WAL checkpointer starts and how often it runs (wal-checkpointer.ts defaults). */
  readonly walCheckpoint?: { readonly intervalMs?: number; readonly startDelayMs?: number };
}

export interface OpenDatabase {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** SQLite only: synchronous reads for hot paths (see SyncReader). */
  readonly syncReader?: SyncReader;
  /** Connection pool statistics (for /metrics); a SQLite file store adds its background WAL checkpoints' tallies. */
  poolStats(): { total: number; idle: number; waiting: number; walCheckpoints?: number; walFramesCheckpointed?: number; walCheckpointFailures?: number };
  close(): Promise<void>;
}

/**
 * Synchronous reads on the SQLite connection, for the link API's hot path: no kysely query
 * compilation, no connection queue, no promise per layer. A read may run only while no
 * transaction is open on the connection (kysely's transactions hold it across awaits), so it
 * sees committed state only, exactly as a queued read would; otherwise `tryGet` declines and the
 * caller takes the kysely path, which waits for the transaction to end.
 *
 * Queries use named parameters (`:name`), so that the same text also runs through kysely on
 * either backend (`namedSql`).
 */
export interface SyncReader {
  /** `{ row }` with the first row (or undefined); undefined when a transaction holds the connection. */
  tryGet<T>(source: string, params: Readonly<Record<string, string | number | null>>): { row: T | undefined } | undefined;
  /**
   * Runs `work` as one synchronous transaction (BEGIN IMMEDIATE … COMMIT) on prepared statements:
   * `{ value }` once committed; undefined, without running it, when a transaction holds the
   * connection (the caller then takes the kysely path). A throw from `work` rolls everything back
   * and propagates. Nothing else can run on the connection meanwhile: the event loop is held.
   */
  tryTransaction<T>(work: (statements: SyncStatements) => T): { value: T } | undefined;
}

/** Statements inside `SyncReader.tryTransaction` (named `:name` parameters, as everywhere). */
export interface SyncStatements {
  get<T>(source: string, params: Readonly<Record<string, string | number | null>>): T | undefined;
  run(source: string, params: Readonly<Record<string, string | number | null>>): void;
  /**
   * Runs `work` under a savepoint of the enclosing transaction: a throw rolls back only what
   * `work` wrote and propagates; otherwise its writes join the transaction.
   */
  atomic<T>(work: () => T): T;
}

/** A query with `:name` parameters as a kysely raw builder (parameters bound, never inlined). */
export function namedSql<T>(source: string, params: Readonly<Record<string, string | number | null>>): RawBuilder<T> {
  const pieces = source.split(/(?<![:\w]):([A-Za-z]\w*)/);
  return sql.join(pieces.map((piece, i) => {
    if (i % 2 === 0) return sql.raw(piece);
    if (!(piece in params)) throw new Error(`namedSql: no value for :${piece}`);
    return sql.val(params[piece]);
  }), sql.raw("")) as RawBuilder<T>;
}

/**
 * The mark that makes a statement a named prepared statement on PostgreSQL (put it first in the
 * statement's text): each pooled connection parses and plans it once, not on every call. Only
 * constant statements on hot paths carry it (the link writes), so a connection holds a few; one
 * name, one text. SQLite caches every statement anyway (withStatementCache) and reads the mark as
 * a comment.
 */
export function preparedAs(name: string): string {
  return `/* prepared:${name} */`;
}

const PREPARED_MARK = /^\/\* prepared:(\w+) \*\//;

/**
 * Runs every statement whose text starts with a `preparedAs` mark as a named prepared statement
 * (pg's `{ name, text, values }`), on every client the pool hands out.
 */
function preparesMarkedStatements(pool: pg.Pool): void {
  pool.on("connect", (client) => {
    // The client's own query, looked up at each call (so that whatever wraps pg.Client's still sees every statement).
    const proto = Object.getPrototypeOf(client) as { query: (...args: unknown[]) => unknown };
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (text: unknown, ...rest: unknown[]) => {
      const mark = typeof text === "string" && Array.isArray(rest[0]) && rest.length === 1 ? PREPARED_MARK.exec(text) : null;
      return mark ? proto.query.call(client, { name: mark[1], text, values: rest[0] }) : proto.query.call(client, text, ...rest);
    };
  });
}

// pg returns int8 (bigint) as strings by default; our bigints are epoch milliseconds and
// sequence numbers, far inside the safe integer range.
pg.types.setTypeParser(20, (value: string) => Number.parseInt(value, 10));

/** How many prepared SQLite statements are kept for reuse (oldest evicted first). */
const STATEMENT_CACHE_SIZE = 1000;

/**
 * kysely's SQLite driver prepares every statement on every query, which costs more than running
 * it on the link API's hot path. This keeps prepared statements by SQL text and reuses them; a
 * statement still busy (being iterated by a streaming query) is never handed out twice.
 */
function withStatementCache(sqlite: SQLite.Database): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  const prepare = (source: string): SQLite.Statement => {
    const cached = cache.get(source);
    if (cached && !cached.busy) return cached;
    const statement = sqlite.prepare(source);
    if (!cached) {
      if (cache.size >= STATEMENT_CACHE_SIZE) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(source, statement);
    }
    return statement;
  };
  return new Proxy(sqlite, {
    get(target, property, receiver) {
      if (property === "prepare") return prepare;
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export async function openDatabase(config: DatabaseConfig): Promise<OpenDatabase> {
  let db: Kysely<Database>;
  let syncReader: SyncReader | undefined;
  let poolStats: OpenDatabase["poolStats"];
  let checkpointer: WalCheckpointer | undefined;
  if (config.kind === "sqlite") {
    const file = config.sqlitePath ?? ":memory:";
    if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true });
    const sqlite = new SQLite(file);
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma("foreign_keys = ON");
    sqlite.pragma("busy_timeout = 5000");
    // Savepoint and statement journals in memory: by default SQLite spills them past 64 KiB into
    // a file it creates and unlinks in /var/tmp, inside the commit (a group commit of link writes
    // passes that size at about 16 changed pages).
    sqlite.pragma("temp_store = MEMORY");
    if (file !== ":memory:") {
      // WAL checkpoints run on a worker thread (wal-checkpointer.ts); the connection's own
      // automatic checkpoint stays only as a safety net.
      sqlite.pragma(`wal_autocheckpoint = ${SAFETY_AUTOCHECKPOINT_PAGES}`);
      checkpointer = new WalCheckpointer(file, config.walCheckpoint);
    }
    const cached = withStatementCache(sqlite);
    // One connection; "waiting" is not observable from outside kysely's mutex.
    poolStats = () => ({
      total: sqlite.open ? 1 : 0, idle: sqlite.open && !sqlite.inTransaction ? 1 : 0, waiting: 0,
      ...(checkpointer ? { walCheckpoints: checkpointer.stats.checkpoints, walFramesCheckpointed: checkpointer.stats.framesCopied, walCheckpointFailures: checkpointer.stats.failures } : {}),
    });
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cached }) });
    // better-sqlite3 runs a transaction function called inside a transaction as a savepoint.
    const savepoint = sqlite.transaction((work: () => unknown) => work());
    const statements: SyncStatements = {
      get: <T>(source: string, params: Readonly<Record<string, string | number | null>>) => cached.prepare(source).get(params) as T | undefined,
      run: (source, params) => void cached.prepare(source).run(params),
      atomic: <T>(work: () => T) => savepoint(work) as T,
    };
    // Made once: better-sqlite3 wraps the function (BEGIN/COMMIT/ROLLBACK statements) per call.
    const transact = sqlite.transaction((work: (statements: SyncStatements) => unknown) => work(statements));
    syncReader = {
      tryGet<T>(source: string, params: Readonly<Record<string, string | number | null>>) {
        if (sqlite.inTransaction || !sqlite.open) return undefined;
        return { row: cached.prepare(source).get(params) as T | undefined };
      },
      tryTransaction<T>(work: (statements: SyncStatements) => T) {
        if (sqlite.inTransaction || !sqlite.open) return undefined;
        return { value: transact.immediate(work) as T };
      },
    };
  } else {
    if (!config.postgresUrl) throw new Error("PostgreSQL store needs a connection URL (--postgres-url).");
    const pool = new pg.Pool({ connectionString: config.postgresUrl, max: config.poolSize ?? 10 });
    preparesMarkedStatements(pool);
    // An idle client error (server restart) must not crash the process; the pool replaces it.
    pool.on("error", () => undefined);
    poolStats = () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount });
    db = new Kysely<Database>({ dialect: new OwnSchemaPostgresDialect({ pool }) });
  }
  try {
    await migrate(db, config.kind);
  } catch (error) {
    await checkpointer?.stop();
    await db.destroy();
    throw error;
  }
  return {
    db, dialect: config.kind, ...(syncReader ? { syncReader } : {}), poolStats,
    async close() {
      await checkpointer?.stop();
      await db.destroy();
    },
  };
}

async function migrate(db: Kysely<Database>, dialect: Dialect): Promise<void> {
  const provider: MigrationProvider = {
    async getMigrations() {
      return Object.fromEntries(
        migrations.map((m) => [m.name, { up: (k: Kysely<unknown>) => m.up(k, dialect) }]),
      );
    },
  };
  // On PostgreSQL, pin the bookkeeping tables to the connection's schema: kysely otherwise looks
  // for them in every schema, and a second OpenPAL schema in the same database would find the
  // first one's tables and never create its own.
  let migrationTableSchema: string | undefined;
  if (dialect === "postgres") {
    const r = await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db);
    migrationTableSchema = r.rows[0]?.schema;
  }
  const migrator = new Migrator({
    db,
    provider,
    ...(migrationTableSchema ? { migrationTableSchema } : {}),
    migrationTableName: "openpal_migrations",
    migrationLockTableName: "openpal_migrations_lock",
    // Components add their own numbered migrations; a database created by an older build may
    // have applied a later number first.
    allowUnorderedMigrations: true,
  });
  // The dialect's introspector reads only the connection's schema (own-schema-introspector.ts):
  // the migrator's "do my tables exist" read cannot fail on another schema dropped meanwhile.
  const { error, results } = await migrator.migrateToLatest();
  if (!error) return;
  const failed = results?.find((r) => r.status === "Error")?.migrationName;
  throw new Error(`database migration ${failed ?? "unknown"} failed: ${(error as Error).message ?? String(error)}`);
}
