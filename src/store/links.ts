/**
 * Partner Admin Link aggregate: per principal (tenant, object) a record (createdTime, version,
 * updatedTime) and the effective-dated intervals of its links. Provider handlers decide with
 * the pure state machine (domain/partner-link.ts) and persist through `lockState` + `apply`
 * inside one store transaction, together with the audit entry (`Store.writeLink` does all of it;
 * `applyWithAudit` writes the transition and the entry in one statement on PostgreSQL).
 *
 * Rule for every writer of intervals: a transaction that changes a principal's intervals holds
 * its record's lock (`lockState`) and raises its version. PostgreSQL's `lockState` relies on it.
 *
 * @example
 * await store.transaction(async (tx) => {
 *   const state = await tx.links.lockState(tid, oid);
 *   const outcome = decidePartnerLink(state, { kind: "create", partnerId: "4000001" }, now);
 *   if (outcome.kind === "write") await tx.links.apply(tid, oid, outcome.previous, outcome.next, now);
 * });
 */
import type { Generated, Kysely } from "kysely";
import type { Database } from "./schema.ts";
import { namedSql, preparedAs, type SyncReader, type SyncStatements } from "./database.ts";
import { NEVER_LINKED, type PartnerLinkState } from "../domain/partner-link.ts";
import { overlaps } from "../domain/interval.ts";
import { LINK_TARGET_SQL, linkTargetFactsOf, type LinkTargetFacts, type LinkTargetRow } from "./partners.ts";
import { AUDIT_INSERT_SQL, auditParams, type AuditEntry } from "./audit.ts";
import type { Dialect } from "./migrations/helpers.ts";

export interface PartnerLinkPrincipalsTable {
  tenant_id: string;
  object_id: string;
  version: number;
  created_time: number | null;
  updated_time: number | null;
}

export interface PartnerLinksTable {
  seq: Generated<number>;
  tenant_id: string;
  object_id: string;
  partner_id: string;
  valid_from: number | null;
  valid_to: number | null;
}

export type LinkTables = {
  partner_link_principals: PartnerLinkPrincipalsTable;
  partner_links: PartnerLinksTable;
};

/** One interval during which (tenantId, objectId) was linked to partnerId. */
export interface PartnerLinkInterval {
  readonly tenantId: string;
  readonly objectId: string;
  readonly partnerId: string;
  /** null = since always (world files may say so). */
  readonly validFrom: number | null;
  /** null = still linked. */
  readonly validTo: number | null;
}

/** The current link of a principal, with the record that outlives single links. */
export interface CurrentPartnerLink extends PartnerLinkState {
  readonly tenantId: string;
  readonly objectId: string;
}

export class HistoricalLinkConflictError extends Error {}

/**
 * What a read of the link API needs about its caller, in one round trip: whether the caller is a
 * live user or service principal of the tenant, whether it is disabled now, its link state, and
 * the linked organisation's name.
 */
export interface CallerLinkView {
  readonly principalType: "User" | "ServicePrincipal" | null;
  readonly disabled: boolean;
  readonly state: PartnerLinkState;
  readonly partnerName: string | undefined;
}

const num = (v: number | string | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));

interface CallerViewRow {
  principal_type: string | null; disabled: number | string; version: number | string | null;
  created_time: number | string | null; updated_time: number | string | null; partner_id: string | null; partner_name: string | null;
}

/** callerView's query: plain joins and scalar subqueries, portable across SQLite and PostgreSQL. */
const CALLER_VIEW_SQL = `
  SELECT
    CASE
      WHEN EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = :tenantId AND u.id = :objectId AND u.deleted_at IS NULL) THEN 'User'
      WHEN EXISTS (SELECT 1 FROM service_principals sp WHERE sp.tenant_id = :tenantId AND sp.id = :objectId AND sp.deleted_at IS NULL) THEN 'ServicePrincipal'
    END AS principal_type,
    (SELECT COUNT(*) FROM principal_disabled d
      WHERE d.tenant_id = :tenantId AND d.object_id = :objectId
        AND (d.valid_from IS NULL OR d.valid_from <= :now) AND (d.valid_to IS NULL OR d.valid_to > :now)) AS disabled,
    p.version, p.created_time, p.updated_time, l.partner_id, org.name AS partner_name
  FROM (SELECT 1 AS one) AS caller
  LEFT JOIN partner_link_principals p ON p.tenant_id = :tenantId AND p.object_id = :objectId
  LEFT JOIN partner_links l ON l.tenant_id = :tenantId AND l.object_id = :objectId AND l.valid_to IS NULL
  LEFT JOIN partner_locations loc ON loc.id = l.partner_id
  LEFT JOIN partners org ON org.global_id = loc.global_id`;

/** CALLER_VIEW_SQL beside LINK_TARGET_SQL: two one-row queries joined into one row. */
const CALLER_VIEW_FOR_LINK_SQL = `SELECT cv.*, lt.* FROM (${CALLER_VIEW_SQL}) cv CROSS JOIN (${LINK_TARGET_SQL}) lt`;

/**
 * The write path's statements for SQLite's synchronous transaction (SyncReader.tryTransaction):
 * the principal's record and open interval in one read, then the transition. No lock statement:
 * the synchronous transaction holds the only connection and the event loop until it commits.
 */
const LINK_STATE_SQL = `
  SELECT p.version, p.created_time, p.updated_time, l.partner_id
  FROM (SELECT 1 AS one) AS caller
  LEFT JOIN partner_link_principals p ON p.tenant_id = :tenantId AND p.object_id = :objectId
  LEFT JOIN partner_links l ON l.tenant_id = :tenantId AND l.object_id = :objectId AND l.valid_to IS NULL`;
const CLOSE_INTERVAL_SQL = "UPDATE partner_links SET valid_to = :now WHERE tenant_id = :tenantId AND object_id = :objectId AND valid_to IS NULL";
const OPEN_INTERVAL_SQL = "INSERT INTO partner_links (tenant_id, object_id, partner_id, valid_from, valid_to) VALUES (:tenantId, :objectId, :partnerId, :now, NULL)";
const SAVE_PRINCIPAL_SQL = `
  INSERT INTO partner_link_principals (tenant_id, object_id, version, created_time, updated_time)
  VALUES (:tenantId, :objectId, :version, :createdTime, :updatedTime)
  ON CONFLICT (tenant_id, object_id) DO UPDATE
  SET version = excluded.version, created_time = excluded.created_time, updated_time = excluded.updated_time`;

/**
 * PostgreSQL's locking read in ONE statement: the upsert that takes the principal's row lock
 * (`locked`: #lockRecord's statement, which waits for a write in flight and returns the latest
 * committed record), beside the record's version and the open interval as of the statement's
 * snapshot (a statement never sees its own CTE's changes, nor what committed after its
 * snapshot). That interval may predate a write that committed between the snapshot and the lock;
 * then that write raised the version (every transaction that changes a principal's intervals
 * holds its lock and raises its version: `apply`, `insertHistoricalLink`), so `locked.version`
 * differs from `seen_version` (a missing row counts as version 0) and lockState reads the open
 * interval again, in a statement of its own, after the lock. Scalar subqueries, not joins: this
 * statement is planned on every call, and they plan in a third of the time.
 */
const LOCK_STATE_PG_SQL = `${preparedAs("link_lock_state")}
  WITH locked AS (
    INSERT INTO partner_link_principals AS p (tenant_id, object_id, version, created_time, updated_time)
    VALUES (:tenantId, :objectId, 0, NULL, NULL)
    ON CONFLICT (tenant_id, object_id) DO UPDATE SET version = p.version
    RETURNING p.version, p.created_time, p.updated_time)
  SELECT locked.version, locked.created_time, locked.updated_time,
    (SELECT s.version FROM partner_link_principals s WHERE s.tenant_id = :tenantId AND s.object_id = :objectId) AS seen_version,
    (SELECT l.partner_id FROM partner_links l WHERE l.tenant_id = :tenantId AND l.object_id = :objectId AND l.valid_to IS NULL) AS partner_id
  FROM locked`;

interface LockStateRow {
  version: number | string; created_time: number | string | null; updated_time: number | string | null;
  seen_version: number | string | null; partner_id: string | null;
}

/**
 * PostgreSQL's write of a transition and its audit entry in ONE statement (the same rows as
 * `apply` + `AuditLog.append`): data-modifying CTEs close the open interval, open the next one,
 * store the record, and the statement itself appends the audit entry. The interval is opened FROM
 * the closed one's count, so the close runs first: the partial unique index (one open interval
 * per principal) never sees two open ones. Keyed by which intervals change.
 */
const WRITE_PG_SQL = (() => {
  const close = "closed AS (UPDATE partner_links SET valid_to = :now WHERE tenant_id = :tenantId AND object_id = :objectId AND valid_to IS NULL RETURNING seq)";
  const open = (afterClose: boolean) => `opened AS (INSERT INTO partner_links (tenant_id, object_id, partner_id, valid_from, valid_to)
    SELECT CAST(:tenantId AS text), CAST(:objectId AS text), CAST(:partnerId AS text), CAST(:now AS bigint), NULL${afterClose ? " FROM (SELECT count(*) FROM closed) AS after_close" : ""}
    RETURNING seq)`;
  const save = `saved AS (UPDATE partner_link_principals SET version = :version, created_time = :createdTime, updated_time = :updatedTime
    WHERE tenant_id = :tenantId AND object_id = :objectId RETURNING version)`;
  const statement = (...ctes: string[]) => `WITH ${[...ctes, save].join(",\n  ")}\n${AUDIT_INSERT_SQL}`;
  return {
    none: preparedAs("link_write") + statement(), close: preparedAs("link_write_close") + statement(close),
    open: preparedAs("link_write_open") + statement(open(false)), closeAndOpen: preparedAs("link_write_close_open") + statement(close, open(true)),
  };
})();

/** `lockState` for a synchronous transaction (see LINK_STATE_SQL). */
export function linkStateSync(statements: SyncStatements, tenantId: string, objectId: string): PartnerLinkState {
  const r = statements.get<{ version: number | null; created_time: number | null; updated_time: number | null; partner_id: string | null }>(
    LINK_STATE_SQL, { tenantId, objectId });
  const row = !r || r.version === null ? undefined : {
    tenant_id: tenantId, object_id: objectId, version: Number(r.version), created_time: num(r.created_time), updated_time: num(r.updated_time),
  };
  return stateOf(row, r?.partner_id ? { partner_id: r.partner_id } : undefined);
}

/** `apply` for a synchronous transaction: the same transition, the record upserted. */
export function applyLinkSync(statements: SyncStatements, tenantId: string, objectId: string, previous: PartnerLinkState, next: PartnerLinkState, now: number): void {
  if (previous.partnerId !== next.partnerId) {
    if (previous.partnerId !== null) statements.run(CLOSE_INTERVAL_SQL, { tenantId, objectId, now });
    if (next.partnerId !== null) statements.run(OPEN_INTERVAL_SQL, { tenantId, objectId, partnerId: next.partnerId, now });
  }
  statements.run(SAVE_PRINCIPAL_SQL, { tenantId, objectId, version: next.version, createdTime: next.createdTime, updatedTime: next.updatedTime });
}

function stateOf(row: PartnerLinkPrincipalsTable | undefined, open: { partner_id: string } | undefined): PartnerLinkState {
  if (!row) return open ? { ...NEVER_LINKED, partnerId: open.partner_id } : NEVER_LINKED;
  return {
    partnerId: open?.partner_id ?? null,
    version: Number(row.version),
    createdTime: num(row.created_time),
    updatedTime: num(row.updated_time),
  };
}

export class LinkStore {
  readonly #db: Kysely<Database & LinkTables>;
  readonly #dialect: Dialect;
  readonly #syncReader: SyncReader | undefined;
  /** `syncReader`: SQLite's synchronous reads, given only to the store outside transactions. */
  constructor(db: Kysely<Database>, dialect: Dialect, syncReader?: SyncReader) {
    this.#db = db.withTables<LinkTables>();
    this.#dialect = dialect;
    this.#syncReader = syncReader;
  }

  /** The principal's state now (no lock), for inspection (GET reads `callerView`). */
  async current(tenantId: string, objectId: string): Promise<CurrentPartnerLink> {
    const row = await this.#db.selectFrom("partner_link_principals").selectAll()
      .where("tenant_id", "=", tenantId).where("object_id", "=", objectId).executeTakeFirst();
    const open = await this.#openInterval(tenantId, objectId);
    return { tenantId, objectId, ...this.#state(row, open) };
  }

  /**
   * The caller's view for GET in ONE query (the link API's hot path): principal liveness,
   * disabled-now, link record, open interval and partner name. On SQLite it runs synchronously
   * when no transaction holds the connection (SyncReader); otherwise, and on PostgreSQL, the same
   * text runs through kysely.
   */
  async callerView(tenantId: string, objectId: string, now: number): Promise<CallerLinkView> {
    const params = { tenantId, objectId, now };
    const fast = this.#syncReader?.tryGet<CallerViewRow>(CALLER_VIEW_SQL, params);
    return this.#view(tenantId, objectId, fast ? fast.row : (await namedSql<CallerViewRow>(CALLER_VIEW_SQL, params).execute(this.#db)).rows[0]);
  }

  /**
   * `callerView` and `PartnerRegistryStore.linkTargetFacts(partnerId, now)` in ONE query: what a
   * PUT or PATCH checks before it writes (one round trip fewer on PostgreSQL, one statement
   * fewer on SQLite).
   */
  async callerViewForLink(tenantId: string, objectId: string, partnerId: string, now: number): Promise<CallerLinkView & { readonly target: LinkTargetFacts }> {
    const params = { tenantId, objectId, now, partnerId, at: now };
    const fast = this.#syncReader?.tryGet<CallerViewRow & LinkTargetRow>(CALLER_VIEW_FOR_LINK_SQL, params);
    const r = fast ? fast.row : (await namedSql<CallerViewRow & LinkTargetRow>(CALLER_VIEW_FOR_LINK_SQL, params).execute(this.#db)).rows[0];
    return { ...this.#view(tenantId, objectId, r), target: linkTargetFactsOf(r) };
  }

  #view(tenantId: string, objectId: string, r: CallerViewRow | undefined): CallerLinkView {
    if (!r) throw new Error("callerView returned no row");
    const row = r.version === null ? undefined : {
      tenant_id: tenantId, object_id: objectId, version: Number(r.version), created_time: num(r.created_time), updated_time: num(r.updated_time),
    };
    return {
      principalType: r.principal_type === "User" || r.principal_type === "ServicePrincipal" ? r.principal_type : null,
      disabled: Number(r.disabled) > 0,
      state: this.#state(row, r.partner_id === null ? undefined : { partner_id: r.partner_id }),
      partnerName: r.partner_name ?? undefined,
    };
  }

  /**
   * Reads the principal's state for a write, holding its row lock until the transaction ends.
   * Call only inside `store.transaction`. One upsert creates the row if missing (so that even a
   * principal's first two concurrent writes contend on the same row) or else rewrites it as it is
   * (INSERT … ON CONFLICT DO UPDATE), which takes PostgreSQL's row lock and returns the latest
   * committed values; the open interval is read after that, so it is the latest committed too
   * (SQLite runs one transaction at a time on its single connection, so it needs no lock). On
   * PostgreSQL the lock and the read are one statement (LOCK_STATE_PG_SQL), with the interval
   * read again only when a write committed between its snapshot and the lock.
   */
  async lockState(tenantId: string, objectId: string): Promise<PartnerLinkState> {
    if (this.#dialect !== "postgres") return this.#state(await this.#lockRecord(tenantId, objectId), await this.#openInterval(tenantId, objectId));
    const r = (await namedSql<LockStateRow>(LOCK_STATE_PG_SQL, { tenantId, objectId }).execute(this.#db)).rows[0];
    if (!r) throw new Error("lockState returned no row");
    const row = { tenant_id: tenantId, object_id: objectId, version: Number(r.version), created_time: num(r.created_time), updated_time: num(r.updated_time) };
    const current = row.version === Number(r.seen_version ?? 0);
    return this.#state(row, current ? (r.partner_id === null ? undefined : { partner_id: r.partner_id }) : await this.#openInterval(tenantId, objectId));
  }

  /**
   * Persists a transition decided by the state machine: closes the open interval at `now` when
   * the linked id changes, opens the next one, and stores version and times.
   */
  async apply(tenantId: string, objectId: string, previous: PartnerLinkState, next: PartnerLinkState, now: number): Promise<void> {
    if (previous.partnerId !== next.partnerId) {
      if (previous.partnerId !== null) {
        await this.#db.updateTable("partner_links").set({ valid_to: now })
          .where("tenant_id", "=", tenantId).where("object_id", "=", objectId).where("valid_to", "is", null).execute();
      }
      if (next.partnerId !== null) {
        await this.#db.insertInto("partner_links")
          .values({ tenant_id: tenantId, object_id: objectId, partner_id: next.partnerId, valid_from: now, valid_to: null }).execute();
      }
    }
    await this.#db.updateTable("partner_link_principals")
      .set({ version: next.version, created_time: next.createdTime, updated_time: next.updatedTime })
      .where("tenant_id", "=", tenantId).where("object_id", "=", objectId).execute();
  }

  /**
   * `apply` and `AuditLog.append(audit)` together, inside the same transaction after `lockState`:
   * on PostgreSQL as ONE statement (WRITE_PG_SQL) storing the same rows, elsewhere as `apply`
   * then the entry's INSERT.
   */
  async applyWithAudit(tenantId: string, objectId: string, previous: PartnerLinkState, next: PartnerLinkState, now: number, audit: AuditEntry): Promise<void> {
    if (this.#dialect !== "postgres") {
      await this.apply(tenantId, objectId, previous, next, now);
      await namedSql(AUDIT_INSERT_SQL, auditParams(audit)).execute(this.#db);
      return;
    }
    const changes = previous.partnerId !== next.partnerId;
    const close = changes && previous.partnerId !== null;
    const open = changes && next.partnerId !== null;
    const statement = close ? (open ? WRITE_PG_SQL.closeAndOpen : WRITE_PG_SQL.close) : open ? WRITE_PG_SQL.open : WRITE_PG_SQL.none;
    await namedSql(statement, {
      tenantId, objectId, now, partnerId: next.partnerId,
      version: next.version, createdTime: next.createdTime, updatedTime: next.updatedTime, ...auditParams(audit),
    }).execute(this.#db);
  }

  /** Every interval (history included), optionally of one tenant or principal, oldest first. */
  async history(filter: { tenantId?: string; objectId?: string; partnerId?: string } = {}): Promise<PartnerLinkInterval[]> {
    let q = this.#db.selectFrom("partner_links").selectAll().orderBy("seq");
    if (filter.tenantId) q = q.where("tenant_id", "=", filter.tenantId);
    if (filter.objectId) q = q.where("object_id", "=", filter.objectId);
    if (filter.partnerId) q = q.where("partner_id", "=", filter.partnerId);
    return (await q.execute()).map((r) => ({
      tenantId: r.tenant_id, objectId: r.object_id, partnerId: r.partner_id, validFrom: num(r.valid_from), validTo: num(r.valid_to),
    }));
  }

  /**
   * Records a past (or still open, `to` = null) link, for the world loader. Refuses an interval
   * that overlaps one already stored for the principal. The principal's record counts it as the
   * writes it stands for (a create, plus a delete when it ended), so a later PUT continues the
   * version sequence; createdTime is the earliest start, updatedTime the latest change.
   */
  async insertHistoricalLink(tenantId: string, objectId: string, partnerId: string, from: number | null, to: number | null): Promise<void> {
    if (from !== null && to !== null && from >= to) {
      throw new HistoricalLinkConflictError(`link of ${tenantId}/${objectId} to ${partnerId}: "from" must be before "to".`);
    }
    // Under the principal's lock, like a link write: a write of the principal in flight commits
    // first, and this one then sees its intervals and continues its version.
    const row = await this.#lockRecord(tenantId, objectId);
    const existing = await this.history({ tenantId, objectId });
    const clash = existing.find((i) => overlaps({ from: i.validFrom, to: i.validTo }, { from, to }));
    if (clash) {
      throw new HistoricalLinkConflictError(
        `link of ${tenantId}/${objectId} to ${partnerId} overlaps its link to ${clash.partnerId}; a principal has one link at a time.`);
    }
    await this.#db.insertInto("partner_links")
      .values({ tenant_id: tenantId, object_id: objectId, partner_id: partnerId, valid_from: from, valid_to: to }).execute();
    const writes = to === null ? 1 : 2;
    const changedAt = to ?? from;
    const created = [num(row.created_time), from].filter((t): t is number => t !== null);
    const updated = [num(row.updated_time), changedAt].filter((t): t is number => t !== null);
    await this.#db.updateTable("partner_link_principals").set({
      version: Number(row.version) + writes,
      created_time: created.length ? Math.min(...created) : null,
      updated_time: updated.length ? Math.max(...updated) : null,
    }).where("tenant_id", "=", tenantId).where("object_id", "=", objectId).execute();
  }

  /**
   * The principal's record, created (version 0, no times) when missing, with its row lock held
   * until the transaction ends: the no-op DO UPDATE locks the latest committed version of the
   * row, even one committed after this statement's snapshot, and returns it.
   */
  async #lockRecord(tenantId: string, objectId: string): Promise<PartnerLinkPrincipalsTable> {
    return this.#db.insertInto("partner_link_principals")
      .values({ tenant_id: tenantId, object_id: objectId, version: 0, created_time: null, updated_time: null })
      .onConflict((oc) => oc.columns(["tenant_id", "object_id"]).doUpdateSet((eb) => ({ version: eb.ref("partner_link_principals.version") })))
      .returningAll().executeTakeFirstOrThrow();
  }

  async #openInterval(tenantId: string, objectId: string): Promise<{ partner_id: string } | undefined> {
    return this.#db.selectFrom("partner_links").select("partner_id")
      .where("tenant_id", "=", tenantId).where("object_id", "=", objectId).where("valid_to", "is", null).executeTakeFirst();
  }

  #state(row: PartnerLinkPrincipalsTable | undefined, open: { partner_id: string } | undefined): PartnerLinkState {
    return stateOf(row, open);
  }
}
