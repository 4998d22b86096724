/**
 * Audit aggregate: an append-only log of every write (who, what, when, request id). The database
 * refuses updates and deletes (migration 0002); this interface offers only append and read.
 */
import type { Kysely, Selectable } from "kysely";
import type { Database } from "./schema.ts";
import type { SyncStatements } from "./database.ts";

export interface AuditEntry {
  readonly at: number;
  readonly tenantId: string | null;
  readonly actorTenantId: string | null;
  readonly actorObjectId: string | null;
  /** Verb in the domain, e.g. "partnerLink.create", "world.apply". */
  readonly action: string;
  /** What was written, e.g. "/providers/Microsoft.ManagementPartner/partners/4000001". */
  readonly target: string;
  readonly requestId: string | null;
  /** Extra facts; never secrets or tokens. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface AuditRecord extends AuditEntry {
  readonly seq: number;
}

type AuditRow = Selectable<Database["audit_log"]>;
const toRecord = (r: AuditRow): AuditRecord => ({
  seq: Number(r.seq), at: Number(r.at), tenantId: r.tenant_id, actorTenantId: r.actor_tenant_id,
  actorObjectId: r.actor_object_id, action: r.action, target: r.target, requestId: r.request_id,
  details: JSON.parse(r.details) as Record<string, unknown>,
});

/**
 * One entry's INSERT with `:audit…` parameters (`auditParams`): run alone on SQLite's synchronous
 * path, and the last part of the one statement of a link write on PostgreSQL (links.ts).
 */
export const AUDIT_INSERT_SQL = `INSERT INTO audit_log (at, tenant_id, actor_tenant_id, actor_object_id, action, target, request_id, details)
  VALUES (:auditAt, :auditTenantId, :auditActorTenantId, :auditActorObjectId, :auditAction, :auditTarget, :auditRequestId, :auditDetails)`;

/** AUDIT_INSERT_SQL's parameters for an entry. */
export function auditParams(entry: AuditEntry): Record<string, string | number | null> {
  return {
    auditAt: entry.at, auditTenantId: entry.tenantId, auditActorTenantId: entry.actorTenantId, auditActorObjectId: entry.actorObjectId,
    auditAction: entry.action, auditTarget: entry.target, auditRequestId: entry.requestId, auditDetails: JSON.stringify(entry.details ?? {}),
  };
}

/** `append` inside a synchronous transaction (SQLite, SyncReader.tryTransaction). */
export function appendAuditSync(statements: SyncStatements, entry: AuditEntry): void {
  statements.run(AUDIT_INSERT_SQL, auditParams(entry));
}

export class AuditLog {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async append(entry: AuditEntry): Promise<void> {
    await this.#db.insertInto("audit_log").values({
      at: entry.at, tenant_id: entry.tenantId, actor_tenant_id: entry.actorTenantId,
      actor_object_id: entry.actorObjectId, action: entry.action, target: entry.target,
      request_id: entry.requestId, details: JSON.stringify(entry.details ?? {}),
    }).execute();
  }

  /** Entries in order of writing, optionally for one tenant, after a sequence number. */
  async list(filter: { tenantId?: string; afterSeq?: number; limit?: number } = {}): Promise<AuditRecord[]> {
    let q = this.#db.selectFrom("audit_log").selectAll().orderBy("seq").limit(filter.limit ?? 1000);
    if (filter.tenantId) q = q.where("tenant_id", "=", filter.tenantId);
    if (filter.afterSeq !== undefined) q = q.where("seq", ">", filter.afterSeq);
    const rows = await q.execute();
    return rows.map(toRecord);
  }

  /** The latest entries of one action, newest first (e.g. the last `world.apply`). */
  async latest(action: string, limit = 20): Promise<AuditRecord[]> {
    const rows = await this.#db.selectFrom("audit_log").selectAll().where("action", "=", action).orderBy("seq", "desc").limit(limit).execute();
    return rows.map(toRecord);
  }

  /** How many entries of each action were written after a sequence number. */
  async countByAction(afterSeq: number): Promise<Record<string, number>> {
    const rows = await this.#db.selectFrom("audit_log").select(["action", (eb) => eb.fn.countAll<number | string | bigint>().as("n")])
      .where("seq", ">", afterSeq).groupBy("action").execute();
    return Object.fromEntries(rows.map((r) => [r.action, Number(r.n)]));
  }
}
