/**
 * Partner insights query: one month of OPENPAL_BENCH_INSIGHTS_ROWS (default 10 million) credited
 * usage rows (attribution facts, the Parquet the engine writes), queried through the insights API
 * path (parse → compile → DuckDB with parameters, the organisation filter and the name joins the
 * query needs) vs the same query hand-written in DuckDB over the same file, in the same run.
 *
 * The facts are generated directly (the engine's output shape; bench/attribution.bench.ts measures
 * producing them): 90% belong to partner 4000000 (three locations), 10% to another organisation,
 * 500 customers, 10,000 subscriptions, four services, one day per row.
 *
 * Query: SELECT CustomerTenantId, ServiceName, TotalACR FROM AzureUsage
 *        WHERE IsACRDuplicateAtPGALevel = 0 ORDER BY TotalACR TIMESPAN LAST_MONTH
 * Target (issue 15): the API path within 2× of the hand-written query. Best of
 * OPENPAL_BENCH_ROUNDS (default 3) alternating rounds each.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { openStore } from "../src/store/index.ts";
import { factsFile } from "../src/attribution/index.ts";
import { compileReportQuery, defaultDatasets, QueryRunner } from "../src/partner-insights/index.ts";
import { withPeakMemory, type Benchmark } from "./lib.ts";

const ROWS = Number(process.env.OPENPAL_BENCH_INSIGHTS_ROWS ?? 10_000_000);
const ROUNDS = Number(process.env.OPENPAL_BENCH_ROUNDS ?? 3);
const MONTH = "2026-10";
const NOW = Date.parse("2026-11-15T00:00:00Z");
const QUERY = "SELECT CustomerTenantId, ServiceName, TotalACR FROM AzureUsage WHERE IsACRDuplicateAtPGALevel = 0 ORDER BY TotalACR TIMESPAN LAST_MONTH";
const progress = (s: string) => process.stdout.write(`  ${s}\n`);

async function generateFacts(file: string): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    await c.run(`SET TimeZone = 'UTC'`);
    await c.run(`COPY (
      SELECT '${MONTH}' AS month, 'pec' AS policy,
             CASE WHEN i % 10 = 0 THEN '5000001' ELSE '400000' || CAST(i % 3 + 1 AS VARCHAR) END AS partner_location_id,
             CASE WHEN i % 10 = 0 THEN '5000000' ELSE '4000000' END AS global_id,
             CASE WHEN i % 7 = 0 THEN 'DPOR' ELSE 'PAL' END AS attribution_type,
             printf('%08d-0000-4000-8000-000000000000', i % 500) AS customer_tenant_id,
             printf('00000000-0000-4000-8000-%012d', i % 10000) AS subscription_id,
             -- Not read by the dataset: a constant keeps generation cheap (printf of 10M paths took minutes).
             '/subscriptions/x/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm' AS resource_id,
             ['Virtual Machines', 'Storage', 'SQL Database', 'App Service'][i % 4 + 1] AS service_name,
             CAST(i AS VARCHAR) AS row_key,
             TIMESTAMP '${MONTH}-01 00:00:00' + to_days(CAST(i % 31 AS INTEGER)) AS charge_period_start,
             TIMESTAMP '${MONTH}-01 00:00:00' + to_days(CAST(i % 31 + 1 AS INTEGER)) AS charge_period_end,
             TRUE AS eligible, 1 AS role_rank, CASE WHEN i % 7 = 0 THEN '' ELSE 'Owner' END AS admin_type, 86400 AS covered_s, 86400 AS period_s,
             1.0 AS covered_fraction, 'USD' AS billing_currency,
             CAST((i % 1000) / 100.0 AS DECIMAL(38,18)) AS cost, CAST((i % 1000) / 100.0 AS DECIMAL(38,18)) AS cost_usd,
             CAST((i % 1000) / 100.0 AS DECIMAL(38,18)) AS acr, CAST((i % 1000) / 100.0 AS DECIMAL(38,18)) AS acr_usd,
             'ev' AS evidence_ids, i % 13 = 0 AS dup_pga, FALSE AS dup_pga_attach_type, FALSE AS dup_mpn
      FROM range(${ROWS}) t(i)
    ) TO '${file}' (FORMAT PARQUET, COMPRESSION ZSTD)`);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/** The baseline keeps one DuckDB instance across rounds, as the insights runner does. */
async function handWritten(instance: DuckDBInstance, file: string): Promise<unknown[]> {
  const c = await instance.connect();
  try {
    await c.run(`SET TimeZone = 'UTC'`);
    const r = await c.runAndReadAll(`
      SELECT COALESCE(customer_tenant_id, '') AS "CustomerTenantId", COALESCE(service_name, '') AS "ServiceName", CAST(ROUND(SUM(acr), 2) AS VARCHAR) AS "TotalACR"
      FROM read_parquet('${file}')
      WHERE global_id = '4000000' AND eligible AND NOT dup_pga
        AND charge_period_start >= TIMESTAMP '2026-10-01 00:00:00' AND charge_period_start < TIMESTAMP '2026-11-01 00:00:00'
      GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`);
    return r.getRowObjectsJS();
  } finally {
    c.closeSync();
  }
}

const bench: Benchmark = {
  name: "partner-insights",
  description: `insights API query over ${(ROWS / 1e6).toFixed(1)}M facts of one month vs the same query hand-written in DuckDB`,
  async run() {
    const dataDir = mkdtempSync(path.join(process.env.OPENPAL_BENCH_DIR ?? os.tmpdir(), "openpal-bench-insights-"));
    try {
      const store = await openStore({ kind: "sqlite", sqlitePath: path.join(dataDir, "openpal.db") });
      await store.partners.putOrganisation({ globalId: "4000000", name: "Contoso", tenantIds: [], createdAt: 0 });
      await store.partners.putOrganisation({ globalId: "5000000", name: "Northwind", tenantIds: [], createdAt: 0 });
      const file = factsFile(dataDir, MONTH, "pec");
      let t0 = performance.now();
      await generateFacts(file);
      const generateSeconds = (performance.now() - t0) / 1000;
      progress(`${ROWS} facts generated in ${generateSeconds.toFixed(1)} s`);
      await store.transaction((tx) => tx.attribution.replaceMonth({
        month: MONTH, policy: "pec", policyVersion: "bench", ranAt: NOW, usageRows: ROWS, attributedRows: ROWS, facts: ROWS, factsPath: file, unknownSubscriptions: [], details: {},
      }, []));

      const runner = new QueryRunner(store, dataDir, { memoryLimit: "1GB" });
      const baseline = await DuckDBInstance.create(":memory:", { memory_limit: "1GB" });
      let apiSeconds = Infinity;
      let handSeconds = Infinity;
      let api: Awaited<ReturnType<typeof withPeakMemory<unknown[]>>> | undefined;
      let hand: Awaited<ReturnType<typeof withPeakMemory<unknown[]>>> | undefined;
      for (let round = 0; round < ROUNDS; round++) {
        t0 = performance.now();
        const a = await withPeakMemory(async () => {
          const compiled = compileReportQuery(QUERY, defaultDatasets());
          return [...(await runner.run(compiled, "4000000", compiled.window(NOW))).rows];
        });
        const as = (performance.now() - t0) / 1000;
        if (as < apiSeconds) [apiSeconds, api] = [as, a];
        t0 = performance.now();
        const h = await withPeakMemory(() => handWritten(baseline, file));
        const hs = (performance.now() - t0) / 1000;
        if (hs < handSeconds) [handSeconds, hand] = [hs, h];
        progress(`round ${round + 1}: insights ${as.toFixed(2)} s, hand-written ${hs.toFixed(2)} s`);
      }
      runner.close();
      baseline.closeSync();
      await store.close();
      if (!api || !hand) throw new Error("OPENPAL_BENCH_ROUNDS must be at least 1");
      const same = JSON.stringify(api.result) === JSON.stringify(hand.result);
      return {
        rows: ROWS,
        query: QUERY,
        resultRows: api.result.length,
        generateSeconds: Math.round(generateSeconds * 10) / 10,
        insightsSeconds: Math.round(apiSeconds * 1000) / 1000,
        handWrittenSeconds: Math.round(handSeconds * 1000) / 1000,
        ratioInsightsToHandWritten: Math.round((apiSeconds / handSeconds) * 100) / 100,
        insightsPeakRssMiB: api.peakRssMiB,
        handWrittenPeakRssMiB: hand.peakRssMiB,
        resultsAgree: same,
        rounds: ROUNDS,
        targets: { ratioAtMost: 2 },
      };
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};

export default bench;
