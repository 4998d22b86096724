/**
 * The store: control-plane state behind narrow interfaces, one per aggregate. The server and its
 * providers never write SQL; they talk to these aggregates. Both backends (SQLite, PostgreSQL)
 * share one schema and one set of migrations.
 *
 * @example
 * const store = await openStore({ kind: "sqlite", sqlitePath: ":memory:" });
 * await store.transaction(async (tx) => { await tx.directory.putTenant(tenant); await tx.audit.append(entry); });
 * await store.close();
 */
import type { Kysely } from "kysely";
import path from "node:path";
import type { Options } from "../options/index.ts";
import { openDatabase, type DatabaseConfig, type SyncReader } from "./database.ts";
import type { Database } from "./schema.ts";
import type { Dialect } from "./migrations/helpers.ts";
import { DirectoryStore } from "./directory.ts";
import { AuditLog } from "./audit.ts";
import { SigningKeyStore } from "./keys.ts";
import { GrantStore } from "./grants.ts";
import { CredentialThrottleStore } from "./credential-throttle.ts";
import { PartnerRegistryStore } from "./partners.ts";
import { DirectoryRoleStore } from "./directory-roles.ts";
import { LinkStore, applyLinkSync, linkStateSync } from "./links.ts";
import { appendAuditSync, type AuditEntry } from "./audit.ts";
import type { PartnerLinkState } from "../domain/partner-link.ts";
import { ResourceStore } from "./resources.ts";
import { AccessStore } from "./access.ts";
import { PartnerOfRecordStore } from "./partner-of-record.ts";
import { AttributionStore } from "./attribution.ts";
import { PowerPlatformStore } from "./power-platform.ts";
import { BizappsStore } from "./bizapps.ts";
import { GroupCommit } from "./group-commit.ts";

export * from "./directory.ts";
export * from "./audit.ts";
export * from "./keys.ts";
export * from "./grants.ts";
export * from "./credential-throttle.ts";
export * from "./partners.ts";
export * from "./directory-roles.ts";
export * from "./links.ts";
export * from "./resources.ts";
export * from "./access.ts";
export * from "./partner-of-record.ts";
export * from "./attribution.ts";
export * from "./power-platform.ts";
export * from "./bizapps.ts";
export * from "./operation-locks.ts";
export type { Database } from "./schema.ts";
export type { Dialect } from "./migrations/helpers.ts";
export type { DatabaseConfig } from "./database.ts";

/** The aggregates, bound to one database handle (the pool, or one transaction). */
export interface Aggregates {
  readonly directory: DirectoryStore;
  readonly audit: AuditLog;
  readonly signingKeys: SigningKeyStore;
  readonly grants: GrantStore;
  readonly credentialThrottle: CredentialThrottleStore;
  readonly partners: PartnerRegistryStore;
  readonly directoryRoles: DirectoryRoleStore;
  readonly links: LinkStore;
  readonly resources: ResourceStore;
  readonly access: AccessStore;
  readonly partnersOfRecord: PartnerOfRecordStore;
  readonly attribution: AttributionStore;
  readonly powerPlatform: PowerPlatformStore;
  readonly bizapps: BizappsStore;
  /** Raw kysely handle, for store-layer modules of other components (never for handlers). */
  readonly db: Kysely<Database>;
}

/**
 * What `Store.writeLink`'s `decide` returns: its result and, when the state changes, the
 * transition to persist with its audit entry.
 */
export interface LinkDecision<T> {
  readonly result: T;
  readonly change?: { readonly previous: PartnerLinkState; readonly next: PartnerLinkState; readonly at: number; readonly audit: AuditEntry };
}

export interface Store extends Aggregates {
  readonly dialect: Dialect;
  /**
   * One write of a principal's link (the link API's PUT, PATCH and DELETE): reads its state
   * under its lock, lets `decide` judge it (synchronous and pure; a throw refuses and rolls back)
   * and persists the transition with its audit entry, all committed before it resolves. On
   * SQLite, when no transaction holds the connection, it runs as one synchronous transaction on
   * prepared statements, shared with the other link writes of the same event-loop turn (group
   * commit, group-commit.ts: one savepoint each, one commit for all); otherwise (and on
   * PostgreSQL) as `lockState` + `applyWithAudit` in `transaction`. On PostgreSQL that is four
   * statements, each one round trip: BEGIN; the row lock and the state read in one
   * (links.ts LOCK_STATE_PG_SQL; the open interval is read once more only when another write
   * committed between that statement's snapshot and its lock); the interval close and open, the
   * record and the audit entry in one (WRITE_PG_SQL, data-modifying CTEs); COMMIT. A decision
   * that changes nothing skips the write; one that throws rolls back. `decide` stays in
   * TypeScript, and the rows stored are the same as SQLite's.
   */
  writeLink<T>(tenantId: string, objectId: string, decide: (state: PartnerLinkState) => LinkDecision<T>): Promise<T>;
  /**
   * Runs `work` in one transaction: every aggregate in `tx` writes through it, and either all of
   * it commits or none of it does.
   */
  transaction<T>(work: (tx: Aggregates) => Promise<T>): Promise<T>;
  /** Connection pool statistics (for /metrics): open, idle, queries waiting for a connection; on SQLite also the group commit's and the WAL checkpointer's tallies. */
  poolStats(): { total: number; idle: number; waiting: number; linkWriteBatches?: number; linkWritesBatched?: number; walCheckpoints?: number; walFramesCheckpointed?: number; walCheckpointFailures?: number };
  close(): Promise<void>;
}

/** `syncReader` only outside transactions: reads inside one must go through the transaction. */
function bind(db: Kysely<Database>, dialect: Dialect, syncReader?: SyncReader): Aggregates {
  return {
    directory: new DirectoryStore(db),
    audit: new AuditLog(db),
    signingKeys: new SigningKeyStore(db),
    grants: new GrantStore(db),
    credentialThrottle: new CredentialThrottleStore(db),
    partners: new PartnerRegistryStore(db, syncReader),
    directoryRoles: new DirectoryRoleStore(db),
    links: new LinkStore(db, dialect, syncReader),
    resources: new ResourceStore(db),
    access: new AccessStore(db),
    partnersOfRecord: new PartnerOfRecordStore(db),
    attribution: new AttributionStore(db),
    powerPlatform: new PowerPlatformStore(db),
    bizapps: new BizappsStore(db),
    db,
  };
}

export async function openStore(config: DatabaseConfig): Promise<Store> {
  const opened = await openDatabase(config);
  const aggregates = bind(opened.db, opened.dialect, opened.syncReader);
  const transaction: Store["transaction"] = (work) => opened.db.transaction().execute((trx) => work(bind(trx, opened.dialect)));
  const syncReader = opened.syncReader;
  const groupCommit = syncReader ? new GroupCommit(syncReader) : undefined;
  return {
    ...aggregates,
    dialect: opened.dialect,
    transaction,
    writeLink(tenantId, objectId, decide) {
      const slow = () =>
        transaction(async (tx) => {
          const { result, change } = decide(await tx.links.lockState(tenantId, objectId));
          if (change) await tx.links.applyWithAudit(tenantId, objectId, change.previous, change.next, change.at, change.audit);
          return result;
        });
      if (!groupCommit) return slow();
      return groupCommit.write((statements) => {
        const { result, change } = decide(linkStateSync(statements, tenantId, objectId));
        if (change) {
          applyLinkSync(statements, tenantId, objectId, change.previous, change.next, change.at);
          appendAuditSync(statements, change.audit);
        }
        return result;
      }, slow);
    },
    poolStats: () => ({ ...opened.poolStats(), ...(groupCommit ? { linkWriteBatches: groupCommit.stats.batches, linkWritesBatched: groupCommit.stats.writes } : {}) }),
    close: () => opened.close(),
  };
}

/** The database the options name: SQLite in the data dir (or memory), or PostgreSQL. */
export function databaseConfigFrom(options: Options): DatabaseConfig {
  if (options.store === "postgres") return { kind: "postgres", postgresUrl: options.postgresUrl as string };
  return { kind: "sqlite", sqlitePath: options.inMemory ? ":memory:" : path.join(options.dataDir, "openpal.db") };
}
