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
 * Steps (CTEs). Most groups hold ONE interval and most usage rows ONE fact, so the window
 * functions only run on the groups and rows that need them (the fast path is plain GROUP BY):
 *   u      usage rows of the month (ChargeCategory Usage: the lake keeps only those)
 *   m      u ⋈ cov on subscription, scope containment (prefix match on the lower-case id) and
 *          interval overlap; each interval clipped to the row's charge period
 *   a      per (row, location, type): interval count (all / eligible), span, best ranks, the row's
 *          values; a group with one interval is done here
 *   mm…cm  groups with several intervals: each distinct interval once for all roles (cls 0) and once
 *          more when eligible (cls 1); running MAX(end) over earlier intervals; a start after it opens
 *          a new island; covered seconds = sum of island lengths
 *   c      covered seconds per group (all roles, eligible roles) and evidence ids
 *   f0     the eligible fact (eligible seconds) and the ineligible fact (seconds covered only by
 *          ineligible roles = all − eligible), each with credit = cost × covered ÷ period
 *   nf     facts per (row, eligibility): a row with one fact has no duplicates; the others get
 *          their flags from ROW_NUMBER() within organisation, organisation + type, location
 */
export function factsQuery(p: FactsQueryParams): string {
  const d = p.dialect ?? duckdbDialect;
  const secs = d.secondsBetween;
  const grp = "row_key, partner_location_id, attribution_type";
  const part = `${grp}, cls`;
  const on = (l: string, r: string) => `${l}.row_key = ${r}.row_key AND ${l}.partner_location_id = ${r}.partner_location_id AND ${l}.attribution_type = ${r}.attribution_type`;
  const credit = (money: string, covered: string) =>
    `CASE WHEN ${money} IS NULL THEN NULL WHEN ${covered} = period_s THEN ${money} ELSE CAST(CAST(${money} * ${covered} / period_s AS DECIMAL(38,12)) AS DECIMAL(38,18)) END`;
  const palFirst = "CASE attribution_type WHEN 'PAL' THEN 0 ELSE 1 END";
  const factCols = `month, policy, partner_location_id, global_id, attribution_type, customer_tenant_id, subscription_id, resource_id, service_name,
       row_key, charge_period_start, charge_period_end, eligible, role_rank, admin_type, covered_s, period_s, covered_fraction,
       billing_currency, cost, cost_usd, acr, acr_usd, evidence_ids`;
  return `
WITH u AS (
  SELECT row_key, subscription_id, resource_id, service_name, billing_currency, cost, cost_usd,
         charge_period_start AS ps, charge_period_end AS pe
  FROM ${p.usage}
  WHERE charge_period_start >= TIMESTAMP '${p.monthStart}' AND charge_period_start < TIMESTAMP '${p.monthEnd}'
    AND charge_period_end > charge_period_start
),
m AS (
  SELECT u.row_key, u.subscription_id, u.resource_id, u.service_name, u.billing_currency, u.cost, u.cost_usd, u.ps, u.pe,
         c.partner_location_id, c.global_id, c.attribution_type, c.eligible, c.role_rank, c.evidence_id,
         CASE WHEN c.valid_from > u.ps THEN c.valid_from ELSE u.ps END AS f,
         CASE WHEN c.valid_to < u.pe THEN c.valid_to ELSE u.pe END AS t
  FROM u JOIN cov c ON c.subscription_id = u.subscription_id
   AND (c.scope_prefix IS NULL OR u.resource_id = c.scope_prefix
        OR SUBSTR(u.resource_id, 1, c.prefix_len + 1) = c.scope_prefix || '/')
   AND c.valid_from < u.pe AND c.valid_to > u.ps
),
a AS (
  SELECT ${grp}, COUNT(*) AS n, SUM(CASE WHEN eligible THEN 1 ELSE 0 END) AS ne, MIN(f) AS f, MAX(t) AS t,
         MIN(CASE WHEN eligible THEN role_rank END) AS elig_rank, MIN(CASE WHEN NOT eligible THEN role_rank END) AS inelig_rank,
         MIN(evidence_id) AS ev, MIN(global_id) AS global_id, MIN(subscription_id) AS subscription_id, MIN(resource_id) AS resource_id,
         MIN(service_name) AS service_name, MIN(billing_currency) AS billing_currency, MIN(cost) AS cost, MIN(cost_usd) AS cost_usd,
         MIN(ps) AS ps, MIN(pe) AS pe
  FROM m GROUP BY ${grp}
),
mm AS (
  SELECT m.row_key, m.partner_location_id, m.attribution_type, m.eligible, m.evidence_id, m.f, m.t
  FROM m JOIN a ON ${on("a", "m")} WHERE a.n > 1
),
x AS (
  -- DISTINCT: identical intervals (two identities with the same grant) would tie in ORDER BY f, t,
  -- and the two windows below may order ties differently; without ties the order is total.
  SELECT DISTINCT row_key, partner_location_id, attribution_type, 0 AS cls, f, t FROM mm
  UNION
  SELECT DISTINCT row_key, partner_location_id, attribution_type, 1 AS cls, f, t FROM mm WHERE eligible
),
w AS (
  SELECT x.*, MAX(t) OVER (PARTITION BY ${part} ORDER BY f, t ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_t FROM x
),
isl AS (
  SELECT w.*, SUM(CASE WHEN prev_t IS NULL OR f > prev_t THEN 1 ELSE 0 END)
           OVER (PARTITION BY ${part} ORDER BY f, t ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS island
  FROM w
),
spans AS (
  SELECT ${part}, ${secs("MIN(f)", "MAX(t)")} AS s FROM isl GROUP BY ${part}, island
),
cm AS (
  SELECT ${grp}, SUM(CASE WHEN cls = 0 THEN s ELSE 0 END) AS all_s, SUM(CASE WHEN cls = 1 THEN s ELSE 0 END) AS elig_s
  FROM spans GROUP BY ${grp}
),
em AS (
  SELECT ${grp}, ${d.stringAggDistinct("CASE WHEN eligible THEN evidence_id END")} AS elig_ev,
         ${d.stringAggDistinct("CASE WHEN NOT eligible THEN evidence_id END")} AS inelig_ev
  FROM mm GROUP BY ${grp}
),
c AS (
  SELECT a.*, ${secs("a.ps", "a.pe")} AS period_s,
         CASE WHEN a.n = 1 THEN ${secs("a.f", "a.t")} ELSE cm.all_s END AS all_s,
         CASE WHEN a.n = 1 THEN CASE WHEN a.ne = 1 THEN ${secs("a.f", "a.t")} ELSE 0 END ELSE cm.elig_s END AS elig_s,
         CASE WHEN a.n = 1 THEN CASE WHEN a.ne = 1 THEN a.ev END ELSE em.elig_ev END AS elig_ev,
         CASE WHEN a.n = 1 THEN CASE WHEN a.ne = 0 THEN a.ev END ELSE em.inelig_ev END AS inelig_ev
  FROM a LEFT JOIN cm ON ${on("cm", "a")} LEFT JOIN em ON ${on("em", "a")}
),
f0 AS (
  SELECT row_key, partner_location_id, global_id, attribution_type, TRUE AS eligible, elig_s AS covered_s, elig_rank AS role_rank,
         elig_ev AS evidence_ids, subscription_id, resource_id, service_name, billing_currency, cost, cost_usd, ps, pe, period_s
  FROM c WHERE elig_s > 0
  UNION ALL
  SELECT row_key, partner_location_id, global_id, attribution_type, FALSE AS eligible, all_s - elig_s AS covered_s, inelig_rank AS role_rank,
         inelig_ev AS evidence_ids, subscription_id, resource_id, service_name, billing_currency, cost, cost_usd, ps, pe, period_s
  FROM c WHERE all_s - elig_s > 0
),
f AS (
  SELECT '${p.month}' AS month, '${p.policy}' AS policy, f0.partner_location_id, f0.global_id, f0.attribution_type,
         s.tenant_id AS customer_tenant_id, f0.subscription_id, f0.resource_id, f0.service_name, f0.row_key,
         f0.ps AS charge_period_start, f0.pe AS charge_period_end, f0.eligible, f0.role_rank, COALESCE(rn.role_name, '') AS admin_type,
         f0.covered_s, f0.period_s, CAST(f0.covered_s AS DOUBLE) / f0.period_s AS covered_fraction,
         f0.billing_currency, f0.cost, f0.cost_usd, ${credit("f0.cost", "f0.covered_s")} AS acr, ${credit("f0.cost_usd", "f0.covered_s")} AS acr_usd,
         f0.evidence_ids
  FROM f0 LEFT JOIN subs s ON s.subscription_id = f0.subscription_id
  LEFT JOIN (SELECT DISTINCT role_rank AS rr, role_name FROM cov) rn ON rn.rr = f0.role_rank
),
nf AS (
  SELECT row_key, eligible, COUNT(*) AS n FROM f GROUP BY row_key, eligible
),
fx AS (
  SELECT f.*, nf.n AS facts_of_row FROM f JOIN nf ON nf.row_key = f.row_key AND nf.eligible = f.eligible
)
SELECT ${factCols}, FALSE AS dup_pga, FALSE AS dup_pga_attach_type, FALSE AS dup_mpn
FROM fx WHERE facts_of_row = 1
UNION ALL
SELECT ${factCols},
       ROW_NUMBER() OVER (PARTITION BY global_id, row_key, eligible ORDER BY ${palFirst}, acr DESC, partner_location_id) > 1 AS dup_pga,
       ROW_NUMBER() OVER (PARTITION BY global_id, attribution_type, row_key, eligible ORDER BY acr DESC, partner_location_id) > 1 AS dup_pga_attach_type,
       ROW_NUMBER() OVER (PARTITION BY partner_location_id, row_key, eligible ORDER BY ${palFirst}, acr DESC) > 1 AS dup_mpn
FROM fx WHERE facts_of_row > 1`;
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
