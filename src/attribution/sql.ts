/**
 * The attribution SQL. Written for portability (ARCHITECTURE.md, "Scale-out"): standard joins,
 * CASE, GROUP BY and window functions (MAX/SUM/ROW_NUMBER OVER … ROWS BETWEEN …). The three
 * engine-specific spellings are isolated in `Dialect` (seconds between two timestamps, string
 * aggregation, the table expression that reads Parquet); docs/ATTRIBUTION.md gives them for
 * PostgreSQL, Trino and Spark SQL.
 *
 * Tables the query expects (created by engine.ts):
 *   cov(partner_location_id, global_id, attribution_type, subscription_id, scope_prefix, prefix_len,
 *       valid_from TIMESTAMP, valid_to TIMESTAMP, role_name, role_rank, eligible, evidence_id)
 *   subs(subscription_id, tenant_id)
 */

export interface Dialect {
  /** Whole seconds from `a` to `b` (both timestamps at second precision). */
  secondsBetween(a: string, b: string): string;
  /** Distinct values of `expr` (nulls ignored) joined by a space, ordered. */
  stringAggDistinct(expr: string): string;
}

export const duckdbDialect: Dialect = {
  // Same spelling in Trino; PostgreSQL: EXTRACT(EPOCH FROM b - a); Spark: timestampdiff(SECOND, a, b).
  secondsBetween: (a, b) => `date_diff('second', ${a}, ${b})`,
  // PostgreSQL: string_agg(DISTINCT x, ' ' ORDER BY x); Trino: array_join(array_sort(array_agg(DISTINCT x)), ' ').
  stringAggDistinct: (expr) => `string_agg(DISTINCT ${expr}, ' ' ORDER BY ${expr})`,
};

export interface FactsQueryParams {
  /** Table expression of the month's usage rows (the lake relation). */
  readonly usage: string;
  /** Month bounds as SQL timestamp literals' text, e.g. 2026-10-01 00:00:00. */
  readonly monthStart: string;
  readonly monthEnd: string;
  readonly month: string;
  readonly policy: string;
  readonly dialect?: Dialect;
}

/**
 * The facts query: one row per (usage row, partner location, attribution type, eligibility) with
 * the covered seconds of the union of its intervals (rule 6), the AdminType rank (rule 9), the
 * credited amounts and the duplicate flags (rule 16).
 *
 * Steps (CTEs):
 *   u      usage rows of the month (ChargeCategory Usage: the lake keeps only those)
 *   m      u ⋈ cov on subscription, scope containment (prefix match on the lower-case id) and
 *          interval overlap; each interval clipped to the row's charge period
 *   x      each interval once for "all roles" (cls 0) and once more, when eligible, for cls 1
 *   g      per group (row, location, type, cls): count, min start, max end. Most groups have
 *          ONE interval; only groups with several go through gaps-and-islands:
 *   w/isl  running MAX(end) over earlier intervals; a start after it opens a new island
 *   cover  covered seconds per (row, location, type): all roles, and eligible roles only
 *   roles  best eligible / ineligible rank and the evidence ids
 *   f      the eligible fact (eligible seconds) and the ineligible fact (seconds covered only by
 *          ineligible roles = all − eligible), each with its credit = cost × covered ÷ period
 *   out    the duplicate flags: ROW_NUMBER() within organisation, organisation + type, location
 */
export function factsQuery(p: FactsQueryParams): string {
  const d = p.dialect ?? duckdbDialect;
  const secs = d.secondsBetween;
  const part = "row_key, partner_location_id, attribution_type, cls";
  return `
WITH u AS (
  SELECT row_key, subscription_id, resource_id, service_name, billing_currency, cost, cost_usd,
         charge_period_start AS ps, charge_period_end AS pe
  FROM ${p.usage}
  WHERE charge_period_start >= TIMESTAMP '${p.monthStart}' AND charge_period_start < TIMESTAMP '${p.monthEnd}'
    AND charge_period_end > charge_period_start
),
m AS (
  SELECT u.row_key, c.partner_location_id, c.global_id, c.attribution_type, c.eligible, c.role_rank, c.evidence_id,
         CASE WHEN c.valid_from > u.ps THEN c.valid_from ELSE u.ps END AS f,
         CASE WHEN c.valid_to < u.pe THEN c.valid_to ELSE u.pe END AS t
  FROM u JOIN cov c ON c.subscription_id = u.subscription_id
   AND (c.scope_prefix IS NULL OR u.resource_id = c.scope_prefix
        OR SUBSTR(u.resource_id, 1, c.prefix_len + 1) = c.scope_prefix || '/')
   AND c.valid_from < u.pe AND c.valid_to > u.ps
),
x AS (
  SELECT row_key, partner_location_id, attribution_type, 0 AS cls, f, t FROM m
  UNION ALL
  SELECT row_key, partner_location_id, attribution_type, 1 AS cls, f, t FROM m WHERE eligible
),
g AS (
  SELECT ${part}, COUNT(*) AS n, MIN(f) AS f, MAX(t) AS t FROM x GROUP BY ${part}
),
multi AS (
  SELECT x.* FROM x JOIN g ON g.row_key = x.row_key AND g.partner_location_id = x.partner_location_id
   AND g.attribution_type = x.attribution_type AND g.cls = x.cls
  WHERE g.n > 1
),
w AS (
  SELECT multi.*, MAX(t) OVER (PARTITION BY ${part} ORDER BY f, t ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_t
  FROM multi
),
isl AS (
  SELECT w.*, SUM(CASE WHEN prev_t IS NULL OR f > prev_t THEN 1 ELSE 0 END)
           OVER (PARTITION BY ${part} ORDER BY f, t ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS island
  FROM w
),
spans AS (
  SELECT ${part}, ${secs("MIN(f)", "MAX(t)")} AS s FROM isl GROUP BY ${part}, island
  UNION ALL
  SELECT ${part}, ${secs("f", "t")} AS s FROM g WHERE n = 1
),
cover AS (
  SELECT row_key, partner_location_id, attribution_type,
         SUM(CASE WHEN cls = 0 THEN s ELSE 0 END) AS all_s,
         SUM(CASE WHEN cls = 1 THEN s ELSE 0 END) AS elig_s
  FROM spans GROUP BY row_key, partner_location_id, attribution_type
),
roles AS (
  SELECT row_key, partner_location_id, attribution_type, MIN(global_id) AS global_id,
         MIN(CASE WHEN eligible THEN role_rank END) AS elig_rank,
         MIN(CASE WHEN NOT eligible THEN role_rank END) AS inelig_rank,
         ${d.stringAggDistinct("CASE WHEN eligible THEN evidence_id END")} AS elig_evidence,
         ${d.stringAggDistinct("CASE WHEN NOT eligible THEN evidence_id END")} AS inelig_evidence
  FROM m GROUP BY row_key, partner_location_id, attribution_type
),
f0 AS (
  SELECT c.row_key, c.partner_location_id, r.global_id, c.attribution_type, TRUE AS eligible, c.elig_s AS covered_s,
         r.elig_rank AS role_rank, r.elig_evidence AS evidence_ids
  FROM cover c JOIN roles r ON r.row_key = c.row_key AND r.partner_location_id = c.partner_location_id AND r.attribution_type = c.attribution_type
  WHERE c.elig_s > 0
  UNION ALL
  SELECT c.row_key, c.partner_location_id, r.global_id, c.attribution_type, FALSE AS eligible, c.all_s - c.elig_s AS covered_s,
         r.inelig_rank AS role_rank, r.inelig_evidence AS evidence_ids
  FROM cover c JOIN roles r ON r.row_key = c.row_key AND r.partner_location_id = c.partner_location_id AND r.attribution_type = c.attribution_type
  WHERE c.all_s - c.elig_s > 0
),
f AS (
  SELECT f0.*, u.subscription_id, s.tenant_id AS customer_tenant_id, u.resource_id, u.service_name, u.billing_currency,
         u.ps AS charge_period_start, u.pe AS charge_period_end, ${secs("u.ps", "u.pe")} AS period_s, u.cost, u.cost_usd,
         CASE WHEN f0.covered_s = ${secs("u.ps", "u.pe")} THEN u.cost
              ELSE CAST(CAST(u.cost * f0.covered_s / ${secs("u.ps", "u.pe")} AS DECIMAL(38,12)) AS DECIMAL(38,18)) END AS acr,
         CASE WHEN u.cost_usd IS NULL THEN NULL WHEN f0.covered_s = ${secs("u.ps", "u.pe")} THEN u.cost_usd
              ELSE CAST(CAST(u.cost_usd * f0.covered_s / ${secs("u.ps", "u.pe")} AS DECIMAL(38,12)) AS DECIMAL(38,18)) END AS acr_usd
  FROM f0 JOIN u ON u.row_key = f0.row_key
  LEFT JOIN subs s ON s.subscription_id = u.subscription_id
)
SELECT '${p.month}' AS month, '${p.policy}' AS policy,
       partner_location_id, global_id, attribution_type, customer_tenant_id, subscription_id, resource_id, service_name,
       row_key, charge_period_start, charge_period_end, eligible, role_rank, COALESCE(rn.role_name, '') AS admin_type, covered_s, period_s,
       CAST(covered_s AS DOUBLE) / period_s AS covered_fraction,
       billing_currency, cost, cost_usd, acr, acr_usd, evidence_ids,
       ROW_NUMBER() OVER (PARTITION BY global_id, row_key, eligible
                          ORDER BY CASE attribution_type WHEN 'PAL' THEN 0 ELSE 1 END, acr DESC, partner_location_id) > 1 AS dup_pga,
       ROW_NUMBER() OVER (PARTITION BY global_id, attribution_type, row_key, eligible
                          ORDER BY acr DESC, partner_location_id) > 1 AS dup_pga_attach_type,
       ROW_NUMBER() OVER (PARTITION BY partner_location_id, row_key, eligible
                          ORDER BY CASE attribution_type WHEN 'PAL' THEN 0 ELSE 1 END, acr DESC) > 1 AS dup_mpn
FROM f LEFT JOIN (SELECT DISTINCT role_rank AS rr, role_name FROM cov) rn ON rn.rr = f.role_rank`;
}

/** Rollups from the facts file: one row per report key (the flags split a key's amount). */
export function rollupQuery(facts: string): string {
  return `
SELECT partner_location_id, global_id, attribution_type, COALESCE(customer_tenant_id, '') AS customer_tenant_id, subscription_id,
       admin_type, eligible, dup_pga, dup_pga_attach_type, dup_mpn, billing_currency,
       CAST(SUM(acr) AS VARCHAR) AS acr, CAST(SUM(acr_usd) AS VARCHAR) AS acr_usd,
       COUNT(*) AS usage_rows, COUNT(acr_usd) AS usd_rows
FROM ${facts}
GROUP BY partner_location_id, global_id, attribution_type, customer_tenant_id, subscription_id, admin_type, eligible,
         dup_pga, dup_pga_attach_type, dup_mpn, billing_currency`;
}
