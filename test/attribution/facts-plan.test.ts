/**
 * The facts query's plan, as DuckDB builds it: the usage scan must reach the output as a stream
 * for the common (solo) shape. DuckDB materialises a CTE referenced more than once; a CTE that
 * carries every fact of the month would be held in memory and spilled uncompressed (at 100
 * million usage rows that filled tens of gigabytes of disk before this rule existed).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { factsQuery } from "../../src/attribution/sql.ts";
import { loadCoverageIntoDuckDB } from "../../src/attribution/engine.ts";
import type { CoverageTable } from "../../src/attribution/index.ts";
import { USAGE_COLUMNS } from "../../src/usage/index.ts";

interface PlanNode {
  readonly name: string;
  readonly extra_info?: Record<string, unknown>;
  readonly children?: readonly PlanNode[];
}

/** Every node of a plan tree, depth first. */
function* nodes(node: PlanNode): Generator<PlanNode> {
  yield node;
  for (const child of node.children ?? []) yield* nodes(child);
}

const scansUsage = (node: PlanNode) =>
  [...nodes(node)].some((n) => n.name.includes("SCAN") && JSON.stringify(n.extra_info ?? {}).includes("usage_rows"));

describe("facts query plan: the solo stream is never materialised", () => {
  it("only the CTE of multi-row groups (m) reads usage; every other usage scan streams to the output", async () => {
    const instance = await DuckDBInstance.create(":memory:");
    const c = await instance.connect();
    try {
      await c.run(`CREATE TABLE usage_rows (${USAGE_COLUMNS.map((col) => `${col.name} ${col.type}`).join(", ")})`);
      await loadCoverageIntoDuckDB(c, { rows: [], subscriptions: new Map() } as unknown as CoverageTable);
      // A row of each shape, so that the optimiser cannot prove any branch empty.
      await c.run(`INSERT INTO usage_rows (row_key, subscription_id, resource_id, charge_period_start, charge_period_end, billing_currency, cost)
        VALUES ('k1', 's1', '/subscriptions/s1/resourcegroups/rg/providers/p/t/r', TIMESTAMP '2026-10-05', TIMESTAMP '2026-10-06', 'EUR', 1.5)`);
      await c.run(`INSERT INTO cov VALUES
        ('4000001', '4000000', 'PAL', 's1', NULL, 0, TIMESTAMP '2026-10-01', TIMESTAMP '2026-11-01', 'Owner', 0, TRUE, 'e1', 't1', TRUE, FALSE),
        ('4000002', '4000000', 'PAL', 's1', NULL, 0, TIMESTAMP '2026-10-01', TIMESTAMP '2026-11-01', 'Reader', 5, FALSE, 'e2', 't1', FALSE, TRUE),
        ('4000002', '4000000', 'DPOR', 's1', NULL, 0, TIMESTAMP '2026-10-01', TIMESTAMP '2026-11-01', NULL, 9, TRUE, 'e3', 't1', FALSE, TRUE)`);
      const query = factsQuery({ usage: "usage_rows", monthStart: "2026-10-01 00:00:00", monthEnd: "2026-11-01 00:00:00", month: "2026-10", policy: "pec" });
      const explained = (await c.runAndReadAll(`EXPLAIN (FORMAT JSON) ${query}`)).getRows();
      const plan = JSON.parse(String(explained[0]?.[1])) as PlanNode[];

      const materialisedWithUsage: string[] = [];
      let streamedScans = 0;
      const visit = (node: PlanNode, insideCte: boolean) => {
        if (node.name === "CTE") {
          const [definition, rest] = node.children ?? [];
          if (definition && scansUsage(definition)) materialisedWithUsage.push(String(node.extra_info?.["CTE Name"]));
          if (rest) visit(rest, insideCte);
          return;
        }
        if (!insideCte && node.name.includes("SCAN") && JSON.stringify(node.extra_info ?? {}).includes("usage_rows")) streamedScans++;
        for (const child of node.children ?? []) visit(child, insideCte);
      };
      for (const root of plan) visit(root, false);

      assert.deepEqual(materialisedWithUsage, ["m"], "only m (usage rows several coverage rows of one organisation reach) may be materialised");
      assert.equal(streamedScans, 1, "the solo path scans usage once, outside any materialised CTE");
    } finally {
      c.closeSync();
      instance.closeSync();
    }
  });
});
