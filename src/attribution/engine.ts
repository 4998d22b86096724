/**
 * `attributeUsage`: one month, one policy → facts (Parquet) + rollups (store).
 *
 * Order of work:
 *   1. coverage table from the control plane (coverage.ts; small);
 *   2. an in-process DuckDB loads it with an appender (usage rows never enter the control-plane
 *      store, and the coverage table never leaves memory);
 *   3. the facts query (sql.ts) streams the month's usage Parquet and writes the facts to a
 *      Parquet file in a scratch directory beside the destination;
 *   4. rollups are aggregated from that file; unknown subscriptions are counted from the lake;
 *   5. the facts file is renamed into place and the store's rollups for (month, policy) are
 *      replaced in one transaction — a re-run replaces the month atomically on both sides.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DuckDBInstance, timestampValue, type DuckDBConnection } from "@duckdb/node-api";
import { openUsageLake } from "../usage/index.ts";
import type { AttributionRollup, Store, UnknownSubscription } from "../store/index.ts";
import type { Clock } from "../domain/time.ts";
import { buildCoverage, loadCoverageInput, monthWindow, type CoverageTable, type Policy } from "./coverage.ts";
import { formatDecimal, parseDecimal } from "../domain/attribution.ts";
import { factsQuery, rollupQuery } from "./sql.ts";
import { loadBizappsSnapshot, type BizappsSnapshot } from "../bizapps/candidates.ts";
import { computeBizapps, type BizappsSummary } from "../bizapps/engine.ts";
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
/** Business-applications facts of a month (one file for every policy: the rules do not depend on it). */
export function bizappsFactsFile(dataDir: string, month: string): string {
  return path.join(path.resolve(dataDir), "attribution", `month=${month}`, "bizapps", "facts.parquet");
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
  const policy: Policy = opts.policy ?? "pec";
  const window = monthWindow(opts.month);
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    opts.onProgress?.(name);
    try {
      return await work();
    } finally {
      timings[name] = Math.round(performance.now() - t0);
    }
  };

  const input = await timed("load control plane", () => loadCoverageInput(opts.store, window));
  const coverage = await timed("coverage", async () => buildCoverage(input, window, policy));
  const bizapps = await timed("bizapps candidates", () => loadBizappsSnapshot(opts.store, window, input));
  return attributeWithCoverage({ ...opts, policy }, coverage, timings, timed, bizapps);
}

/** The SQL half, for a coverage table already built (the coverage report passes what-if tables). */
async function attributeWithCoverage(
  opts: AttributeOptions & { policy: Policy }, coverage: CoverageTable, timings: Record<string, number>,
  timed: <T>(name: string, work: () => Promise<T>) => Promise<T>, bizappsSnapshot: BizappsSnapshot,
): Promise<AttributionSummary> {
  const lake = openUsageLake(opts.dataDir);
  const destination = factsDir(opts.dataDir, opts.month, opts.policy);
  const scratch = path.join(path.resolve(opts.dataDir), "attribution", `_work-${randomUUID()}`);
  mkdirSync(scratch, { recursive: true });
  const db = await openAttributionDuckDB(path.join(scratch, "spill"), opts);
  try {
    const c = db.connection;
    await timed("load coverage", () => loadCoverageIntoDuckDB(c, coverage));
    const usage = lake.relation(opts.month);
    const tmpFacts = path.join(scratch, "facts.parquet");
    const query = factsQuery({ usage, monthStart: ts(coverage.window.from), monthEnd: ts(coverage.window.to), month: opts.month, policy: opts.policy });
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
    const unknownSubscriptions: UnknownSubscription[] = [...unknown].map(([subscriptionId, u]) => ({ subscriptionId, rows: u.rows, cost: u.cost }));

    const bizappsTmp = path.join(scratch, "bizapps-facts.parquet");
    const bizappsDestination = bizappsFactsFile(opts.dataDir, opts.month);
    const bizapps = await timed("bizapps", () => computeBizapps(c, bizappsSnapshot, {
      dataDir: opts.dataDir, month: opts.month, window: coverage.window, factsPath: bizappsTmp, publishedFactsPath: bizappsDestination,
      ranAt: opts.clock.now(), rates: opts.bizappsRates,
    }));

    const rollups: AttributionRollup[] = rollupRows.map((r) => ({
      customerTenantId: String(r.customer_tenant_id), month: opts.month, policy: opts.policy,
      partnerLocationId: String(r.partner_location_id), globalId: String(r.global_id), attributionType: String(r.attribution_type) as "PAL" | "DPOR",
      subscriptionId: String(r.subscription_id), adminType: String(r.admin_type),
      eligible: Boolean(r.eligible), dupPga: Boolean(r.dup_pga), dupPgaAttachType: Boolean(r.dup_pga_attach_type), dupMpn: Boolean(r.dup_mpn),
      billingCurrency: String(r.billing_currency), acr: String(r.acr),
      // USD is known only when every row of the group had it.
      acrUsd: r.acr_usd !== null && Number(r.usd_rows) === Number(r.usage_rows) ? String(r.acr_usd) : null,
      usageRows: Number(r.usage_rows),
    }));

    // Publish: the facts file by rename (atomic replace), then the store in one transaction.
    mkdirSync(destination, { recursive: true });
    const summary: AttributionSummary = {
      month: opts.month, policy: opts.policy, policyVersion: `${coverage.policy.name}@${coverage.policy.version}`,
      coverageRows: coverage.rows.length, usageRows, attributedRows: Number(counts.rows), facts: Number(counts.facts),
      factsPath: path.join(destination, "facts.parquet"), rollups: rollups.length, unknownSubscriptions,
      costByCurrency: Object.fromEntries([...costByCurrency].map(([k, v]) => [k, formatDecimal(v, 18).replace(/\.?0+$/, "")])), timings,
      bizapps: bizapps.summary,
    };
    await timed("publish", async () => {
      writeFileSync(path.join(scratch, "evidence.json"), JSON.stringify([...coverage.evidence.values()]));
      renameSync(path.join(scratch, "evidence.json"), path.join(destination, "evidence.json"));
      renameSync(tmpFacts, path.join(destination, "facts.parquet"));
      mkdirSync(path.dirname(bizappsDestination), { recursive: true });
      renameSync(bizappsTmp, bizappsDestination);
      // One transaction: a reader sees the old month or the new one, Azure and business applications alike.
      await opts.store.transaction(async (tx) => {
        await tx.attribution.replaceMonth({
          month: opts.month, policy: opts.policy, policyVersion: summary.policyVersion, ranAt: opts.clock.now(), usageRows,
          attributedRows: summary.attributedRows, facts: summary.facts, factsPath: summary.factsPath, unknownSubscriptions,
          details: { coverageRows: coverage.rows.length, costByCurrency: summary.costByCurrency, timings },
        }, rollups);
        await tx.bizapps.replaceMonth(bizapps.run, bizapps.rollups);
      });
    });
    return summary;
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

