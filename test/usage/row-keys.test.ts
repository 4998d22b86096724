/**
 * Row keys are persisted in the lake: an import recognises rows it has seen by them. Any change
 * to how they are computed (normalisation, key fields, hashing) would make existing lakes take
 * re-exported rows as new ones. These digests were recorded with the implementation of
 * 2026-12 (before the normalisation was made cheaper) and must not change without a migration.
 *
 * test/fixtures/usage/edge/ holds values chosen to take every branch of the normalisation:
 * numbers with exponents, more than 12 fractional digits, 20 integer digits, `+`, non-breaking
 * spaces, `1.2.3`; subscriptions as GUIDs (upper case, braces, no hyphens), as paths (upper case
 * prefix, with a resource group, invalid); timestamps with offsets, MM/DD/YYYY and fractions.
 * `focus_edge_paths.csv` is the same without SubAccountId and x_ResourceGroupName, so the
 * subscription and resource group come from ResourceId.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import type { Command } from "commander";
import { DEFAULT_IMPORT_MEMORY_LIMIT, importUsageFile, type ImportUsageOptions } from "../../src/usage/index.ts";
import { usageCommand } from "../../src/cli/commands/usage.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const sample = (rel: string) => path.join(repoRoot, "test/fixtures/usage", rel);

let tmpRoot: string;
before(() => {
  tmpRoot = mkdtempSync(path.join(os.tmpdir(), "openpal-rowkeys-test-"));
});
after(() => rmSync(tmpRoot, { recursive: true, force: true }));
let counter = 0;

/** MD5 of the lake's row keys, sorted and comma-joined, after importing `file` into a new lake. */
async function keyDigest(file: string, options: Partial<ImportUsageOptions> = {}): Promise<{ digest: string; rows: number; costByCurrency: Record<string, string> }> {
  const dataDir = path.join(tmpRoot, `d${++counter}`);
  const summary = await importUsageFile(file, { dataDir, threads: 1, ...options });
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  try {
    const [r] = (await c.runAndReadAll(
      `SELECT md5(string_agg(row_key, ',' ORDER BY row_key)) AS digest, count(*) AS n FROM read_parquet('${path.join(dataDir, "usage", "month=*", "*.parquet")}')`,
    )).getRowObjectsJS();
    return { digest: String(r?.digest), rows: Number(r?.n), costByCurrency: { ...summary.costByCurrency } };
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

describe("row keys are identical to those recorded before the normalisation was reworked (lakes already hold them)", () => {
  const cases: Array<[string, Partial<ImportUsageOptions>, string, number]> = [
    ["focus-sample-data/focus_sample.csv", {}, "8924d7576735c16cc9934f0006b166fd", 51],
    ["finops-toolkit/EA_ActualCost_Small.csv", {}, "9d50e71c5e04c0051dbc75f3b0f1b5ef", 10],
    ["finops-toolkit/EA_AmortizedCost_Small.csv", {}, "923d5855367a7d46c929d33f4d3d16e7", 28],
    ["azgovviz-demo/AzGovViz_demo_Consumption.csv", { period: { start: "2021-08-17", end: "2021-08-18" } }, "93d89ae66f2518ca10e492ecdce193b8", 6],
    ["edge/focus_edge_values.csv", { maxBadRows: 1000 }, "30e7edc4740cbc36350ab5ac2fd546ab", 13],
    ["edge/focus_edge_paths.csv", { maxBadRows: 1000 }, "ae24995b1a7c342d8a90a2e5f7d3f119", 5],
  ];
  for (const [file, options, digest, rows] of cases) {
    it(`${file}: ${rows} rows, keys digest ${digest}`, async () => {
      const got = await keyDigest(sample(file), options);
      assert.equal(got.rows, rows);
      assert.equal(got.digest, digest);
    });
  }

  it("edge values: exact sums survive the cheaper number parsing (exponents, >12 fractional digits, 20 integer digits)", async () => {
    const got = await keyDigest(sample("edge/focus_edge_values.csv"), { maxBadRows: 1000 });
    assert.deepEqual(got.costByCurrency, { EUR: "100000000000000001003.373456789012299999", USD: "1235568.746913578024600000" });
  });
});

describe("memory limit default", () => {
  it("`openpal usage import` defaults --memory-limit to the import's own default (512MB), not more", () => {
    const usage: Command = usageCommand();
    const importCmd = usage.commands.find((c) => c.name() === "import");
    const option = importCmd?.options.find((o) => o.long === "--memory-limit");
    assert.equal(option?.defaultValue, DEFAULT_IMPORT_MEMORY_LIMIT);
    assert.equal(DEFAULT_IMPORT_MEMORY_LIMIT, "512MB");
  });
});
