/**
 * The attribution SQL. Written for portability (ARCHITECTURE.md, "Scale-out"): standard joins,
 * CASE, GROUP BY and window functions (MAX/SUM/ROW_NUMBER OVER … ROWS BETWEEN …). The three
 * engine-specific spellings are isolated in `Dialect` (seconds between two timestamps, string
 * aggregation, the table expression that reads Parquet); docs/ATTRIBUTION.md gives them for
 * PostgreSQL, Trino and Spark SQL.
 *
 * Tables the query expects (created by engine.ts):
 *   cov(partner_location_id, global_id, attribution_type, subscription_id, scope_prefix, prefix_len,
 *       valid_from TIMESTAMP, valid_to TIMESTAMP, role_name, role_rank, eligible, evidence_id,
 *       tenant_id, solo, dup_possible)
 *   subs(subscription_id, tenant_id)   (the usage summary uses it to find unknown subscriptions)
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
 * the covered seconds of the union of its intervals (rule 6), the AdminType (rule 9), the
 * credited amounts and the duplicate flags (rule 16).
 *
 * The coverage table marks two shapes (coverage.ts) so that the common case streams:
 *   - a `solo` coverage row is the only one of its (location, type, subscription) and its
 *     organisation has no other (location, type) there: a usage row matching it has exactly one
 *     interval for that location and type and cannot be a duplicate, so the match IS the fact,
 *     with false flags (no grouping, no window);
 *   - `dup_possible` is false when the organisation has one (location, type) on the
 *     subscription: its facts there cannot be duplicates, so their flags are false (no window).
 * Each CTE that carries the solo stream is referenced exactly once: an engine that materialises
 * CTEs referenced twice (DuckDB does) would otherwise hold every fact of the month in memory and
 * spill it uncompressed (at 100 million usage rows, tens of gigabytes). Only `m` and what derives
 * from it (the usage rows that several coverage rows of one organisation reach) are materialised.
 * Steps (CTEs):
 *   solo   usage ⋈ solo coverage rows (subscription, scope containment by prefix on the
 *          lower-case id, interval overlap), clipped to the charge period → facts
 *   m      usage ⋈ the other coverage rows, clipped
 *   a      per (row, location, type): interval counts (all / eligible), span, best ranks
 *   x…cm   groups with several intervals: each distinct interval for all roles (cls 0) and again
 *          when eligible (cls 1); gaps-and-islands (running MAX(end) over earlier intervals; a start
 *          after it opens an island); covered seconds = sum of island lengths
 *   grouped the eligible fact (eligible seconds) and the ineligible fact (seconds covered only by
 *          ineligible roles = all − eligible)
 *   f      both kinds with credit = cost × covered ÷ period (exact when fully covered)
 *   out    solo facts (credited the same way) with false flags, streamed; grouped facts with
 *          false flags where no duplicate is possible, else ROW_NUMBER() within organisation,
 *          organisation + type, location (priority PAL, larger credit, smaller location id)
 */
export function factsQuery(p: FactsQueryParams): string {
  const d = p.dialect ?? duckdbDialect;
  const secs = d.secondsBetween;
  const grp = "row_key, partner_location_id, attribution_type";
  const part = `${grp}, cls`;
  const on = (l: string, r: string) => `${l}.row_key = ${r}.row_key AND ${l}.partner_location_id = ${r}.partner_location_id AND ${l}.attribution_type = ${r}.attribution_type`;
  const credit = (money: string) =>
    `CASE WHEN ${money} IS NULL THEN NULL WHEN covered_s = period_s THEN ${money} ELSE CAST(CAST(${money} * covered_s / period_s AS DECIMAL(38,12)) AS DECIMAL(38,18)) END`;
  const palFirst = "CASE attribution_type WHEN 'PAL' THEN 0 ELSE 1 END";
  const usage = `
    SELECT row_key, subscription_id, resource_id, service_name, billing_currency, cost, cost_usd,
           charge_period_start AS ps, charge_period_end AS pe
    FROM ${p.usage}
    WHERE charge_period_start >= TIMESTAMP '${p.monthStart}' AND charge_period_start < TIMESTAMP '${p.monthEnd}'
      AND charge_period_end > charge_period_start`;
  // The join of usage rows with coverage rows; written once, used for both paths.
  const join = (solo: boolean) => `
    FROM (${usage}) u JOIN cov c ON c.subscription_id = u.subscription_id AND c.solo = ${solo ? "TRUE" : "FALSE"}
     AND (c.scope_prefix IS NULL OR u.resource_id = c.scope_prefix
          OR SUBSTR(u.resource_id, 1, c.prefix_len + 1) = c.scope_prefix || '/')
     AND c.valid_from < u.pe AND c.valid_to > u.ps`;
  const clipped = "CASE WHEN c.valid_from > u.ps THEN c.valid_from ELSE u.ps END";
  const clippedEnd = "CASE WHEN c.valid_to < u.pe THEN c.valid_to ELSE u.pe END";
  const row = "u.row_key, u.subscription_id, u.resource_id, u.service_name, u.billing_currency, u.cost, u.cost_usd, u.ps, u.pe";
  const cols = `partner_location_id, global_id, attribution_type, customer_tenant_id, subscription_id, resource_id, service_name,
         row_key, ps, pe, eligible, role_rank, admin_type, covered_s, period_s, billing_currency, cost, cost_usd, evidence_ids, dup_possible`;
  const out = `'${p.month}' AS month, '${p.policy}' AS policy, partner_location_id, global_id, attribution_type, customer_tenant_id,
       subscription_id, resource_id, service_name, row_key, ps AS charge_period_start, pe AS charge_period_end, eligible, role_rank, admin_type,
       covered_s, period_s, CAST(covered_s AS DOUBLE) / period_s AS covered_fraction, billing_currency, cost, cost_usd, acr, acr_usd, evidence_ids`;
  return `
WITH solo AS (
  SELECT c.partner_location_id, c.global_id, c.attribution_type, c.tenant_id AS customer_tenant_id, u.subscription_id, u.resource_id,
         u.service_name, u.row_key, u.ps, u.pe, c.eligible, c.role_rank, COALESCE(c.role_name, '') AS admin_type,
         ${secs(clipped, clippedEnd)} AS covered_s, ${secs("u.ps", "u.pe")} AS period_s, u.billing_currency, u.cost, u.cost_usd,
         c.evidence_id AS evidence_ids, c.dup_possible
  ${join(true)}
),
m AS (
  SELECT ${row}, c.partner_location_id, c.global_id, c.attribution_type, c.tenant_id, c.eligible, c.role_rank, c.evidence_id, c.dup_possible,
         ${clipped} AS f, ${clippedEnd} AS t
  ${join(false)}
),
a AS (
  SELECT ${grp}, COUNT(*) AS n, SUM(CASE WHEN eligible THEN 1 ELSE 0 END) AS ne, MIN(f) AS f, MAX(t) AS t,
         MIN(CASE WHEN eligible THEN role_rank END) AS elig_rank, MIN(CASE WHEN NOT eligible THEN role_rank END) AS inelig_rank,
         MIN(evidence_id) AS ev, MIN(global_id) AS global_id, MIN(tenant_id) AS customer_tenant_id, MIN(subscription_id) AS subscription_id,
         MIN(resource_id) AS resource_id, MIN(service_name) AS service_name, MIN(billing_currency) AS billing_currency, MIN(cost) AS cost,
         MIN(cost_usd) AS cost_usd, MIN(ps) AS ps, MIN(pe) AS pe, MAX(CASE WHEN dup_possible THEN 1 ELSE 0 END) = 1 AS dup_possible
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
grouped AS (
  SELECT partner_location_id, global_id, attribution_type, customer_tenant_id, subscription_id, resource_id, service_name, row_key, ps, pe,
         TRUE AS eligible, elig_rank AS role_rank, elig_s AS covered_s, period_s, billing_currency, cost, cost_usd, elig_ev AS evidence_ids, dup_possible
  FROM c WHERE elig_s > 0
  UNION ALL
  SELECT partner_location_id, global_id, attribution_type, customer_tenant_id, subscription_id, resource_id, service_name, row_key, ps, pe,
         FALSE AS eligible, inelig_rank AS role_rank, all_s - elig_s AS covered_s, period_s, billing_currency, cost, cost_usd, inelig_ev AS evidence_ids, dup_possible
  FROM c WHERE all_s - elig_s > 0
),
f AS (
  SELECT g.partner_location_id, g.global_id, g.attribution_type, g.customer_tenant_id, g.subscription_id, g.resource_id, g.service_name,
         g.row_key, g.ps, g.pe, g.eligible, g.role_rank, COALESCE(rn.role_name, '') AS admin_type, g.covered_s, g.period_s, g.billing_currency,
         g.cost, g.cost_usd, g.evidence_ids, g.dup_possible,
         ${credit("g.cost").replaceAll("covered_s", "g.covered_s").replaceAll("period_s", "g.period_s")} AS acr,
         ${credit("g.cost_usd").replaceAll("covered_s", "g.covered_s").replaceAll("period_s", "g.period_s")} AS acr_usd
  FROM grouped g LEFT JOIN (SELECT DISTINCT role_rank AS rr, role_name FROM cov) rn ON rn.rr = g.role_rank
)
SELECT ${out}, FALSE AS dup_pga, FALSE AS dup_pga_attach_type, FALSE AS dup_mpn
FROM (SELECT ${cols}, ${credit("cost")} AS acr, ${credit("cost_usd")} AS acr_usd FROM solo) s
UNION ALL
SELECT ${out}, FALSE AS dup_pga, FALSE AS dup_pga_attach_type, FALSE AS dup_mpn
FROM f WHERE NOT dup_possible
UNION ALL
SELECT ${out},
       ROW_NUMBER() OVER (PARTITION BY global_id, row_key, eligible ORDER BY ${palFirst}, acr DESC, partner_location_id) > 1 AS dup_pga,
       ROW_NUMBER() OVER (PARTITION BY global_id, attribution_type, row_key, eligible ORDER BY acr DESC, partner_location_id) > 1 AS dup_pga_attach_type,
       ROW_NUMBER() OVER (PARTITION BY partner_location_id, row_key, eligible ORDER BY ${palFirst}, acr DESC) > 1 AS dup_mpn
FROM f WHERE dup_possible`;
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
