/**
 * `attributeUsage`: one month, one policy → facts (Parquet) + rollups (store); `attributeMonth`:
 * one month, several policies in one run.
 *
 * Order of work:
 *   1. coverage table from the control plane (coverage.ts; small), one per policy from one read;
 *   2. an in-process DuckDB loads it with an appender (usage rows never enter the control-plane
 *      store, and the coverage table never leaves memory);
 *   3. the facts query (sql.ts) streams the month's usage Parquet and writes the facts to a
 *      Parquet file in a scratch directory beside the destination;
 *   4. rollups are aggregated from that file; unknown subscriptions are counted from the lake;
 *      steps 2–4 run per policy;
 *   5. business applications (src/bizapps/engine.ts), once per run: they do not depend on the
 *      role policy;
 *   6. the facts files are renamed into place and the store's rollups for (month, policy) of every
 *      policy and the business-applications month are replaced in one transaction — a re-run
 *      replaces the month atomically on both sides.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DuckDBInstance, timestampValue, type DuckDBConnection } from "@duckdb/node-api";
import { openUsageLake } from "../usage/index.ts";
import type { AttributionRollup, Store, UnknownSubscription } from "../store/index.ts";
import { monthWindow, type Clock } from "../domain/time.ts";
import { buildCoverage, loadCoverageInput, type CoverageTable, type Policy } from "./coverage.ts";
import { formatDecimal, parseDecimal } from "../domain/attribution.ts";
import { factsQuery, rollupQuery } from "./sql.ts";
import { loadBizappsSnapshot, type BizappsSnapshot } from "../bizapps/candidates.ts";
import { computeBizapps, type BizappsSummary } from "../bizapps/engine.ts";
import { bizappsFactsFile } from "../bizapps/facts-reader.ts";
import type { BizappsRates } from "../domain/bizapps.ts";

export interface AttributeOptions {
  readonly store: Store;
  /** Data directory: the lake is `<dataDir>/usage`, facts go to `<dataDir>/attribution`. */
  readonly dataDir: string;
  readonly month: string;
  readonly policy?: Policy;
  readonly clock: Clock;
  /** DuckDB memory limit (default 2GB); it spills to the scratch directory beyond it. */
  readonly memoryLimit?: string;
  readonly threads?: number;
  /** Progress messages for a terminal. */
  readonly onProgress?: (step: string) => void;
  /** Solutions Partner rates for business applications (default: DEFAULT_BIZAPPS_RATES; options `--bizapps-rate-*`). */
  readonly bizappsRates?: BizappsRates;
}

export interface AttributionSummary {
  readonly month: string;
  readonly policy: Policy;
  readonly policyVersion: string;
  readonly coverageRows: number;
  readonly usageRows: number;
  /** Usage rows with at least one fact. */
  readonly attributedRows: number;
  readonly facts: number;
  readonly factsPath: string;
  readonly rollups: number;
  /** Usage whose subscription the control plane does not know: never silently dropped. */
  readonly unknownSubscriptions: readonly UnknownSubscription[];
  /** Usage cost of the month per currency, and the part credited (eligible, deduplicated per organisation). */
  readonly costByCurrency: Readonly<Record<string, string>>;
  readonly timings: Readonly<Record<string, number>>;
  /** Business applications (Power Platform, Customer Insights), computed and published with the month. */
  readonly bizapps: BizappsSummary;
}

export function factsDir(dataDir: string, month: string, policy: string): string {
  return path.join(path.resolve(dataDir), "attribution", `month=${month}`, `policy=${policy}`);
}
export function factsFile(dataDir: string, month: string, policy: string): string {
  return path.join(factsDir(dataDir, month, policy), "facts.parquet");
}
const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
const ts = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "").slice(0, 19);

/** Creates the coverage and subscription tables in `connection` and fills them. */
export async function loadCoverageIntoDuckDB(connection: DuckDBConnection, coverage: CoverageTable): Promise<void> {
  await connection.run(`CREATE OR REPLACE TEMP TABLE cov (
    partner_location_id VARCHAR, global_id VARCHAR, attribution_type VARCHAR, subscription_id VARCHAR, scope_prefix VARCHAR,
    prefix_len INTEGER, valid_from TIMESTAMP, valid_to TIMESTAMP, role_name VARCHAR, role_rank INTEGER, eligible BOOLEAN, evidence_id VARCHAR,
    tenant_id VARCHAR, solo BOOLEAN, dup_possible BOOLEAN)`);
  await connection.run(`CREATE OR REPLACE TEMP TABLE subs (subscription_id VARCHAR, tenant_id VARCHAR)`);
  const cov = await connection.createAppender("cov");
  for (const r of coverage.rows) {
    cov.appendVarchar(r.partnerLocationId);
    cov.appendVarchar(r.globalId);
    cov.appendVarchar(r.attributionType);
    cov.appendVarchar(r.subscriptionId);
    if (r.scopePrefix === null) {
      cov.appendNull();
      cov.appendInteger(0);
    } else {
      cov.appendVarchar(r.scopePrefix);
      cov.appendInteger(r.scopePrefix.length);
    }
    cov.appendTimestamp(timestampValue(BigInt(r.validFrom) * 1000n));
    cov.appendTimestamp(timestampValue(BigInt(r.validTo) * 1000n));
    if (r.roleName === null) cov.appendNull();
    else cov.appendVarchar(r.roleName);
    cov.appendInteger(r.roleRank);
    cov.appendBoolean(r.eligible);
    cov.appendVarchar(r.evidenceId);
    cov.appendVarchar(r.customerTenantId);
    cov.appendBoolean(r.solo);
    cov.appendBoolean(r.dupPossible);
    cov.endRow();
  }
  cov.closeSync();
  const subs = await connection.createAppender("subs");
  for (const [id, s] of coverage.subscriptions) {
    subs.appendVarchar(id);
    subs.appendVarchar(s.tenantId);
    subs.endRow();
  }
  subs.closeSync();
}

/** A DuckDB connection set up for attribution (UTC, memory limit, spill directory). */
export async function openAttributionDuckDB(spillDir: string, opts: { memoryLimit?: string; threads?: number } = {}): Promise<{ connection: DuckDBConnection; close(): void }> {
  mkdirSync(spillDir, { recursive: true });
  const instance = await DuckDBInstance.create(":memory:", {
    memory_limit: opts.memoryLimit ?? "2GB",
    temp_directory: spillDir,
    ...(opts.threads ? { threads: String(opts.threads) } : {}),
  });
  const connection = await instance.connect();
  await connection.run(`SET TimeZone = 'UTC'`);
  // Insertion order is not needed for the facts file; dropping it lets DuckDB stream in parallel.
  await connection.run(`SET preserve_insertion_order = false`);
  return {
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

export async function attributeUsage(opts: AttributeOptions): Promise<AttributionSummary> {
  const month = await attributeMonth({ ...opts, policies: [opts.policy ?? "pec"] });
  return month.policies[0] as AttributionSummary;
}

export interface AttributeMonthOptions extends Omit<AttributeOptions, "policy"> {
  /** The role policies to attribute (each gets its facts and rollups); at least one. */
  readonly policies: readonly Policy[];
}

/** One `attribution run` of a month over one or more policies. */
export interface MonthAttribution {
  readonly month: string;
  /** One summary per policy, in the order given; each carries the same `bizapps` (computed once). */
  readonly policies: readonly AttributionSummary[];
  readonly bizapps: BizappsSummary;
  /** Every step's time (ms); a policy's own steps are suffixed with ` (policy)` when there are several. */
  readonly timings: Readonly<Record<string, number>>;
}

/**
 * Attributes a month for every policy in `policies`: the control plane is read once, the Azure
 * part (coverage table, facts, rollups) runs per policy, and the business-applications part —
 * which does not depend on the role policy — is computed once. Everything is published in one
 * store transaction: a reader sees the old month or the new one, for every policy and business
 * applications alike.
 */
export async function attributeMonth(opts: AttributeMonthOptions): Promise<MonthAttribution> {
  const policies = [...new Set(opts.policies)];
  if (policies.length === 0) throw new Error("attributeMonth: give at least one policy (pec, all-roles)");
  const window = monthWindow(opts.month);
  const steps = new StepTimer(opts.onProgress, policies.length > 1);
  const input = await steps.timed(null, "load control plane", () => loadCoverageInput(opts.store, window));
  const coverages: CoverageTable[] = [];
  for (const policy of policies) coverages.push(await steps.timed(policy, "coverage", async () => buildCoverage(input, window, policy)));
  const bizapps = await steps.timed(null, "bizapps candidates", () => loadBizappsSnapshot(opts.store, window, input));
  return attributeWithCoverages(opts, coverages, steps, bizapps);
}

/** Step timings of a run: shared steps, and each policy's own, in the order they ran. */
class StepTimer {
  /** ms null while the step runs (a step's record written inside it, e.g. publish, leaves it out). */
  readonly #steps: { policy: Policy | null; name: string; ms: number | null }[] = [];
  readonly #onProgress: ((step: string) => void) | undefined;
  /** Progress names carry the policy when there are several. */
  readonly #several: boolean;
  constructor(onProgress: ((step: string) => void) | undefined, several: boolean) {
    this.#onProgress = onProgress;
    this.#several = several;
  }

  async timed<T>(policy: Policy | null, name: string, work: () => Promise<T>): Promise<T> {
    const step: { policy: Policy | null; name: string; ms: number | null } = { policy, name, ms: null };
    this.#steps.push(step);
    const t0 = performance.now();
    this.#onProgress?.(this.#label(step));
    try {
      return await work();
    } finally {
      step.ms = Math.round(performance.now() - t0);
    }
  }

  #label(s: { policy: Policy | null; name: string }): string {
    return s.policy === null || !this.#several ? s.name : `${s.name} (${s.policy})`;
  }

  /** One policy's view: the shared steps and its own. */
  of(policy: Policy): Record<string, number> {
    return Object.fromEntries(this.#steps.flatMap((s) => (s.ms !== null && (s.policy === null || s.policy === policy) ? [[s.name, s.ms] as const] : [])));
  }

  /** Every step; a policy's own suffixed with its name when there are several. */
  all(): Record<string, number> {
    return Object.fromEntries(this.#steps.flatMap((s) => (s.ms !== null ? [[this.#label(s), s.ms] as const] : [])));
  }
}

/** The Azure half of one policy, computed on `c` into the scratch directory (nothing published). */
interface PolicyComputed {
  readonly policy: Policy;
  readonly coverage: CoverageTable;
  readonly tmpFacts: string;
  readonly rollups: AttributionRollup[];
  readonly usageRows: number;
  readonly attributedRows: number;
  readonly facts: number;
  readonly unknownSubscriptions: UnknownSubscription[];
  readonly costByCurrency: Record<string, string>;
}

async function computePolicy(c: DuckDBConnection, opts: AttributeMonthOptions, coverage: CoverageTable, scratch: string, steps: StepTimer): Promise<PolicyComputed> {
  const policy = coverage.policy.name as Policy;
  const timed = <T>(name: string, work: () => Promise<T>) => steps.timed(policy, name, work);
  const usage = openUsageLake(opts.dataDir).relation(opts.month);
  await timed("load coverage", () => loadCoverageIntoDuckDB(c, coverage));
  const tmpFacts = path.join(scratch, `facts-${policy}.parquet`);
  const query = factsQuery({ usage, monthStart: ts(coverage.window.from), monthEnd: ts(coverage.window.to), month: opts.month, policy });
  await timed("facts", () => c.run(`COPY (${query}) TO ${sqlString(tmpFacts)} (FORMAT PARQUET, COMPRESSION ZSTD)`));
  const factsRel = `read_parquet(${sqlString(tmpFacts)})`;

  const rollupRows = await timed("rollups", async () => (await c.runAndReadAll(rollupQuery(factsRel))).getRowObjectsJS());
  const counts = await timed("counts", async () => (await c.runAndReadAll(`SELECT COUNT(*) AS facts, COUNT(DISTINCT row_key) AS rows FROM ${factsRel}`)).getRowObjectsJS()[0] as { facts: bigint; rows: bigint });
  const lakeStats = await timed("usage summary", async () => (await c.runAndReadAll(`
    SELECT u.subscription_id, u.billing_currency, COUNT(*) AS n, CAST(SUM(u.cost) AS VARCHAR) AS cost, MAX(CASE WHEN s.subscription_id IS NULL THEN 1 ELSE 0 END) AS unknown
    FROM ${usage} u LEFT JOIN subs s ON s.subscription_id = u.subscription_id
    WHERE u.charge_period_start >= TIMESTAMP '${ts(coverage.window.from)}' AND u.charge_period_start < TIMESTAMP '${ts(coverage.window.to)}'
    GROUP BY u.subscription_id, u.billing_currency ORDER BY u.subscription_id, u.billing_currency`)).getRowObjectsJS());

  let usageRows = 0;
  const costByCurrency = new Map<string, bigint>();
  const unknown = new Map<string, { rows: number; cost: Record<string, string> }>();
  for (const r of lakeStats) {
    const n = Number(r.n);
    usageRows += n;
    const cur = String(r.billing_currency);
    costByCurrency.set(cur, (costByCurrency.get(cur) ?? 0n) + parseDecimal(String(r.cost)));
    if (Number(r.unknown) === 1) {
      const u = unknown.get(String(r.subscription_id)) ?? { rows: 0, cost: {} };
      u.rows += n;
      u.cost[cur] = String(r.cost);
      unknown.set(String(r.subscription_id), u);
    }
  }
  const rollups: AttributionRollup[] = rollupRows.map((r) => ({
    customerTenantId: String(r.customer_tenant_id), month: opts.month, policy,
    partnerLocationId: String(r.partner_location_id), globalId: String(r.global_id), attributionType: String(r.attribution_type) as "PAL" | "DPOR",
    subscriptionId: String(r.subscription_id), adminType: String(r.admin_type),
    eligible: Boolean(r.eligible), dupPga: Boolean(r.dup_pga), dupPgaAttachType: Boolean(r.dup_pga_attach_type), dupMpn: Boolean(r.dup_mpn),
    billingCurrency: String(r.billing_currency), acr: String(r.acr),
    // USD is known only when every row of the group had it.
    acrUsd: r.acr_usd !== null && Number(r.usd_rows) === Number(r.usage_rows) ? String(r.acr_usd) : null,
    usageRows: Number(r.usage_rows),
  }));
  return {
    policy, coverage, tmpFacts, rollups, usageRows, attributedRows: Number(counts.rows), facts: Number(counts.facts),
    unknownSubscriptions: [...unknown].map(([subscriptionId, u]) => ({ subscriptionId, rows: u.rows, cost: u.cost })),
    costByCurrency: Object.fromEntries([...costByCurrency].map(([k, v]) => [k, formatDecimal(v, 18).replace(/\.?0+$/, "")])),
  };
}

/** The SQL half, for coverage tables already built (one per policy); business applications once. */
async function attributeWithCoverages(opts: AttributeMonthOptions, coverages: readonly CoverageTable[], steps: StepTimer, bizappsSnapshot: BizappsSnapshot): Promise<MonthAttribution> {
  const scratch = path.join(path.resolve(opts.dataDir), "attribution", `_work-${randomUUID()}`);
  mkdirSync(scratch, { recursive: true });
  const db = await openAttributionDuckDB(path.join(scratch, "spill"), opts);
  try {
    const c = db.connection;
    const computed: PolicyComputed[] = [];
    for (const coverage of coverages) computed.push(await computePolicy(c, opts, coverage, scratch, steps));

    const window = (coverages[0] as CoverageTable).window;
    const bizappsTmp = path.join(scratch, "bizapps-facts.parquet");
    const bizappsDestination = bizappsFactsFile(opts.dataDir, opts.month);
    const bizapps = await steps.timed(null, "bizapps", () => computeBizapps(c, bizappsSnapshot, {
      dataDir: opts.dataDir, month: opts.month, window, factsPath: bizappsTmp, publishedFactsPath: bizappsDestination,
      ranAt: opts.clock.now(), rates: opts.bizappsRates,
    }));

    // Publish: the facts files by rename (atomic replace), then the store in one transaction.
    const summaries = computed.map((p) => {
      const destination = factsDir(opts.dataDir, opts.month, p.policy);
      return {
        p, destination,
        summary: {
          month: opts.month, policy: p.policy, policyVersion: `${p.coverage.policy.name}@${p.coverage.policy.version}`,
          coverageRows: p.coverage.rows.length, usageRows: p.usageRows, attributedRows: p.attributedRows, facts: p.facts,
          factsPath: path.join(destination, "facts.parquet"), rollups: p.rollups.length, unknownSubscriptions: p.unknownSubscriptions,
          costByCurrency: p.costByCurrency, timings: {}, bizapps: bizapps.summary,
        } satisfies AttributionSummary,
      };
    });
    await steps.timed(null, "publish", async () => {
      for (const { p, destination } of summaries) {
        mkdirSync(destination, { recursive: true });
        writeFileSync(path.join(scratch, `evidence-${p.policy}.json`), JSON.stringify([...p.coverage.evidence.values()]));
        renameSync(path.join(scratch, `evidence-${p.policy}.json`), path.join(destination, "evidence.json"));
        renameSync(p.tmpFacts, path.join(destination, "facts.parquet"));
      }
      mkdirSync(path.dirname(bizappsDestination), { recursive: true });
      renameSync(bizappsTmp, bizappsDestination);
      // One transaction: a reader sees the old month or the new one, every policy and business applications alike.
      await opts.store.transaction(async (tx) => {
        for (const { p, summary } of summaries) {
          await tx.attribution.replaceMonth({
            month: opts.month, policy: p.policy, policyVersion: summary.policyVersion, ranAt: opts.clock.now(), usageRows: p.usageRows,
            attributedRows: p.attributedRows, facts: p.facts, factsPath: summary.factsPath, unknownSubscriptions: p.unknownSubscriptions,
            details: { coverageRows: p.coverage.rows.length, costByCurrency: p.costByCurrency, timings: steps.of(p.policy) },
          }, p.rollups);
        }
        await tx.bizapps.replaceMonth(bizapps.run, bizapps.rollups);
      });
    });
    return {
      month: opts.month, bizapps: bizapps.summary, timings: steps.all(),
      policies: summaries.map(({ p, summary }) => ({ ...summary, timings: steps.of(p.policy) })),
    };
  } finally {
    db.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Runs the SQL half against a what-if coverage table and returns facts rows (no publishing). */
export async function attributeInMemory(dataDir: string, month: string, coverage: CoverageTable, filter: { globalId?: string } = {}): Promise<Record<string, unknown>[]> {
  const scratch = path.join(path.resolve(dataDir), "attribution", `_work-${randomUUID()}`);
  const db = await openAttributionDuckDB(path.join(scratch, "spill"));
  try {
    await loadCoverageIntoDuckDB(db.connection, filter.globalId ? { ...coverage, rows: coverage.rows.filter((r) => r.globalId === filter.globalId) } : coverage);
    const q = factsQuery({ usage: openUsageLake(dataDir).relation(month), monthStart: ts(coverage.window.from), monthEnd: ts(coverage.window.to), month, policy: coverage.policy.name });
    return (await db.connection.runAndReadAll(`SELECT *, CAST(acr AS VARCHAR) AS acr_text, CAST(cost AS VARCHAR) AS cost_text FROM (${q})`)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    db.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Reads facts of a published month (for explain). */
export async function readFacts(dataDir: string, month: string, policy: string, where: string): Promise<Record<string, unknown>[]> {
  const file = factsFile(dataDir, month, policy);
  if (!existsSync(file)) return [];
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    await c.run(`SET TimeZone = 'UTC'`);
    return (await c.runAndReadAll(`SELECT *, CAST(acr AS VARCHAR) AS acr_text, CAST(cost AS VARCHAR) AS cost_text, CAST(acr_usd AS VARCHAR) AS acr_usd_text
      FROM read_parquet(${sqlString(file)}) WHERE ${where} ORDER BY charge_period_start, resource_id, partner_location_id, attribution_type, eligible DESC`)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

