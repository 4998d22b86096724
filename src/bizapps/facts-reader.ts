/**
 * Reads the business-applications facts Parquet the engine writes beside the month's Azure facts
 * (`<data-dir>/attribution/month=M/bizapps/facts.parquet`, one row per (resource, counting
 * relationship interval overlapping the month, partner location it could qualify through), or one
 * row with a null partner when the interval has no link). explain, diagnose and coverage read the
 * candidates from here and the credited row from the store's rollups, so they explain exactly
 * what the report shows.
 *
 * Only the contract's columns are read (the engine may add more); timestamps come back as epoch
 * milliseconds. `link_from` / `link_to` are read when the file has them (files written before
 * they were added read as null).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";

export type NotQualifyingReason = "noLink" | "principalUnknown" | "linkNotActive" | "locationInactive" | "principalDisabled" | "delegationEnded" | "noActivity";
export type BizappsResourceKind = "canvasApp" | "modelDrivenApp" | "flow" | "dataset" | "ciInstance";

/** One row of the facts file. */
export interface BizappsFact {
  readonly month: string;
  readonly customerTenantId: string;
  readonly resourceId: string;
  readonly resourceKind: BizappsResourceKind;
  readonly workload: string;
  readonly resourceType: string;
  readonly environmentId: string | null;
  readonly environmentType: string;
  readonly principalId: string;
  readonly attributedUserRole: string;
  /** owner | coOwner | publisher | instanceUser (as the model names it). */
  readonly relation: string;
  /** How the relationship began (created, solutionImport, takeover, assigned, …). */
  readonly basis: string | null;
  readonly solutionId: string | null;
  readonly relationshipFrom: number | null;
  readonly relationshipTo: number | null;
  readonly qualifies: boolean;
  readonly notQualifyingReason: NotQualifyingReason | null;
  readonly qualifyingFrom: number | null;
  readonly qualifyingTo: number | null;
  readonly qualifyingSeconds: number;
  readonly partnerLocationId: string | null;
  readonly globalId: string | null;
  readonly linkPath: "home" | "delegatedAdmin" | null;
  /**
   * The principal's link interval to the location nearest to the relationship (null bounds: since
   * always / still linked; both null without a location, or in a file written before they existed).
   */
  readonly linkFrom: number | null;
  readonly linkTo: number | null;
  readonly lastActAt: number | null;
  readonly lastActOperation: string | null;
  readonly credited: boolean;
  readonly decidedBy: string | null;
  readonly quantity: number;
  readonly quantityType: string;
  readonly quantitySource: string | null;
}

/**
 * Where the month run (src/attribution/engine.ts) writes the month's business-applications facts:
 * one file for every policy, since the rules do not depend on it.
 */
export function bizappsFactsFile(dataDir: string, month: string): string {
  return path.join(path.resolve(dataDir), "attribution", `month=${month}`, "bizapps", "facts.parquet");
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
const ms = (col: string) => `CAST(epoch_ms(${col}) AS DOUBLE) AS ${col}`;

export interface FactsFilter {
  readonly resourceIds?: readonly string[];
  readonly customerTenantIds?: readonly string[];
}

/** The month's facts (every row, or those of some resources / tenants); [] when the file is absent. */
export async function readBizappsFacts(file: string, filter: FactsFilter = {}): Promise<BizappsFact[]> {
  if (!existsSync(file)) return [];
  const where: string[] = [];
  if (filter.resourceIds) {
    if (filter.resourceIds.length === 0) return [];
    where.push(`lower(resource_id) IN (${filter.resourceIds.map((r) => sqlString(r.toLowerCase())).join(", ")})`);
  }
  if (filter.customerTenantIds) {
    if (filter.customerTenantIds.length === 0) return [];
    where.push(`lower(customer_tenant_id) IN (${filter.customerTenantIds.map((r) => sqlString(r.toLowerCase())).join(", ")})`);
  }
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    await c.run(`SET TimeZone = 'UTC'`);
    // Columns added to the contract later are read when the file has them.
    const present = new Set((await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`)).getRowObjectsJS().map((r) => String(r.column_name)));
    const optional = (col: string) => (present.has(col) ? ms(col) : `CAST(NULL AS DOUBLE) AS ${col}`);
    const sql = `SELECT month, customer_tenant_id, resource_id, resource_kind, workload, resource_type, environment_id, environment_type, principal_id,
        attributed_user_role, relation, basis, solution_id, ${ms("relationship_from")}, ${ms("relationship_to")}, qualifies, not_qualifying_reason,
        ${ms("qualifying_from")}, ${ms("qualifying_to")}, CAST(qualifying_seconds AS DOUBLE) AS qualifying_seconds, partner_location_id, global_id, link_path,
        ${ms("last_act_at")}, last_act_operation, credited, decided_by, CAST(quantity AS DOUBLE) AS quantity, quantity_type, quantity_source,
        ${optional("link_from")}, ${optional("link_to")}
      FROM read_parquet(${sqlString(file)}) ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY customer_tenant_id, resource_id, relationship_from NULLS FIRST, principal_id, partner_location_id NULLS FIRST`;
    const rows = (await c.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
    return rows.map(toFact);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function toFact(r: Record<string, unknown>): BizappsFact {
  return {
    month: String(r.month), customerTenantId: String(r.customer_tenant_id).toLowerCase(), resourceId: String(r.resource_id).toLowerCase(),
    resourceKind: String(r.resource_kind) as BizappsResourceKind, workload: String(r.workload), resourceType: String(r.resource_type),
    environmentId: str(r.environment_id), environmentType: String(r.environment_type ?? "NotApplicable"), principalId: String(r.principal_id).toLowerCase(),
    attributedUserRole: String(r.attributed_user_role), relation: String(r.relation ?? ""), basis: str(r.basis), solutionId: str(r.solution_id),
    relationshipFrom: num(r.relationship_from), relationshipTo: num(r.relationship_to), qualifies: r.qualifies === true,
    notQualifyingReason: str(r.not_qualifying_reason) as NotQualifyingReason | null, qualifyingFrom: num(r.qualifying_from), qualifyingTo: num(r.qualifying_to),
    qualifyingSeconds: Number(r.qualifying_seconds ?? 0), partnerLocationId: str(r.partner_location_id), globalId: str(r.global_id),
    linkPath: str(r.link_path) as "home" | "delegatedAdmin" | null, linkFrom: num(r.link_from), linkTo: num(r.link_to), lastActAt: num(r.last_act_at), lastActOperation: str(r.last_act_operation),
    credited: r.credited === true, decidedBy: str(r.decided_by), quantity: Number(r.quantity ?? 0), quantityType: String(r.quantity_type ?? "MAU"),
    quantitySource: str(r.quantity_source),
  };
}
