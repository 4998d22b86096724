/**
 * The business-applications SQL (DuckDB), over the candidate table (loaded by engine.ts) and the
 * month's events: the activity lake's `events.parquet` plus the server's own acts (`bz_acts`).
 *
 * Tables the engine loads first:
 *   bz_cand   one row per candidate (resource, relationship interval, partner location), static
 *             columns of the facts, `static_reason` the reason the control plane alone gives,
 *             `link_from` / `link_to` the link interval nearest to the relationship;
 *   bz_piece  the candidate's qualifying intervals [q_from, q_to), with its (tenant, resource, principal);
 *   bz_key    distinct (tenant, resource, principal) of the candidates;
 *   bz_res    every resource the control plane knows (deleted ones too), with its workload and metric;
 *   bz_acts   the server's own acts (Power BI imports / take-overs, solution imports per component).
 *
 * A resource is (tenant, workload, id) everywhere: events and metrics of another workload never
 * count for a resource whose id string they share (a Power BI dataset and a Power App may).
 *
 * Two passes over the events (each a streaming scan; no CTE holds events):
 *   1. per resource: events, workload, MAU = distinct users with a use event (`bz_ev_res`);
 *   2. the candidates' own events (`bz_kev`: a hash join with the small key table), from which
 *      come per candidate key the principal's events on the resource in the month (`bz_key_ev`)
 *      and per candidate its last act while qualifying (`bz_last`: events inside its pieces).
 * Then the decision (decision 4) and the metric (decision 5) run over candidate-sized tables.
 */

export interface BizappsSqlInput {
  /** DuckDB table expression of the month's activity lake events (ACTIVITY_EVENT_COLUMNS). */
  readonly events: string;
  /** DuckDB table expression of the month's explicit metrics (ACTIVITY_METRIC_COLUMNS). */
  readonly metrics: string;
  /** 'YYYY-MM-DD HH:MM:SS' bounds of the month. */
  readonly monthStart: string;
  readonly monthEnd: string;
  readonly month: string;
}

const q = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** The month's events: lake rows in the month plus the server's own acts. */
function allEvents(i: BizappsSqlInput): string {
  return `(SELECT tenant_id, workload, resource_id, user_object_id AS user_id, "at", operation FROM ${i.events}
      WHERE "at" >= TIMESTAMP ${q(i.monthStart)} AND "at" < TIMESTAMP ${q(i.monthEnd)}
    UNION ALL SELECT tenant_id, workload, resource_id, user_id, "at", operation FROM bz_acts)`;
}

/** DDL of the tables the engine fills with appenders. */
export const BIZAPPS_TABLES = [
  `CREATE OR REPLACE TEMP TABLE bz_cand (
    cand_id INTEGER, customer_tenant_id VARCHAR, resource_id VARCHAR, resource_kind VARCHAR, workload VARCHAR, resource_type VARCHAR,
    environment_id VARCHAR, environment_type VARCHAR, principal_id VARCHAR, principal_tenant_id VARCHAR, attributed_user_role VARCHAR,
    relation VARCHAR, basis VARCHAR, solution_id VARCHAR, relationship_from TIMESTAMP, relationship_to TIMESTAMP,
    partner_location_id VARCHAR, global_id VARCHAR, link_path VARCHAR, static_reason VARCHAR, requires_activity BOOLEAN,
    qualifying_from TIMESTAMP, qualifying_to TIMESTAMP, qualifying_seconds BIGINT, link_from TIMESTAMP, link_to TIMESTAMP)`,
  `CREATE OR REPLACE TEMP TABLE bz_piece (cand_id INTEGER, tenant_id VARCHAR, resource_id VARCHAR, principal_id VARCHAR, q_from TIMESTAMP, q_to TIMESTAMP)`,
  `CREATE OR REPLACE TEMP TABLE bz_res (tenant_id VARCHAR, resource_id VARCHAR, resource_kind VARCHAR, quantity_type VARCHAR, workload VARCHAR)`,
  `CREATE OR REPLACE TEMP TABLE bz_acts (tenant_id VARCHAR, resource_id VARCHAR, user_id VARCHAR, "at" TIMESTAMP, operation VARCHAR, workload VARCHAR)`,
] as const;

/** Statements run in order before the facts query (each builds a small table). */
export function bizappsPrepare(i: BizappsSqlInput): string[] {
  return [
    `CREATE OR REPLACE TEMP TABLE bz_key AS SELECT ROW_NUMBER() OVER () AS key_id, tenant_id, workload, resource_id, principal_id
      FROM (SELECT DISTINCT customer_tenant_id AS tenant_id, workload, resource_id, principal_id FROM bz_cand)`,
    // 1. per resource of the activity lake (known or not), a resource being (tenant, workload, id): events, MAU (decision 5).
    `CREATE OR REPLACE TEMP TABLE bz_ev_res AS
      SELECT tenant_id, workload, resource_id, COUNT(*) AS events,
        COUNT(DISTINCT CASE WHEN is_use THEN user_object_id END) AS mau
      FROM ${i.events} WHERE "at" >= TIMESTAMP ${q(i.monthStart)} AND "at" < TIMESTAMP ${q(i.monthEnd)}
      GROUP BY tenant_id, workload, resource_id`,
    // 2. the candidates' own events on their resources (a hash join with the small key table): a
    //    fraction of the month's events, kept for the two aggregates below.
    `CREATE OR REPLACE TEMP TABLE bz_kev AS
      SELECT k.key_id, e."at", e.operation
      FROM ${allEvents(i)} e JOIN bz_key k ON k.tenant_id = e.tenant_id AND k.workload = e.workload AND k.resource_id = e.resource_id AND k.principal_id = e.user_id`,
    // per candidate key: the principal's events on the resource in the month (Customer Insights' "active user").
    `CREATE OR REPLACE TEMP TABLE bz_key_ev AS
      SELECT k.tenant_id, k.resource_id, k.principal_id, COUNT(*) AS events
      FROM bz_kev e JOIN bz_key k ON k.key_id = e.key_id GROUP BY k.tenant_id, k.resource_id, k.principal_id`,
    // 3. per candidate: the last act while qualifying (decision 4). Ties at the same instant: the greatest operation name.
    `CREATE OR REPLACE TEMP TABLE bz_last AS
      SELECT p.cand_id, MAX(e."at") AS last_act_at, arg_max(e.operation, (e."at", e.operation)) AS last_act_operation
      FROM bz_kev e JOIN bz_key k ON k.key_id = e.key_id
        JOIN bz_piece p ON p.tenant_id = k.tenant_id AND p.resource_id = k.resource_id AND p.principal_id = k.principal_id
          AND e."at" >= p.q_from AND e."at" < p.q_to
      GROUP BY p.cand_id`,
    `DROP TABLE bz_kev`,
  ];
}

/**
 * The facts: one row per candidate, the decision and the metric on every row of the resource,
 * `credited` on the one row that earns it. Candidate-sized: reads only the tables above.
 */
export function bizappsFactsQuery(i: BizappsSqlInput): string {
  return `
WITH metric_file AS (
  SELECT tenant_id, workload, resource_id, metric, MAX(value) AS value FROM ${i.metrics} GROUP BY tenant_id, workload, resource_id, metric
),
metric AS (
  SELECT r.tenant_id, r.resource_id, r.quantity_type,
    CASE WHEN mf.value IS NOT NULL THEN mf.value WHEN r.quantity_type = 'MAU' THEN COALESCE(er.mau, 0) ELSE 0 END AS quantity,
    CASE WHEN mf.value IS NOT NULL THEN 'metrics' WHEN r.quantity_type = 'MAU' THEN 'activity' ELSE 'none' END AS quantity_source
  FROM bz_res r
  LEFT JOIN metric_file mf ON mf.tenant_id = r.tenant_id AND mf.workload = r.workload AND mf.resource_id = r.resource_id
    AND mf.metric = CASE r.quantity_type WHEN 'MAU' THEN 'MonthlyActiveUsers' ELSE 'UnifiedProfiles' END
  LEFT JOIN bz_ev_res er ON er.tenant_id = r.tenant_id AND er.workload = r.workload AND er.resource_id = r.resource_id
),
cq AS (
  SELECT c.*, a.last_act_at, a.last_act_operation, COALESCE(ke.events, 0) AS candidate_events,
    CASE WHEN c.static_reason IS NOT NULL THEN c.static_reason
         WHEN c.requires_activity AND COALESCE(ke.events, 0) = 0 THEN 'noActivity' END AS not_qualifying_reason
  FROM bz_cand c
  LEFT JOIN bz_last a ON a.cand_id = c.cand_id
  LEFT JOIN bz_key_ev ke ON ke.tenant_id = c.customer_tenant_id AND ke.resource_id = c.resource_id AND ke.principal_id = c.principal_id
),
w AS (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY customer_tenant_id, resource_id
      ORDER BY (not_qualifying_reason IS NULL) DESC, last_act_at DESC NULLS LAST, relationship_from DESC NULLS LAST,
        qualifying_from DESC NULLS LAST, global_id, partner_location_id, principal_id, cand_id) AS rn,
    MIN(CASE WHEN not_qualifying_reason IS NULL THEN global_id END) OVER r AS g_min,
    MAX(CASE WHEN not_qualifying_reason IS NULL THEN global_id END) OVER r AS g_max,
    MAX(CASE WHEN not_qualifying_reason IS NULL THEN last_act_at END) OVER r AS any_act
  FROM cq
  WINDOW r AS (PARTITION BY customer_tenant_id, resource_id)
)
SELECT ${q(i.month)} AS month, w.customer_tenant_id, w.resource_id, w.resource_kind, w.workload, w.resource_type,
  w.environment_id, w.environment_type, w.principal_id, w.attributed_user_role, w.relation, w.basis, w.solution_id,
  w.relationship_from, w.relationship_to,
  (w.not_qualifying_reason IS NULL) AS qualifies, w.not_qualifying_reason,
  w.qualifying_from, w.qualifying_to, w.qualifying_seconds,
  w.partner_location_id, w.global_id, w.link_path,
  w.last_act_at, w.last_act_operation,
  (w.not_qualifying_reason IS NULL AND w.rn = 1) AS credited,
  CASE WHEN w.g_min IS NULL THEN NULL WHEN w.g_min = w.g_max THEN 'onlyPartner'
       WHEN w.any_act IS NOT NULL THEN 'latestActivity' ELSE 'latestRelationship' END AS decided_by,
  CAST(m.quantity AS BIGINT) AS quantity, m.quantity_type, m.quantity_source,
  w.principal_tenant_id, CAST(w.candidate_events AS BIGINT) AS candidate_events, w.link_from, w.link_to
FROM w LEFT JOIN metric m ON m.tenant_id = w.customer_tenant_id AND m.resource_id = w.resource_id`;
}

/** How many unknown resources a run lists (the busiest first); the rest are counted, not listed. */
export const UNKNOWN_RESOURCES_CAP = 1000;

const UNKNOWN = `bz_ev_res er WHERE NOT EXISTS (SELECT 1 FROM bz_res r WHERE r.tenant_id = er.tenant_id AND r.workload = er.workload AND r.resource_id = er.resource_id)`;

/** Activity on resources the control plane does not know (never silently dropped): the `cap` busiest. */
export const unknownResourcesQuery = (cap: number = UNKNOWN_RESOURCES_CAP) => `
SELECT er.tenant_id, er.resource_id, er.workload, er.events FROM ${UNKNOWN}
ORDER BY er.events DESC, er.tenant_id, er.resource_id LIMIT ${Math.max(0, Math.floor(cap))}`;

/** Every unknown resource: how many, and their events. */
export const UNKNOWN_RESOURCES_TOTAL_QUERY = `SELECT COUNT(*) AS resources, COALESCE(SUM(er.events), 0) AS events FROM ${UNKNOWN}`;

/** Facts columns, in order (the contract of `attribution/month=M/bizapps/facts.parquet`). */
export const BIZAPPS_FACT_COLUMNS = [
  "month", "customer_tenant_id", "resource_id", "resource_kind", "workload", "resource_type", "environment_id", "environment_type",
  "principal_id", "attributed_user_role", "relation", "basis", "solution_id", "relationship_from", "relationship_to", "qualifies",
  "not_qualifying_reason", "qualifying_from", "qualifying_to", "qualifying_seconds", "partner_location_id", "global_id", "link_path",
  "last_act_at", "last_act_operation", "credited", "decided_by", "quantity", "quantity_type", "quantity_source",
  // Added by the engine:
  "principal_tenant_id", "candidate_events",
  // The link interval nearest to the relationship (null: since always / still linked; both null without a location).
  "link_from", "link_to",
] as const;
